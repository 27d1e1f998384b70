/**
 * Robust statistics of a table: a standardisation that outliers cannot drag, and the rows whose
 * values lie absurdly far from the bulk (e.g. sentinel values such as 1e30 in 5% of the rows).
 *
 * Per column j, with q_p the p-quantile (linear interpolation between order statistics):
 *
 *   median m_j = q_0.5,   robust scale r_j = 0.7413 · (q_0.75 − q_0.25)
 *
 * 0.7413 = 1 / (2 Φ⁻¹(0.75)) makes r_j the standard deviation for Gaussian data. When a column's
 * interquartile range is 0 (mostly one value), r_j falls back to 1.4826 · MAD (the median
 * absolute deviation), then to the population standard deviation, then to `minStd`.
 *
 * A value x_ij is *extreme* when |x_ij − m_j| > threshold · r_j (default threshold 1000: a
 * Gaussian value is that far with probability ≈ 0; a log-normal with σ = 2 about once in
 * 25,000 rows).
 */
import { DatasetError } from './errors.js';
import type { DataMatrix } from './matrix.js';
import type { Standardization } from './standardize.js';

/** 1 / (2 Φ⁻¹(0.75)): IQR → σ for Gaussian data. */
export const IQR_TO_SIGMA = 0.7413;
/** 1 / Φ⁻¹(0.75): MAD → σ for Gaussian data. */
export const MAD_TO_SIGMA = 1.4826;
/** Default distance, in robust scales from the median, beyond which a value is extreme. */
export const EXTREME_THRESHOLD = 1000;

/** The p-quantile of sorted values (linear interpolation, as numpy's default). */
export function quantileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) throw new DatasetError('empty', 'cannot take a quantile of zero values');
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

function column(m: DataMatrix, j: number): Float64Array {
  const out = new Float64Array(m.n);
  for (let i = 0; i < m.n; i++) out[i] = m.data[i * m.dim + j];
  return out;
}

/** Median and robust scale (see the module docs) of every column. */
export function robustColumnStats(m: DataMatrix, options: { minStd?: number } = {}): { median: number[]; scale: number[] } {
  const minStd = options.minStd ?? 1e-6;
  if (m.n < 1) throw new DatasetError('empty', 'cannot fit a standardisation to zero rows');
  const median: number[] = [];
  const scale: number[] = [];
  for (let j = 0; j < m.dim; j++) {
    const values = column(m, j);
    if (values.some((v) => !Number.isFinite(v))) {
      throw new DatasetError('non_finite', `column ${j + 1} contains NaN or Inf, so its median / scale are not defined`);
    }
    const sorted = Float64Array.from(values).sort();
    const med = quantileSorted(sorted, 0.5);
    let s = IQR_TO_SIGMA * (quantileSorted(sorted, 0.75) - quantileSorted(sorted, 0.25));
    if (!(s > 0)) {
      const dev = values.map((v) => Math.abs(v - med)).sort();
      s = MAD_TO_SIGMA * quantileSorted(dev, 0.5);
    }
    if (!(s > 0)) {
      let mean = 0;
      for (const v of values) mean += v / values.length;
      let sq = 0;
      for (const v of values) sq += (v - mean) ** 2;
      s = Math.sqrt(sq / values.length);
    }
    median.push(med);
    scale.push(Math.max(Number.isFinite(s) ? s : minStd, minStd));
  }
  return { median, scale };
}

/**
 * Robust standardisation x′ = (x − median) / (0.7413 · IQR), per column, in the same
 * {@link Standardization} form as the mean / std one (so models store and invert it alike).
 */
export function fitRobustStandardization(m: DataMatrix, options: { minStd?: number } = {}): Standardization {
  const { median, scale } = robustColumnStats(m, options);
  return { mean: median, std: scale };
}

/** Where a table has extreme values (0-based row indices, ascending). */
export interface ExtremeRows {
  /** Every row with at least one extreme value. */
  rows: number[];
  /** The most extreme value: its row, column (0-based), value and distance in robust scales. */
  worst?: { row: number; column: number; value: number; scales: number };
}

/** Rows with a value more than `threshold` robust scales from its column's median. */
export function findExtremeRows(m: DataMatrix, options: { threshold?: number } = {}): ExtremeRows {
  const threshold = options.threshold ?? EXTREME_THRESHOLD;
  if (!(threshold > 0)) throw new DatasetError('invalid_argument', `threshold must be > 0, got ${threshold}`);
  const { median, scale } = robustColumnStats(m);
  const rows: number[] = [];
  let worst: ExtremeRows['worst'];
  for (let i = 0; i < m.n; i++) {
    let extreme = false;
    for (let j = 0; j < m.dim; j++) {
      const value = m.data[i * m.dim + j];
      const scales = Math.abs(value - median[j]) / scale[j];
      if (scales > threshold) {
        extreme = true;
        if (!worst || scales > worst.scales) worst = { row: i, column: j, value, scales };
      }
    }
    if (extreme) rows.push(i);
  }
  return worst ? { rows, worst } : { rows };
}

/** The rows of `m` not listed in `drop` (sorted 0-based indices), as a new matrix. */
export function withoutRows(m: DataMatrix, drop: readonly number[]): DataMatrix {
  const skip = new Set(drop);
  const out = new Float32Array((m.n - skip.size) * m.dim);
  let k = 0;
  for (let i = 0; i < m.n; i++) {
    if (skip.has(i)) continue;
    out.set(m.data.subarray(i * m.dim, (i + 1) * m.dim), k * m.dim);
    k++;
  }
  return { data: out, n: k, dim: m.dim };
}
