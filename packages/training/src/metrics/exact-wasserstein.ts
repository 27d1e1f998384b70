/**
 * Exact Wasserstein distance between two equal-size point sets with uniform weights.
 *
 * For $\mu = \frac1n\sum_i \delta_{x_i}$, $\nu = \frac1n\sum_j \delta_{y_j}$ the optimal
 * transport plans include a permutation (Birkhoff–von Neumann: the extreme points of the
 * doubly-stochastic polytope are permutation matrices), so
 * $W_p^p(\mu, \nu) = \min_\pi \frac1n \sum_i \lVert x_i - y_{\pi(i)}\rVert^p$ — an assignment
 * problem, solved exactly (to float64 rounding) by {@link lapjv}. This is what torchcfm
 * computes with POT's `emd2` (a = b = 1/n, cost $\lVert x-y\rVert$ for $W_1$,
 * $\lVert x-y\rVert^2$ for $W_2$, then $W_2 = \sqrt{\texttt{emd2}}$).
 *
 * The float64 cost matrix takes $8n^2$ bytes (32 MB at n = 2000). The solver is warm-started
 * with row potentials from the sets' moments (see `warmStart`), which changes the running
 * time, never the result. (Recomputing costs from the points on demand instead of storing
 * them was measured slower.)
 *
 * Limits: $n = m$ only, and $n \le 2000$ by default ($O(n^3)$ worst case). For larger or
 * unequal sets use {@link slicedWasserstein} (or subsample).
 */
import { type AssignmentResult, lapjv } from './assignment.js';
import { gaussianMapMatrix, moments } from './linalg.js';
import { type PointSet, type Points, toPointSetPair } from './points.js';

/** Default largest n accepted by {@link exactWasserstein}. */
export const EXACT_WASSERSTEIN_MAX_N = 2000;

/** Largest d for which the p = 2 warm start fits the full Gaussian map (else only the means). */
const AFFINE_WARM_START_MAX_D = 32;

export interface ExactWassersteinOptions {
  /** Order p ≥ 1 (default 2); the ground cost is $\lVert x - y\rVert^p$. */
  p?: number;
  /** Largest accepted n (default {@link EXACT_WASSERSTEIN_MAX_N}); raise it knowingly. */
  maxSize?: number;
}

export interface ExactWassersteinResult {
  /** $W_p$. */
  distance: number;
  /** $W_p^p = \frac1n\sum_i \lVert x_i - y_{\pi(i)}\rVert^p$ (POT's `emd2` value). */
  cost: number;
  /** The optimal matching: point `i` of x goes to point `assignment[i]` of y. */
  assignment: Int32Array;
}

/**
 * Exact $W_p$ (default $p = 2$) between equal-size point sets (see the module doc).
 *
 * **Arguments:** `x`, `y` — `[n, d]` each (any {@link Points}); `options` —
 * {@link ExactWassersteinOptions}. Throws `RangeError` for unequal sizes or $n$ above `maxSize`
 * (the message suggests {@link slicedWasserstein}), `TypeError` for mismatched dimensions.
 */
export function exactWasserstein(x: Points, y: Points, options: ExactWassersteinOptions = {}): ExactWassersteinResult {
  const [a, b] = toPointSetPair(x, y);
  const p = options.p ?? 2;
  if (!(Number.isFinite(p) && p >= 1)) throw new RangeError(`the Wasserstein order p must be a finite number ≥ 1, got ${p}`);
  const maxSize = options.maxSize ?? EXACT_WASSERSTEIN_MAX_N;
  if (!(Number.isInteger(maxSize) && maxSize >= 1)) throw new RangeError(`maxSize must be a positive integer, got ${maxSize}`);
  if (a.n !== b.n) {
    throw new RangeError(
      `exactWasserstein needs equal-size sets, got n = ${a.n} and m = ${b.n}; subsample to a common size or use slicedWasserstein (any sizes)`,
    );
  }
  if (a.n > maxSize) {
    throw new RangeError(
      `exactWasserstein is limited to n ≤ ${maxSize} (O(n³) time, ${((8 * a.n * a.n) / 2 ** 20).toFixed(0)} MiB cost matrix), got n = ${a.n}; ` +
        'use slicedWasserstein, subsample, or raise options.maxSize',
    );
  }
  const n = a.n;
  const d = a.d;
  const xs = a.data;
  const ys = b.data;
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const oi = i * d;
    for (let j = 0; j < n; j++) {
      const oj = j * d;
      let r = 0;
      for (let k = 0; k < d; k++) {
        const t = xs[oi + k] - ys[oj + k];
        r += t * t;
      }
      c[i * n + j] = p === 2 ? r : p === 1 ? Math.sqrt(r) : r ** (p / 2);
    }
  }
  const rowOffsets = warmStart(a, b, p);
  const result: AssignmentResult = lapjv(c, n, { rowOffsets });
  const cost = result.cost / n;
  return { distance: cost ** (1 / p), cost, assignment: result.rowToCol };
}

/**
 * Initial row potentials $u^0$ for {@link lapjv} (a warm start: the result is exact whatever
 * they are; good ones make the augmenting paths short).
 * - Any p, shift part: with $\Delta = m_x - m_y$ and $c(z) = \lVert z\rVert^p$,
 *   $u^0_i = \nabla c(\Delta)^T x_i = p\lVert\Delta\rVert^{p-2}\Delta^T x_i$ — the optimal dual
 *   when Y is a pure shift of X (for p = 2 the same as centring both sets).
 * - p = 2 and d ≤ {@link AFFINE_WARM_START_MAX_D}: the Gaussian (affine) Brenier potential
 *   $\varphi$ fitted to the means and covariances, $u^0_i = \lVert x_i\rVert^2 - 2\varphi(x_i)$:
 *   the optimal dual for Gaussian data and close to it for roughly Gaussian data (≈ 10× fewer
 *   row scans on 2-D Gaussians).
 */
function warmStart(x: PointSet, y: PointSet, p: number): Float64Array | undefined {
  const { n, d, data } = x;
  const mx = moments(x);
  const my = moments(y);
  const u0 = new Float64Array(n);
  if (p === 2 && d <= AFFINE_WARM_START_MAX_D) {
    const A = gaussianMapMatrix(mx.cov, my.cov, d);
    const r = new Float64Array(d);
    let scale = 0;
    for (let i = 0; i < n; i++) {
      let sq = 0;
      let lin = 0;
      for (let k = 0; k < d; k++) {
        const xk = data[i * d + k];
        r[k] = xk - mx.mean[k];
        sq += xk * xk;
        lin += my.mean[k] * xk;
      }
      let quad = 0;
      for (let k = 0; k < d; k++) {
        let s = 0;
        for (let l = 0; l < d; l++) s += A[k * d + l] * r[l];
        quad += r[k] * s;
      }
      u0[i] = sq - quad - 2 * lin;
      scale = Math.max(scale, sq);
    }
    // Guard against a degenerate fit: huge offsets would only cost precision in the prices.
    if (u0.every((u) => Number.isFinite(u) && Math.abs(u) <= 1e3 * (scale + 1))) return u0;
  }
  const delta = mx.mean.map((m, k) => m - my.mean[k]);
  const norm = Math.sqrt(delta.reduce((s, t) => s + t * t, 0));
  if (!(norm > 0)) return undefined;
  const g = p * norm ** (p - 2);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += delta[k] * data[i * d + k];
    u0[i] = g * s;
  }
  return u0.every(Number.isFinite) ? u0 : undefined;
}
