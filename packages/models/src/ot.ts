/**
 * NFDM-OT: learning straight, deterministic generative trajectories (docs/maths/objectives.md#nfdm-ot).
 *
 * Setting. The generative process is the ODE dz = f(z, t, x̂_θ(z, t)) dt from z₁ ~ N(0, s² I)
 * down to the process start (g ≡ 0, so fB = f); this is exactly {@link DiffusionModel.velocity}
 * and `sample({ mode: 'ode' })`. With a Gaussian forward process z_t = F(ε, t, x) = μ + σ ⊙ ε:
 *
 *   f(z_t, t, x)  = ∂F/∂t   = μ̇ + σ̇ ⊙ ε                    (ε form at the true x)
 *   f(z_t, t, x̂)  = μ̇(x̂) + (σ̇(x̂)/σ(x̂)) ⊙ (z_t − μ(x̂))   (z form at the prediction)
 *   ∂²F/∂t²       = μ̈ + σ̈ ⊙ ε  = d/dt f(F(ε, t, x), t, x)  (the conditional path's acceleration)
 *
 * Objective (per sample, t ~ U(t₀, 1), ε ~ N(0, I)):
 *
 *   L_OT = ‖f(z_t, t, x) − f(z_t, t, x̂_θ(z_t, t))‖²  +  λ ‖μ̈ + σ̈ ⊙ ε‖²,
 *
 * i.e. flow matching along a *learned* path (the first term; as g → 0 the bound's
 * ‖ΔfB‖²/(2g²) is dominated by it, up to the 1/(2g²) factor, which is dropped) plus a curvature
 * penalty on the forward conditional trajectories (the second). Training both φ (the path) and
 * θ (the predictor) makes the conditional paths — and therefore, because the reverse ODE matches
 * them, the generative ODE trajectories — nearly straight, so few-step Euler sampling works.
 *
 * [UNVERIFIED] The paper's exact weighting of the two terms (and whether its penalty is the
 * d²F/dt² form used here or another estimator) is not verified: λ (`curvatureWeight`) is
 * configurable with default 1 (L + L_crv), and no (1 − t₀) or 1/(2g²) factor is applied.
 * The second time derivatives come from the forward process's order-2 jets (docs/architecture.md#time-derivatives).
 */
import { Rng } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { accelerationFromEps, type GaussianForwardProcess, sampleZ, velocity, velocityFromEps } from './forward/gaussian.js';
import type { DiffusionNoise } from './objective.js';
import type { DataPredictor } from './predictor.js';

/** What the NFDM-OT objective needs (a {@link DiffusionModel} qualifies; its volatility is unused). */
export interface OTParts {
  forward: GaussianForwardProcess;
  predictor: DataPredictor;
}

export interface OTOptions {
  /** λ, the weight of the curvature penalty (default 1; the paper's weighting is unverified). */
  curvatureWeight?: number;
}

/** The pieces of one Monte Carlo draw of the NFDM-OT objective. */
export interface OTTerms {
  /** z_t = μ + σ ε, [B, D]. */
  z: tf.Tensor;
  /** x̂_θ(z_t, t), [B, D]. */
  xhat: tf.Tensor;
  /** f(z_t, t, x) = μ̇ + σ̇ ε, [B, D]. */
  fTrue: tf.Tensor;
  /** f(z_t, t, x̂), [B, D]. */
  fPred: tf.Tensor;
  /** ∂²F/∂t² = μ̈ + σ̈ ε, [B, D]. */
  acceleration: tf.Tensor;
  /** ‖fTrue − fPred‖², [B]. */
  matching: tf.Tensor;
  /** ‖∂²F/∂t²‖², [B] (unweighted). */
  curvature: tf.Tensor;
  /** matching + λ · curvature, [B]. */
  perSample: tf.Tensor;
}

/** One Monte Carlo draw of the NFDM-OT objective (velocity matching + λ · curvature), per sample. */
export function otTerms(parts: OTParts, x: tf.Tensor, noise: DiffusionNoise, options: OTOptions = {}): OTTerms {
  const lambda = options.curvatureWeight ?? 1;
  if (!(lambda >= 0) || !Number.isFinite(lambda)) throw new RangeError(`curvatureWeight must be a finite number ≥ 0, got ${lambda}`);
  const { forward, predictor } = parts;
  const { t, eps, condition: y } = noise;
  const p = forward.params(x, t, 2, y);
  const z = sampleZ(p, eps);
  const fTrue = velocityFromEps(p, eps);
  const acceleration = accelerationFromEps(p, eps);
  const xhat = predictor.predict(z, t, y);
  const fPred = velocity(forward.params(xhat, t, 1, y), z);
  const matching = tf.sum(tf.square(tf.sub(fTrue, fPred)), 1) as tf.Tensor;
  const curvature = tf.sum(tf.square(acceleration), 1) as tf.Tensor;
  const perSample = (lambda === 0 ? matching : tf.add(matching, tf.mul(lambda, curvature))) as tf.Tensor;
  return { z, xhat, fTrue, fPred, acceleration, matching, curvature, perSample };
}

/** The NFDM-OT training loss: the batch mean of {@link otTerms}' per-sample total. */
export function otLoss(parts: OTParts, x: tf.Tensor, noise: DiffusionNoise, options: OTOptions = {}): tf.Scalar {
  return tf.mean(otTerms(parts, x, noise, options).perSample) as tf.Scalar;
}

/** A generative ODE dz = v(z, t) dt integrated from t = 1 down to `forward.start.t` (a {@link DiffusionModel} qualifies). */
export interface ODEModel {
  readonly dim: number;
  readonly forward: { readonly priorStd: number; readonly start: { readonly t: number } };
  /** v(z, t), [B, D]. */
  velocity(z: tf.Tensor, t: number): tf.Tensor;
}

export interface CurvatureOptions {
  /** Number of trajectories (default 256). */
  n?: number;
  /** Euler steps from t = 1 to the start (default 100). */
  steps?: number;
  seed?: number;
}

export interface CurvatureResult {
  /** Mean over trajectories and interior times of ‖d²z/dt²‖. */
  mean: number;
  /** Per-trajectory time average of ‖d²z/dt²‖, length n. */
  perTrajectory: Float64Array;
  /** Mean of ‖d²z/dt²‖ over trajectories at each interior time `times[k]` (length steps − 1). */
  perTime: Float64Array;
  times: number[];
}

/**
 * Mean ‖d²z/dt²‖ along generated ODE trajectories: z₁ ~ N(0, s² I), then `steps` Euler steps
 * z_{k+1} = z_k + h v(z_k, t_k) with h = (t_start − 1)/steps, saving v_k = v(z_k, t_k) every step.
 * The acceleration d/dt v(z(t), t) = ∂v/∂t + J_v v is estimated by finite differences of the
 * velocity along the saved path, a_k = (v_k − v_{k−1}) / |h| (k = 1 … steps − 1) — which, for
 * Euler, is exactly the second difference (z_{k+1} − 2z_k + z_{k−1}) / h². It is a first-order
 * estimate (O(h) bias); an exactly constant-along-paths field gives 0, a straight generative
 * ODE gives ≈ 0. Costs `steps` velocity evaluations; runs in tidies, leaks nothing.
 */
export function curvatureMetric(model: ODEModel, options: CurvatureOptions = {}): CurvatureResult {
  const n = options.n ?? 256;
  const steps = options.steps ?? 100;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n must be a positive integer, got ${n}`);
  if (!Number.isInteger(steps) || steps < 2) throw new RangeError(`steps must be an integer ≥ 2, got ${steps}`);
  const rng = new Rng(options.seed ?? 0);
  const tEnd = model.forward.start.t;
  const h = (tEnd - 1) / steps;
  let z = tf.tidy(() => tf.mul(rng.normalTensor([n, model.dim]), model.forward.priorStd));
  let vPrev: tf.Tensor | null = null;
  const perTrajectory = new Float64Array(n);
  const perTime = new Float64Array(steps - 1);
  const times: number[] = [];
  try {
    for (let k = 0; k < steps; k++) {
      const t = 1 + k * h;
      const v = tf.tidy(() => model.velocity(z, t));
      if (vPrev) {
        const prev = vPrev;
        const norms = tf.tidy(() => tf.norm(tf.div(tf.sub(v, prev), Math.abs(h)), 'euclidean', 1));
        const a = norms.dataSync();
        norms.dispose();
        let s = 0;
        for (let i = 0; i < n; i++) {
          perTrajectory[i] += a[i] / (steps - 1);
          s += a[i];
        }
        perTime[k - 1] = s / n;
        times.push(t);
        prev.dispose();
      }
      vPrev = v;
      const zNext = tf.tidy(() => tf.add(z, tf.mul(h, v)));
      z.dispose();
      z = zNext;
    }
  } finally {
    z.dispose();
    vPrev?.dispose();
  }
  let mean = 0;
  for (let i = 0; i < n; i++) mean += perTrajectory[i];
  return { mean: mean / n, perTrajectory, perTime, times };
}

export interface NFESweepOptions<M = Record<string, number>> {
  /** Euler step counts (= velocity evaluations) to try (default [1, 2, 4, 8, 16, 100]). */
  nfes?: number[];
  /** Optional metrics of the samples against the held-out data (computed per NFE). */
  metrics?: (samples: tf.Tensor, heldout: tf.Tensor, nfe: number) => M;
  /** Sampling seed; the same prior draw is used for every NFE (default 0). */
  seed?: number;
  /** Number of samples (default: the number of held-out rows). */
  n?: number;
}

export interface NFESweepEntry<M = Record<string, number>> {
  nfe: number;
  /** [n, D]; owned by the caller (dispose it). */
  samples: tf.Tensor;
  metrics?: M;
}

/**
 * Few-step sampling sweep: for each NFE, `model.sample({ mode: 'ode', solver: 'euler', steps: nfe })`
 * from the same seeded prior draw, returning the samples (and `metrics(samples, heldout, nfe)`
 * when given). The caller owns and must dispose the returned samples.
 */
export function nfeSweep<M = Record<string, number>>(
  model: {
    sample(o: { n: number; mode: 'ode'; solver: string; steps: number; seed: number }): { samples: tf.Tensor; trajectory?: tf.Tensor };
  },
  heldout: tf.Tensor,
  options: NFESweepOptions<M> = {},
): NFESweepEntry<M>[] {
  const nfes = options.nfes ?? [1, 2, 4, 8, 16, 100];
  for (const k of nfes) if (!Number.isInteger(k) || k < 1) throw new RangeError(`every NFE must be a positive integer, got ${k}`);
  const n = options.n ?? (heldout.shape[0] as number);
  const seed = options.seed ?? 0;
  const out: NFESweepEntry<M>[] = [];
  try {
    for (const nfe of nfes) {
      const res = model.sample({ n, mode: 'ode', solver: 'euler', steps: nfe, seed });
      res.trajectory?.dispose();
      const entry: NFESweepEntry<M> = { nfe, samples: res.samples };
      out.push(entry);
      if (options.metrics) entry.metrics = options.metrics(res.samples, heldout, nfe);
    }
  } catch (e) {
    for (const entry of out) entry.samples.dispose();
    throw e;
  }
  return out;
}
