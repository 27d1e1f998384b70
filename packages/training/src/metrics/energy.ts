/**
 * Energy distance (Székely & Rizzo): $\mathcal{E}(P, Q) = 2E\lVert X-Y\rVert - E\lVert X-X'\rVert
 * - E\lVert Y-Y'\rVert \ge 0$, zero iff $P = Q$ (for finite first moments). It equals
 * $\mathrm{MMD}^2$ with the distance-induced kernel $k(x, y) = \lVert x\rVert + \lVert y\rVert
 * - \lVert x-y\rVert$. This is the *squared* form (no square root is taken).
 *
 * Estimators for $X = \{x_i\}_{i=1}^n$, $Y = \{y_j\}_{j=1}^m$:
 * - **biased** (V-statistic, the default): all pairs, diagonals included —
 *   $\frac{2}{nm}\sum_{i,j}\lVert x_i-y_j\rVert - \frac{1}{n^2}\sum_{i,i'}\lVert x_i-x_{i'}\rVert
 *   - \frac{1}{m^2}\sum_{j,j'}\lVert y_j-y_{j'}\rVert$. Always $\ge 0$ (it is the energy
 *   distance of the two empirical measures) and exactly 0 for $X = Y$.
 * - **unbiased** (U-statistic): the within-set sums divided by $n(n-1)$ and $m(m-1)$ instead;
 *   unbiased for $\mathcal{E}(P, Q)$, may be slightly negative; needs $n, m \ge 2$.
 *
 * Cost $O((n+m)^2 d)$ time on the JS side in float64, $O(1)$ extra memory.
 */
import type { PairEstimator } from './mmd.js';
import { type Points, pairwiseSums, toPointSetPair } from './points.js';

export interface EnergyOptions {
  /** Default `'biased'` (V-statistic). */
  estimator?: PairEstimator;
}

/**
 * Energy distance $2E\lVert X-Y\rVert - E\lVert X-X'\rVert - E\lVert Y-Y'\rVert$ between two
 * point sets (see the module doc for the estimators).
 *
 * **Arguments:** `x` — `[n, d]`; `y` — `[m, d]` (any {@link Points}). **Returns:** a number.
 */
export function energyDistance(x: Points, y: Points, options: EnergyOptions = {}): number {
  const [a, b] = toPointSetPair(x, y);
  const estimator = options.estimator ?? 'biased';
  if (estimator !== 'biased' && estimator !== 'unbiased')
    throw new TypeError(`unknown estimator '${String(estimator)}': expected 'biased' or 'unbiased'`);
  const unbiased = estimator === 'unbiased';
  if (unbiased && (a.n < 2 || b.n < 2))
    throw new RangeError(`the unbiased energy distance needs at least 2 points per set, got n = ${a.n}, m = ${b.n}`);
  const { withinA, withinB, cross } = pairwiseSums(a, b, Math.sqrt);
  const exy = cross / (a.n * b.n);
  const exx = withinA / (unbiased ? a.n * (a.n - 1) : a.n * a.n);
  const eyy = withinB / (unbiased ? b.n * (b.n - 1) : b.n * b.n);
  return 2 * exy - exx - eyy;
}
