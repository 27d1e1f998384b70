/**
 * The time settings of a DiffFlow model: the ExpTimer grid (N, tMin, tMax, exponent), the
 * constant diffusion g, flexible timestamps and a progressive step count
 * (docs/maths/diffflow.md#time-grid). Training draws a grid per iteration with
 * {@link diffflowTrainingGrid}; evaluation and sampling use the fixed final grid
 * {@link diffflowEvalGrid} (N steps, no jitter).
 */
import { expTimerGrid, jitteredTimerGrid } from './timer.js';

/** One stage of a progressive schedule: from update `step` on, train with `N` steps. */
export interface DiffFlowStage {
  step: number;
  N: number;
}

export interface DiffFlowTimeConfig {
  /** Steps of the final grid (evaluation, sampling, and training after the last stage). */
  N: number;
  tMin: number;
  tMax: number;
  exponent: number;
  /** The constant diffusion g (> 0). */
  g: number;
  /** Jitter the interior grid points every training iteration. */
  flexible: boolean;
  /** Progressive N during training, sorted by step (empty: always N). */
  progressive: DiffFlowStage[];
}

/** The repo's 2-D setting: N = 30, t ∈ [0.001, 0.05], e = 0.9, g = 0.2 (docs/maths/diffflow.md#time-grid). */
export const DIFFFLOW_2D_TIME: Readonly<DiffFlowTimeConfig> = Object.freeze({
  N: 30,
  tMin: 0.001,
  tMax: 0.05,
  exponent: 0.9,
  g: 0.2,
  flexible: false,
  progressive: [],
});

/** Validate and complete a time config (throws RangeError naming the field). */
export function resolveDiffFlowTime(input: Partial<DiffFlowTimeConfig> = {}): DiffFlowTimeConfig {
  const t: DiffFlowTimeConfig = { ...DIFFFLOW_2D_TIME, progressive: [], ...input };
  t.progressive = (input.progressive ?? []).map((s) => ({ step: s.step, N: s.N }));
  const positiveInt = (v: number) => Number.isInteger(v) && v >= 1;
  if (!positiveInt(t.N)) throw new RangeError(`time.N must be a positive integer, got ${t.N}`);
  if (!(Number.isFinite(t.tMin) && t.tMin >= 0 && Number.isFinite(t.tMax) && t.tMax > t.tMin))
    throw new RangeError(`time: need 0 ≤ tMin < tMax, got [${t.tMin}, ${t.tMax}]`);
  if (!(Number.isFinite(t.exponent) && t.exponent > 0)) throw new RangeError(`time.exponent must be > 0, got ${t.exponent}`);
  if (!(Number.isFinite(t.g) && t.g > 0)) throw new RangeError(`time.g must be > 0, got ${t.g}`);
  if (typeof t.flexible !== 'boolean') throw new RangeError(`time.flexible must be a boolean, got ${String(t.flexible)}`);
  let last = -1;
  t.progressive.forEach((s, i) => {
    if (!(Number.isInteger(s.step) && s.step > last))
      throw new RangeError(`time.progressive[${i}].step must be an integer > ${last}, got ${s.step}`);
    if (!positiveInt(s.N)) throw new RangeError(`time.progressive[${i}].N must be a positive integer, got ${s.N}`);
    last = s.step;
  });
  return t;
}

/** Steps N used by training update `step` (0-based): the last progressive stage reached, else `N`. */
export function diffflowStepsAt(time: DiffFlowTimeConfig, step: number): number {
  let n = time.N;
  let reached = false;
  for (const s of time.progressive) {
    if (s.step <= step) {
      n = s.N;
      reached = true;
    }
  }
  // Before the first stage, the first stage's N applies (a schedule starts small).
  if (!reached && time.progressive.length > 0) n = time.progressive[0].N;
  return n;
}

/** The fixed evaluation/sampling grid: N + 1 points, no jitter. */
export function diffflowEvalGrid(time: DiffFlowTimeConfig): Float64Array {
  return expTimerGrid({ N: time.N, tMin: time.tMin, tMax: time.tMax, exponent: time.exponent });
}

/**
 * The grid of training update `step`: N from the progressive schedule, jittered when
 * `flexible` (drawing N − 1 uniforms from `uniform`).
 */
export function diffflowTrainingGrid(time: DiffFlowTimeConfig, step: number, uniform: () => number): Float64Array {
  const options = { N: diffflowStepsAt(time, step), tMin: time.tMin, tMax: time.tMax, exponent: time.exponent };
  return time.flexible ? jitteredTimerGrid(options, uniform) : expTimerGrid(options);
}
