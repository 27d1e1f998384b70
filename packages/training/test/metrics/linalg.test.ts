/** The small float64 linear algebra behind the W2 warm start and the Gaussian closed form. */
import { Rng } from '@nfdm/core';
import { describe, expect, it } from 'vitest';
import { gaussianW2Squared, moments } from '../../src/metrics/index.js';
import { gaussianMapMatrix, matmul, sqrtmPsd, symmetricEigen } from '../../src/metrics/linalg.js';

function randomSpd(d: number, rng: Rng): Float64Array {
  const g = Float64Array.from({ length: d * d }, () => rng.normal());
  const gt = Float64Array.from({ length: d * d }, (_, k) => g[(k % d) * d + Math.floor(k / d)]);
  const a = matmul(g, gt, d);
  for (let i = 0; i < d; i++) a[i * d + i] += 0.1;
  return a;
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('linalg', () => {
  it('symmetricEigen: V diag(w) Vᵀ = A with orthonormal V; sqrtmPsd squares back', () => {
    const d = 6;
    const a = randomSpd(d, new Rng(1));
    const { w, vectors: v } = symmetricEigen(a, d);
    const vw = v.map((t, k) => t * w[k % d]);
    const vt = Float64Array.from({ length: d * d }, (_, k) => v[(k % d) * d + Math.floor(k / d)]);
    expect(maxAbsDiff(matmul(vw, vt, d), a)).toBeLessThan(1e-12);
    expect(
      maxAbsDiff(
        matmul(vt, v, d),
        Float64Array.from({ length: d * d }, (_, k) => (k % (d + 1) === 0 ? 1 : 0)),
      ),
    ).toBeLessThan(1e-13);
    const r = sqrtmPsd(a, d);
    expect(maxAbsDiff(matmul(r, r, d), a)).toBeLessThan(1e-12);
  });

  it('gaussianW2Squared: commuting covariances give ‖Δm‖² + Σ(√a − √b)²; the Gaussian map pushes Σx to Σy', () => {
    const w2 = gaussianW2Squared([1, 0, 2], [4, 0, 0, 0, 1, 0, 0, 0, 9], [0, 0, 0], [1, 0, 0, 0, 1, 0, 0, 0, 16]);
    expect(w2).toBeCloseTo(5 + 1 + 0 + 1, 12);
    const rng = new Rng(2);
    const sx = randomSpd(4, rng);
    const sy = randomSpd(4, rng);
    const A = gaussianMapMatrix(sx, sy, 4);
    expect(maxAbsDiff(matmul(matmul(A, sx, 4), A, 4), sy)).toBeLessThan(1e-10);
    expect(gaussianW2Squared([0, 0, 0, 0], sx, [0, 0, 0, 0], sx)).toBeLessThan(1e-12);
  });

  it('moments: mean and 1/n covariance', () => {
    const m = moments([
      [0, 1],
      [2, 3],
      [4, 2],
    ]);
    expect(Array.from(m.mean)).toEqual([2, 2]);
    expect(maxAbsDiff(m.cov, [8 / 3, 2 / 3, 2 / 3, 2 / 3])).toBeLessThan(1e-15);
  });
});
