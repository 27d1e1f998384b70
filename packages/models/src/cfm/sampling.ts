/**
 * Sampling, exact likelihood and reflow of a flow-matching model (docs/maths/flow-matching.md):
 * the generative ODE dz/dt = v_θ(z, t) integrated by any of @nfdm/core's solvers.
 *
 * - {@link cfmSample}: z₁ ~ N(0, I) [n, D] at t = 1 carried down to t = 0.
 * - {@link cfmLogProb}: log p(x) = log N(z₁; 0, I) + ∫₀¹ div v_θ(z_t, t) dt along the ODE from
 *   z₀ = x up to t = 1 (core's logDensityODE; exact divergence for D ≤ 16, Hutchinson above).
 * - {@link reflowPairs}: rectified flow's reflow data, pairs [x̂ | z₁] [n, 2D] with z₁ ~ N(0, I)
 *   and x̂ = ODE_{1→0}(z₁), the deterministic coupling the previous model defines.
 */
import { type DivergenceMethod, logDensityODE, Rng, type SolveStats } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { sampleODE } from '../ode-sample.js';
import type { CFMModel } from './model.js';

export interface CFMSampleOptions {
  n: number;
  /** A core solver name (default 'euler'; 'dopri5' with `adaptive`). */
  solver?: string;
  /** Fixed steps (default 100); ignored with `adaptive`. */
  steps?: number;
  adaptive?: { rtol?: number; atol?: number };
  seed?: number;
  /** Keep every step's state (returned as [T, n, D] with its times). */
  trajectory?: boolean;
  nonFinite?: 'error' | 'freeze-rows';
  /** Called after every accepted step with its time (from 1 down to 0). */
  onStep?: (t: number, acceptedSteps: number) => void;
  /** Start from these z₁ [n, D] instead of drawing them (reflow, tests). */
  z1?: tf.Tensor2D;
}

export interface CFMSampleResult {
  samples: tf.Tensor2D;
  trajectory?: tf.Tensor3D;
  times?: number[];
  stats: SolveStats;
  nonFiniteRows?: number[];
}

/** Integrate dz/dt = v_θ(z, t) from z₁ ~ N(0, I) at t = 1 down to t = 0. */
export function cfmSample(model: CFMModel, o: CFMSampleOptions): CFMSampleResult {
  const rng = new Rng(o.seed ?? 0);
  const z1 = o.z1 ?? (rng.normalTensor([o.n, model.dim]) as tf.Tensor2D);
  try {
    const r = sampleODE((t, z) => model.velocity(z as tf.Tensor2D, t), z1, 1, 0, o);
    return { ...r, samples: r.samples as tf.Tensor2D, trajectory: r.trajectory as tf.Tensor3D | undefined };
  } finally {
    if (!o.z1) z1.dispose();
  }
}

export interface CFMLogProbOptions {
  /** Default 'dopri5'. */
  solver?: string;
  steps?: number;
  rtol?: number;
  atol?: number;
  /** Default: 'exact' for D ≤ 16, else 'hutchinson'. */
  divergence?: DivergenceMethod;
  seed?: number;
  onStep?: (t: number, acceptedSteps: number) => void;
}

/** Exact log p(x) (nats) of each row of x [n, D] through the ODE from t = 0 to 1. */
export function cfmLogProb(model: CFMModel, x: tf.Tensor2D, o: CFMLogProbOptions = {}): { logp: Float32Array; stats: SolveStats } {
  const result = logDensityODE({
    field: (t, z) => model.velocity(z as tf.Tensor2D, t),
    x,
    t0: 0,
    t1: 1,
    solver: o.solver ?? 'dopri5',
    rtol: o.rtol ?? 1e-5,
    atol: o.atol ?? 1e-5,
    steps: o.steps,
    divergence: o.divergence ?? (model.dim <= 16 ? 'exact' : 'hutchinson'),
    seed: o.seed ?? 0,
    onStep: o.onStep,
  });
  const logp = result.logp.dataSync() as Float32Array;
  tf.dispose([result.logp, result.z, result.deltaLogp, result.priorLogp]);
  return { logp, stats: result.stats };
}

export interface ReflowOptions {
  /** Pairs to generate. */
  n: number;
  seed?: number;
  /** Solver of the ODE map (default 'rk4'). */
  solver?: string;
  /** Its fixed steps (default 50). */
  steps?: number;
  /** Rows per solve (default the model's evalBatch, else 4096). */
  batch?: number;
}

/**
 * Reflow pairs [x̂ | z₁] [n, 2D] of a trained model: z₁ ~ N(0, I) from Rng(seed) and
 * x̂ = ODE_{1→0}(z₁) by `solver` with `steps` steps, the rows a rectified flow's next round
 * trains on (coupling 'reflow').
 */
export function reflowPairs(model: CFMModel, o: ReflowOptions): tf.Tensor2D {
  if (!Number.isInteger(o.n) || o.n < 1) throw new RangeError(`reflow: n must be a positive integer, got ${o.n}`);
  const rng = new Rng(o.seed ?? 0);
  const batch = o.batch ?? model.evalBatch ?? 4096;
  const parts: tf.Tensor2D[] = [];
  for (let start = 0; start < o.n; start += batch) {
    const size = Math.min(batch, o.n - start);
    const z1 = rng.normalTensor([size, model.dim]) as tf.Tensor2D;
    const { samples } = cfmSample(model, { n: size, z1, solver: o.solver ?? 'rk4', steps: o.steps ?? 50 });
    parts.push(tf.concat([samples, z1], 1) as tf.Tensor2D);
    tf.dispose([samples, z1]);
  }
  const pairs = tf.concat(parts, 0) as tf.Tensor2D;
  tf.dispose(parts);
  return pairs;
}
