/**
 * DiffFlow sampling (docs/maths/diffflow.md#sampling-and-likelihood): x_N ~ N(0, I), then for i = N−1…0
 *
 *   stochastic     x_i = x_{i+1} − [f − g_{i+1}² s](x_{i+1}, t_{i+1}) Δ_i + g_{i+1} √Δ_i δ,
 *   deterministic  x_i = x_{i+1} − [f − ½ g_{i+1}² s](x_{i+1}, t_{i+1}) Δ_i   (probability flow).
 *
 * Like the repo's backward_z2x, the stochastic sampler returns the last step's mean (no noise
 * on the final step i = 0) unless `finalNoise` is set.
 */
import { Rng } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { diffflowBackwardDrift, diffflowSchedule } from './loss.js';
import type { DiffFlowModel } from './networks.js';

/** Options for {@link diffflowSample}. */
export interface DiffFlowSampleOptions {
  n: number;
  grid: ArrayLike<number>;
  g: number | ArrayLike<number>;
  seed?: number;
  /** Probability-flow steps (no noise). Default false. */
  deterministic?: boolean;
  /** Add noise on the final stochastic step too. Default false (the repo returns the mean). */
  finalNoise?: boolean;
  /**
   * Observe the chain: called with the prior draw x_N at t_N, then with x_i at t_i after every
   * step (i = N−1…0). `x` [n, d] is disposed by the sampler later; copy what you keep.
   */
  onStep?: (x: tf.Tensor2D, t: number) => void;
}

/** Draw n samples [n, d]. */
export function diffflowSample(model: DiffFlowModel, options: DiffFlowSampleOptions): tf.Tensor2D {
  const { n } = options;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`diffflowSample: n must be a positive integer, got ${n}`);
  const s = diffflowSchedule(options.grid, options.g);
  const rng = new Rng(options.seed ?? 0);
  const deterministic = options.deterministic ?? false;
  let x = rng.normalTensor([n, model.dim]) as tf.Tensor2D;
  options.onStep?.(x, s.t[s.N]);
  for (let i = s.N - 1; i >= 0; i--) {
    const prev = x;
    const noisy = !deterministic && (i > 0 || options.finalNoise === true);
    const eps = noisy ? rng.normalTensor([n, model.dim]) : null;
    x = tf.tidy(() => {
      const gi1 = s.g[i + 1];
      const drift = diffflowBackwardDrift(model, prev, s.t[i + 1], gi1, deterministic ? 0.5 : 1);
      let next = tf.sub(prev, tf.mul(drift, s.dt[i]));
      if (eps) next = tf.add(next, tf.mul(eps, gi1 * Math.sqrt(s.dt[i])));
      return next as tf.Tensor2D;
    });
    tf.dispose([prev, ...(eps ? [eps] : [])]);
    options.onStep?.(x, s.t[i]);
  }
  return x;
}
