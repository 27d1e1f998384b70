/**
 * Brownian motion for SDE solves: increments $\Delta W = W(u) - W(s)$ and, for SRA1, the
 * space-time Lévy area
 *
 * $$H_{s,u} = \frac{1}{u - s}\int_s^u \big(W_r - W_s\big)\,dr - \tfrac12 \Delta W,
 *   \qquad \Delta W \sim N(0, |h|),\; H \sim N(0, |h|/12),\; \Delta W \perp H.$$
 *
 * Two paths, both seeded through {@link Rng}:
 * - {@link BrownianIncrements} draws fresh independent increments on every call. It is what a
 *   fixed-step solver needs (each interval is queried once, in order) and costs nothing up
 *   front. It is *not* a consistent path: querying the same interval twice gives two
 *   different answers (diffrax's `UnsafeBrownianPath`).
 * - {@link BrownianGrid} samples one path on a fine uniform grid once and answers any
 *   interval whose ends are grid points, exactly and consistently. Use it to solve the same
 *   path at several step sizes (strong-order studies) or to replay noise.
 *
 * For an interval traversed backwards ($u < s$, reverse-time samplers) the increment is
 * $W(u) - W(s)$ and $H$ is that of $[u, s]$ (the space-time Lévy area is invariant under
 * time reversal of the interval), which is what the solver formulas expect with $h < 0$.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../random.js';

/** One Brownian increment (tensors of the path's shape). */
export interface BrownianIncrement {
  /** $W(u) - W(s)$. */
  dW: tf.Tensor;
  /** Space-time Lévy area over the interval (only when asked for). */
  H?: tf.Tensor;
}

/** A source of Brownian increments for SDE solvers. */
export interface BrownianPath {
  /** Shape of $W$ (`y.shape` for diagonal noise, `[B, 1, …]` for scalar noise). */
  readonly shape: readonly number[];
  /**
   * **Arguments:** `s`, `u` — interval ends (either order); `levyArea` — also return $H$.
   *
   * **Returns:** new float32 tensors owned by the caller.
   */
  increment(s: number, u: number, levyArea: boolean): BrownianIncrement;
}

/** Options shared by the Brownian paths: the shape and the randomness. */
export interface BrownianOptions {
  /** Shape of $W$. */
  shape: readonly number[];
  /** Seed for a new {@link Rng} (ignored when `rng` is given). */
  seed?: number;
  /** Generator to draw from (advanced by every draw). */
  rng?: Rng;
}

function checkShape(shape: readonly number[]): number {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new TypeError(`Brownian path shape must be an array of positive integers, got [${String(shape)}]`);
  }
  return shape.reduce((a, b) => a * b, 1);
}

function rngFrom(options: BrownianOptions): Rng {
  if (options.rng !== undefined) return options.rng;
  if (options.seed === undefined) throw new TypeError('a Brownian path needs `seed` or `rng`');
  return new Rng(options.seed);
}

/**
 * Fresh independent Gaussian increments on every call: $\Delta W \sim N(0, |u - s|)$ and
 * $H \sim N(0, |u - s|/12)$, elementwise. Suitable only for solvers that query each interval
 * once (every fixed-step solver here).
 */
export class BrownianIncrements implements BrownianPath {
  readonly shape: readonly number[];
  private readonly rng: Rng;

  constructor(options: BrownianOptions) {
    checkShape(options.shape);
    this.shape = [...options.shape];
    this.rng = rngFrom(options);
  }

  increment(s: number, u: number, levyArea: boolean): BrownianIncrement {
    const h = Math.abs(u - s);
    const n = this.shape.reduce((a, b) => a * b, 1);
    const dW = tf.tensor(this.rng.normalArray(n, 0, Math.sqrt(h)), [...this.shape], 'float32');
    if (!levyArea) return { dW };
    const H = tf.tensor(this.rng.normalArray(n, 0, Math.sqrt(h / 12)), [...this.shape], 'float32');
    return { dW, H };
  }
}

/** Options of {@link BrownianGrid}. */
export interface BrownianGridOptions extends BrownianOptions {
  /** One end of the time interval covered. */
  t0: number;
  /** The other end (either order). */
  t1: number;
  /** Number of fine intervals (positive integer). */
  steps: number;
}

/**
 * A Brownian path sampled once on the uniform grid $t_k = \min(t_0,t_1) + k\,\delta$,
 * $k = 0…n$, together with the integral $\int W\,dr$ so that increments *and* Lévy areas over
 * any union of grid cells are exact: on a cell, $\int_{t_k}^{t_{k+1}} W\,dr =
 * \delta\,(W_k + \tfrac12\Delta W_k + H_k)$, and for $[t_a, t_b]$,
 * $H = \frac{I_b - I_a}{t_b - t_a} - \frac{W_a + W_b}{2}$.
 *
 * Memory: two float64 arrays of $(n + 1) \times \prod(\text{shape})$ numbers. Queries must
 * use grid points (within $10^{-6}$ of a cell); others throw `RangeError`.
 */
export class BrownianGrid implements BrownianPath {
  readonly shape: readonly number[];
  readonly lo: number;
  readonly hi: number;
  readonly steps: number;
  private readonly size: number;
  /** Cumulative W at the grid points, row-major `[k, component]`. */
  private readonly w: Float64Array;
  /** Cumulative $\int_{lo}^{t_k} W\,dr$. */
  private readonly integral: Float64Array;

  constructor(options: BrownianGridOptions) {
    const { t0, t1, steps } = options;
    if (!Number.isFinite(t0) || !Number.isFinite(t1) || t0 === t1) {
      throw new RangeError(`BrownianGrid needs finite, distinct t0 and t1 (got ${t0}, ${t1})`);
    }
    if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`BrownianGrid steps must be a positive integer, got ${steps}`);
    this.size = checkShape(options.shape);
    this.shape = [...options.shape];
    this.lo = Math.min(t0, t1);
    this.hi = Math.max(t0, t1);
    this.steps = steps;
    const rng = rngFrom(options);
    const m = this.size;
    const delta = (this.hi - this.lo) / steps;
    this.w = new Float64Array((steps + 1) * m);
    this.integral = new Float64Array((steps + 1) * m);
    const sdW = Math.sqrt(delta);
    const sdH = Math.sqrt(delta / 12);
    for (let k = 0; k < steps; k++) {
      for (let i = 0; i < m; i++) {
        const dW = sdW * rng.normal();
        const H = sdH * rng.normal();
        const wk = this.w[k * m + i];
        this.w[(k + 1) * m + i] = wk + dW;
        this.integral[(k + 1) * m + i] = this.integral[k * m + i] + delta * (wk + 0.5 * dW + H);
      }
    }
  }

  private index(t: number): number {
    const x = ((t - this.lo) / (this.hi - this.lo)) * this.steps;
    const k = Math.round(x);
    if (!(Math.abs(x - k) <= 1e-6) || k < 0 || k > this.steps) {
      throw new RangeError(`BrownianGrid on [${this.lo}, ${this.hi}] with ${this.steps} cells cannot answer t = ${t}: not a grid point`);
    }
    return k;
  }

  /** The path value $W(t)$ at a grid point (float64 numbers). */
  valueAt(t: number): Float64Array {
    const k = this.index(t);
    return this.w.slice(k * this.size, (k + 1) * this.size);
  }

  increment(s: number, u: number, levyArea: boolean): BrownianIncrement {
    const a = this.index(s);
    const b = this.index(u);
    const m = this.size;
    const dW = new Float32Array(m);
    for (let i = 0; i < m; i++) dW[i] = this.w[b * m + i] - this.w[a * m + i];
    const dWt = tf.tensor(dW, [...this.shape], 'float32');
    if (!levyArea) return { dW: dWt };
    const lo = Math.min(a, b);
    const hi = Math.max(a, b);
    const H = new Float32Array(m);
    if (hi > lo) {
      const len = ((hi - lo) * (this.hi - this.lo)) / this.steps;
      for (let i = 0; i < m; i++) {
        const wl = this.w[lo * m + i];
        const wh = this.w[hi * m + i];
        H[i] = (this.integral[hi * m + i] - this.integral[lo * m + i]) / len - 0.5 * (wl + wh);
      }
    }
    return { dW: dWt, H: tf.tensor(H, [...this.shape], 'float32') };
  }
}
