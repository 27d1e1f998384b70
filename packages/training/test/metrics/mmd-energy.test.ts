/**
 * MMD² (multi-scale RBF) and energy distance: naive double-sum references for both estimators,
 * closed forms for two points, zero for identical sets, monotone growth with a shift, and
 * errors.
 */
import { initBackend } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MMD_SCALES, energyDistance, type PointSet, rbfMmd2 } from '../../src/metrics/index.js';
import { distance, normalPoints, shifted, thrown } from './helpers.js';

beforeAll(async () => {
  await initBackend('cpu');
});

/** Mean of f over pairs, with or without the diagonal (the naive definition). */
function pairMean(a: PointSet, b: PointSet, f: (r: number) => number, dropDiagonal: boolean): number {
  let s = 0;
  let count = 0;
  for (let i = 0; i < a.n; i++)
    for (let j = 0; j < b.n; j++) {
      if (dropDiagonal && i === j) continue;
      s += f(distance(a, i, b, j));
      count++;
    }
  return s / count;
}

const rbf =
  (scales: readonly number[]) =>
  (r: number): number =>
    scales.reduce((s, sigma) => s + Math.exp((-r * r) / (2 * sigma * sigma)), 0);

describe('rbfMmd2', () => {
  const x = normalPoints(30, 3, 1, 0.5);
  const y = normalPoints(25, 3, 2, 0.7, [0.2, 0, -0.1]);

  it('matches the naive biased and unbiased double sums (torchcfm scales and custom ones)', () => {
    for (const scales of [DEFAULT_MMD_SCALES, [0.3, 2]]) {
      const k = rbf(scales);
      const biased = pairMean(x, x, k, false) + pairMean(y, y, k, false) - 2 * pairMean(x, y, k, false);
      const unbiased = pairMean(x, x, k, true) + pairMean(y, y, k, true) - 2 * pairMean(x, y, k, false);
      expect(rbfMmd2(x, y, { scales })).toBeCloseTo(biased, 12);
      expect(rbfMmd2(x, y, { scales, estimator: 'unbiased' })).toBeCloseTo(unbiased, 12);
      expect(biased).not.toBeCloseTo(unbiased, 4);
    }
  });

  it('two single points a apart: 2(|S| − k(a)) with the diagonals included', () => {
    const a = 0.7;
    expect(rbfMmd2([[0, 0]], [[a, 0]])).toBeCloseTo(2 * (5 - rbf(DEFAULT_MMD_SCALES)(a)), 14);
    expect(rbfMmd2([[0]], [[a]], { scales: [1] })).toBeCloseTo(2 - 2 * Math.exp(-(a * a) / 2), 14);
  });

  it('is 0 for a set against itself and grows strictly with a shift', () => {
    expect(Math.abs(rbfMmd2(x, x))).toBeLessThan(1e-12);
    const shifts = [0.05, 0.2, 0.5, 1, 3, 10];
    const values = shifts.map((c) => rbfMmd2(x, shifted(x, [c, 0, 0])));
    expect(values[0]).toBeGreaterThan(0);
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThan(values[i - 1]);
  });

  it('gives the same value for tensors and arrays, and rejects bad input', () => {
    const t = tf.tensor2d([
      [0, 1],
      [2, 3],
    ]);
    expect(
      rbfMmd2(t, [
        [1, 1],
        [0, 0],
      ]),
    ).toBe(
      rbfMmd2(
        [
          [0, 1],
          [2, 3],
        ],
        [
          [1, 1],
          [0, 0],
        ],
      ),
    );
    t.dispose();
    expect(thrown(() => rbfMmd2(x, x, { scales: [1, 0] }))).toBeInstanceOf(RangeError);
    expect(thrown(() => rbfMmd2(x, x, { scales: [] }))).toBeInstanceOf(RangeError);
    expect(thrown(() => rbfMmd2(x, normalPoints(4, 2, 0))).message).toMatch(/same dimension/);
    expect(thrown(() => rbfMmd2([[1]], [[2], [3]], { estimator: 'unbiased' })).message).toMatch(/at least 2 points/);
    expect(thrown(() => rbfMmd2(x, x, { estimator: 'u' as never }))).toBeInstanceOf(TypeError);
    expect(thrown(() => rbfMmd2([[1, Number.POSITIVE_INFINITY]], [[1, 2]])).message).toMatch(/x has a non-finite/);
    expect(thrown(() => rbfMmd2(tf.zeros([3]), x))).toBeInstanceOf(TypeError);
  });
});

describe('energyDistance', () => {
  const x = normalPoints(30, 2, 3);
  const y = normalPoints(20, 2, 4, 1.3, [0.5, 0]);

  it('matches the naive V- and U-statistics', () => {
    const id = (r: number) => r;
    const v = 2 * pairMean(x, y, id, false) - pairMean(x, x, id, false) - pairMean(y, y, id, false);
    const u = 2 * pairMean(x, y, id, false) - pairMean(x, x, id, true) - pairMean(y, y, id, true);
    expect(energyDistance(x, y)).toBeCloseTo(v, 12);
    expect(energyDistance(x, y, { estimator: 'unbiased' })).toBeCloseTo(u, 12);
  });

  it('two single points a apart: 2a; a set against itself: 0; grows strictly with a shift', () => {
    expect(energyDistance([[1, 2]], [[4, 6]])).toBeCloseTo(10, 14);
    expect(Math.abs(energyDistance(x, x))).toBeLessThan(1e-12);
    const values = [0.05, 0.2, 0.5, 1, 3, 10].map((c) => energyDistance(x, shifted(x, [0, c])));
    expect(values[0]).toBeGreaterThan(0);
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThan(values[i - 1]);
    // Far apart E‖X − Y‖ = c + O(1/c), so the distance grows with slope 2 in the shift c.
    const far = (c: number) => energyDistance(x, shifted(x, [0, c]));
    expect(far(1001) - far(1000)).toBeCloseTo(2, 4);
  });

  it('rejects bad input', () => {
    expect(thrown(() => energyDistance([[1]], [[1], [2]], { estimator: 'unbiased' }))).toBeInstanceOf(RangeError);
    expect(thrown(() => energyDistance(x, [[1, 2, 3]]))).toBeInstanceOf(TypeError);
  });
});
