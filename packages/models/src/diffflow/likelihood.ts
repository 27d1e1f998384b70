/**
 * DiffFlow likelihoods (docs/maths/diffflow.md#path-kl-loss, #sampling-and-likelihood).
 *
 * - {@link diffflowBound}: the discrete NLL bound −log p_B(x) ≤ −log N(x_N; 0, I) + Σ_i ½‖δ^B_i‖²
 *   − N d/2 (constant g) on the model's evaluation grid, one forward path per point, averaged
 *   over `draws` paths; mean and standard error over the points, nats per sample.
 * - {@link diffflowLogProb}: the continuous NLL through the probability-flow ODE
 *   dx/dt = f(x, t) − ½ g² s(x, t) from t = tMin (data) to tMax (prior N(0, I)), with the exact
 *   divergence for d ≤ 16, else Hutchinson's estimate ε^T (∂v/∂x) ε (one VJP per evaluation; image
 *   models) — @nfdm/core's logDensityODE.
 */
import { logDensityODE, Rng, type SolveStats } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { estimate } from '../model.js';
import { diffflowNllBound, drawDiffFlowNoise } from './loss.js';
import type { DiffFlowModel } from './networks.js';
import { diffflowEvalGrid } from './time.js';

export interface DiffFlowBoundOptions {
  /** Forward paths per point (default 1). */
  draws?: number;
  /** Seed of the forward noise (default 0). */
  seed?: number;
  /** Rows per chunk (default the model's `evalBatch` for U-Nets, else 4096). */
  chunk?: number;
}

/** Mean ± standard error (over points; NaN for one point) of the NLL bound, nats per sample; `perSample` [N]. */
export function diffflowBound(
  model: DiffFlowModel,
  x: tf.Tensor2D,
  options: DiffFlowBoundOptions = {},
): { mean: number; stderr: number; perSample: Float32Array } {
  const draws = options.draws ?? 1;
  if (!Number.isInteger(draws) || draws < 1) throw new RangeError(`diffflowBound: draws must be a positive integer, got ${draws}`);
  const grid = diffflowEvalGrid(model.time);
  const N = grid.length - 1;
  const rng = new Rng(options.seed ?? 0);
  const chunk = options.chunk ?? model.evalBatch ?? 4096;
  const n = x.shape[0];
  const perSample = new Float32Array(n);
  for (let d = 0; d < draws; d++) {
    for (let start = 0; start < n; start += chunk) {
      const size = Math.min(chunk, n - start);
      const values = tf.tidy(() => {
        const xs = tf.slice(x, [start, 0], [size, model.dim]) as tf.Tensor2D;
        const noise = drawDiffFlowNoise(rng, N, size, model.dim);
        return diffflowNllBound(model, xs, { grid, g: model.time.g, noise }).dataSync();
      });
      for (let i = 0; i < size; i++) perSample[start + i] += values[i] / draws;
    }
  }
  const { mean, stderr } = estimate(perSample);
  return { mean, stderr, perSample };
}

export interface DiffFlowLogProbOptions {
  /** Default 'dopri5'. */
  solver?: string;
  rtol?: number;
  atol?: number;
  /** Fixed steps (fixed-step solvers). */
  steps?: number;
  divergence?: 'exact' | 'hutchinson';
  seed?: number;
}

/** The probability-flow velocity f − ½ g² s at time t, x [B, d] → [B, d]. */
export function diffflowVelocity(model: DiffFlowModel, x: tf.Tensor2D, t: number): tf.Tensor2D {
  return tf.tidy(() => {
    const tt = tf.fill([1, 1], t) as tf.Tensor2D; // one time for every row (broadcast by the nets)
    const g2 = model.time.g * model.time.g;
    return tf.sub(model.drift(x, tt), tf.mul(0.5 * g2, model.score(x, tt))) as tf.Tensor2D;
  });
}

/** log p(x) per point through the probability-flow ODE (nats), with the solver statistics. */
export function diffflowLogProb(
  model: DiffFlowModel,
  x: tf.Tensor2D,
  options: DiffFlowLogProbOptions = {},
): { logp: Float32Array; stats: SolveStats } {
  const result = logDensityODE({
    field: (t, y) => diffflowVelocity(model, y as tf.Tensor2D, t),
    x,
    t0: model.time.tMin,
    t1: model.time.tMax,
    solver: options.solver ?? 'dopri5',
    rtol: options.rtol ?? 1e-5,
    atol: options.atol ?? 1e-5,
    steps: options.steps,
    divergence: options.divergence ?? (model.dim <= 16 ? 'exact' : 'hutchinson'),
    seed: options.seed ?? 0,
  });
  const logp = result.logp.dataSync() as Float32Array;
  tf.dispose([result.logp, result.z, result.deltaLogp, result.priorLogp]);
  return { logp, stats: result.stats };
}
