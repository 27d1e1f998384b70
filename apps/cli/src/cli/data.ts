/**
 * Data for the commands, on top of @nfdm/datasets' `loadDataset`:
 *
 * - toy sets (`moons`, `8gaussians`, …) are sampled fresh for every training batch (the
 *   trainer's generator drives the sampler, so resume stays exact); held-out and test
 *   points come from fixed seeds that the training stream never uses;
 * - CSV / NPY tables are split 90/10 (seeded) into training and held-out rows, and a
 *   standardisation fitted on the training rows is stored with the model;
 * - Fashion-MNIST trains on the train split and holds out test images; pixels are used as
 *   they are (in [−1, 1), no standardisation).
 */
import { isAbsolute, resolve } from 'node:path';
import type { Rng } from '@nfdm/core';
import {
  applyStandardization,
  type DataMatrix,
  fitStandardization,
  isToyName,
  type LoadedDataset,
  loadDataset,
  type Standardization,
  samplePaired,
  sampleToy,
  splitDataset,
  TOY_DATASETS,
  type ToyName,
} from '@nfdm/datasets';
import type { DataSource } from '@nfdm/training';
import * as tf from '@tensorflow/tfjs';
import { CliError } from './errors.js';
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
  /** Bridges: the data at each end (spec `<source>-><target>`). */
  pair?: { source: string; target: string };
}

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
}

/**
 * The training data of `spec`. `standardization`: reuse this one (resume) instead of fitting.
 * Throws DatasetError / CliError with messages meant for the user.
 */
export function trainingData(spec: string, options: { seed: number; standardization?: Standardization } = { seed: 0 }): TrainingData {
  const pair = parseBridgeSpec(spec);
  if (pair) return bridgeTrainingData(pair.source, pair.target);
  const normalized = normalizeSpec(spec);
  if (isToyName(normalized)) {
    const d = load(normalized, { n: 1 });
    const heldOut = sampleToy(normalized, HELDOUT_TOY_POINTS, HELDOUT_SEED);
    return {
      info: { ...info(d, normalized), source: `toy '${normalized}' (${TOY_DATASETS[normalized].description}), fresh samples every batch` },
      source: toySource(normalized),
      heldOut,
    };
  }
  const lower = normalized.toLowerCase();
  if (lower === 'fashion-mnist' || lower === 'fashion-mnist-14') {
    const train = load(normalized, { split: 'train', seed: options.seed });
    const test = load(normalized, { split: 'test', n: HELDOUT_IMAGES, seed: 0 });
    return { info: info(train, lower), source: rowSource(train), heldOut: test };
  }
  const table = load(normalized);
  checkFinite(table, normalized);
  let train: DataMatrix = table;
  let held: DataMatrix | undefined;
  if (table.n >= 10) {
    const parts = splitDataset(table, { train: 0.9, val: 0.1, test: 0 }, options.seed);
    train = parts.train;
    held = parts.val;
  }
  const standardization = options.standardization ?? fitStandardization(train);
  if (standardization.mean.length !== table.dim) {
    throw new CliError(`${spec} has ${table.dim} columns but the run being resumed was trained on ${standardization.mean.length}`);
  }
  const base = info(table, normalized);
  base.rows = { train: train.n, heldOut: held?.n ?? 0 };
  return {
    info: base,
    source: rowSource(applyStandardization(train, standardization)),
    heldOut: held ? applyStandardization(held, standardization) : undefined,
    standardization,
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
 * (seed `seed`), the first `n` test images for Fashion-MNIST, the first `n` rows of a file.
 */
export function evaluationData(spec: string, options: { n?: number; seed?: number } = {}): { data: DataMatrix; info: DataInfo } {
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

/** The first `n` rows of a matrix (a view). */
export function firstRows(m: DataMatrix, n: number): DataMatrix {
  return n >= m.n ? m : { data: m.data.subarray(0, n * m.dim), n, dim: m.dim };
}
