/**
 * DiffFlow's "ExpTimer" time grid (docs/maths/diffflow.md#time-grid):
 *
 *   t_k = ( a^e + (k/N)(b^e − a^e) )^{1/e},   k = 0…N,
 *
 * i.e. linear in t^e between a = tMin and b = tMax. For e > 1 the grid is mirrored
 * (t ↦ a + b − t) and reversed, so it is always increasing from a to b and, like the
 * e < 1 case, finer near a. The network conditioning time is t_k itself.
 *
 * "Flexible timestamps" (the continuous variant, docs/maths/diffflow.md#time-grid): each training iteration jitters the
 * interior points uniformly inside their cells in t^e space — position k becomes k − ½ + U_k,
 * U_k ~ U(0, 1), for 0 < k < N — keeping both endpoints fixed; the cells do not overlap, so the
 * grid stays strictly increasing. A progressive schedule grows N during training.
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

function checkTimer(options: ExpTimerOptions): void {
  const { N, tMin: a, tMax: b, exponent: e } = options;
  if (!Number.isInteger(N) || N < 1) throw new RangeError(`expTimerGrid: N must be a positive integer, got ${N}`);
  if (!(a >= 0 && b > a)) throw new RangeError(`expTimerGrid: need 0 ≤ tMin < tMax, got [${a}, ${b}]`);
  if (!(e > 0)) throw new RangeError(`expTimerGrid: exponent must be positive, got ${e}`);
}

/** The grid at fractional positions u_k ∈ [0, N] (u_0 = 0, u_N = N, increasing). */
function timerAt(options: ExpTimerOptions, positions: ArrayLike<number>): Float64Array {
  const { N, tMin: a, tMax: b, exponent: e } = options;
  const ae = a ** e;
  const be = b ** e;
  const raw = new Float64Array(N + 1);
  if (e <= 1) {
    for (let k = 0; k <= N; k++) raw[k] = (ae + (positions[k] / N) * (be - ae)) ** (1 / e);
    raw[0] = a;
    raw[N] = b;
    return raw;
  }
  // Mirrored: t_k = a + b − s(N − u_k), with s the unmirrored map.
  for (let k = 0; k <= N; k++) raw[k] = a + b - (ae + ((N - positions[k]) / N) * (be - ae)) ** (1 / e);
  raw[0] = a;
  raw[N] = b;
  return raw;
}

/** The N + 1 increasing grid points t_0 = tMin < … < t_N = tMax. */
export function expTimerGrid(options: ExpTimerOptions): Float64Array {
  checkTimer(options);
  return timerAt(
    options,
    Array.from({ length: options.N + 1 }, (_, k) => k),
  );
}

/**
 * A flexible-timestamp grid: interior position k becomes k − ½ + U_k with U_k = `uniform()`
 * ∈ [0, 1) (one draw per interior point, in order k = 1…N−1); endpoints fixed.
 */
export function jitteredTimerGrid(options: ExpTimerOptions, uniform: () => number): Float64Array {
  checkTimer(options);
  const positions = new Float64Array(options.N + 1);
  positions[options.N] = options.N;
  for (let k = 1; k < options.N; k++) {
    const u = uniform();
    if (!(u >= 0 && u < 1)) throw new RangeError(`jitteredTimerGrid: uniform() must return values in [0, 1), got ${u}`);
    positions[k] = k - 0.5 + u;
  }
  return timerAt(options, positions);
}
