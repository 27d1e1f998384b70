/**
 * One entry point for every data source the CLI accepts:
 *
 * | spec                         | what it loads                                              |
 * | ---------------------------- | ---------------------------------------------------------- |
 * | a toy name (`moons`, …)      | `n` fresh samples (default 10,000) from `seed`             |
 * | `fashion-mnist`              | one split, `[n, 784]`, dequantised to [−1, 1)               |
 * | `fashion-mnist-14`           | the same, 2× downsampled: `[n, 196]`                       |
 * | `fashion-mnist:label=7`      | the images of some classes (`label=5,7`; also `-14`)       |
 * | `path/to/file.csv`           | a numeric CSV table (header detected)                      |
 * | `path/to/file.npy`           | a 1-D or 2-D NumPy array                                   |
 * | `path/to/folder[@HxW[xC]]`   | the folder's PNG images, resized, dequantised to [−1, 1)   |
 *
 * {@link listDatasets} describes the same sources (sizes, origin, availability) for
 * `nfdm datasets`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readCsv } from './csv.js';
import { DatasetError } from './errors.js';
import { FASHION_MNIST_CLASS_LIST, FASHION_MNIST_CLASSES, fashionMnist, fashionMnistDir, imagesToMatrix } from './fashion-mnist.js';
import { parseImageFolderSpec, readImageFolder } from './image-folder.js';
import type { DataMatrix } from './matrix.js';
import { readNpy } from './npy.js';
import type { Seed } from './random.js';
import { isToyName, sampleToy, TOY_DATASETS, toyNames } from './toy.js';

/** Number of toy samples {@link loadDataset} draws when `n` is not given. */
export const DEFAULT_TOY_SIZE = 10_000;

/** Options of {@link loadDataset}; each applies to the sources named in its comment. */
export interface LoadDatasetOptions {
  /** Toys: number of samples (default 10,000). Files and Fashion-MNIST: keep the first n rows. */
  n?: number;
  /** Toys: sampling seed; Fashion-MNIST: dequantisation seed (default 0). */
  seed?: Seed;
  /** Fashion-MNIST: `'train'` (default) or `'test'`. */
  split?: 'train' | 'test';
  /** Fashion-MNIST: directory of the IDX files (default `/usr/share/datasets/fashion-mnist`). */
  dir?: string;
  /** Fashion-MNIST: uniform dequantisation (default true). */
  dequantize?: boolean;
  /** CSV: header handling (default `'auto'`). */
  header?: boolean | 'auto';
  /** CSV: cell separator (default `,`). */
  delimiter?: string;
}

/** What {@link loadDataset} returns: the data plus where they came from. */
export interface LoadedDataset extends DataMatrix {
  /** The spec as given. */
  name: string;
  kind: 'toy' | 'image' | 'table';
  /** One line for logs and metadata, e.g. `toy 'moons' (…): 10000 × 2, seed 0`. */
  source: string;
  /** Toys: the entropy floor H(p) in nats (docs/maths/toy-data.md#entropy-floors). */
  entropy?: number;
  /** Images: `[height, width, channels]` of one row. */
  imageShape?: [number, number, number];
  /** Images: class labels 0..9. */
  labels?: Uint8Array;
  /** CSV: header names, if there was a header. */
  columns?: string[] | null;
}

const FASHION = { 'fashion-mnist': false, 'fashion-mnist-14': true } as const;

/** A Fashion-MNIST spec: the set (28×28 or 14×14) and the classes kept (all when undefined). */
export interface FashionMnistSpec {
  /** `fashion-mnist` or `fashion-mnist-14`. */
  name: keyof typeof FASHION;
  downsample: boolean;
  labels?: number[];
}

/**
 * `fashion-mnist`, `fashion-mnist-14`, optionally with `:label=K[,K…]` (classes 0…9, see
 * FASHION_MNIST_CLASSES), case-insensitive; undefined for other specs. Throws a
 * {@link DatasetError} for a Fashion-MNIST spec with a bad suffix or an unknown label.
 */
export function parseFashionMnistSpec(spec: string): FashionMnistSpec | undefined {
  const lower = spec.toLowerCase();
  const colon = lower.indexOf(':');
  const name = colon < 0 ? lower : lower.slice(0, colon);
  if (!Object.hasOwn(FASHION, name)) return undefined;
  const set = name as keyof typeof FASHION;
  if (colon < 0) return { name: set, downsample: FASHION[set] };
  const m = /^label=(.+)$/.exec(lower.slice(colon + 1));
  if (!m)
    throw new DatasetError(
      'invalid_argument',
      `'${spec}': select classes as ${set}:label=7 or ${set}:label=5,7 (${FASHION_MNIST_CLASS_LIST})`,
    );
  const labels = m[1].split(',').map((v) => v.trim());
  const bad = labels.find((v) => !/^\d$/.test(v));
  if (bad !== undefined)
    throw new DatasetError('invalid_argument', `'${spec}': '${bad}' is not a Fashion-MNIST label; ${FASHION_MNIST_CLASS_LIST}`);
  return { name: set, downsample: FASHION[set], labels: [...new Set(labels.map(Number))] };
}

/** `label 7 (Sneaker)`, `labels 5 (Sandal), 7 (Sneaker)`. */
function describeLabels(labels: readonly number[]): string {
  return `label${labels.length === 1 ? '' : 's'} ${labels.map((l) => `${l} (${FASHION_MNIST_CLASSES[l]})`).join(', ')}`;
}

function checkN(n: number | undefined): void {
  if (n !== undefined && !(Number.isInteger(n) && n > 0))
    throw new DatasetError('invalid_argument', `n must be a positive integer, got ${n}`);
}

function firstRows<T extends DataMatrix>(m: T, n: number | undefined): T {
  if (n === undefined || n >= m.n) return m;
  return { ...m, data: m.data.subarray(0, n * m.dim), n };
}

/**
 * Load a dataset by toy name, `fashion-mnist` / `fashion-mnist-14`, or a path ending in
 * `.csv` / `.npy`. Throws a {@link DatasetError} with a clear message for unknown names,
 * missing files and every malformed-file case of the readers.
 */
export function loadDataset(spec: string, options: LoadDatasetOptions = {}): LoadedDataset {
  checkN(options.n);
  const lower = spec.toLowerCase();
  if (isToyName(spec)) {
    const n = options.n ?? DEFAULT_TOY_SIZE;
    const seed = options.seed ?? 0;
    const m = sampleToy(spec, n, seed);
    const info = TOY_DATASETS[spec];
    const seedText = typeof seed === 'number' ? `seed ${seed}` : 'seeded by the caller';
    return { ...m, name: spec, kind: 'toy', entropy: info.entropy, source: `toy '${spec}' (${info.description}): ${m.n} × 2, ${seedText}` };
  }
  const fashion = parseFashionMnistSpec(spec);
  if (fashion) {
    const { downsample, labels } = fashion;
    const split = options.split ?? 'train';
    const dir = options.dir ?? fashionMnistDir();
    const m = fashionMnist({ dir, split, limit: options.n, downsample, labels, dequantize: options.dequantize, seed: options.seed });
    const classes = labels ? `, ${describeLabels(labels)}` : '';
    if (m.n === 0) throw new DatasetError('empty', `Fashion-MNIST ${split}${classes}: no images in ${dir}`, { file: dir });
    const [h, w] = m.imageShape;
    const deq = (options.dequantize ?? true) ? 'uniformly dequantised' : 'bin centres';
    return {
      ...m,
      name: spec,
      kind: 'image',
      source: `Fashion-MNIST ${split}${classes} from ${dir}: ${m.n} images ${h}×${w}×1 → ${m.n} × ${m.dim} in [−1, 1) (${deq})`,
    };
  }
  const folder = parseImageFolderSpec(spec);
  if (folder) {
    const set = readImageFolder(folder.dir, { size: folder.size, channels: folder.channels, limit: options.n });
    const m = imagesToMatrix(set, { dequantize: options.dequantize, seed: options.seed });
    const deq = (options.dequantize ?? true) ? 'uniformly dequantised' : 'bin centres';
    return {
      ...m,
      name: spec,
      kind: 'image',
      source: `PNG folder ${folder.dir}: ${m.n} images ${set.height}×${set.width}×${set.channels} → ${m.n} × ${m.dim} in [−1, 1) (${deq})`,
    };
  }
  if (lower.endsWith('.csv')) {
    const t = firstRows(readCsv(spec, { header: options.header, delimiter: options.delimiter }), options.n);
    const head = t.columns ? `, columns ${t.columns.join(', ')}` : '';
    return { ...t, name: spec, kind: 'table', source: `CSV file ${spec}: ${t.n} × ${t.dim}${head}` };
  }
  if (lower.endsWith('.npy')) {
    const a = readNpy(spec);
    if (a.n === 0) throw new DatasetError('empty', `the array has shape (${a.shape.join(', ')}): no rows`, { file: spec });
    const t = firstRows(a, options.n);
    return {
      data: t.data,
      n: t.n,
      dim: t.dim,
      name: spec,
      kind: 'table',
      source: `NPY file ${spec} (${a.dtype}, shape (${a.shape.join(', ')})): ${t.n} × ${t.dim}`,
    };
  }
  const looksLikePath = spec.includes('/') || spec.includes('\\') || /\.[A-Za-z0-9]+$/.test(spec);
  if (looksLikePath) {
    throw new DatasetError('unknown_dataset', `cannot load '${spec}': data files must end in .csv or .npy`, { file: spec });
  }
  throw new DatasetError(
    'unknown_dataset',
    `unknown dataset '${spec}'; use one of ${[...toyNames(), ...Object.keys(FASHION)].join(', ')}, or a path ending in .csv or .npy`,
  );
}

/** One row of {@link listDatasets}. */
export interface DatasetListing {
  name: string;
  kind: 'toy' | 'image' | 'table';
  description: string;
  /** Dimension of one row (`null`: depends on the file). */
  dim: number | null;
  /** Human-readable size, e.g. `any n (default 10000)` or `60000 train + 10000 test`. */
  size: string;
  /** Where the data come from. */
  origin: string;
  /** Whether it can be loaded here (files present). */
  available: boolean;
  /** Toys: entropy floor in nats. */
  entropy?: number;
}

/** Every source {@link loadDataset} accepts, with sizes and origin (for `nfdm datasets`). */
export function listDatasets(options: { dir?: string } = {}): DatasetListing[] {
  const rows: DatasetListing[] = toyNames().map((name) => {
    const info = TOY_DATASETS[name];
    const rounding = info.size(7) !== 7 ? `; returns ${name === 'pinwheel' ? '5⌊n/5⌋' : '2⌊n/2⌋'} points` : '';
    return {
      name,
      kind: 'toy',
      description: info.description,
      dim: 2,
      size: `any n (default ${DEFAULT_TOY_SIZE})${rounding}`,
      origin: 'generated on the fly (FFJORD toy_data.py definitions, seeded)',
      available: true,
      entropy: info.entropy,
    };
  });
  const dir = options.dir ?? fashionMnistDir();
  const available = existsSync(join(dir, 'train-images-idx3-ubyte.gz')) || existsSync(join(dir, 'train-images-idx3-ubyte'));
  for (const [name, down] of Object.entries(FASHION)) {
    rows.push({
      name,
      kind: 'image',
      description: `Fashion-MNIST, 10 clothing classes, ${down ? '14×14 (2×2 mean)' : '28×28'} greyscale, dequantised to [−1, 1)`,
      dim: down ? 196 : 784,
      size: '60000 train + 10000 test',
      origin: available ? `IDX files in ${dir}` : `IDX files in ${dir} (missing: apt-get install dataset-fashion-mnist)`,
      available,
    });
  }
  rows.push({
    name: 'fashion-mnist[-14]:label=K[,K…]',
    kind: 'image',
    description: `the Fashion-MNIST images of some classes, e.g. fashion-mnist:label=7 (${FASHION_MNIST_CLASS_LIST})`,
    dim: null,
    size: '6000 train + 1000 test per class',
    origin: available ? `IDX files in ${dir}` : `IDX files in ${dir} (missing: apt-get install dataset-fashion-mnist)`,
    available,
  });
  rows.push(
    {
      name: '<path>.csv',
      kind: 'table',
      description: 'numeric CSV, one sample per row (header auto-detected)',
      dim: null,
      size: 'rows of the file',
      origin: 'user file',
      available: true,
    },
    {
      name: '<path>.npy',
      kind: 'table',
      description: "NumPy array (n,) or (n, d) of '<f4', '<f8', '<i4' or '<i8'",
      dim: null,
      size: 'rows of the file',
      origin: 'user file',
      available: true,
    },
    {
      name: '<folder>[@HxW[xC]]',
      kind: 'image',
      description: 'the PNG images of a folder, resized to H×W, grey (C = 1) or RGB (C = 3), dequantised to [−1, 1)',
      dim: null,
      size: 'the .png files of the folder',
      origin: 'user folder',
      available: true,
    },
  );
  return rows;
}
