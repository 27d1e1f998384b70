/**
 * Plain-JS ODE/SDE integrators over typed arrays (no tfjs), for the ONNX runtime: fixed-step
 * explicit Runge–Kutta (Euler, Heun, RK4 — the tableaux of `@nfdm/core`), Dormand–Prince 5(4)
 * with an integral step-size controller, Euler–Maruyama and stochastic Heun for additive noise.
 * States are Float64Array; each accepted step is rounded to float32 (the precision of the
 * graphs and of the tfjs solvers). Vector fields are async (one onnxruntime call each).
 */

import { DOPRI5, EULER, HEUN, RK4 } from '@nfdm/numerics/tableaux';

/** An async vector field f(t, y). */
export type Field = (t: number, y: Float64Array) => Promise<Float64Array>;

export interface Tableau {
  readonly c: readonly number[];
  readonly a: readonly (readonly number[])[];
  readonly b: readonly number[];
}

export const TABLEAUX: Record<'euler' | 'heun' | 'rk4', Tableau> = { euler: EULER, heun: HEUN, rk4: RK4 };

/** Integration statistics. */
export interface IntegrationStats {
  /** Vector-field evaluations (onnxruntime calls). */
  nfe: number;
  /** Attempted steps. */
  steps: number;
  acceptedSteps: number;
  rejectedSteps: number;
}

/** y0 + Σ_j w_j k_j. */
function combine(y0: Float64Array, terms: Array<[number, Float64Array]>): Float64Array {
  const out = Float64Array.from(y0);
  for (const [w, k] of terms) {
    if (w === 0) continue;
    for (let i = 0; i < out.length; i++) out[i] += w * k[i];
  }
  return out;
}

function roundF32(y: Float64Array): Float64Array {
  for (let i = 0; i < y.length; i++) y[i] = Math.fround(y[i]);
  return y;
}

/** Why a solve failed part-way (its arguments were valid): diverged, out of steps, or h too small. */
export type SolveFailure = 'non_finite_state' | 'max_steps_exceeded' | 'step_size_underflow';

/**
 * A solve that failed part-way although its arguments were valid — the state became NaN/Inf
 * (e.g. a point far outside the data range), or the adaptive solve ran out of steps or step
 * size. A RangeError (what these failures threw before), with a machine-readable `code`.
 */
export class OnnxSolveError extends RangeError {
  override readonly name = 'OnnxSolveError';
  constructor(
    readonly code: SolveFailure,
    message: string,
  ) {
    super(message);
  }
}

/** Throws a 'non_finite_state' {@link OnnxSolveError} when some value of `y` is NaN or ±Inf. */
export function assertFinite(y: ArrayLike<number>, t: number): void {
  for (let i = 0; i < y.length; i++) {
    if (!Number.isFinite(y[i])) throw new OnnxSolveError('non_finite_state', `the state became NaN or Inf at t = ${t}`);
  }
}

/** Time of grid point k of `steps` equal steps from t0 to t1 (core's constant grid). */
export function gridTime(k: number, steps: number, t0: number, t1: number): number {
  return k === steps ? t1 : t0 + (k * (t1 - t0)) / steps;
}

/** One explicit RK step from (t, y) to tEnd; returns y1 and the stages. */
async function rkStep(f: Field, tab: Tableau, t: number, tEnd: number, y: Float64Array, k1?: Float64Array) {
  const h = tEnd - t;
  const ks: Float64Array[] = [];
  for (let i = 0; i < tab.c.length; i++) {
    if (i === 0 && k1) {
      ks.push(k1);
      continue;
    }
    const yi =
      i === 0
        ? y
        : combine(
            y,
            tab.a[i].map((aij, j) => [h * aij, ks[j]] as [number, Float64Array]),
          );
    ks.push(await f(tab.c[i] === 1 ? tEnd : t + tab.c[i] * h, yi));
  }
  return {
    y1: combine(
      y,
      tab.b.map((bj, j) => [h * bj, ks[j]] as [number, Float64Array]),
    ),
    ks,
  };
}

/** Fixed-step explicit RK from t0 to t1 in `steps` equal steps; `visit` sees the start and every step's state. */
export async function integrateFixed(
  f: Field,
  tab: Tableau,
  t0: number,
  t1: number,
  y0: Float64Array,
  steps: number,
  visit?: (t: number, y: Float64Array) => void,
) {
  const stats: IntegrationStats = { nfe: 0, steps: 0, acceptedSteps: 0, rejectedSteps: 0 };
  const counted: Field = (t, y) => {
    stats.nfe++;
    return f(t, y);
  };
  let y = roundF32(Float64Array.from(y0));
  visit?.(t0, y);
  for (let k = 0; k < steps; k++) {
    const t = gridTime(k, steps, t0, t1);
    const tEnd = gridTime(k + 1, steps, t0, t1);
    y = roundF32((await rkStep(counted, tab, t, tEnd, y)).y1);
    visit?.(tEnd, y);
    stats.steps++;
    stats.acceptedSteps++;
  }
  assertFinite(y, t1);
  return { y, stats };
}

/** b − b̂ of Dormand–Prince (5th minus embedded 4th order weights). */
const DOPRI5_ERROR = DOPRI5.bError as readonly number[];

/** Options of {@link integrateAdaptive}. */
export interface AdaptiveOptions {
  rtol?: number;
  atol?: number;
  maxSteps?: number;
}

/**
 * Dormand–Prince 5(4) (FSAL) with an integral controller: RMS error norm over all components
 * with scale atol + rtol·max(|y₀|, |y₁|), safety 0.9, factors in [0.2, 10], Hairer's initial
 * step; the last step is stretched to land on t1.
 */
export async function integrateAdaptive(f: Field, t0: number, t1: number, y0: Float64Array, options: AdaptiveOptions = {}) {
  const rtol = options.rtol ?? 1e-5;
  const atol = options.atol ?? 1e-5;
  const maxSteps = options.maxSteps ?? 10_000;
  const stats: IntegrationStats = { nfe: 0, steps: 0, acceptedSteps: 0, rejectedSteps: 0 };
  const counted: Field = (t, y) => {
    stats.nfe++;
    return f(t, y);
  };
  const dir = Math.sign(t1 - t0);
  const n = y0.length;
  let y = roundF32(Float64Array.from(y0));
  let k1 = await counted(t0, y);
  // Hairer's initial step (order 5).
  const rms = (v: (i: number) => number) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += v(i) ** 2;
    return Math.sqrt(s / n);
  };
  const scale0 = (i: number) => atol + rtol * Math.abs(y[i]);
  const d0 = rms((i) => y[i] / scale0(i));
  const d1 = rms((i) => k1[i] / scale0(i));
  let h0 = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : (0.01 * d0) / d1;
  h0 = Math.min(h0, Math.abs(t1 - t0));
  const yTry = combine(y, [[dir * h0, k1]]);
  const kTry = await counted(t0 + dir * h0, yTry);
  const d2 = rms((i) => (kTry[i] - k1[i]) / scale0(i)) / h0;
  const h1 = Math.max(d1, d2) <= 1e-15 ? Math.max(1e-6, h0 * 1e-3) : (0.01 / Math.max(d1, d2)) ** (1 / 5);
  let h = dir * Math.min(100 * h0, h1, Math.abs(t1 - t0));
  let t = t0;
  while (t !== t1) {
    if (stats.steps >= maxSteps)
      throw new OnnxSolveError('max_steps_exceeded', `adaptive solve reached maxSteps = ${maxSteps} at t = ${t} before t1 = ${t1}`);
    if (Math.abs(h) <= 1e-12 * Math.max(1, Math.abs(t)))
      throw new OnnxSolveError('step_size_underflow', `step size underflow at t = ${t} (|h| = ${Math.abs(h)})`);
    const tEnd = dir * (t + 1.01 * h - t1) >= 0 ? t1 : t + h;
    const hStep = tEnd - t;
    const { y1, ks } = await rkStep(counted, DOPRI5, t, tEnd, y, k1);
    stats.steps++;
    let err = 0;
    for (let i = 0; i < n; i++) {
      let e = 0;
      for (let j = 0; j < ks.length; j++) e += DOPRI5_ERROR[j] * ks[j][i];
      const sc = atol + rtol * Math.max(Math.abs(y[i]), Math.abs(y1[i]));
      err += ((hStep * e) / sc) ** 2;
    }
    err = Math.sqrt(err / n);
    if (!Number.isFinite(err)) {
      stats.rejectedSteps++;
      h = hStep * 0.2;
      continue;
    }
    const factor = err === 0 ? 10 : Math.min(10, Math.max(0.2, 0.9 * err ** (-1 / 5)));
    if (err <= 1) {
      stats.acceptedSteps++;
      y = roundF32(y1);
      t = tEnd;
      k1 = ks[ks.length - 1]; // FSAL: f(tEnd, y1)
    } else {
      stats.rejectedSteps++;
    }
    h = hStep * factor;
  }
  assertFinite(y, t1);
  return { y, stats };
}

/** Drift and diffusion coefficient of an additive-noise SDE at (t, y): g is per row or scalar. */
export type SdeField = (t: number, y: Float64Array) => Promise<{ drift: Float64Array; g: Float64Array | number }>;

/**
 * Fixed-step Euler–Maruyama (`heun = false`) or stochastic Heun (`heun = true`) from t0 to t1;
 * `increment(k, h)` returns the Brownian increment ΔW of step k (length of y). `rowWidth` maps
 * state index i to the row of a per-row g (i / rowWidth).
 */
export async function integrateSde(
  f: SdeField,
  t0: number,
  t1: number,
  y0: Float64Array,
  steps: number,
  heun: boolean,
  increment: (k: number, h: number) => Float32Array,
  rowWidth: number,
  visit?: (t: number, y: Float64Array) => void,
) {
  const stats: IntegrationStats = { nfe: 0, steps: 0, acceptedSteps: 0, rejectedSteps: 0 };
  const gAt = (g: Float64Array | number, i: number) => (typeof g === 'number' ? g : g[Math.floor(i / rowWidth)]);
  let y = roundF32(Float64Array.from(y0));
  visit?.(t0, y);
  for (let k = 0; k < steps; k++) {
    const t = gridTime(k, steps, t0, t1);
    const tEnd = gridTime(k + 1, steps, t0, t1);
    const h = tEnd - t;
    const dW = increment(k, h);
    const a = await f(t, y);
    stats.nfe++;
    const next = new Float64Array(y.length);
    if (!heun) {
      for (let i = 0; i < y.length; i++) next[i] = y[i] + a.drift[i] * h + gAt(a.g, i) * dW[i];
    } else {
      const yt = new Float64Array(y.length);
      for (let i = 0; i < y.length; i++) yt[i] = Math.fround(y[i] + a.drift[i] * h + gAt(a.g, i) * dW[i]);
      const b = await f(tEnd, yt);
      stats.nfe++;
      for (let i = 0; i < y.length; i++) {
        next[i] = y[i] + (a.drift[i] + b.drift[i]) * (0.5 * h) + (gAt(a.g, i) + gAt(b.g, i)) * 0.5 * dW[i];
      }
    }
    y = roundF32(next);
    visit?.(tEnd, y);
    stats.steps++;
    stats.acceptedSteps++;
  }
  assertFinite(y, t1);
  return { y, stats };
}
