/**
 * Exact W1/W2 by assignment: brute force on tiny sets, the exact value for a pure shift,
 * Gaussian samples against the closed form (and against Gelbrich's bound, which holds for
 * every pair of distributions), and the size limits.
 */
import { initBackend, Rng } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { exactWasserstein, gaussianW2Squared, moments, type PointSet } from '../../src/metrics/index.js';
import { distance, gaussian2d, normalPoints, permutations, shifted, thrown } from './helpers.js';

beforeAll(async () => {
  await initBackend('cpu');
});

/** min over matchings of (1/n) Σ ‖x_i − y_π(i)‖^p by enumeration. */
function bruteForceWpp(x: PointSet, y: PointSet, p: number): number {
  let best = Number.POSITIVE_INFINITY;
  for (const perm of permutations(x.n)) {
    let s = 0;
    for (let i = 0; i < x.n; i++) s += distance(x, i, y, perm[i]) ** p;
    best = Math.min(best, s / x.n);
  }
  return best;
}

/** W2² between 2-D Gaussians from 2×2 identities only: tr √M = √(tr M + 2√det M) for 2×2 SPD M. */
function gaussianW2Squared2x2(m1: number[], S1: number[][], m2: number[], S2: number[][]): number {
  const tr = (A: number[][]) => A[0][0] + A[1][1];
  const det = (A: number[][]) => A[0][0] * A[1][1] - A[0][1] * A[1][0];
  const trS1S2 = S1[0][0] * S2[0][0] + S1[0][1] * S2[1][0] + S1[1][0] * S2[0][1] + S1[1][1] * S2[1][1];
  // (S2^½ S1 S2^½) has trace tr(S1 S2) and determinant det S1 det S2.
  const trCross = Math.sqrt(trS1S2 + 2 * Math.sqrt(det(S1) * det(S2)));
  return (m1[0] - m2[0]) ** 2 + (m1[1] - m2[1]) ** 2 + tr(S1) + tr(S2) - 2 * trCross;
}

describe('exactWasserstein', () => {
  it('equals brute-force enumeration on tiny sets (p = 1, 2, 1.5; d = 2 and d = 20)', () => {
    for (const [seed, d] of [
      [1, 2],
      [2, 2],
      [3, 20],
    ]) {
      const x = normalPoints(6, d, seed);
      const y = normalPoints(6, d, seed + 100, 1.5, [0.3]);
      for (const p of [1, 2, 1.5]) {
        const r = exactWasserstein(x, y, { p });
        const truth = bruteForceWpp(x, y, p);
        expect(r.cost).toBeCloseTo(truth, 12);
        expect(r.distance).toBeCloseTo(truth ** (1 / p), 12);
        expect(new Set(r.assignment).size).toBe(6);
      }
    }
  });

  it('a pure shift Y = X + s gives W1 = W2 = ‖s‖ exactly and the identity matching (d = 2, 3; n = 300)', () => {
    for (const [d, s] of [
      [2, [0.7, -0.4]],
      [3, [3, 1, -2]],
    ] as const) {
      const x = normalPoints(300, d, 7 + d);
      const y = shifted(x, s);
      const norm = Math.hypot(...s);
      for (const p of [1, 2]) {
        const r = exactWasserstein(x, y, { p });
        expect(r.distance).toBeCloseTo(norm, 9);
        expect(r.assignment.every((j, i) => j === i)).toBe(true);
      }
    }
  });

  it('2-D Gaussians (n = 500): within finite-sample error of the closed form, and just above the Gelbrich bound', () => {
    const m1 = [0, 0];
    const S1 = [
      [1, 0.3],
      [0.3, 0.5],
    ];
    const m2 = [2, -1];
    const S2 = [
      [0.6, -0.2],
      [-0.2, 1.2],
    ];
    const exact = gaussianW2Squared2x2(m1, S1, m2, S2);
    expect(gaussianW2Squared(m1, S1.flat(), m2, S2.flat())).toBeCloseTo(exact, 12);
    for (const seed of [100, 101]) {
      const rng = new Rng(seed);
      const x = gaussian2d(500, m1, S1, rng);
      const y = gaussian2d(500, m2, S2, rng);
      const w2 = exactWasserstein(x, y).distance;
      // Sampling noise of the means dominates: sd ≈ 0.05 at n = 500 (measured over 8 seeds).
      expect(Math.abs(w2 - Math.sqrt(exact))).toBeLessThan(0.2);
      // Gelbrich: W2(μ, ν) ≥ W2 of the Gaussians with the same moments, for ANY μ, ν. The gap
      // for Gaussian samples is a finite-sample effect (≈ 0.009 at n = 500); a suboptimal
      // matching would overshoot it.
      const a = moments(x);
      const b = moments(y);
      const gelbrich = Math.sqrt(gaussianW2Squared(a.mean, a.cov, b.mean, b.cov));
      expect(w2).toBeGreaterThanOrEqual(gelbrich - 1e-12);
      expect(w2 - gelbrich).toBeLessThan(0.02);
    }
  });

  it('accepts tensors, number[][] and Float32 point sets alike', () => {
    const x = normalPoints(40, 2, 5);
    const y = normalPoints(40, 2, 6, 2);
    const x32 = { data: Float32Array.from(x.data), n: 40, d: 2 };
    const y32 = { data: Float32Array.from(y.data), n: 40, d: 2 };
    const ref = exactWasserstein(x32, y32).distance;
    const tx = tf.tensor2d(x32.data, [40, 2]);
    const ty = tf.tensor2d(y32.data, [40, 2]);
    expect(exactWasserstein(tx, ty).distance).toBe(ref);
    const rows = (s: PointSet) => Array.from({ length: s.n }, (_, i) => Array.from(s.data.subarray(i * s.d, i * s.d + s.d)));
    expect(exactWasserstein(rows(x32), rows(y32)).distance).toBe(ref);
    tf.dispose([tx, ty]);
  });

  it('refuses unequal sizes and n above the limit, pointing to slicedWasserstein', () => {
    const a = normalPoints(5, 2, 1);
    const b = normalPoints(6, 2, 2);
    const e1 = thrown(() => exactWasserstein(a, b));
    expect(e1).toBeInstanceOf(RangeError);
    expect(e1.message).toMatch(/equal-size.*slicedWasserstein/);
    const big = { data: new Float64Array(2001 * 2), n: 2001, d: 2 };
    const e2 = thrown(() => exactWasserstein(big, big));
    expect(e2).toBeInstanceOf(RangeError);
    expect(e2.message).toMatch(/n ≤ 2000.*slicedWasserstein/);
    expect(thrown(() => exactWasserstein(a, a, { maxSize: 4 })).message).toMatch(/n ≤ 4/);
    expect(thrown(() => exactWasserstein(a, normalPoints(5, 3, 2)))).toBeInstanceOf(TypeError);
    expect(thrown(() => exactWasserstein(a, a, { p: 0.5 }))).toBeInstanceOf(RangeError);
    const bad = { data: Float64Array.from(a.data), n: 5, d: 2 };
    bad.data[3] = Number.NaN;
    expect(thrown(() => exactWasserstein(a, bad)).message).toMatch(/y has a non-finite coordinate.*point 1, dimension 1/);
  });
});
