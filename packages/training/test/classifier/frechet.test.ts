/**
 * The Fréchet distance of Gaussian fits against closed forms. Point sets with exactly known
 * moments: {m ± √d · L e_k : k = 1…d} has mean m and 1/n covariance L Lᵀ, so frechetDistance
 * must equal the closed form of the two Gaussians up to float64 rounding.
 */
import { Rng } from '@nfdm/core';
import { describe, expect, it } from 'vitest';
import { frechetDistance, type PointSet } from '../../src/index.js';

/** 2d points with mean `m` and (1/n) covariance L Lᵀ exactly (L row-major d × d). */
function exactCloud(m: number[], L: number[]): PointSet {
  const d = m.length;
  const data = new Float64Array(2 * d * d);
  const s = Math.sqrt(d);
  for (let k = 0; k < d; k++)
    for (let sign = 0; sign < 2; sign++)
      for (let i = 0; i < d; i++) data[(2 * k + sign) * d + i] = m[i] + (sign ? -1 : 1) * s * L[i * d + k];
  return { data, n: 2 * d, d };
}

/** L Lᵀ of a row-major d × d matrix. */
function gram(L: number[], d: number): number[] {
  const out = new Array<number>(d * d).fill(0);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) for (let k = 0; k < d; k++) out[i * d + j] += L[i * d + k] * L[j * d + k];
  return out;
}

describe('frechetDistance', () => {
  it('2-D, non-commuting covariances: ‖Δm‖² + tr Σ₁ + tr Σ₂ − 2 √(tr(Σ₁Σ₂) + 2 √(det Σ₁ det Σ₂))', () => {
    const L1 = [2, 0, 1, 1];
    const L2 = [1, 0, -0.5, 0.7];
    const [m1, m2] = [
      [1, -2],
      [0.5, 3],
    ];
    const S1 = gram(L1, 2);
    const S2 = gram(L2, 2);
    const det = (S: number[]) => S[0] * S[3] - S[1] * S[2];
    const trProd = S1[0] * S2[0] + S1[1] * S2[2] + S1[2] * S2[1] + S1[3] * S2[3];
    // For 2 × 2 PSD M: tr √M = √(tr M + 2 √det M), with M = Σ₁^½ Σ₂ Σ₁^½.
    const closed =
      (m1[0] - m2[0]) ** 2 +
      (m1[1] - m2[1]) ** 2 +
      S1[0] +
      S1[3] +
      S2[0] +
      S2[3] -
      2 * Math.sqrt(trProd + 2 * Math.sqrt(det(S1) * det(S2)));
    const a = exactCloud(m1, L1);
    const b = exactCloud(m2, L2);
    expect(frechetDistance(a, b)).toBeCloseTo(closed, 11);
    expect(frechetDistance(b, a)).toBeCloseTo(closed, 11);
  });

  it('64 features, Σ₂ = c Σ₁ (random Σ₁): ‖Δm‖² + (1 − √c)² tr Σ₁; identical sets give ~0; symmetric', () => {
    const d = 64;
    const rng = new Rng(11);
    const L = Array.from({ length: d * d }, () => rng.normal() / Math.sqrt(d));
    const m1 = Array.from({ length: d }, () => rng.normal());
    const m2 = m1.map((v) => v + 0.1 * rng.normal());
    const c = 2.25;
    const S = gram(L, d);
    const trace = S.reduce((t, v, k) => (k % (d + 1) === 0 ? t + v : t), 0);
    const dm = m1.reduce((t, v, i) => t + (v - m2[i]) ** 2, 0);
    const a = exactCloud(m1, L);
    const b = exactCloud(
      m2,
      L.map((v) => Math.sqrt(c) * v),
    );
    const closed = dm + (1 - Math.sqrt(c)) ** 2 * trace;
    expect(frechetDistance(a, b)).toBeCloseTo(closed, 8);
    expect(Math.abs(frechetDistance(a, b) - frechetDistance(b, a))).toBeLessThan(1e-9 * closed);
    expect(frechetDistance(a, a)).toBeLessThan(1e-9 * trace);
  });

  it('samples of two Gaussians approach the closed form as n grows; wrong widths are refused', () => {
    const rng = new Rng(3);
    const draw = (n: number, mean: number, std: number) => ({
      data: Float64Array.from({ length: 2 * n }, (_, i) => (i % 2 === 0 ? mean : 0) + std * rng.normal()),
      n,
      d: 2,
    });
    // N((0,0), I) vs N((1,0), 4 I): d² = 1 + 2 (2 − 1)² = 3.
    const big = frechetDistance(draw(20_000, 0, 1), draw(20_000, 1, 2));
    expect(Math.abs(big - 3)).toBeLessThan(0.1);
    expect(() => frechetDistance(draw(5, 0, 1), { data: new Float64Array(15), n: 5, d: 3 })).toThrow(/feature widths differ \(2 vs 3\)/);
  });
});
