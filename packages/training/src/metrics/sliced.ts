/**
 * One-dimensional and sliced Wasserstein distances.
 *
 * **1-D.** For empirical measures $\mu = \frac1n\sum_i \delta_{a_i}$, $\nu = \frac1m\sum_j
 * \delta_{b_j}$ on $\mathbb{R}$ and $p \ge 1$, the monotone (sorted) coupling is optimal and
 * $W_p^p(\mu, \nu) = \int_0^1 \lvert F_\mu^{-1}(u) - F_\nu^{-1}(u)\rvert^p\,du$ (quantile functions).
 * For $n = m$ this is $\frac1n\sum_i \lvert a_{(i)} - b_{(i)}\rvert^p$; for $n \ne m$ the integral
 * is evaluated exactly over the merged breakpoints $\{i/n\} \cup \{j/m\}$ (integer arithmetic
 * on the grid $1/(nm)$, no rounding of the weights).
 *
 * **Sliced.** $SW_p^p(X, Y) = E_{\theta \sim U(S^{d-1})}\, W_p^p(\theta^T X, \theta^T Y)$,
 * estimated with $L$ directions (default 500) drawn uniformly on the sphere as normalised
 * standard normal vectors from a seeded {@link Rng}; the result is
 * $\big(\frac1L\sum_l W_p^p(\theta_l^T X, \theta_l^T Y)\big)^{1/p}$. Same seed and inputs ⇒ the
 * same number on every backend.
 *
 * Cost $O(L\,(n+m)(d + \log(n+m)))$, float64 on the JS side.
 *
 * Useful closed form (pure shift, any $d$): if $Y = X + s$ then every projection is a 1-D
 * shift by $\theta^T s$, so $SW_p^p = \lVert s\rVert^p\,E\lvert\theta_1\rvert^p$; for $p = 2$,
 * $E\theta_1^2 = 1/d$ and $SW_2 = \lVert s\rVert/\sqrt d$ (up to the Monte Carlo error of the
 * $L$ directions).
 */
import { Rng } from '@nfdm/core';
import { type Points, toPointSetPair } from './points.js';

function checkP(p: number): void {
  if (!(Number.isFinite(p) && p >= 1)) throw new RangeError(`the Wasserstein order p must be a finite number ≥ 1, got ${p}`);
}

function powAbs(t: number, p: number): number {
  const a = Math.abs(t);
  return p === 1 ? a : p === 2 ? a * a : a ** p;
}

/** $W_p^p$ between two *sorted* samples (see the module doc). */
function sortedWpp(a: Float64Array, b: Float64Array, p: number): number {
  const n = a.length;
  const m = b.length;
  if (n === m) {
    let s = 0;
    for (let i = 0; i < n; i++) s += powAbs(a[i] - b[i], p);
    return s / n;
  }
  // Quantile formula: walk the breakpoints i/n and j/m in units of 1/(nm) (exact integers).
  let i = 0;
  let j = 0;
  let prev = 0;
  let s = 0;
  while (i < n && j < m) {
    const ea = (i + 1) * m; // end of a_i's quantile interval, ×nm
    const eb = (j + 1) * n;
    const end = Math.min(ea, eb);
    s += (end - prev) * powAbs(a[i] - b[j], p);
    prev = end;
    if (ea === end) i++;
    if (eb === end) j++;
  }
  return s / (n * m);
}

/**
 * Wasserstein-$p$ distance $W_p$ (not its $p$-th power) between two 1-D samples with uniform
 * weights, by sorting (copies; the inputs are not modified). Sizes may differ.
 */
export function wasserstein1d(a: ArrayLike<number>, b: ArrayLike<number>, p = 1): number {
  checkP(p);
  if (a.length < 1 || b.length < 1) throw new RangeError('wasserstein1d needs at least one value in each sample');
  const sa = Float64Array.from(a);
  const sb = Float64Array.from(b);
  for (const v of [sa, sb])
    for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) throw new RangeError(`wasserstein1d: non-finite value ${v[i]}`);
  sa.sort();
  sb.sort();
  return sortedWpp(sa, sb, p) ** (1 / p);
}

export interface SlicedWassersteinOptions {
  /** Order p ≥ 1 (default 2). */
  p?: number;
  /** Number of random directions L (default 500); ignored when `directions` is given. */
  projections?: number;
  /** Seed of the directions (default 0). */
  seed?: number;
  /**
   * Explicit directions instead of random ones: `number[][]` or a row-major `Float64Array`
   * of L·d values. Each is normalised to unit length (must be non-zero).
   */
  directions?: readonly (readonly number[])[] | Float64Array;
}

/**
 * `count` directions uniform on $S^{d-1}$: direction $l$ is a vector of $d$ standard normals
 * from `new Rng(seed)` (consumed in order), divided by its norm. Returns `[count·d]` row-major.
 */
export function randomDirections(count: number, d: number, seed = 0): Float64Array {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`the number of projections must be a positive integer, got ${count}`);
  if (!Number.isInteger(d) || d < 1) throw new RangeError(`d must be a positive integer, got ${d}`);
  const rng = new Rng(seed);
  const out = new Float64Array(count * d);
  for (let l = 0; l < count; l++) {
    let norm = 0;
    while (norm === 0) {
      norm = 0;
      for (let k = 0; k < d; k++) {
        const z = rng.normal();
        out[l * d + k] = z;
        norm += z * z;
      }
    }
    norm = Math.sqrt(norm);
    for (let k = 0; k < d; k++) out[l * d + k] /= norm;
  }
  return out;
}

function explicitDirections(dirs: readonly (readonly number[])[] | Float64Array, d: number): Float64Array {
  let out: Float64Array;
  if (dirs instanceof Float64Array) {
    if (dirs.length === 0 || dirs.length % d !== 0)
      throw new TypeError(`directions must hold L·d values with d = ${d}, got length ${dirs.length}`);
    out = Float64Array.from(dirs);
  } else {
    if (!Array.isArray(dirs) || dirs.length === 0) throw new TypeError('directions must be a non-empty array of vectors');
    out = new Float64Array(dirs.length * d);
    dirs.forEach((v, l) => {
      if (!Array.isArray(v) || v.length !== d) throw new TypeError(`directions[${l}] must have ${d} coordinates`);
      for (let k = 0; k < d; k++) out[l * d + k] = v[k];
    });
  }
  for (let l = 0; l < out.length / d; l++) {
    let norm = 0;
    for (let k = 0; k < d; k++) norm += out[l * d + k] ** 2;
    norm = Math.sqrt(norm);
    if (!(norm > 0 && Number.isFinite(norm))) throw new RangeError(`directions[${l}] must be finite and non-zero`);
    for (let k = 0; k < d; k++) out[l * d + k] /= norm;
  }
  return out;
}

/**
 * Sliced Wasserstein distance $SW_p(X, Y)$ (see the module doc). Sizes may differ.
 *
 * **Arguments:** `x` — `[n, d]`; `y` — `[m, d]` (any {@link Points});
 * `options` — {@link SlicedWassersteinOptions}. **Returns:** $SW_p$ (not its $p$-th power).
 */
export function slicedWasserstein(x: Points, y: Points, options: SlicedWassersteinOptions = {}): number {
  const [a, b] = toPointSetPair(x, y);
  const p = options.p ?? 2;
  checkP(p);
  const d = a.d;
  const dirs = options.directions
    ? explicitDirections(options.directions, d)
    : randomDirections(options.projections ?? 500, d, options.seed ?? 0);
  const count = dirs.length / d;
  const pa = new Float64Array(a.n);
  const pb = new Float64Array(b.n);
  const project = (src: Float32Array | Float64Array, n: number, l: number, out: Float64Array) => {
    const o = l * d;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += src[i * d + k] * dirs[o + k];
      out[i] = s;
    }
    out.sort();
  };
  let total = 0;
  for (let l = 0; l < count; l++) {
    project(a.data, a.n, l, pa);
    project(b.data, b.n, l, pb);
    total += sortedWpp(pa, pb, p);
  }
  return (total / count) ** (1 / p);
}
