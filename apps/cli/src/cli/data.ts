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
 * - image sets (Fashion-MNIST, by class with `:label=K`, and PNG folders) train on their
 *   training images and hold out others (image-sets.ts); pixels are used as they are (in
 *   [−1, 1), no standardisation);
 * - bridges (`<source>-><target>`) join two toy sets (optionally shifted) or two image sets of
 *   the same shape, in rows [x0 (target) | x1 (source)] paired independently and afresh every
 *   batch.
 */
import { isAbsolute, resolve } from 'node:path';
import { Rng } from '@nfdm/core';
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
  parseFashionMnistSpec,
  parseImageFolderSpec,
  permutation,
  type Standardization,
  samplePaired,
  sampleToy,
  sampleToyLabelled,
  splitDataset,
  TOY_DATASETS,
  type ToyName,
  withoutRows,
} from '@nfdm/datasets';
import { arraySource, type DataSource } from '@nfdm/training';
import * as tf from '@tensorflow/tfjs';
import {
  type ColumnCondition,
  type ConditionedTable,
  cutConditionColumns,
  heldOutLabelledRows,
  withoutConditionColumns,
} from './condition-columns.js';
import type { OutlierPolicy, StandardizeMethod } from './data-options.js';
import { CliError, UsageError } from './errors.js';
import { evaluationImages, firstRows, HELDOUT_IMAGES, imageSetParts, isImageSpec, shapeText, splitImageRows } from './image-sets.js';
import { labelledBridgeEvaluation, labelledBridgeTrainingData } from './labelled-bridges.js';
import { labelledData, type RunLabels } from './labelled-data.js';
import { parseBridgeSpec } from './run-config.js';

/** Seed of the held-out toy points used for evaluation during training. */
export const HELDOUT_SEED = 1_000_003;
/** Default seed of the test points `nfdm eval` / `nfdm plot` draw from a toy set. */
export const TEST_SEED = 2_000_003;
/** Held-out toy points evaluated during training. */
export const HELDOUT_TOY_POINTS = 2000;
export { firstRows, HELDOUT_IMAGES, splitImageRows } from './image-sets.js';

/** What the CLI remembers about the data a model was trained on (run.json, meta.json). */
export interface DataInfo {
  /** The spec: a toy name, `fashion-mnist(-14)[:label=K]`, a PNG folder, an absolute file path, or a bridge's `<source>-><target>`. */
  spec: string;
  kind: 'toy' | 'image' | 'table';
  dim: number;
  /** One line describing the source. */
  source: string;
  /** Toys: entropy floor of the test NLL (nats). */
  entropy?: number;
  /** Images: [height, width, channels] (bridges between image sets: of one image at either end). */
  imageShape?: [number, number, number];
  /** Added to bits/dim: 7 for 8-bit images dequantised to [−1, 1], else 0. */
  bitsOffset: number;
  /** Tables and PNG folders: rows used for training / held out. */
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
  /** Tables with `--condition-column`: the columns that are the condition (not in `columns`), and how y is scaled. */
  condition?: ColumnCondition;
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
export function rowSource(m: DataMatrix): DataSource {
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
  /** `--condition label`: the number of classes and the held-out rows' labels (the source draws rows with their labels). */
  labels?: RunLabels;
  /** `--condition-column` vectors: m values per row, and the held-out rows' y [n, m] (standardised). */
  vector?: { dim: number; heldOut?: Float32Array };
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
  options: {
    seed: number;
    standardization?: Standardization;
    standardize?: StandardizeMethod;
    outliers?: OutlierPolicy;
    condition?: 'label';
    /** Tables: the columns that are the condition (condition-columns.ts). */
    conditionColumns?: string[];
  } = {
    seed: 0,
  },
): TrainingData {
  const pair = parseBridgeSpec(spec);
  const isTable = /\.(csv|npy)$/i.test(spec);
  if (!isTable && (options.standardize !== undefined || options.outliers !== undefined)) {
    throw new UsageError(`--standardize and --outliers apply to .csv / .npy data, not ${spec}`);
  }
  if (pair)
    return options.condition === 'label'
      ? labelledBridgeTrainingData(pair.source, pair.target, options.seed)
      : bridgeTrainingData(pair.source, pair.target, options.seed);
  const normalized = normalizeSpec(spec);
  if (options.condition === 'label' && !options.conditionColumns?.length) return labelledTrainingData(normalized, options.seed);
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
  if (isImageSpec(normalized)) {
    const fashion = parseFashionMnistSpec(normalized) !== undefined;
    const { set, train, heldOut } = imageSetParts(normalized, options.seed);
    const base = info(set, fashion ? normalized.toLowerCase() : normalized);
    if (!fashion) base.rows = { train: train.n, heldOut: heldOut?.n ?? 0 };
    return { info: base, source: rowSource(train), heldOut, warnings: [] };
  }
  const policy = options.outliers ?? 'refuse';
  const parts = tableParts(normalized, { seed: options.seed, outliers: policy });
  const { table, extreme } = parts;
  const method = options.standardize ?? 'mean-std';
  const names = options.conditionColumns ?? [];
  const cut = names.length
    ? cutConditionColumns(table, parts, { names, label: options.condition === 'label', method, spec: normalized })
    : undefined;
  const train = cut?.train ?? parts.train;
  const held = cut ? cut.heldOut : parts.heldOut;
  const standardization = options.standardization ?? (method === 'robust' ? fitRobustStandardization(train) : fitStandardization(train));
  if (standardization.mean.length !== train.dim) {
    throw new CliError(`${spec} has ${train.dim} data columns but the run being resumed was trained on ${standardization.mean.length}`);
  }
  const base = info(table, normalized);
  if (cut) Object.assign(base, { dim: train.dim, columns: cut.columns, condition: cut.condition });
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
  const x = applyStandardization(train, standardization);
  return {
    info: base,
    source: cut ? arraySource(x.data, x.n, x.dim, { values: cut.trainY, dim: cut.condition.columns.length }) : rowSource(x),
    heldOut: held ? applyStandardization(held, standardization) : undefined,
    standardization,
    warnings,
    ...(cut ? columnConditions(cut) : {}),
  };
}

/** The labels or vectors of a table's condition columns, as the run takes them. */
function columnConditions(cut: ConditionedTable): Pick<TrainingData, 'labels' | 'vector'> {
  const c = cut.condition;
  if (c.kind === 'label') return { labels: { classes: c.classes as number, heldOut: cut.heldOutY } };
  return { vector: { dim: c.columns.length, heldOut: cut.heldOutY } };
}

/** `--condition label`: a toy set with a natural label or Fashion-MNIST, with the labels of every row. */
function labelledTrainingData(spec: string, seed: number): TrainingData {
  const d = labelledData(spec, seed, { toyPoints: HELDOUT_TOY_POINTS, toySeed: HELDOUT_SEED });
  const toy = isToyName(spec);
  const base = info(d.set, toy ? spec : spec.toLowerCase());
  const source = toy
    ? `toy '${spec}' (${TOY_DATASETS[spec].description}) with its labels, fresh samples every batch`
    : `${base.source}, with its labels`;
  return { info: { ...base, source }, source: d.source, heldOut: d.heldOut, labels: d.labels, warnings: [] };
}

/** A bridge end: a toy set, optionally translated (`moons`, `moons@-3,0`), or an image set. */
export type BridgeEnd = { kind: 'toy'; spec: string; toy: ToyName; shift: [number, number] } | { kind: 'image'; spec: string };

/** What a bridge end may be, for messages. */
const BRIDGE_ENDS =
  `bridges (nfbm) train on toy sets, optionally shifted (e.g. moons@-3,0; one of ${Object.keys(TOY_DATASETS).join(', ')}), ` +
  'or on image sets: fashion-mnist[-14][:label=K] or a folder of PNG images (DIR[@HxW])';

function parseBridgeEnd(spec: string, flag: string): BridgeEnd {
  if (namesImages(spec, flag)) return { kind: 'image', spec };
  const [name, shiftText] = spec.split('@', 2);
  if (!isToyName(name)) throw new CliError(`${flag} ${spec}: ${BRIDGE_ENDS}`);
  let shift: [number, number] = [0, 0];
  if (shiftText !== undefined) {
    const parts = shiftText.split(',').map((v) => Number(v.trim()));
    if (parts.length !== 2 || parts.some((v) => !Number.isFinite(v)) || shiftText.trim() === '')
      throw new CliError(`${flag} ${spec}: a shift is written name@dx,dy with two finite numbers, e.g. moons@-3,0`);
    shift = [parts[0], parts[1]];
  }
  return { kind: 'toy', spec, toy: name, shift };
}

/** Whether a bridge end is an image set; a bad Fashion-MNIST suffix or folder size fails naming the flag. */
function namesImages(spec: string, flag: string): boolean {
  try {
    return isImageSpec(spec);
  } catch (error) {
    // By name: the ESM and CJS builds of @nfdm/datasets have a class each.
    if ((error as Error).name === 'DatasetError') throw new CliError(`${flag} ${(error as Error).message}`);
    throw error;
  }
}

/** Both ends of a bridge spec, of one kind: two toy sets or two image sets (a CliError otherwise). */
export function parseBridgeEnds(sourceSpec: string, targetSpec: string): { source: BridgeEnd; target: BridgeEnd } {
  const source = parseBridgeEnd(sourceSpec, '--source');
  const target = parseBridgeEnd(targetSpec, '--target');
  if (source.kind !== target.kind) {
    const what = (e: BridgeEnd) => (e.kind === 'toy' ? 'a 2-D toy set' : 'an image set');
    throw new CliError(
      `--source ${sourceSpec} is ${what(source)} but --target ${targetSpec} is ${what(target)}: a bridge joins two toy sets or two image sets of the same shape`,
    );
  }
  return { source, target };
}

export function shifted(m: DataMatrix, shift: [number, number]): DataMatrix {
  if (shift[0] === 0 && shift[1] === 0) return m;
  const data = new Float32Array(m.data.length);
  for (let i = 0; i < m.n; i++) {
    data[2 * i] = m.data[2 * i] + shift[0];
    data[2 * i + 1] = m.data[2 * i + 1] + shift[1];
  }
  return { data, n: m.n, dim: 2 };
}

export function shiftedSource(end: { toy: ToyName; shift: [number, number] }): DataSource {
  const base = toySource(end.toy);
  if (end.shift[0] === 0 && end.shift[1] === 0) return base;
  return {
    dim: 2,
    batch: (rng: Rng, batch: number) => tf.tidy(() => tf.add(base.batch(rng, batch), tf.tensor2d([end.shift])) as tf.Tensor2D),
  };
}

/** Bridge rows [n, 2D]: row i is [targets_i | sources_i] (both [n, D]). */
export function pairRows(targets: DataMatrix, sources: DataMatrix): DataMatrix {
  const D = targets.dim;
  const n = Math.min(targets.n, sources.n);
  const data = new Float32Array(n * 2 * D);
  for (let i = 0; i < n; i++) {
    data.set(targets.data.subarray(i * D, (i + 1) * D), 2 * i * D);
    data.set(sources.data.subarray(i * D, (i + 1) * D), (2 * i + 1) * D);
  }
  return { data, n, dim: 2 * D };
}

/** A source of bridge batches [B, 2D]: each batch draws B target rows, then B source rows, from the trainer's generator. */
function pairSource(targets: DataSource, sources: DataSource): DataSource {
  return {
    dim: targets.dim + sources.dim,
    batch(rng: Rng, batch: number): tf.Tensor2D {
      return tf.tidy(() => tf.concat([targets.batch(rng, batch), sources.batch(rng, batch)], 1) as tf.Tensor2D);
    },
  };
}

/**
 * Pairs for a bridge: rows [x0 (target) | x1 (source)] under the independent coupling — every
 * batch draws its targets and, independently, its sources afresh from the trainer's generator
 * (target first), so no pairing is fixed. Toy ends are sampled fresh (optionally translated,
 * `name@dx,dy`, so that the two distributions can be apart); image ends draw training images
 * with replacement, and both ends must hold images of one shape. Held-out pairs: toys from a
 * fixed seed, images from the held-out images (see {@link bridgeEvaluationData}). No
 * standardisation (the obstacle is given in data units; pixels stay in [−1, 1)).
 */
export function bridgeTrainingData(sourceSpec: string, targetSpec: string, seed = 0): TrainingData {
  const ends = parseBridgeEnds(sourceSpec, targetSpec);
  if (ends.source.kind === 'image' && ends.target.kind === 'image')
    return imageBridgeTrainingData(ends.source.spec, ends.target.spec, seed);
  const source = ends.source as Extract<BridgeEnd, { kind: 'toy' }>;
  const target = ends.target as Extract<BridgeEnd, { kind: 'toy' }>;
  const { sources, targets } = bridgeEvaluationData(`${sourceSpec}->${targetSpec}`, { n: HELDOUT_TOY_POINTS, seed: HELDOUT_SEED });
  return {
    info: {
      spec: `${sourceSpec}->${targetSpec}`,
      kind: 'toy',
      dim: 2,
      source: `pairs: source '${sourceSpec}' (t = 1) → target '${targetSpec}' (t = 0), fresh samples every batch`,
      bitsOffset: 0,
      pair: { source: sourceSpec, target: targetSpec },
    },
    source: pairSource(shiftedSource(target), shiftedSource(source)),
    heldOut: pairRows(targets, sources),
    warnings: [],
  };
}

/** Image ends: training images of each end (target dequantised with `seed`, source with `seed + 1`), one shape. */
function imageBridgeTrainingData(sourceSpec: string, targetSpec: string, seed: number): TrainingData {
  const target = imageSetParts(targetSpec, seed);
  const source = imageSetParts(sourceSpec, seed + 1);
  const imageShape = sameImageShape(source.set, target.set, sourceSpec, targetSpec);
  const spec = `${sourceSpec}->${targetSpec}`;
  const held = source.heldOut && target.heldOut ? heldOutPairs(source.heldOut, target.heldOut, HELDOUT_IMAGES, HELDOUT_SEED) : undefined;
  const count = (m: DataMatrix) => `${m.n} training image${m.n === 1 ? '' : 's'}`;
  return {
    info: {
      spec,
      kind: 'image',
      dim: target.set.dim,
      imageShape,
      bitsOffset: 7,
      source:
        `pairs: source '${sourceSpec}' (t = 1, ${count(source.train)}) → target '${targetSpec}' (t = 0, ${count(target.train)}), ` +
        `${shapeText(imageShape)} images, paired independently afresh every batch; ${held?.n ?? 0} held-out pairs`,
      pair: { source: sourceSpec, target: targetSpec },
    },
    source: pairSource(rowSource(target.train), rowSource(source.train)),
    heldOut: held,
    warnings: [],
  };
}

/** The image shape both ends share; a CliError naming both shapes when they differ. */
function sameImageShape(source: LoadedDataset, target: LoadedDataset, sourceSpec: string, targetSpec: string): [number, number, number] {
  const a = source.imageShape as [number, number, number];
  const b = target.imageShape as [number, number, number];
  if (a.join('x') !== b.join('x')) {
    throw new CliError(
      `--source ${sourceSpec} holds ${shapeText(a)} images but --target ${targetSpec} holds ${shapeText(b)}: a bridge needs images of one shape at both ends ` +
        '(e.g. fashion-mnist-14 at both, or a folder resized with DIR@HxW)',
    );
  }
  return b;
}

/**
 * Held-out pairs [m, 2D] of two image sets, m = min(n, sources, targets): source i with the i-th
 * target of a fixed shuffle (`seed`) of the targets — an independent pairing also when both
 * ends are the same set.
 */
function heldOutPairs(sources: DataMatrix, targets: DataMatrix, n: number, seed: number): DataMatrix {
  return pairRows(shuffledRows(targets, seed), firstRows(sources, n));
}

/** The rows of `m` in a seeded random order (a copy). */
function shuffledRows(m: DataMatrix, seed: number): DataMatrix {
  const order = permutation(m.n, new Rng(seed));
  const data = new Float32Array(m.n * m.dim);
  order.forEach((r, i) => {
    data.set(m.data.subarray(r * m.dim, (r + 1) * m.dim), i * m.dim);
  });
  return { data, n: m.n, dim: m.dim };
}

/**
 * Bridge evaluation data in data units: `sources` and, independently, `targets`, n of each.
 * Toy ends: fresh points from `seed` (shifts applied). Image ends: the held-out images of each
 * end (see evaluationImages), the first m = min(n, both counts) sources and m targets in a
 * seeded shuffle; `imageShape` is set.
 */
export function bridgeEvaluationData(
  spec: string,
  options: { n: number; seed: number },
): { sources: DataMatrix; targets: DataMatrix; imageShape?: [number, number, number] } {
  const pair = parseBridgeSpec(spec);
  if (!pair) throw new CliError(`${spec} is not a bridge data spec (<source>-><target>)`);
  const { source, target } = parseBridgeEnds(pair.source, pair.target);
  if (source.kind === 'image' && target.kind === 'image') {
    const s = evaluationImages(source.spec, options.n);
    const t = evaluationImages(target.spec, Math.max(options.n, HELDOUT_IMAGES));
    const imageShape = sameImageShape(s.set, t.set, source.spec, target.spec);
    const m = Math.min(s.data.n, t.data.n);
    return { sources: firstRows(s.data, m), targets: firstRows(shuffledRows(t.data, options.seed), m), imageShape };
  }
  const src = source as Extract<BridgeEnd, { kind: 'toy' }>;
  const tgt = target as Extract<BridgeEnd, { kind: 'toy' }>;
  const p = samplePaired(src.toy, tgt.toy, options.n, options.seed);
  return { sources: shifted(p.x1, src.shift), targets: shifted(p.x0, tgt.shift) };
}

/**
 * `n` points of one bridge end in data units (for `nfdm sample --source`): a toy set's fresh
 * points from `seed` (shifted), or an image set's held-out images (see evaluationImages).
 */
export function bridgeEndData(
  spec: string,
  options: { n: number; seed: number },
): { data: DataMatrix; imageShape?: [number, number, number] } {
  const end = parseBridgeEnd(spec, '--source');
  if (end.kind === 'image') {
    const { data, set } = evaluationImages(end.spec, options.n);
    return { data, imageShape: set.imageShape };
  }
  return { data: shifted(sampleToy(end.toy, options.n, options.seed), end.shift) };
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
 * Held-out rows with their labels, for a label-conditional model: toy sets with a natural label draw
 * fresh points and their labels (as `evaluationData` draws fresh test points); Fashion-MNIST gives
 * test images with their classes. A UsageError for unlabelled data or a class count other than the
 * model's.
 */
export function labelledEvaluationData(
  spec: string,
  classes: number,
  options: { n?: number; seed?: number; trainedOn?: DataInfo } = {},
): { data: DataMatrix; sources?: DataMatrix; labels: Float32Array; info: DataInfo & { heldOut?: boolean } } {
  if (parseBridgeSpec(spec)) return labelledBridgeEvaluation(spec, classes, options);
  const normalized = normalizeSpec(spec);
  const trained = options.trainedOn;
  if (trained?.condition?.kind === 'label' && trained.spec === normalized) return heldOutLabelledRows(trained, options.n);
  const base = evaluationData(spec, options);
  let labels: Float32Array;
  let data = base.data;
  if (isToyName(normalized)) {
    if (TOY_DATASETS[normalized].classes === undefined)
      throw new UsageError(`a conditional model is evaluated on labelled data; '${normalized}' has no natural label`);
    const held = sampleToyLabelled(normalized, options.n ?? 1000, options.seed ?? TEST_SEED);
    data = held.points;
    labels = held.labels;
  } else if (parseFashionMnistSpec(normalized) !== undefined) {
    const d = load(normalized, { n: options.n, seed: 0, split: 'test' });
    if (!d.labels || d.n !== base.data.n) throw new UsageError(`${spec}: the data set has no labels`);
    labels = Float32Array.from(d.labels);
  } else throw new UsageError(`a conditional model is evaluated on labelled data (a labelled toy set or fashion-mnist); not ${spec}`);
  const top = labels.reduce((m, v) => Math.max(m, v), 0);
  if (top >= classes) throw new UsageError(`${spec} has labels up to ${top}, but the model knows ${classes} classes`);
  return { data, labels, info: base.info };
}

/**
 * Evaluation / plotting data of `spec` in data units: `n` fresh test points for toys
 * (seed `seed`), the first `n` test images for Fashion-MNIST, the first `n` rows of a file —
 * or, when the file is the table the model was trained on (`trainedOn`), the first `n` of its
 * held-out rows (the same split as training). `info.heldOut` says when that happened. The file a
 * `--condition-column` model was trained on (`trainedOn`, or `modelData` for its first rows) gives
 * its data columns only. For a
 * bridge spec: its targets, and in `sources` as many sources to transport.
 */
export function evaluationData(
  spec: string,
  options: { n?: number; seed?: number; trainedOn?: DataInfo; modelData?: DataInfo } = {},
): { data: DataMatrix; sources?: DataMatrix; info: DataInfo & { heldOut?: boolean } } {
  const pair = parseBridgeSpec(spec);
  if (pair) return bridgeEvaluation(spec, pair, options);
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
    let held = firstRows(parts.heldOut as DataMatrix, options.n ?? Number.POSITIVE_INFINITY);
    const base = info(parts.table, normalized);
    base.source = `the ${held.n} held-out rows (not used in training) of ${base.source}`;
    if (trained.condition) {
      // The model's x: the columns left after its condition columns.
      held = withoutConditionColumns(parts.table, held, trained.condition.columns, normalized);
      Object.assign(base, { dim: held.dim, columns: trained.columns, condition: trained.condition });
    }
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
  const image = parseFashionMnistSpec(normalized) !== undefined;
  const d = load(normalized, {
    n: options.n,
    seed: isToyName(normalized) ? (options.seed ?? TEST_SEED) : 0,
    ...(image ? { split: 'test' as const } : {}),
  });
  checkFinite(d, normalized);
  const model = options.modelData ?? trained;
  if (model?.condition && model.spec === normalized) {
    // The file a --condition-column model was trained on: its data columns only.
    const rows = withoutConditionColumns(d, d, model.condition.columns, normalized);
    return { data: rows, info: { ...info(d, normalized), dim: rows.dim, columns: model.columns, condition: model.condition } };
  }
  return { data: { data: d.data, n: d.n, dim: d.dim }, info: info(d, image ? lower : normalized) };
}

/**
 * A bridge is evaluated against its target data: `data` are the targets, `sources` the sources
 * to transport (as many), of {@link bridgeEvaluationData}.
 */
function bridgeEvaluation(
  spec: string,
  pair: { source: string; target: string },
  options: { n?: number; seed?: number },
): { data: DataMatrix; sources: DataMatrix; info: DataInfo & { heldOut?: boolean } } {
  const { sources, targets, imageShape } = bridgeEvaluationData(spec, { n: options.n ?? 1000, seed: options.seed ?? TEST_SEED });
  const ends = `source '${pair.source}' → target '${pair.target}'`;
  if (!imageShape) {
    return { data: targets, sources, info: { spec, kind: 'toy', dim: 2, bitsOffset: 0, source: `pairs: ${ends}`, pair } };
  }
  const info: DataInfo & { heldOut?: boolean } = {
    spec,
    kind: 'image',
    dim: targets.dim,
    imageShape,
    bitsOffset: 7,
    source: `${targets.n} held-out pairs (${shapeText(imageShape)} images): ${ends}`,
    pair,
    heldOut: true,
  };
  return { data: targets, sources, info };
}
