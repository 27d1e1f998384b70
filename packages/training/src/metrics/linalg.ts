/**
 * Small dense float64 linear algebra for the metrics: symmetric eigendecomposition (cyclic
 * Jacobi), matrix square roots, sample moments, and the closed-form W2 between Gaussians.
 * Matrices are row-major `Float64Array`s of size d·d; intended for d up to a few dozen.
 */
import { type Points, toPointSet } from './points.js';

/**
 * Eigendecomposition $A = V\,\mathrm{diag}(w)\,V^T$ of a symmetric d × d matrix by cyclic Jacobi
 * rotations (converges quadratically; accurate to float64 rounding). `a` is not modified.
 * **Returns:** `w` (unsorted eigenvalues, `[d]`) and `vectors` (row-major `[d, d]`, column k
 * is the eigenvector of `w[k]`).
 */
export function symmetricEigen(a: Float64Array, d: number): { w: Float64Array; vectors: Float64Array } {
  if (a.length !== d * d) throw new TypeError(`symmetricEigen: expected ${d}×${d} = ${d * d} entries, got ${a.length}`);
  const m = Float64Array.from(a);
  const vec = new Float64Array(d * d);
  for (let i = 0; i < d; i++) vec[i * d + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let total = 0;
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        const s = m[i * d + j] ** 2;
        total += s;
        if (i !== j) off += s;
      }
    }
    if (off <= 1e-30 * total || off === 0) break;
    for (let p = 0; p < d - 1; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = m[p * d + q];
        if (apq === 0) continue;
        const theta = (m[q * d + q] - m[p * d + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        // A ← Jᵀ A J on rows/columns p, q.
        for (let k = 0; k < d; k++) {
          const akp = m[k * d + p];
          const akq = m[k * d + q];
          m[k * d + p] = c * akp - s * akq;
          m[k * d + q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          const apk = m[p * d + k];
          const aqk = m[q * d + k];
          m[p * d + k] = c * apk - s * aqk;
          m[q * d + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < d; k++) {
          const vkp = vec[k * d + p];
          const vkq = vec[k * d + q];
          vec[k * d + p] = c * vkp - s * vkq;
          vec[k * d + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const w = new Float64Array(d);
  for (let i = 0; i < d; i++) w[i] = m[i * d + i];
  return { w, vectors: vec };
}

/** $V f(\mathrm{diag}(w)) V^T$ for a symmetric matrix given by its eigendecomposition. */
function spectralMap(eig: { w: Float64Array; vectors: Float64Array }, d: number, f: (x: number) => number): Float64Array {
  const fw = eig.w.map(f);
  const out = new Float64Array(d * d);
  const v = eig.vectors;
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += v[i * d + k] * fw[k] * v[j * d + k];
      out[i * d + j] = s;
      out[j * d + i] = s;
    }
  }
  return out;
}

/** Principal square root of a symmetric positive semi-definite matrix (negative eigenvalues from rounding are clipped to 0). */
export function sqrtmPsd(a: Float64Array, d: number): Float64Array {
  return spectralMap(symmetricEigen(a, d), d, (x) => Math.sqrt(Math.max(x, 0)));
}

/** Row-major product of d × d matrices. */
export function matmul(a: Float64Array, b: Float64Array, d: number): Float64Array {
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++)
    for (let k = 0; k < d; k++) {
      const aik = a[i * d + k];
      for (let j = 0; j < d; j++) out[i * d + j] += aik * b[k * d + j];
    }
  return out;
}

/** Mean `[d]` and (biased, 1/n) covariance `[d, d]` of a point set, in float64. */
export function moments(points: Points): { mean: Float64Array; cov: Float64Array; d: number } {
  const { data, n, d } = toPointSet(points);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) mean[k] += data[i * d + k];
  for (let k = 0; k < d; k++) mean[k] /= n;
  const cov = new Float64Array(d * d);
  const r = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < d; k++) r[k] = data[i * d + k] - mean[k];
    for (let k = 0; k < d; k++) for (let l = k; l < d; l++) cov[k * d + l] += r[k] * r[l];
  }
  for (let k = 0; k < d; k++)
    for (let l = k; l < d; l++) {
      cov[k * d + l] /= n;
      cov[l * d + k] = cov[k * d + l];
    }
  return { mean, cov, d };
}

/**
 * Squared 2-Wasserstein distance between Gaussians (closed form, Dowson & Landau / Olkin &
 * Pukelsheim): $W_2^2 = \lVert m_1 - m_2\rVert^2 + \mathrm{tr}\big(\Sigma_1 + \Sigma_2 -
 * 2(\Sigma_2^{1/2}\Sigma_1\Sigma_2^{1/2})^{1/2}\big)$. Covariances are row-major d × d
 * symmetric PSD. **Returns:** $W_2^2$ (take the square root for $W_2$).
 */
export function gaussianW2Squared(
  mean1: ArrayLike<number>,
  cov1: ArrayLike<number>,
  mean2: ArrayLike<number>,
  cov2: ArrayLike<number>,
): number {
  const d = mean1.length;
  if (mean2.length !== d || cov1.length !== d * d || cov2.length !== d * d)
    throw new TypeError(`gaussianW2Squared: means must have length d and covariances d·d (d = ${d})`);
  const s1 = Float64Array.from(cov1);
  const s2 = Float64Array.from(cov2);
  const r2 = sqrtmPsd(s2, d);
  const cross = sqrtmPsd(matmul(matmul(r2, s1, d), r2, d), d);
  let w = 0;
  for (let k = 0; k < d; k++) w += (mean1[k] - mean2[k]) ** 2 + s1[k * d + k] + s2[k * d + k] - 2 * cross[k * d + k];
  return Math.max(w, 0);
}

/**
 * Brenier potential of the Gaussian (affine) transport map from N(m_x, Σ_x) to N(m_y, Σ_y):
 * $T(x) = m_y + A(x - m_x)$, $A = \Sigma_x^{-1/2}(\Sigma_x^{1/2}\Sigma_y\Sigma_x^{1/2})^{1/2}
 * \Sigma_x^{-1/2}$ (symmetric PSD), $\varphi(x) = \tfrac12 (x-m_x)^T A (x-m_x) + m_y^T x$,
 * so $\nabla\varphi = T$. Eigenvalues of $\Sigma_x$ below `1e-9·max` are floored. **Returns:** `A`.
 */
export function gaussianMapMatrix(covX: Float64Array, covY: Float64Array, d: number): Float64Array {
  const eig = symmetricEigen(covX, d);
  const floor = 1e-9 * Math.max(...eig.w, 0) + Number.MIN_VALUE;
  const half = spectralMap(eig, d, (x) => Math.sqrt(Math.max(x, floor)));
  const invHalf = spectralMap(eig, d, (x) => 1 / Math.sqrt(Math.max(x, floor)));
  const middle = sqrtmPsd(matmul(matmul(half, covY, d), half, d), d);
  return matmul(matmul(invHalf, middle, d), invHalf, d);
}
