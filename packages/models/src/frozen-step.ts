/**
 * The frozen-prediction ("DDIM") sampler of a Gaussian forward process
 * (docs/maths/sampling.md#frozen-prediction-steps). Over one step from t down to s < t the data
 * prediction x̂ = x̂_w(z_t, t, y) is held fixed; the probability-flow ODE
 *
 *   dz/dt = μ̇(x̂, t) + (σ̇/σ)(x̂, t) (z − μ(x̂, t))
 *
 * is then linear in z and keeps ε = (z − μ(x̂, t)) / σ(x̂, t) constant, so it is solved exactly:
 *
 *   z_s = μ(x̂, s) + σ(x̂, s) · (z_t − μ(x̂, t)) / σ(x̂, t).
 *
 * For a fixed process (μ = α_t x̂, σ = σ_t) this is DDIM with η = 0. The only error is that of
 * freezing x̂ over the step (first order in the step, like Euler), but the step cannot overshoot:
 * Euler multiplies z − μ by 1 − h·σ̇/σ, which leaves [−1, 1] — and diverges — wherever a learned σ
 * falls faster than 2/h (learned NFDM processes can drop σ to δ within a few hundredths of t near
 * t = 0), while this step multiplies it by σ(s)/σ(t). Per step: one predictor call (one call on
 * 2B rows with guidance) and two evaluations of F (no t-derivatives). Shapes: z [n, D], y [n, w].
 */
import type { SolveStats } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import type { GaussianForwardProcess } from './forward/gaussian.js';
import { type GuidanceParts, guidedPrediction } from './guidance.js';

/** The solver name that selects these steps in `DiffusionModel.sample({ mode: 'ode', solver })` and the CLI. */
export const FROZEN_PREDICTION_SOLVER = 'ddim';

/** Whether a solver name (any case) selects the frozen-prediction steps. */
export function isFrozenPredictionSolver(name: string | undefined): boolean {
  return name?.toLowerCase() === FROZEN_PREDICTION_SOLVER;
}

export interface FrozenStepOptions {
  /** Uniform steps from t = 1 down to the process start (default 100). */
  steps?: number;
  /** Save the state at every step (returned as [T, n, D] with its times). */
  trajectory?: boolean;
  onStep?: (t: number, acceptedSteps: number) => void;
}

export interface FrozenStepResult {
  samples: tf.Tensor;
  trajectory?: tf.Tensor;
  times?: number[];
  stats: SolveStats;
}

/** z_s from z_t with x̂ frozen (module doc), [n, D]. */
export function frozenPredictionStep(
  parts: GuidanceParts & { forward: GaussianForwardProcess },
  z: tf.Tensor,
  t: number,
  s: number,
  y: tf.Tensor | null,
  w: number,
): tf.Tensor {
  return tf.tidy(() => {
    const n = z.shape[0] as number;
    const tt = tf.fill([n, 1], t);
    const xhat = guidedPrediction(parts, z, tt, y, w);
    const at = parts.forward.params(xhat, tt, 0, y);
    const as = parts.forward.params(xhat, tf.fill([n, 1], s), 0, y);
    return tf.add(as.mu, tf.mul(as.sigma, tf.div(tf.sub(z, at.mu), at.sigma)));
  });
}

/** Sample from z1 [n, D] at t = 1 down to `tEnd` with frozen-prediction steps (module doc). */
export function sampleFrozenPrediction(
  parts: GuidanceParts & { forward: GaussianForwardProcess },
  z1: tf.Tensor,
  tEnd: number,
  y: tf.Tensor | null,
  w: number,
  options: FrozenStepOptions = {},
): FrozenStepResult {
  const steps = options.steps ?? 100;
  if (!(Number.isInteger(steps) && steps >= 1)) throw new RangeError(`steps must be a positive integer, got ${steps}`);
  const times = Array.from({ length: steps + 1 }, (_, k) => (k === steps ? tEnd : 1 - (k * (1 - tEnd)) / steps));
  const saved: tf.Tensor[] = options.trajectory ? [tf.clone(z1)] : [];
  let z = tf.clone(z1);
  for (let k = 0; k < steps; k++) {
    const next = frozenPredictionStep(parts, z, times[k], times[k + 1], y, w);
    z.dispose();
    z = next;
    if (options.trajectory) saved.push(tf.clone(z));
    options.onStep?.(times[k + 1], k + 1);
  }
  const stats: SolveStats = {
    nfe: steps,
    diffusionEvals: 0,
    steps,
    acceptedSteps: steps,
    rejectedSteps: 0,
    initialStep: times[1] - times[0],
  };
  if (!options.trajectory) return { samples: z, stats };
  const trajectory = tf.stack(saved);
  tf.dispose(saved);
  return { samples: z, trajectory, times, stats };
}
