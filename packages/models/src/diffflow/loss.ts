/**
 * DiffFlow's path-KL objective, its memory-saving exact gradient and the NLL bound
 * (docs/maths/diffflow.md#model-and-discretisation to #memory-saving-gradient).
 *
 * On a grid t_0 < … < t_N with Δ_i = t_{i+1} − t_i and g_i = g(t_i):
 *
 *   forward   x_{i+1} = x_i + f(x_i, t_i) Δ_i + g_i √Δ_i δ^F_i,                      i = 0…N−1,
 *   backward  δ^B_i   = ( x_i − x_{i+1} + [f − g_{i+1}² s](x_{i+1}, t_{i+1}) Δ_i ) / ( g_{i+1} √Δ_i ),
 *
 *   L = E[ −log N(x_N; 0, I) + Σ_i ( ½‖δ^B_i‖² − ½‖δ^F_i‖² ) ]     (δ^F is fixed noise: no gradient).
 *
 * {@link diffflowPathKL} builds the whole unrolled graph (use with tf.variableGrads for small N);
 * {@link diffflowPathKLGrad} gives the same gradient with one step's graph at a time (docs/maths/diffflow.md#memory-saving-gradient).
 */
import { type Rng, trainableVariables } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import type { DiffFlowModel } from './networks.js';

const LOG_2PI = Math.log(2 * Math.PI);

/** Options shared by the loss, its gradient and the bound. */
export interface DiffFlowPathOptions {
  /** The N + 1 increasing time points (e.g. from expTimerGrid). */
  grid: ArrayLike<number>;
  /** The diffusion: a constant, or its N + 1 values g_i = g(t_i) on the grid. */
  g: number | ArrayLike<number>;
  /** The forward noise δ^F, [N, B, d]. */
  noise: tf.Tensor;
}

/** Draw the forward noise δ^F ~ N(0, I) of shape [N, B, d] from a seeded generator. */
export function drawDiffFlowNoise(rng: Rng, steps: number, batch: number, dim: number): tf.Tensor3D {
  return rng.normalTensor([steps, batch, dim]) as tf.Tensor3D;
}

/** Validated grid, per-step Δ_i and g_i (length N + 1). */
export interface DiffFlowSchedule {
  N: number;
  t: number[];
  dt: number[];
  g: number[];
}

export function diffflowSchedule(grid: ArrayLike<number>, g: number | ArrayLike<number>): DiffFlowSchedule {
  const t = Array.from(grid);
  const N = t.length - 1;
  if (N < 1) throw new RangeError('DiffFlow: the grid needs at least two points');
  const dt: number[] = [];
  for (let i = 0; i < N; i++) {
    const d = t[i + 1] - t[i];
    if (!(d > 0)) throw new RangeError(`DiffFlow: the grid must be strictly increasing (t_${i} = ${t[i]}, t_${i + 1} = ${t[i + 1]})`);
    dt.push(d);
  }
  const gs = typeof g === 'number' ? new Array<number>(N + 1).fill(g) : Array.from(g);
  if (gs.length !== N + 1) throw new RangeError(`DiffFlow: g needs ${N + 1} grid values, got ${gs.length}`);
  if (!gs.every((v) => v > 0)) throw new RangeError('DiffFlow: g must be positive');
  return { N, t, dt, g: gs };
}

function checkNoise(noise: tf.Tensor, s: DiffFlowSchedule, x0: tf.Tensor2D): void {
  const [B, d] = x0.shape;
  if (noise.rank !== 3 || noise.shape[0] !== s.N || noise.shape[1] !== B || noise.shape[2] !== d) {
    throw new RangeError(`DiffFlow: noise must be [${s.N}, ${B}, ${d}], got [${noise.shape}]`);
  }
}

/** One time for every row: [1, 1], broadcast by the networks (the time features are computed once, not per row). */
const timeColumn = (t: number, _batch: number): tf.Tensor2D => tf.fill([1, 1], t) as tf.Tensor2D;

/** The deterministic forward map m(x_i) = x_i + f(x_i, t_i) Δ_i. */
export function diffflowForwardMean(model: DiffFlowModel, x: tf.Tensor2D, t: number, dt: number): tf.Tensor2D {
  return tf.tidy(() => tf.add(x, tf.mul(model.drift(x, timeColumn(t, x.shape[0])), dt)) as tf.Tensor2D);
}

/** The backward drift b(x, t) = f(x, t) − c·g² s(x, t) (c = 1: SDE, c = ½: probability flow). */
export function diffflowBackwardDrift(model: DiffFlowModel, x: tf.Tensor2D, t: number, g: number, c = 1): tf.Tensor2D {
  return tf.tidy(() => {
    const tc = timeColumn(t, x.shape[0]);
    return tf.sub(model.drift(x, tc), tf.mul(model.score(x, tc), c * g * g)) as tf.Tensor2D;
  });
}

/** One forward step x_{i+1} = m(x_i) + g_i √Δ_i δ^F_i, with δ^F_i [B, d]. */
function forwardStep(model: DiffFlowModel, x: tf.Tensor2D, delta: tf.Tensor, s: DiffFlowSchedule, i: number): tf.Tensor2D {
  return tf.tidy(() => tf.add(diffflowForwardMean(model, x, s.t[i], s.dt[i]), tf.mul(delta, s.g[i] * Math.sqrt(s.dt[i]))) as tf.Tensor2D);
}

/** The implied backward noise δ^B_i for a forward pair (x_i, x_{i+1}), [B, d]. */
export function diffflowBackwardNoise(
  model: DiffFlowModel,
  xi: tf.Tensor2D,
  xi1: tf.Tensor2D,
  s: DiffFlowSchedule,
  i: number,
): tf.Tensor2D {
  return tf.tidy(() => {
    const gi1 = s.g[i + 1];
    const drift = diffflowBackwardDrift(model, xi1, s.t[i + 1], gi1);
    const num = tf.add(tf.sub(xi, xi1), tf.mul(drift, s.dt[i]));
    return tf.div(num, gi1 * Math.sqrt(s.dt[i])) as tf.Tensor2D;
  });
}

/** Per-sample pieces of one full-graph unroll. */
export interface DiffFlowPathTerms {
  /** x_N, [B, d]. */
  xN: tf.Tensor2D;
  /** −log N(x_N; 0, I), [B]. */
  priorNll: tf.Tensor1D;
  /** Σ_i ½‖δ^B_i‖², [B]. */
  backwardEnergy: tf.Tensor1D;
  /** Σ_i ½‖δ^F_i‖², [B] (no gradient). */
  forwardEnergy: tf.Tensor1D;
}

const priorNll = (x: tf.Tensor2D): tf.Tensor1D => tf.add(tf.mul(0.5, tf.sum(tf.square(x), 1)), 0.5 * x.shape[1] * LOG_2PI) as tf.Tensor1D;

/** Unroll the forward chain with the whole graph kept (differentiable end to end). */
export function diffflowPathTerms(model: DiffFlowModel, x0: tf.Tensor2D, options: DiffFlowPathOptions): DiffFlowPathTerms {
  const s = diffflowSchedule(options.grid, options.g);
  checkNoise(options.noise, s, x0);
  return tf.tidy(() => {
    const deltas = tf.unstack(options.noise) as tf.Tensor2D[];
    let x = x0;
    let backwardEnergy = tf.zeros([x0.shape[0]]) as tf.Tensor1D;
    for (let i = 0; i < s.N; i++) {
      const next = forwardStep(model, x, deltas[i], s, i);
      const dB = diffflowBackwardNoise(model, x, next, s, i);
      backwardEnergy = tf.add(backwardEnergy, tf.mul(0.5, tf.sum(tf.square(dB), 1))) as tf.Tensor1D;
      x = next;
    }
    const forwardEnergy = tf.mul(0.5, tf.sum(tf.square(options.noise), [0, 2])) as tf.Tensor1D;
    return { xN: x, priorNll: priorNll(x), backwardEnergy, forwardEnergy };
  });
}

/** The path-KL loss (batch mean, nats), built as one full graph. */
export function diffflowPathKL(model: DiffFlowModel, x0: tf.Tensor2D, options: DiffFlowPathOptions): tf.Scalar {
  return tf.tidy(() => {
    const p = diffflowPathTerms(model, x0, options);
    return tf.mean(tf.sub(tf.add(p.priorNll, p.backwardEnergy), p.forwardEnergy)) as tf.Scalar;
  });
}

/** Σ_i d·log(g_{i+1}/g_i) (0 for constant g). */
function diffusionLogRatio(s: DiffFlowSchedule, d: number): number {
  let out = 0;
  for (let i = 0; i < s.N; i++) out += d * Math.log(s.g[i + 1] / s.g[i]);
  return out;
}

/**
 * The NLL bound −log p_B(x_0) ≤ −log N(x_N; 0, I) + Σ_i ½‖δ^B_i‖² − N d/2 + Σ_i d·log(g_{i+1}/g_i),
 * per sample in nats, [B] (the path-KL loss with E‖δ^F‖² = d substituted; one Monte Carlo draw
 * of the forward path). Walks the chain one step at a time (no graph is kept: only x_i and the
 * running Σ ½‖δ^B‖², [B, d] + [B], are alive between steps — what U-Net image models need).
 */
export function diffflowNllBound(model: DiffFlowModel, x0: tf.Tensor2D, options: DiffFlowPathOptions): tf.Tensor1D {
  const s = diffflowSchedule(options.grid, options.g);
  checkNoise(options.noise, s, x0);
  const [B, d] = x0.shape;
  const constant = -0.5 * s.N * d + diffusionLogRatio(s, d);
  let x = x0;
  let energy = tf.zeros([B]) as tf.Tensor1D;
  for (let i = 0; i < s.N; i++) {
    const xi = x;
    const sum = energy;
    x = tf.tidy(() => forwardStep(model, xi, tf.reshape(tf.slice(options.noise, [i, 0, 0], [1, B, d]), [B, d]), s, i));
    energy = tf.tidy(() => tf.add(sum, tf.mul(0.5, tf.sum(tf.square(diffflowBackwardNoise(model, xi, x, s, i)), 1))) as tf.Tensor1D);
    tf.dispose(xi === x0 ? [sum] : [xi, sum]);
  }
  const xN = x;
  const out = tf.tidy(() => tf.add(tf.add(priorNll(xN), energy), constant) as tf.Tensor1D);
  tf.dispose(xN === x0 ? [energy] : [xN, energy]);
  return out;
}

/** The result of {@link diffflowPathKLGrad}. */
export interface DiffFlowGradResult {
  /** The batch-mean path-KL loss. */
  loss: number;
  /** ∂L/∂θ for every trainable variable, keyed by variable name (as tf.variableGrads). */
  grads: tf.NamedTensorMap;
  /** ∂L/∂x_0, [B, d]. */
  gradX0: tf.Tensor2D;
}

/**
 * The memory-saving exact gradient of {@link diffflowPathKL} (docs/maths/diffflow.md#memory-saving-gradient).
 *
 * 1. Forward pass without a graph, storing x_0…x_N.
 * 2. Backward walk with a = ∂L/∂x_N = x_N / B; for i = N−1…0, recompute step i's graph:
 *    the VJP of (1/B) Σ_b ½‖δ^B_i‖² w.r.t. (x_i, x_{i+1}, θ) gives (u_i, u_{i+1}, θ-grad); the VJP
 *    of m(x_i) = x_i + f(x_i, t_i) Δ_i with cotangent a + u_{i+1} gives (w_i, θ-grad); then
 *    a ← w_i + u_i. Noise is additive, so ∂x_{i+1}/∂x_i = ∂m/∂x_i.
 * Only one step's graph is alive at a time; the stored states cost (N + 1)·B·d floats.
 */
export function diffflowPathKLGrad(model: DiffFlowModel, x0: tf.Tensor2D, options: DiffFlowPathOptions): DiffFlowGradResult {
  const s = diffflowSchedule(options.grid, options.g);
  checkNoise(options.noise, s, x0);
  const B = x0.shape[0];
  const vars = trainableVariables(model);
  const engine = tf.engine();

  // 1. Forward pass, no graph.
  const deltas = tf.unstack(options.noise) as tf.Tensor2D[];
  const xs: tf.Tensor2D[] = [tf.clone(x0)];
  for (let i = 0; i < s.N; i++) {
    const xi = xs[i];
    xs.push(forwardStep(model, xi, deltas[i], s, i));
  }
  const xN = xs[s.N];
  let loss = tf.tidy(() => tf.mean(priorNll(xN)).dataSync()[0]);
  loss -= tf.tidy(() => tf.div(tf.mul(0.5, tf.sum(tf.square(options.noise))), B).dataSync()[0]);

  // 2. Backward walk.
  let a = tf.tidy(() => tf.div(xN, B) as tf.Tensor2D);
  let acc: tf.Tensor[] = vars.map((v) => tf.zerosLike(v));
  const addGrads = (base: tf.Tensor[], extra: (tf.Tensor | null | undefined)[]) =>
    base.map((g, k) => (extra[k] ? tf.add(g, extra[k] as tf.Tensor) : g));
  for (let i = s.N - 1; i >= 0; i--) {
    const xi = xs[i];
    const xi1 = xs[i + 1];
    const aIn = a;
    const out = tf.tidy(() => {
      const phiStep = engine.gradients(
        () => tf.div(tf.mul(0.5, tf.sum(tf.square(diffflowBackwardNoise(model, xi, xi1, s, i)))), B) as tf.Scalar,
        [xi, xi1, ...vars],
        undefined,
        true,
      );
      const [ui, ui1, ...gB] = phiStep.grads;
      const cot = ui1 ? tf.add(aIn, ui1) : aIn;
      const mStep = engine.gradients(
        () => tf.sum(tf.mul(diffflowForwardMean(model, xi, s.t[i], s.dt[i]), cot)) as tf.Scalar,
        [xi, ...vars],
        undefined,
        true,
      );
      const [wi, ...gM] = mStep.grads;
      let nextA: tf.Tensor = wi ?? tf.zerosLike(xi);
      if (ui) nextA = tf.add(nextA, ui);
      return { a: nextA as tf.Tensor2D, acc: addGrads(addGrads(acc, gB), gM), phi: phiStep.value };
    });
    loss += out.phi.dataSync()[0];
    tf.dispose([aIn, ...acc, out.phi]);
    a = out.a;
    acc = out.acc;
  }
  tf.dispose([...xs, ...deltas]);
  const grads: tf.NamedTensorMap = {};
  vars.forEach((v, k) => {
    grads[v.name] = acc[k];
  });
  return { loss, grads, gradX0: a };
}
