import { Rng } from '@nfdm/core';
import { describe, expect, it } from 'vitest';
import {
  applyStandardization,
  type DataMatrix,
  fitStandardization,
  invertStandardization,
  nllToDataUnits,
  parseStandardization,
  permutation,
  splitDataset,
  standardizationLogDet,
} from '../src/index.js';

const counting = (n: number, dim: number): DataMatrix => ({ data: Float32Array.from({ length: n * dim }, (_, i) => i), n, dim });

describe('splitDataset', () => {
  it('splits by fractions into disjoint parts that cover every row', () => {
    const m = counting(1000, 2);
    const s = splitDataset(m, { train: 0.8, val: 0.1, test: 0.1 }, 7);
    expect([s.train.n, s.val.n, s.test.n]).toEqual([800, 100, 100]);
    const all = [...s.indices.train, ...s.indices.val, ...s.indices.test].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    // Rows follow their indices.
    const i = s.indices.val[5];
    expect([s.val.data[10], s.val.data[11]]).toEqual([2 * i, 2 * i + 1]);
    // Shuffled, not a prefix.
    expect(Array.from(s.indices.train.slice(0, 10))).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('is reproducible per seed and rounds small sizes sensibly', () => {
    const m = counting(7, 1);
    const a = splitDataset(m, { train: 0.6, val: 0.2, test: 0.2 }, 1);
    expect([a.train.n, a.val.n, a.test.n]).toEqual([5, 1, 1]);
    expect(splitDataset(m, { train: 0.6, val: 0.2, test: 0.2 }, 1).indices).toEqual(a.indices);
    const big = counting(500, 1);
    expect(splitDataset(big, undefined, 1).indices.test).not.toEqual(splitDataset(big, undefined, 2).indices.test);
    expect(splitDataset(counting(10, 1), { train: 1, val: 0, test: 0 }).train.n).toBe(10);
    expect(splitDataset(counting(3, 1), { train: 0, val: 0.5, test: 0.5 }).train.n).toBe(0);
  });

  it('rejects fractions that are negative or do not sum to 1', () => {
    expect(() => splitDataset(counting(10, 1), { train: 0.8, val: 0.1, test: 0.2 })).toThrow(/sum to 1, got 0.8 \+ 0.1 \+ 0.2/);
    expect(() => splitDataset(counting(10, 1), { train: 1.2, val: -0.2, test: 0 })).toThrow(/train must be in \[0, 1\], got 1.2/);
  });

  it('permutation is a uniform shuffle (every position sees every value)', () => {
    const rng = new Rng(3);
    const hits = new Array(5 * 5).fill(0);
    for (let r = 0; r < 5000; r++) {
      const p = permutation(5, rng);
      for (let i = 0; i < 5; i++) hits[i * 5 + p[i]]++;
    }
    for (const h of hits) expect(Math.abs(h - 1000)).toBeLessThan(120); // binomial sd ≈ 28
  });
});

describe('standardisation', () => {
  const rng = new Rng(1);
  const n = 4000;
  const data = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    data[3 * i] = 5 + 2 * rng.normal();
    data[3 * i + 1] = -1 + 0.1 * rng.normal();
    data[3 * i + 2] = 4; // constant column
  }
  const m = { data, n, dim: 3 };

  it('fits means and population stds, flooring constant columns', () => {
    const s = fitStandardization({ data: Float32Array.of(1, 10, 3, 10), n: 2, dim: 2 });
    expect(s).toEqual({ mean: [2, 10], std: [1, 1e-6] });
    expect(fitStandardization({ data: Float32Array.of(1, 1), n: 2, dim: 1 }, { minStd: 0.5 }).std).toEqual([0.5]);
    const fit = fitStandardization(m);
    expect(fit.mean[0]).toBeCloseTo(5, 1);
    expect(fit.std[0]).toBeCloseTo(2, 1);
    expect(fit.std[1]).toBeCloseTo(0.1, 2);
    expect(fit.std[2]).toBe(1e-6);
    expect(() => fitStandardization({ data: new Float32Array(0), n: 0, dim: 2 })).toThrow(/zero rows/);
    expect(() => fitStandardization({ data: Float32Array.of(Number.NaN), n: 1, dim: 1 })).toThrow(/NaN or Inf/);
  });

  it('apply gives zero mean and unit std; invert recovers the data', () => {
    const s = fitStandardization(m);
    const z = applyStandardization(m, s);
    const again = fitStandardization(z);
    expect(Math.abs(again.mean[0])).toBeLessThan(1e-5);
    expect(again.std[0]).toBeCloseTo(1, 5);
    expect(again.std[1]).toBeCloseTo(1, 5);
    expect(Array.from(z.data.subarray(0, 9)).filter((_, i) => i % 3 === 2)).toEqual([0, 0, 0]);
    const back = invertStandardization(z, s);
    let err = 0;
    for (let i = 0; i < data.length; i++) err = Math.max(err, Math.abs(back.data[i] - data[i]));
    expect(err).toBeLessThan(1e-5);
  });

  it('log-determinant converts NLLs back to data units: NLL = NLL′ + Σ log s', () => {
    const s = { mean: [1, -2], std: [3, 0.5] };
    expect(standardizationLogDet(s)).toBeCloseTo(Math.log(1.5), 12);
    // x ~ N(μ, diag s²): exact NLL in data units vs N(0, I) NLL of the standardised point.
    const x = [2.5, -1.7];
    const nll = x.reduce((a, v, j) => a + 0.5 * ((v - s.mean[j]) / s.std[j]) ** 2 + Math.log(s.std[j]) + 0.5 * Math.log(2 * Math.PI), 0);
    const z = applyStandardization({ data: Float32Array.from(x), n: 1, dim: 2 }, s).data;
    const nllStd = Array.from(z).reduce((a, v) => a + 0.5 * v * v + 0.5 * Math.log(2 * Math.PI), 0);
    expect(nllToDataUnits(nllStd, s)).toBeCloseTo(nll, 6);
  });

  it('stats are plain JSON and are validated when read back', () => {
    const s = fitStandardization(m);
    const back = parseStandardization(JSON.parse(JSON.stringify(s)), 3);
    expect(back).toEqual(s);
    expect(() => parseStandardization({ mean: [0], std: [1] }, 2)).toThrow(/1-dimensional data, the data have 2/);
    expect(() => parseStandardization({ mean: [0, 1], std: [1] })).toThrow(/mean has 2 entries but std has 1/);
    expect(() => parseStandardization({ mean: [0], std: [0] })).toThrow(/std entries must be > 0/);
    expect(() => parseStandardization({ mean: ['0'], std: [1] })).toThrow(/finite numbers/);
    expect(() => parseStandardization(null)).toThrow(/finite numbers/);
    expect(() => applyStandardization(m, { mean: [0], std: [1] })).toThrow(/1-dimensional data, the data have 3 dimensions/);
  });
});
