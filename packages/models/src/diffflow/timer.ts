/**
 * DiffFlow's "ExpTimer" time grid (spec baselines-solvers-eval §1.4):
 *
 *   t_k = ( a^e + (k/N)(b^e − a^e) )^{1/e},   k = 0…N,
 *
 * i.e. linear in t^e between a = tMin and b = tMax. For e > 1 the grid is mirrored
 * (t ↦ a + b − t) and reversed, so it is always increasing from a to b and, like the
 * e < 1 case, finer near a. The network conditioning time is t_k itself.
 */

/** Options for {@link expTimerGrid}. */
export interface ExpTimerOptions {
  /** Number of steps N (the grid has N + 1 points). */
  N: number;
  tMin: number;
  tMax: number;
  /** The exponent e (> 0); e = 1 is a uniform grid. */
  exponent: number;
}

/** The N + 1 increasing grid points t_0 = tMin < … < t_N = tMax. */
export function expTimerGrid(options: ExpTimerOptions): Float64Array {
  const { N, tMin: a, tMax: b, exponent: e } = options;
  if (!Number.isInteger(N) || N < 1) throw new RangeError(`expTimerGrid: N must be a positive integer, got ${N}`);
  if (!(a >= 0 && b > a)) throw new RangeError(`expTimerGrid: need 0 ≤ tMin < tMax, got [${a}, ${b}]`);
  if (!(e > 0)) throw new RangeError(`expTimerGrid: exponent must be positive, got ${e}`);
  const ae = a ** e;
  const be = b ** e;
  const raw = new Float64Array(N + 1);
  for (let k = 0; k <= N; k++) raw[k] = (ae + (k / N) * (be - ae)) ** (1 / e);
  raw[0] = a;
  raw[N] = b;
  if (e <= 1) return raw;
  const out = new Float64Array(N + 1);
  for (let k = 0; k <= N; k++) out[k] = a + b - raw[N - k];
  out[0] = a;
  out[N] = b;
  return out;
}
