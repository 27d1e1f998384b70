/**
 * Discrete-time Neural Diffusion Models (docs/maths/ndm.md#discrete-time): the T-step variational bound and the
 * ancestral sampler for the NDM forward process q_φ(z_t | x) = N(α_t F_φ(x, t), σ_t² I)
 * ({@link NDMProcess}).
 *
 * Grid: t_i = i/T (i = 1 … T), s = t − 1/T. With r² = SNR_t / SNR_s = (α_t σ_s)² / (α_s σ_t)² < 1:
 *
 *   σ²_{t|s} = σ_t² − (α_t²/α_s²) σ_s² = σ_t² (1 − r²),
 *   σ̃²       = σ²_{t|s} σ_s² / σ_t²     = σ_s² (1 − r²),
 *   q(z_s | z_t, x) = N( α_s F(x, s) + c (z_t − α_t F(x, t)),  σ̃² I ),
 *   c        = √(σ_s² − σ̃²) / σ_t      = r σ_s / σ_t.
 *
 * (Marginalising z_t ~ q(z_t | x) gives back q(z_s | x) = N(α_s F(x, s), σ_s² I).) The reverse
 * step is p_θ(z_s | z_t) = q(z_s | z_t, x̂), x̂ = x̂_θ(z_t, t), and the bound is
 *
 *   −log p(x) ≤ L_rec + Σ_{i=1}^{T} L_{t_i} + L_prior,
 *   L_t     = E_ε (1/(2σ̃²)) ‖α_s [F(x, s) − F(x̂, s)] − c α_t [F(x, t) − F(x̂, t)]‖²,
 *             z_t = α_t F(x, t) + σ_t ε,
 *   L_prior = KL(N(α₁ F(x, 1), σ₁² I) ‖ N(0, s² I)) = ½ Σ_d [ (α₁²F_d² + σ₁²)/s² − 1 − log(σ₁²/s²) ],
 *   L_rec   = E[−log p(x | z₀)] = (D/2) log(2π σ₀²/α₀²) + D/2,  p(x | z₀) = N(z₀/α₀, σ₀²/α₀² I),
 *
 * where L_rec is a constant because F(x, 0) = x makes q(z₀ | x) = N(α₀ x, σ₀² I). These two are
 * the shared {@link priorTerm} and {@link reconstructionTerm} of the NFDM bound. The sum over
 * steps is estimated by Monte Carlo: one uniform step index i per sample, times T
 * ({@link ndmDiscreteTerms}; {@link ndmDiscreteNelbo} adds the boundary terms).
 *
 * Gradients: one reverse pass through {@link ndmDiscreteLoss} trains φ (through F and z_t) and
 * θ (through x̂); ε and the step indices enter only as constants.
 *
 * Numerics: the per-step coefficients are computed in float64 on the JS side (the schedule is
 * fixed). Writing α_s ΔF_s − c α_t ΔF_t = α_s (1 − r²) ΔF_s + α_s r² (ΔF_s − ΔF_t) avoids the
 * float32 cancellation of the coefficients (α_s − c α_t = α_s(1 − r²) = O(1/T)); with F = x this
 * is VDM's discrete loss ½ (SNR_s − SNR_t) ‖x − x̂‖². As T → ∞, T·L_t tends to the continuous
 * NDM integrand −½ SNR′(t) ‖ΔF + (SNR/SNR′) ΔF_t‖², i.e. the NFDM bound with g² = −σ_t² λ′
 * ({@link ndmContinuousModel}).
 *
 * Shapes: x, z, ε [B, D]; step indices [B, 1] (integers in 1 … T); per-sample terms [B].
 */
import { Rng } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import type { GaussianForwardProcess } from './forward/gaussian.js';
import { NDMProcess } from './forward/ndm.js';
import type { Schedule } from './forward/schedules.js';
import { DiffusionModel, monteCarloNelbo, type NelboResult } from './model.js';
import type { DataPredictor } from './predictor.js';

/** What the ancestral sampler needs of a predictor: only x̂(z, t). */
type PredictFn = Pick<DataPredictor, 'predict'>;

/** An NDM: the forward process (must be an {@link NDMProcess}) and a data predictor. */
export interface NDMParts {
  forward: GaussianForwardProcess;
  predictor: PredictFn;
}

/** The float64 coefficients of step i (t = i/T → s = (i − 1)/T). */
export interface NDMStepCoefficients {
  t: number;
  s: number;
  alphaS: number;
  sigmaS: number;
  alphaT: number;
  sigmaT: number;
  /** r² = SNR_t / SNR_s ∈ (0, 1). */
  snrRatio: number;
  /** σ²_{t|s} = σ_t² (1 − r²). */
  sigma2TS: number;
  /** σ̃² = σ_s² (1 − r²), the posterior variance. */
  tildeSigma2: number;
  /** c = √(σ_s² − σ̃²)/σ_t = r σ_s / σ_t. */
  c: number;
}

function checkSteps(steps: number): void {
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`the number of NDM steps T must be a positive integer, got ${steps}`);
}

function asNDM(forward: GaussianForwardProcess): NDMProcess {
  if (!(forward instanceof NDMProcess)) {
    throw new TypeError(`the discrete NDM objective and sampler need an NDMProcess forward process, got kind '${forward.kind}'`);
  }
  return forward;
}

/** Coefficients of step i ∈ {1, …, T} of a schedule, in float64. */
export function ndmStepCoefficients(schedule: Schedule, steps: number, i: number): NDMStepCoefficients {
  checkSteps(steps);
  if (!Number.isInteger(i) || i < 1 || i > steps) throw new RangeError(`NDM step index must be an integer in [1, ${steps}], got ${i}`);
  const t = i / steps;
  const s = (i - 1) / steps;
  const { alpha: alphaT, sigma: sigmaT } = schedule.atNumber(t);
  const { alpha: alphaS, sigma: sigmaS } = schedule.atNumber(s);
  const ratio = (alphaT * sigmaS) / (alphaS * sigmaT);
  const snrRatio = ratio * ratio;
  if (!(snrRatio < 1 && snrRatio >= 0 && sigmaT > 0 && sigmaS > 0)) {
    throw new RangeError(
      `schedule '${schedule.name}' must have σ > 0 and a strictly decreasing SNR between s = ${s} and t = ${t} ` +
        `(SNR_t/SNR_s = ${snrRatio})`,
    );
  }
  const oneMinus = 1 - snrRatio;
  return {
    t,
    s,
    alphaS,
    sigmaS,
    alphaT,
    sigmaT,
    snrRatio,
    sigma2TS: sigmaT * sigmaT * oneMinus,
    tildeSigma2: sigmaS * sigmaS * oneMinus,
    c: (ratio * sigmaS) / sigmaT,
  };
}

/** The randomness of one Monte Carlo draw of the discrete bound: step indices i [B, 1] in 1 … T and ε [B, D]. */
export interface NDMDiscreteNoise {
  step: tf.Tensor;
  eps: tf.Tensor;
}

/** Draw i ~ U{1, …, T} (int32 [B, 1]) and ε ~ N(0, I) [B, D] from a seeded generator. */
export function drawNDMDiscreteNoise(rng: Rng, batch: number, dim: number, steps: number): NDMDiscreteNoise {
  checkSteps(steps);
  const idx = new Int32Array(batch);
  for (let b = 0; b < batch; b++) idx[b] = rng.int(steps) + 1;
  return { step: tf.tensor2d(idx, [batch, 1], 'int32'), eps: rng.normalTensor([batch, dim]) };
}

/** The pieces of one draw of the discrete bound. */
export interface NDMDiscreteTerms {
  /** t = i/T and s = t − 1/T, [B, 1]. */
  t: tf.Tensor;
  s: tf.Tensor;
  /** z_t = α_t F(x, t) + σ_t ε, [B, D]. */
  z: tf.Tensor;
  /** x̂ = x̂_θ(z_t, t), [B, D]. */
  xhat: tf.Tensor;
  /** L_t per sample, [B]. */
  perStep: tf.Tensor;
  /** T · L_t per sample (the Monte Carlo estimate of Σ_t L_t), [B]. */
  perSample: tf.Tensor;
}

/** Per-sample coefficient columns [B, 1] for the given step indices. */
function coefficientColumns(schedule: Schedule, steps: number, idx: ArrayLike<number>) {
  const B = idx.length;
  const cols = {
    t: new Float32Array(B),
    s: new Float32Array(B),
    alphaT: new Float32Array(B),
    sigmaT: new Float32Array(B),
    a: new Float32Array(B),
    k: new Float32Array(B),
    weight: new Float32Array(B),
  };
  const cache = new Map<number, NDMStepCoefficients>();
  for (let b = 0; b < B; b++) {
    const i = idx[b];
    let c = cache.get(i);
    if (!c) {
      c = ndmStepCoefficients(schedule, steps, i);
      cache.set(i, c);
    }
    cols.t[b] = c.t;
    cols.s[b] = c.s;
    cols.alphaT[b] = c.alphaT;
    cols.sigmaT[b] = c.sigmaT;
    cols.a[b] = c.alphaS * (1 - c.snrRatio); // α_s − c α_t
    cols.k[b] = c.alphaS * c.snrRatio; // c α_t
    cols.weight[b] = 1 / (2 * c.tildeSigma2);
  }
  const col = (v: Float32Array) => tf.tensor2d(v, [B, 1]);
  return {
    t: col(cols.t),
    s: col(cols.s),
    alphaT: col(cols.alphaT),
    sigmaT: col(cols.sigmaT),
    a: col(cols.a),
    k: col(cols.k),
    weight: tf.tensor1d(cols.weight),
  };
}

function readStepIndices(step: tf.Tensor, batch: number, steps: number): Int32Array {
  if (step.rank !== 2 || step.shape[0] !== batch || step.shape[1] !== 1) {
    throw new RangeError(`NDM step indices must have shape [${batch}, 1], got [${step.shape}]`);
  }
  const values = step.dataSync();
  const idx = new Int32Array(batch);
  for (let b = 0; b < batch; b++) {
    const i = values[b];
    if (!Number.isInteger(i) || i < 1 || i > steps) throw new RangeError(`NDM step indices must be integers in [1, ${steps}], got ${i}`);
    idx[b] = i;
  }
  return idx;
}

/**
 * One Monte Carlo draw of the discrete diffusion term Σ_t L_t ≈ T · L_{t_i} for explicit noise.
 * Differentiable in φ (through F and z_t) and θ (through x̂). x [B, D]; noise.step [B, 1]; noise.eps [B, D].
 */
export function ndmDiscreteTerms(parts: NDMParts, x: tf.Tensor, noise: NDMDiscreteNoise, steps: number): NDMDiscreteTerms {
  checkSteps(steps);
  const forward = asNDM(parts.forward);
  if (x.rank !== 2 || x.shape[1] !== forward.dim) throw new RangeError(`x must have shape [B, ${forward.dim}], got [${x.shape}]`);
  const B = x.shape[0];
  if (noise.eps.rank !== 2 || noise.eps.shape[0] !== B || noise.eps.shape[1] !== forward.dim) {
    throw new RangeError(`eps must have shape [${B}, ${forward.dim}], got [${noise.eps.shape}]`);
  }
  const idx = readStepIndices(noise.step, B, steps);
  return tf.tidy(() => {
    const k = coefficientColumns(forward.schedule, steps, idx);
    const FxT = forward.transform(x, k.t, 0).F;
    const z = tf.add(tf.mul(k.alphaT, FxT), tf.mul(k.sigmaT, noise.eps)) as tf.Tensor;
    const xhat = parts.predictor.predict(z, k.t);
    // One network call for F(x, s), F(x̂, s), F(x̂, t).
    const stacked = forward.transform(tf.concat([x, xhat, xhat], 0), tf.concat([k.s, k.s, k.t], 0), 0).F;
    const [FxS, FhS, FhT] = tf.split(stacked, 3, 0);
    const dS = tf.sub(FxS, FhS);
    const dT = tf.sub(FxT, FhT);
    const residual = tf.add(tf.mul(k.a, dS), tf.mul(k.k, tf.sub(dS, dT)));
    const perStep = tf.mul(k.weight, tf.sum(tf.square(residual), 1)) as tf.Tensor;
    const perSample = tf.mul(steps, perStep) as tf.Tensor;
    return { t: k.t, s: k.s, z, xhat, perStep, perSample };
  });
}

/** The training loss: batch mean of T · L_t (the constants and the prior term are left out). */
export function ndmDiscreteLoss(parts: NDMParts, x: tf.Tensor, noise: NDMDiscreteNoise, steps: number): tf.Scalar {
  return tf.tidy(() => tf.mean(ndmDiscreteTerms(parts, x, noise, steps).perSample) as tf.Scalar);
}

/** {@link ndmDiscreteLoss} with the step indices and ε drawn from `rng`. */
export function ndmDiscreteLossFromRng(parts: NDMParts, x: tf.Tensor, rng: Rng, steps: number): tf.Scalar {
  const noise = drawNDMDiscreteNoise(rng, x.shape[0], asNDM(parts.forward).dim, steps);
  try {
    return ndmDiscreteLoss(parts, x, noise, steps);
  } finally {
    tf.dispose([noise.step, noise.eps]);
  }
}

/**
 * The discrete NELBO of each row of x in nats: L_rec + T·L_{t_i} (averaged over `draws`
 * draws of (i, ε)) + L_prior, with mean and standard error over rows.
 */
export function ndmDiscreteNelbo(
  parts: NDMParts,
  x: tf.Tensor,
  options: { steps: number; draws?: number; seed?: number; batch?: number },
): NelboResult {
  const forward = asNDM(parts.forward);
  checkSteps(options.steps);
  return monteCarloNelbo(forward, x, options, (xb, rng) => {
    const noise = drawNDMDiscreteNoise(rng, xb.shape[0] as number, forward.dim, options.steps);
    return ndmDiscreteTerms(parts, xb, noise, options.steps).perSample;
  });
}

/**
 * The posterior q(z_s | z_t, x) of step i: mean α_s F(x, s) + c (z_t − α_t F(x, t)) [B, D] and
 * standard deviation σ̃ (a number). x, z_t [B, D].
 */
export function ndmPosterior(forward: NDMProcess, x: tf.Tensor, zt: tf.Tensor, steps: number, i: number): { mean: tf.Tensor; std: number } {
  const k = ndmStepCoefficients(forward.schedule, steps, i);
  const mean = tf.tidy(() => {
    const B = x.shape[0];
    const tt = tf.concat([tf.fill([B, 1], k.s), tf.fill([B, 1], k.t)], 0);
    const [Fs, Ft] = tf.split(forward.transform(tf.concat([x, x], 0), tt, 0).F, 2, 0);
    return tf.add(tf.mul(k.alphaS, Fs), tf.mul(k.c, tf.sub(zt, tf.mul(k.alphaT, Ft)))) as tf.Tensor;
  });
  return { mean, std: Math.sqrt(k.tildeSigma2) };
}

/**
 * One ancestral step z_t → z_s ~ p_θ(z_s | z_t) = q(z_s | z_t, x̂_θ(z_t, t)) with explicit
 * standard-normal noise n [B, D]: z_s = mean + σ̃ n.
 */
export function ndmReverseStep(parts: NDMParts, zt: tf.Tensor, steps: number, i: number, noise: tf.Tensor): tf.Tensor {
  const forward = asNDM(parts.forward);
  return tf.tidy(() => {
    const xhat = parts.predictor.predict(zt, tf.fill([zt.shape[0], 1], i / steps));
    const { mean, std } = ndmPosterior(forward, xhat, zt, steps, i);
    return tf.add(mean, tf.mul(std, noise)) as tf.Tensor;
  });
}

export interface NDMSampleOptions {
  /** Number of samples. */
  n: number;
  /** Number of steps T (t_i = i/T). */
  steps: number;
  seed?: number;
}

export interface NDMSampleResult {
  /** z₀/α₀, the mean of the decoder p(x | z₀) = N(z₀/α₀, σ₀²/α₀²), [n, D]. */
  samples: tf.Tensor;
  /** Predictor calls (= T). */
  nfe: number;
}

/**
 * Ancestral sampling: z₁ ~ N(0, s² I) (s = the process's prior std), then for i = T … 1
 * z_{(i−1)/T} ~ q(z_s | z_t, x̂_θ(z_t, t)); returns z₀/α₀ (the decoder mean, without decoder noise).
 */
export function ndmAncestralSample(parts: NDMParts, options: NDMSampleOptions): NDMSampleResult {
  const forward = asNDM(parts.forward);
  checkSteps(options.steps);
  if (!Number.isInteger(options.n) || options.n < 1) throw new RangeError(`n must be a positive integer, got ${options.n}`);
  const rng = new Rng(options.seed ?? 0);
  const shape = [options.n, forward.dim];
  let z = tf.tidy(() => tf.mul(rng.normalTensor(shape), forward.priorStd) as tf.Tensor);
  for (let i = options.steps; i >= 1; i--) {
    const noise = rng.normalTensor(shape);
    const next = ndmReverseStep(parts, z, options.steps, i, noise);
    tf.dispose([z, noise]);
    z = next;
  }
  const samples = tf.tidy(() => tf.div(z, forward.start.alpha) as tf.Tensor);
  z.dispose();
  return { samples, nfe: options.steps };
}

/**
 * Continuous-time NDM (docs/maths/ndm.md#continuous-time) as a {@link DiffusionModel}: NFDM's bound, samplers and
 * likelihoods with μ = α_t F_φ(x, t), σ = σ_t and the fixed matched volatility g² = −σ_t² λ′(t).
 * The model takes ownership of `forward` and `predictor` (dispose the model, not them).
 */
export function ndmContinuousModel(forward: NDMProcess, predictor: DataPredictor): DiffusionModel {
  return new DiffusionModel(forward, predictor, forward.matchedVolatility());
}
