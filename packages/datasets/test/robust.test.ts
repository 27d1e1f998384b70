import { describe, expect, it } from 'vitest';
import {
  findExtremeRows,
  fitRobustStandardization,
  fitStandardization,
  IQR_TO_SIGMA,
  quantileSorted,
  robustColumnStats,
  withoutRows,
} from '../src/index.js';

const m = (rows: number[][]) => ({ data: Float32Array.from(rows.flat()), n: rows.length, dim: rows[0].length });

describe('robust statistics', () => {
  it('quantiles interpolate linearly between order statistics (numpy default)', () => {
    const s = [1, 2, 3, 4, 10];
    expect(quantileSorted(s, 0.5)).toBe(3);
    expect(quantileSorted(s, 0.25)).toBe(2);
    expect(quantileSorted(s, 0.75)).toBe(4);
    expect(quantileSorted([0, 10], 0.3)).toBeCloseTo(3, 12);
  });

  it('median and 0.7413·IQR per column, by hand', () => {
    // column 0: 1..8 → median 4.5, q25 = 2.75, q75 = 6.25; column 1: the same ×10 with one outlier
    const rows = [1, 2, 3, 4, 5, 6, 7, 8].map((v) => [v, v === 8 ? 1e30 : 10 * v]);
    const { median, scale } = robustColumnStats(m(rows));
    expect(median[0]).toBeCloseTo(4.5, 12);
    expect(scale[0]).toBeCloseTo(IQR_TO_SIGMA * 3.5, 12);
    expect(median[1]).toBeCloseTo(45, 5);
    expect(scale[1]).toBeCloseTo(IQR_TO_SIGMA * 35, 4);
    const robust = fitRobustStandardization(m(rows));
    expect(robust.mean).toEqual(median);
    expect(robust.std).toEqual(scale);
    // the mean / std fit is dragged to ~1e29 by the single outlier; the robust one is not
    expect(fitStandardization(m(rows)).std[1]).toBeGreaterThan(1e29);
  });

  it('an interquartile range of 0 falls back to the MAD, then to the std', () => {
    const zerosWithOnes = m([[0], [0], [0], [0], [0], [0], [0], [0], [0], [1]]);
    const s = robustColumnStats(zerosWithOnes);
    expect(s.median[0]).toBe(0);
    expect(s.scale[0]).toBeCloseTo(0.3, 12); // population std of 9 zeros and a one
  });

  it('finds exactly the rows with extreme values, and the worst one', () => {
    const rows: number[][] = [];
    for (let i = 0; i < 200; i++) rows.push([Math.sin(i), Math.cos(3 * i)]);
    const bad = [7, 42, 199];
    for (const i of bad) rows[i][i === 42 ? 0 : 1] = i === 199 ? -1e30 : 1e20;
    const found = findExtremeRows(m(rows));
    expect(found.rows).toEqual(bad);
    expect(found.worst).toMatchObject({ row: 199, column: 1, value: Math.fround(-1e30) });
    expect(findExtremeRows(m(rows.filter((_, i) => !bad.includes(i)))).rows).toEqual([]);
    // a lower threshold flags more; a heavy but plausible tail is not extreme at the default
    expect(findExtremeRows(m([[0], [1], [2], [3], [50]])).rows).toEqual([]);
    expect(findExtremeRows(m([[0], [1], [2], [3], [50]]), { threshold: 10 }).rows).toEqual([4]);
  });

  it('withoutRows drops the listed rows and keeps the order of the rest', () => {
    const out = withoutRows(
      m([
        [1, 2],
        [3, 4],
        [5, 6],
        [7, 8],
      ]),
      [0, 2],
    );
    expect(out.n).toBe(2);
    expect(Array.from(out.data)).toEqual([3, 4, 7, 8]);
  });
});
