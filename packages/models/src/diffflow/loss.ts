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
import type { DiffFlowModel, DiffFlowNet } from './networks.js';

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

type Conditioned = Required<Pick<DiffFlowNet, 'condition' | 'applyConditioned'>> & DiffFlowNet;

const isConditioned = (net: DiffFlowNet): net is Conditioned =>
  typeof net.condition === 'function' && typeof net.applyConditioned === 'function';

/**
 * The drift and the score at the grid times t_0 … t_N. When both networks split into a time
 * part and a data part ({@link DiffFlowNet.condition}), the time parts of all N + 1 times are
 * computed once, as rows c_k (no graph: {@link GridNets.conditionGrads} differentiates them
 * afterwards, given the cotangents the walk collected for each row); otherwise every call runs
 * `apply(x, t_k)`.
 */
class GridNets {
  private readonly rows: { drift: tf.Tensor1D[]; score: tf.Tensor1D[] } | null = null;

  constructor(
    readonly model: DiffFlowModel,
    readonly t: readonly number[],
  ) {
    const { driftNet, scoreNet } = model;
    if (isConditioned(driftNet) && isConditioned(scoreNet)) {
      const times = tf.tensor2d(t as number[], [t.length, 1]);
      const rows = (net: Conditioned) => {
        const c = net.condition(times);
        const out = tf.unstack(c) as tf.Tensor1D[];
        c.dispose();
        return out;
      };
      this.rows = { drift: rows(driftNet), score: rows(scoreNet) };
      times.dispose();
    }
  }

  drift(x: tf.Tensor2D, k: number): tf.Tensor2D {
    if (this.rows) return (this.model.driftNet as Conditioned).applyConditioned(x, this.rows.drift[k]);
    return this.model.drift(x, tf.fill([1, 1], this.t[k]) as tf.Tensor2D);
  }

  score(x: tf.Tensor2D, k: number): tf.Tensor2D {
    if (this.rows) return (this.model.scoreNet as Conditioned).applyConditioned(x, this.rows.score[k]);
    return this.model.score(x, tf.fill([1, 1], this.t[k]) as tf.Tensor2D);
  }

  /** The condition rows of time k, to differentiate with respect to ([] without conditioning). */
  inputs(k: number, withScore: boolean): tf.Tensor[] {
    if (!this.rows) return [];
    return withScore ? [this.rows.drift[k], this.rows.score[k]] : [this.rows.drift[k]];
  }

  /**
   * ∂/∂θ of Σ_k ⟨c_k, γ_k⟩ for both networks (γ: the cotangents of the rows, drift then score
   * per time, undefined = 0), by one reverse pass through `condition` at all grid times; null
   * without conditioning.
   */
  conditionGrads(
    gammas: { drift: (tf.Tensor | undefined)[]; score: (tf.Tensor | undefined)[] },
    vars: tf.Variable[],
  ): (tf.Tensor | undefined)[] | null {
    if (!this.rows) return null;
    const driftNet = this.model.driftNet as Conditioned;
    const scoreNet = this.model.scoreNet as Conditioned;
    return tf.tidy(() => {
      const stacked = (gs: (tf.Tensor | undefined)[], like: tf.Tensor1D[]) => tf.stack(like.map((row, k) => gs[k] ?? tf.zerosLike(row)));
      const rows = this.rows as { drift: tf.Tensor1D[]; score: tf.Tensor1D[] };
      const gd = stacked(gammas.drift, rows.drift);
      const gs = stacked(gammas.score, rows.score);
      const times = tf.tensor2d(this.t as number[], [this.t.length, 1]);
      const { grads } = tf
        .engine()
        .gradients(
          () => tf.add(tf.sum(tf.mul(driftNet.condition(times), gd)), tf.sum(tf.mul(scoreNet.condition(times), gs))) as tf.Scalar,
          vars,
          undefined,
          true,
        );
      return grads;
    });
  }

  dispose(): void {
    if (this.rows) tf.dispose([...this.rows.drift, ...this.rows.score]);
  }
}

/**
 * Per-variable gradient sums with few kernels: contributions wait in a list and are summed by
 * one AddN when `flushAt` are pending (bounded memory: ~16 MB of pending gradients).
 */
class GradAccumulator {
  private readonly sums: (tf.Tensor | null)[];
  private readonly pending: tf.Tensor[][];
  private readonly flushAt: number;

  constructor(private readonly vars: tf.Variable[]) {
    this.sums = vars.map(() => null);
    this.pending = vars.map(() => []);
    const size = vars.reduce((n, v) => n + v.size, 0);
    this.flushAt = Math.max(1, Math.min(16, Math.floor((4 << 20) / Math.max(1, size))));
  }

  /** Add one contribution per variable (undefined: none); takes ownership of the tensors. */
  add(grads: readonly (tf.Tensor | undefined)[]): void {
    grads.forEach((g, k) => {
      if (!g) return;
      this.pending[k].push(g);
      if (this.pending[k].length >= this.flushAt) this.flush(k);
    });
  }

  private flush(k: number): void {
    const parts = this.pending[k];
    if (parts.length === 0) return;
    const sum = this.sums[k];
    const all = sum ? [sum, ...parts] : parts;
    this.sums[k] = all.length === 1 ? all[0] : tf.addN(all);
    if (all.length > 1) tf.dispose(all);
    this.pending[k] = [];
  }

  /** ∂L/∂θ by variable name (zeros for variables that got no contribution). */
  result(): tf.NamedTensorMap {
    const out: tf.NamedTensorMap = {};
    this.vars.forEach((v, k) => {
      this.flush(k);
      out[v.name] = this.sums[k] ?? tf.zerosLike(v);
    });
    return out;
  }
}

/** What {@link nodeObjective} needs besides f and s, and where it leaves φ and r. */
interface NodeTerms {
  /** c = Δ_i a_{i+1}, the cotangent of f through m_i (null at node N). */
  cot: Float64Array | null;
  /** The φ_{i−1} term (null at node 0): x_{i−1}, x_i, g_i, Δ_{i−1}, B. */
  phi: { xPrev: Float32Array; xi: Float32Array; g: number; dt: number; batch: number } | null;
  /** Set by the forward: φ_{i−1} and r = ∂φ_{i−1}/∂x_{i−1} = num / (B g_i² Δ_{i−1}). */
  value: number;
  r: Float64Array | null;
  /** Set by the backward: the scalar cotangent of J_i (1 in a plain reverse pass). */
  dy: number;
}

/**
 * One node's objective as one op of f = f(x_i, t_i) and s = s(x_i, t_i), with its gradient
 * in closed form (the arithmetic on the [B, d] rows runs in float64 on the CPU: no tfjs kernels):
 *
 *   J_i = ⟨f, c⟩ + φ_{i−1},   φ_{i−1} = κ Σ num²,   num = x_{i−1} − x_i + (f − g_i² s) Δ_{i−1},
 *   κ = 1 / (2 B g_i² Δ_{i−1})   (= (1/B) Σ ½‖δ^B_{i−1}‖², δ^B = num / (g_i √Δ_{i−1})),
 *   r = 2κ num:   ∂J/∂f = c + Δ_{i−1} r,   ∂J/∂s = −g_i² Δ_{i−1} r,
 *
 * and, outside the op (x_{i−1}, x_i enter only as data), ∂φ_{i−1}/∂x_{i−1} = r, ∂φ_{i−1}/∂x_i = −r.
 */
function nodeObjective(f: tf.Tensor2D, s: tf.Tensor2D | null, terms: NodeTerms): tf.Scalar {
  const op = tf.customGrad((...args: unknown[]) => {
    const fv = (args[0] as tf.Tensor).dataSync();
    const n = fv.length;
    let J = 0;
    const cot = terms.cot;
    if (cot) for (let k = 0; k < n; k++) J += fv[k] * cot[k];
    const p = terms.phi;
    let r: Float64Array | null = null;
    if (p && s) {
      const sv = (args[1] as tf.Tensor).dataSync();
      const g2 = p.g * p.g;
      const kappa = 1 / (2 * p.batch * g2 * p.dt);
      r = new Float64Array(n);
      let sum = 0;
      for (let k = 0; k < n; k++) {
        const num = p.xPrev[k] - p.xi[k] + (fv[k] - g2 * sv[k]) * p.dt;
        sum += num * num;
        r[k] = 2 * kappa * num;
      }
      terms.value = kappa * sum;
      J += terms.value;
    }
    terms.r = r;
    return {
      value: tf.scalar(J),
      gradFunc: (dy: tf.Tensor) => {
        const d = dy.dataSync()[0];
        terms.dy = d;
        const df = new Float32Array(n);
        const ds = r ? new Float32Array(n) : null;
        const dt = p ? p.dt : 0;
        const g2dt = p ? p.g * p.g * p.dt : 0;
        for (let k = 0; k < n; k++) {
          const rk = r ? r[k] : 0;
          df[k] = d * ((cot ? cot[k] : 0) + dt * rk);
          if (ds) ds[k] = -d * g2dt * rk;
        }
        const grads = [tf.tensor(df, f.shape)];
        if (s && ds) grads.push(tf.tensor(ds, s.shape));
        return grads;
      },
    };
  });
  return (s ? op(f, s) : op(f)) as tf.Scalar;
}

/**
 * Step 1 of {@link diffflowPathKLGrad}: x_{i+1} = x_i + f(x_i, t_i) Δ_i + g_i √Δ_i δ^F_i on the
 * rows without a graph, keeping x_0 … x_N (as arrays and tensors), and the terms of the loss
 * without a gradient: mean(−log N(x_N; 0, I)) − (1/B) Σ ½‖δ^F‖².
 */
function chainForward(
  nets: GridNets,
  x0: tf.Tensor2D,
  s: DiffFlowSchedule,
  noise: ArrayLike<number>,
): { xData: Float32Array[]; xs: tf.Tensor2D[]; loss: number } {
  const [B, dim] = x0.shape;
  const n = B * dim;
  const xData: Float32Array[] = [Float32Array.from(x0.dataSync())];
  const xs: tf.Tensor2D[] = [tf.clone(x0)];
  let forwardEnergy = 0;
  for (let k = 0; k < noise.length; k++) forwardEnergy += noise[k] * noise[k];
  for (let i = 0; i < s.N; i++) {
    const f = tf.tidy(() => nets.drift(xs[i], i));
    const fv = f.dataSync();
    f.dispose();
    const x = xData[i];
    const next = new Float32Array(n);
    const kick = s.g[i] * Math.sqrt(s.dt[i]);
    for (let k = 0; k < n; k++) next[k] = x[k] + fv[k] * s.dt[i] + kick * noise[i * n + k];
    xData.push(next);
    xs.push(tf.tensor2d(next, [B, dim]));
  }
  const xN = xData[s.N];
  let loss = 0.5 * dim * LOG_2PI - (0.5 * forwardEnergy) / B;
  for (let k = 0; k < n; k++) loss += (0.5 * xN[k] * xN[k]) / B;
  return { xData, xs, loss };
}

/**
 * The memory-saving exact gradient of {@link diffflowPathKL} (docs/maths/diffflow.md#memory-saving-gradient).
 *
 * The networks at grid node (x_i, t_i) enter the loss twice: through φ_{i−1} = (1/B) Σ_b ½‖δ^B_{i−1}‖²,
 * δ^B_{i−1} = (x_{i−1} − x_i + [f − g_i² s](x_i, t_i) Δ_{i−1}) / (g_i √Δ_{i−1}), and through the forward
 * map m_i(x_i) = x_i + f(x_i, t_i) Δ_i. So one walk over the nodes evaluates f and s once per node:
 *
 * 1. Forward pass without a graph: x_{i+1} = x_i + f(x_i, t_i) Δ_i + g_i √Δ_i δ^F_i, storing x_0 … x_N.
 * 2. Backward over the nodes i = N … 0, with a_{i+1} = ∂L/∂x_{i+1}: one reverse pass of
 *      J_i = ⟨f(x_i, t_i), Δ_i a_{i+1}⟩  [i < N]  +  φ_{i−1}(x_{i−1}, x_i)  [i ≥ 1]
 *    ({@link nodeObjective}) through the networks with respect to (x_i, θ) gives (v_i, θ-grad), and
 *      a_i = v_i − r_i + u_i + (i < N ? a_{i+1} : x_N / B),
 *    where −r_i = ∂φ_{i−1}/∂x_i through its explicit x_i, u_i = r_{i+1} = ∂φ_i/∂x_i through its
 *    explicit x_i (from node i + 1), the prior −log N(x_N; 0, I) gives x_N / B and m_i's identity part
 *    passes a_{i+1} on. The θ-grads summed over the nodes are ∂L/∂θ; a_0 = ∂L/∂x_0.
 * With networks that split off their time part ({@link DiffFlowNet.condition}), the time parts of the
 * N + 1 grid times are computed once; the walk collects their cotangents and one reverse pass through
 * the time part adds its θ-grad at the end.
 * 2N + 1 network passes with a reverse pass (N + 1 drift, N score) and N without; only one node's
 * graph is alive at a time; the stored states cost (N + 1)·B·d floats. The chain arithmetic on the
 * [B, d] rows runs on the CPU in float64 (few tfjs kernels: they cost ~35 µs each on wasm).
 */
export function diffflowPathKLGrad(model: DiffFlowModel, x0: tf.Tensor2D, options: DiffFlowPathOptions): DiffFlowGradResult {
  const s = diffflowSchedule(options.grid, options.g);
  checkNoise(options.noise, s, x0);
  const { N } = s;
  const [B, dim] = x0.shape;
  const n = B * dim;
  const vars = trainableVariables(model);
  const engine = tf.engine();
  const nets = new GridNets(model, s.t);

  // 1. Forward pass, no graph.
  const { xData, xs, loss: priorTerms } = chainForward(nets, x0, s, options.noise.dataSync());
  let loss = priorTerms;

  // 2. Backward over the nodes.
  const acc = new GradAccumulator(vars);
  const gammas = { drift: new Array<tf.Tensor | undefined>(N + 1), score: new Array<tf.Tensor | undefined>(N + 1) };
  let aNext: Float64Array | null = null; // a_{i+1}
  let uCarry: Float64Array | null = null; // u_i = r_{i+1}
  for (let i = N; i >= 0; i--) {
    const xi = xs[i];
    const withPhi = i >= 1;
    const cond = nets.inputs(i, withPhi);
    let cot: Float64Array | null = null;
    if (aNext) {
      cot = new Float64Array(n);
      for (let k = 0; k < n; k++) cot[k] = (aNext as Float64Array)[k] * s.dt[i];
    }
    const terms: NodeTerms = {
      cot,
      phi: withPhi ? { xPrev: xData[i - 1], xi: xData[i], g: s.g[i], dt: s.dt[i - 1], batch: B } : null,
      value: 0,
      r: null,
      dy: 1,
    };
    let a = new Float64Array(n); // v_i, then a_i
    const { gc, g } = tf.tidy(() => {
      const { grads } = engine.gradients(
        () => nodeObjective(nets.drift(xi, i), withPhi ? nets.score(xi, i) : null, terms),
        [xi, ...cond, ...vars],
        undefined,
        true,
      );
      const [vx, ...rest] = grads;
      if (vx) a = Float64Array.from(vx.dataSync());
      return { gc: rest.splice(0, cond.length), g: rest };
    });
    loss += terms.value;
    const r = terms.r;
    const xNow = xData[i];
    for (let k = 0; k < n; k++) {
      let ak = a[k] + (aNext ? aNext[k] : xNow[k] / B);
      if (r) ak -= terms.dy * r[k];
      if (uCarry) ak += uCarry[k];
      a[k] = ak;
    }
    if (r) for (let k = 0; k < n; k++) r[k] *= terms.dy;
    if (gc.length > 0) gammas.drift[i] = gc[0];
    if (gc.length > 1) gammas.score[i] = gc[1];
    acc.add(g);
    aNext = a;
    uCarry = r;
  }
  const timeGrads = nets.conditionGrads(gammas, vars);
  if (timeGrads) acc.add(timeGrads);
  nets.dispose();
  tf.dispose([...gammas.drift, ...gammas.score].filter((t): t is tf.Tensor => t !== undefined));
  tf.dispose(xs);
  return { loss, grads: acc.result(), gradX0: tf.tensor2d(Float32Array.from(aNext as Float64Array), [B, dim]) };
}
