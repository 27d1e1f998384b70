/**
 * Per-dimension affine standardisation x′ = (x − μ) / s, stored with a model as plain JSON.
 *
 * μ_j is the column mean and s_j = max(σ_j, minStd) the population standard deviation
 * (divisor n, computed in float64 with two passes), floored so constant columns do not divide
 * by zero.
 *
 * Densities: p(x) = p′(x′) / Π_j s_j, so a negative log-likelihood measured on standardised
 * data converts back to the data's own units as
 *
 *   NLL(x) = NLL′(x′) + Σ_j log s_j        ({@link standardizationLogDet})
 *
 * (equivalently NLL′ = NLL − Σ log s, as in the spec). {@link nllToDataUnits} applies it.
 */
import { DatasetError } from './errors.js';
import type { DataMatrix } from './matrix.js';

/** Standardisation statistics; JSON-serialisable as they are. */
export interface Standardization {
  mean: number[];
  std: number[];
}

/** Options of {@link fitStandardization}. */
export interface FitStandardizationOptions {
  /** Lower bound on each s_j (default 1e-6). */
  minStd?: number;
}

/** Column means and (floored) population standard deviations of `m`. */
export function fitStandardization(m: DataMatrix, options: FitStandardizationOptions = {}): Standardization {
  const minStd = options.minStd ?? 1e-6;
  if (!(minStd > 0 && Number.isFinite(minStd)))
    throw new DatasetError('invalid_argument', `minStd must be a positive number, got ${minStd}`);
  const { data, n, dim } = m;
  if (n < 1) throw new DatasetError('empty', 'cannot fit a standardisation to zero rows');
  const mean = new Array<number>(dim).fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j] += data[i * dim + j];
  for (let j = 0; j < dim; j++) mean[j] /= n;
  const sq = new Array<number>(dim).fill(0);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) {
      const d = data[i * dim + j] - mean[j];
      sq[j] += d * d;
    }
  }
  const std = sq.map((s) => Math.max(Math.sqrt(s / n), minStd));
  if (mean.some((v) => !Number.isFinite(v)) || std.some((v) => !Number.isFinite(v))) {
    throw new DatasetError('non_finite', 'the data contain NaN or Inf, so their mean / std are not finite');
  }
  return { mean, std };
}

/**
 * Check that `value` (e.g. parsed from a model's JSON) is a valid {@link Standardization}
 * (equal-length arrays of finite numbers, std > 0), optionally of dimension `dim`.
 */
export function parseStandardization(value: unknown, dim?: number): Standardization {
  const v = value as Partial<Standardization> | null;
  const ok = (a: unknown): a is number[] => Array.isArray(a) && a.every((x) => typeof x === 'number' && Number.isFinite(x));
  if (!v || typeof v !== 'object' || !ok(v.mean) || !ok(v.std)) {
    throw new DatasetError('invalid_argument', 'standardisation must be {"mean": number[], "std": number[]} with finite numbers');
  }
  if (v.mean.length !== v.std.length) {
    throw new DatasetError('invalid_argument', `standardisation mean has ${v.mean.length} entries but std has ${v.std.length}`);
  }
  if (v.std.some((s) => s <= 0)) throw new DatasetError('invalid_argument', 'standardisation std entries must be > 0');
  if (dim !== undefined && v.mean.length !== dim) {
    throw new DatasetError('bad_shape', `standardisation is for ${v.mean.length}-dimensional data, the data have ${dim} dimensions`);
  }
  return { mean: [...v.mean], std: [...v.std] };
}

function check(m: DataMatrix, s: Standardization): void {
  if (s.mean.length !== m.dim || s.std.length !== m.dim) {
    throw new DatasetError('bad_shape', `standardisation is for ${s.mean.length}-dimensional data, the data have ${m.dim} dimensions`);
  }
}

/** x′ = (x − μ) / s, row by row (a new matrix). */
export function applyStandardization(m: DataMatrix, s: Standardization): DataMatrix {
  check(m, s);
  const { data, n, dim } = m;
  const out = new Float32Array(data.length);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) out[i * dim + j] = (data[i * dim + j] - s.mean[j]) / s.std[j];
  return { data: out, n, dim };
}

/** x = μ + s · x′ — back to the data's units (e.g. for samples of a model trained on x′). */
export function invertStandardization(m: DataMatrix, s: Standardization): DataMatrix {
  check(m, s);
  const { data, n, dim } = m;
  const out = new Float32Array(data.length);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) out[i * dim + j] = s.mean[j] + s.std[j] * data[i * dim + j];
  return { data: out, n, dim };
}

/** Σ_j log s_j: the log-determinant of x′ ↦ x (nats). */
export function standardizationLogDet(s: Standardization): number {
  return s.std.reduce((acc, v) => acc + Math.log(v), 0);
}

/** NLL in the data's units from an NLL (nats per sample) measured on standardised data: NLL′ + Σ log s. */
export function nllToDataUnits(nllStandardized: number, s: Standardization): number {
  return nllStandardized + standardizationLogDet(s);
}
