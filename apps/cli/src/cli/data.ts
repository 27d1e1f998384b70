/**
 * Data for the commands, on top of @nfdm/datasets' `loadDataset`:
 *
 * - toy sets (`moons`, `8gaussians`, …) are sampled fresh for every training batch (the
 *   trainer's generator drives the sampler, so resume stays exact); held-out and test
 *   points come from fixed seeds that the training stream never uses;
 * - CSV / NPY tables are checked for extreme values (refused, dropped or kept: `--outliers`),
 *   split 90/10 (seeded) into training and held-out rows, and a standardisation fitted on the
 *   training rows (mean / std, or median / IQR with `--standardize robust`) is stored with the
 *   model; `nfdm eval` on the same file evaluates the held-out rows only;
 * - Fashion-MNIST trains on the train split and holds out test images; pixels are used as
 *   they are (in [−1, 1), no standardisation).
 */
import { isAbsolute, resolve } from 'node:path';
import type { Rng } from '@nfdm/core';
import {
  applyStandardization,
  type DataMatrix,
  type ExtremeRows,
  findExtremeRows,
  fitRobustStandardization,
  fitStandardization,
  isToyName,
  type LoadedDataset,
  loadDataset,
  parseImageFolderSpec,
  type Standardization,
  samplePaired,
  sampleToy,
  splitDataset,
  TOY_DATASETS,
  type ToyName,
  withoutRows,
} from '@nfdm/datasets';
import type { DataSource } from '@nfdm/training';
import * as tf from '@tensorflow/tfjs';
import type { OutlierPolicy, StandardizeMethod } from './data-options.js';
import { CliError, UsageError } from './errors.js';
import { parseBridgeSpec } from './run-config.js';

/** Seed of the held-out toy points used for evaluation during training. */
export const HELDOUT_SEED = 1_000_003;
/** Default seed of the test points `nfdm eval` / `nfdm plot` draw from a toy set. */
export const TEST_SEED = 2_000_003;
/** Held-out toy points evaluated during training. */
export const HELDOUT_TOY_POINTS = 2000;
/** Held-out Fashion-MNIST test images evaluated during training. */
export const HELDOUT_IMAGES = 1000;

/** What the CLI remembers about the data a model was trained on (run.json, meta.json). */
export interface DataInfo {
  /** The spec: a toy name, `fashion-mnist(-14)`, or an absolute file path. */
  spec: string;
  kind: 'toy' | 'image' | 'table';
  dim: number;
  /** One line describing the source. */
  source: string;
  /** Toys: entropy floor of the test NLL (nats). */
  entropy?: number;
  /** Images: [height, width, channels]. */
  imageShape?: [number, number, number];
  /** Added to bits/dim: 7 for 8-bit images dequantised to [−1, 1], else 0. */
  bitsOffset: number;
  /** Tables: rows used for training / held out. */
  rows?: { train: number; heldOut: number };
  /** Tables: the seeded split (fraction held out), so evaluation can find the held-out rows again. */
  split?: { seed: number; heldOutFraction: number };
  /** Tables: the CSV header's column names. */
  columns?: string[];
  /** Tables: how the standardisation stored with the model was fitted. */
  standardize?: StandardizeMethod;
  /** Tables: rows with extreme values (1-based data rows; the first 100) and what was done with them. */
  outliers?: { policy: OutlierPolicy; count: number; rows: number[] };
  /** Bridges: the data at each end (spec `<source>-><target>`). */
  pair?: { source: string; target: string };
}

/** Fraction of a table's rows held out from training. */
export const HELD_OUT_FRACTION = 0.1;
/** Rows named in messages and stored in the metadata. */
const LISTED_ROWS = 100;

/** A data spec as the CLI stores it: files by absolute path. */
export function normalizeSpec(spec: string): string {
  const lower = spec.toLowerCase();
  if ((lower.endsWith('.csv') || lower.endsWith('.npy')) && !isAbsolute(spec)) return resolve(spec);
  return spec;
}

function info(d: LoadedDataset, spec: string): DataInfo {
  const out: DataInfo = { spec, kind: d.kind, dim: d.dim, source: d.source, bitsOffset: d.kind === 'image' ? 7 : 0 };
  if (d.entropy !== undefined) out.entropy = d.entropy;
  if (d.imageShape) out.imageShape = d.imageShape;
  if (d.columns) out.columns = d.columns;
  return out;
}

/** loadDataset with the spec normalised; its DatasetErrors already read well. */
export function load(spec: string, options: Parameters<typeof loadDataset>[1] = {}): LoadedDataset {
  return loadDataset(normalizeSpec(spec), options);
}

/** A source that draws fresh toy points from the trainer's generator. */
export function toySource(name: ToyName): DataSource {
  const size = TOY_DATASETS[name].size;
  return {
    dim: 2,
    batch(rng: Rng, batch: number): tf.Tensor2D {
      let ask = batch;
      while (size(ask) < batch) ask++;
      const m = sampleToy(name, ask, rng);
      return tf.tensor2d(m.data.subarray(0, 2 * batch), [batch, 2]);
    },
  };
}

/** Rows of a row-major matrix as a DataSource (sampled with replacement). */
function rowSource(m: DataMatrix): DataSource {
  const { data, n, dim } = m;
  return {
    dim,
    batch(rng: Rng, batch: number): tf.Tensor2D {
      const out = new Float32Array(batch * dim);
      for (let i = 0; i < batch; i++) {
        const r = rng.int(n);
        out.set(data.subarray(r * dim, (r + 1) * dim), i * dim);
      }
      return tf.tensor2d(out, [batch, dim]);
    },
  };
}

export interface TrainingData {
  info: DataInfo;
  source: DataSource;
  /** Held-out rows in model units (standardised when `standardization` is set), or none. */
  heldOut?: DataMatrix;
  standardization?: Standardization;
  /** Warnings for the user (the CLI prints them; this module never does). */
  warnings: string[];
}

export interface TableOptions {
  /** Seed of the 90/10 split. */
  seed: number;
  /** Rows with extreme values: refuse (default), drop or keep. */
  outliers?: OutlierPolicy;
}

/** A table cut for training: training rows, held-out rows, the extreme rows found (0-based). */
export interface TableParts {
  table: LoadedDataset;
  train: DataMatrix;
  heldOut?: DataMatrix;
  extreme: ExtremeRows;
}

const rowList = (rows: number[]): string =>
  rows
    .slice(0, 8)
    .map((r) => String(r + 1))
    .join(', ') + (rows.length > 8 ? `, … (${rows.length} rows)` : '');

/**
 * Load a table, deal with its extreme rows (`outliers`) and split it 90/10 with `seed`: the
 * one place that decides which rows train and which are held out, for training and evaluation.
 */
export function tableParts(spec: string, options: TableOptions): TableParts {
  const table = load(spec);
  checkFinite(table, spec);
  const extreme = findExtremeRows(table);
  const policy = options.outliers ?? 'refuse';
  let rows: DataMatrix = table;
  if (extreme.rows.length > 0 && policy === 'refuse') {
    const w = extreme.worst as NonNullable<ExtremeRows['worst']>;
    throw new CliError(
      `${spec}: ${extreme.rows.length} row${extreme.rows.length === 1 ? ' has' : 's have'} extreme values ` +
        `(data rows ${rowList(extreme.rows)}; worst: row ${w.row + 1}, column ${w.column + 1} = ${Number(w.value.toPrecision(6))}, ` +
        `${w.scales.toExponential(1)} robust standard deviations from the median); they would wreck the standardisation and the model — ` +
        'fix them, or pass --outliers drop (train without them) or --outliers keep (and maybe --standardize robust)',
    );
  }
  if (extreme.rows.length > 0 && policy === 'drop') rows = withoutRows(table, extreme.rows);
  if (rows.n >= 10) {
    const parts = splitDataset(rows, { train: 1 - HELD_OUT_FRACTION, val: HELD_OUT_FRACTION, test: 0 }, options.seed);
    return { table, train: parts.train, heldOut: parts.val, extreme };
  }
  return { table, train: rows, extreme };
}

/**
 * The training data of `spec`. `standardization`: reuse this one (resume) instead of fitting;
 * `standardize` and `outliers` apply to tables. Throws DatasetError / CliError with messages
 * meant for the user.
 */
export function trainingData(
  spec: string,
  options: { seed: number; standardization?: Standardization; standardize?: StandardizeMethod; outliers?: OutlierPolicy } = {
    seed: 0,
  },
): TrainingData {
  const pair = parseBridgeSpec(spec);
  const isTable = /\.(csv|npy)$/i.test(spec);
  if (!isTable && (options.standardize !== undefined || options.outliers !== undefined)) {
    throw new UsageError(`--standardize and --outliers apply to .csv / .npy data, not ${spec}`);
  }
  if (pair) return bridgeTrainingData(pair.source, pair.target);
  const normalized = normalizeSpec(spec);
  if (isToyName(normalized)) {
    const d = load(normalized, { n: 1 });
    const heldOut = sampleToy(normalized, HELDOUT_TOY_POINTS, HELDOUT_SEED);
    return {
      info: { ...info(d, normalized), source: `toy '${normalized}' (${TOY_DATASETS[normalized].description}), fresh samples every batch` },
      source: toySource(normalized),
      heldOut,
      warnings: [],
    };
  }
  const lower = normalized.toLowerCase();
  if (lower === 'fashion-mnist' || lower === 'fashion-mnist-14') {
    const train = load(normalized, { split: 'train', seed: options.seed });
    const test = load(normalized, { split: 'test', n: HELDOUT_IMAGES, seed: 0 });
    return { info: info(train, lower), source: rowSource(train), heldOut: test, warnings: [] };
  }
  if (parseImageFolderSpec(normalized)) {
    const all = load(normalized, { seed: options.seed });
    const { train, heldOut } = splitImageRows(all);
    const base = info(all, normalized);
    base.rows = { train: train.n, heldOut: heldOut?.n ?? 0 };
    return { info: base, source: rowSource(train), heldOut, warnings: [] };
  }
  const policy = options.outliers ?? 'refuse';
  const { table, train, heldOut: held, extreme } = tableParts(normalized, { seed: options.seed, outliers: policy });
  const method = options.standardize ?? 'mean-std';
  const standardization = options.standardization ?? (method === 'robust' ? fitRobustStandardization(train) : fitStandardization(train));
  if (standardization.mean.length !== table.dim) {
    throw new CliError(`${spec} has ${table.dim} columns but the run being resumed was trained on ${standardization.mean.length}`);
  }
  const base = info(table, normalized);
  base.rows = { train: train.n, heldOut: held?.n ?? 0 };
  base.split = { seed: options.seed, heldOutFraction: HELD_OUT_FRACTION };
  base.standardize = method;
  const warnings: string[] = [];
  if (extreme.rows.length > 0) {
    base.outliers = { policy, count: extreme.rows.length, rows: extreme.rows.slice(0, LISTED_ROWS).map((r) => r + 1) };
    warnings.push(
      policy === 'drop'
        ? `${spec}: dropped ${extreme.rows.length} row${extreme.rows.length === 1 ? '' : 's'} with extreme values (data rows ${rowList(extreme.rows)})`
        : `${spec}: training on ${extreme.rows.length} row${extreme.rows.length === 1 ? '' : 's'} with extreme values (data rows ${rowList(extreme.rows)}) as asked (--outliers keep)`,
    );
  }
  return {
    info: base,
    source: rowSource(applyStandardization(train, standardization)),
    heldOut: held ? applyStandardization(held, standardization) : undefined,
    standardization,
    warnings,
  };
}

/** A bridge end: a toy set, optionally translated — `moons` or `moons@-3,0`. */
interface BridgeEnd {
  toy: ToyName;
  shift: [number, number];
}

function parseBridgeEnd(spec: string, flag: string): BridgeEnd {
  const [name, shiftText] = spec.split('@', 2);
  if (!isToyName(name)) {
    throw new CliError(
      `${flag} ${spec}: bridges (nfbm) train on toy sets, optionally shifted (e.g. moons@-3,0); one of ${Object.keys(TOY_DATASETS).join(', ')}`,
    );
  }
  let shift: [number, number] = [0, 0];
  if (shiftText !== undefined) {
    const parts = shiftText.split(',').map((v) => Number(v.trim()));
    if (parts.length !== 2 || parts.some((v) => !Number.isFinite(v)) || shiftText.trim() === '')
      throw new CliError(`${flag} ${spec}: a shift is written name@dx,dy with two finite numbers, e.g. moons@-3,0`);
    shift = [parts[0], parts[1]];
  }
  return { toy: name, shift };
}

function shifted(m: DataMatrix, shift: [number, number]): DataMatrix {
  if (shift[0] === 0 && shift[1] === 0) return m;
  const data = new Float32Array(m.data.length);
  for (let i = 0; i < m.n; i++) {
    data[2 * i] = m.data[2 * i] + shift[0];
    data[2 * i + 1] = m.data[2 * i + 1] + shift[1];
  }
  return { data, n: m.n, dim: 2 };
}

function shiftedSource(end: BridgeEnd): DataSource {
  const base = toySource(end.toy);
  if (end.shift[0] === 0 && end.shift[1] === 0) return base;
  return {
    dim: 2,
    batch: (rng: Rng, batch: number) => tf.tidy(() => tf.add(base.batch(rng, batch), tf.tensor2d([end.shift])) as tf.Tensor2D),
  };
}

/**
 * Pairs for a bridge: rows [x0 (target) | x1 (source)], both ends drawn fresh and
 * independently every batch from the trainer's generator (target first); held-out pairs from
 * a fixed seed. Each end is a toy set, optionally translated (`name@dx,dy`) so that the two
 * distributions can be apart. No standardisation (the obstacle is given in data units).
 */
export function bridgeTrainingData(sourceSpec: string, targetSpec: string): TrainingData {
  const source = parseBridgeEnd(sourceSpec, '--source');
  const target = parseBridgeEnd(targetSpec, '--target');
  const a = shiftedSource(target);
  const b = shiftedSource(source);
  const { sources, targets } = bridgeEvaluationData(`${sourceSpec}->${targetSpec}`, { n: HELDOUT_TOY_POINTS, seed: HELDOUT_SEED });
  const rows = new Float32Array(sources.n * 4);
  for (let i = 0; i < sources.n; i++) {
    rows.set(targets.data.subarray(2 * i, 2 * i + 2), 4 * i);
    rows.set(sources.data.subarray(2 * i, 2 * i + 2), 4 * i + 2);
  }
  return {
    info: {
      spec: `${sourceSpec}->${targetSpec}`,
      kind: 'toy',
      dim: 2,
      source: `pairs: source '${sourceSpec}' (t = 1) → target '${targetSpec}' (t = 0), fresh samples every batch`,
      bitsOffset: 0,
      pair: { source: sourceSpec, target: targetSpec },
    },
    source: {
      dim: 4,
      batch(rng: Rng, batch: number): tf.Tensor2D {
        return tf.tidy(() => tf.concat([a.batch(rng, batch), b.batch(rng, batch)], 1) as tf.Tensor2D);
      },
    },
    heldOut: { data: rows, n: sources.n, dim: 4 },
    warnings: [],
  };
}

/** Bridge evaluation data: `n` sources and, independently, `n` targets (seeded, data units, shifts applied). */
export function bridgeEvaluationData(spec: string, options: { n: number; seed: number }): { sources: DataMatrix; targets: DataMatrix } {
  const pair = parseBridgeSpec(spec);
  if (!pair) throw new CliError(`${spec} is not a bridge data spec (<source>-><target>)`);
  const source = parseBridgeEnd(pair.source, '--source');
  const target = parseBridgeEnd(pair.target, '--target');
  const p = samplePaired(source.toy, target.toy, options.n, options.seed);
  return { sources: shifted(p.x1, source.shift), targets: shifted(p.x0, target.shift) };
}

/** Readers refuse NaN/Inf already; this guards other sources (and says which row). */
export function checkFinite(m: DataMatrix, what: string): void {
  for (let i = 0; i < m.data.length; i++) {
    if (!Number.isFinite(m.data[i])) {
      throw new CliError(`${what}: row ${Math.floor(i / m.dim) + 1}, column ${(i % m.dim) + 1} is ${m.data[i]} (data must be finite)`);
    }
  }
}

/**
 * Evaluation / plotting data of `spec` in data units: `n` fresh test points for toys
 * (seed `seed`), the first `n` test images for Fashion-MNIST, the first `n` rows of a file —
 * or, when the file is the table the model was trained on (`trainedOn`), the first `n` of its
 * held-out rows (the same split as training). `info.heldOut` says when that happened.
 */
export function evaluationData(
  spec: string,
  options: { n?: number; seed?: number; trainedOn?: DataInfo } = {},
): { data: DataMatrix; info: DataInfo & { heldOut?: boolean } } {
  const pair = parseBridgeSpec(spec);
  if (pair) {
    // A bridge is evaluated against its target data.
    const { targets } = bridgeEvaluationData(spec, { n: options.n ?? 1000, seed: options.seed ?? TEST_SEED });
    return {
      data: targets,
      info: { spec, kind: 'toy', dim: 2, bitsOffset: 0, source: `pairs: source '${pair.source}' → target '${pair.target}'`, pair },
    };
  }
  const normalized = normalizeSpec(spec);
  const trained = options.trainedOn;
  if (trained?.kind === 'table' && trained.spec === normalized && trained.split && (trained.rows?.heldOut ?? 0) > 0) {
    const parts = tableParts(normalized, { seed: trained.split.seed, outliers: trained.outliers?.policy ?? 'keep' });
    const total = (trained.rows?.train ?? 0) + (trained.rows?.heldOut ?? 0);
    if (parts.train.n + (parts.heldOut?.n ?? 0) !== total) {
      throw new CliError(
        `${spec} has changed since the model was trained on it (${parts.train.n + (parts.heldOut?.n ?? 0)} rows used now, ${total} then), so its held-out rows are unknown; pass --data with test data`,
      );
    }
    const held = firstRows(parts.heldOut as DataMatrix, options.n ?? Number.POSITIVE_INFINITY);
    const base = info(parts.table, normalized);
    base.source = `the ${held.n} held-out rows (not used in training) of ${base.source}`;
    return { data: held, info: { ...base, heldOut: true } };
  }
  if (parseImageFolderSpec(normalized)) {
    const all = load(normalized, { seed: 0 });
    const { heldOut } = splitImageRows(all);
    const useHeld = trained?.spec === normalized && heldOut !== undefined;
    const rows = firstRows(useHeld ? (heldOut as DataMatrix) : all, options.n ?? Number.POSITIVE_INFINITY);
    const base = info(all, normalized);
    if (useHeld) base.source = `the ${rows.n} held-out images (not used in training) of ${base.source}`;
    return { data: rows, info: { ...base, ...(useHeld ? { heldOut: true } : {}) } };
  }
  const lower = normalized.toLowerCase();
  const image = lower === 'fashion-mnist' || lower === 'fashion-mnist-14';
  const d = load(normalized, {
    n: options.n,
    seed: isToyName(normalized) ? (options.seed ?? TEST_SEED) : 0,
    ...(image ? { split: 'test' as const } : {}),
  });
  checkFinite(d, normalized);
  return { data: { data: d.data, n: d.n, dim: d.dim }, info: info(d, image ? lower : normalized) };
}

/**
 * A PNG folder's split: the last ⌊n/10⌋ images (at most 1000; none below 10 images) are held out
 * for the held-out NELBO and `nfdm eval`, the rest train (sorted by file name, so it is stable).
 */
export function splitImageRows(m: DataMatrix): { train: DataMatrix; heldOut?: DataMatrix } {
  const held = m.n < 10 ? 0 : Math.min(1000, Math.floor(m.n / 10));
  const nTrain = m.n - held;
  const train = { data: m.data.subarray(0, nTrain * m.dim), n: nTrain, dim: m.dim };
  if (held === 0) return { train };
  return { train, heldOut: { data: m.data.subarray(nTrain * m.dim), n: held, dim: m.dim } };
}

/** The first `n` rows of a matrix (a view). */
export function firstRows(m: DataMatrix, n: number): DataMatrix {
  return n >= m.n ? m : { data: m.data.subarray(0, n * m.dim), n, dim: m.dim };
}
