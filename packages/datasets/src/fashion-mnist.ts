/**
 * Fashion-MNIST (Xiao et al. 2017): 70,000 greyscale 28×28 images of clothing in 10 classes
 * (60,000 train / 10,000 test, 6,000 / 1,000 per class), read from the original IDX files.
 *
 * The files come from Debian's `dataset-fashion-mnist` package, in
 * `/usr/share/datasets/fashion-mnist` (override with `dir` or `NFDM_FASHION_MNIST_DIR`):
 * `train-images-idx3-ubyte.gz`, `train-labels-idx1-ubyte.gz`, `t10k-images-idx3-ubyte.gz`,
 * `t10k-labels-idx1-ubyte.gz` (uncompressed copies without `.gz` work too). The same reader
 * works for MNIST, which uses the same format and names.
 *
 * Pipeline: {@link loadFashionMnist} (uint8 pixels, NHWC `[n, 28, 28, 1]`, and labels) →
 * optionally {@link downsample2x} (2×2 mean, rounded → `[n, 14, 14, 1]`, still uint8) →
 * {@link imagesToMatrix} (float32 in [−1, 1], uniformly dequantised and seeded, flattened
 * to `[n, h·w]`). {@link fashionMnist} does all three.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DatasetError } from './errors.js';
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, readIdx } from './idx.js';
import type { DataMatrix } from './matrix.js';
import { type Seed, toRng } from './random.js';

/** Where Debian's `dataset-fashion-mnist` installs the IDX files. */
export const FASHION_MNIST_DEFAULT_DIR = '/usr/share/datasets/fashion-mnist';

/** Class names, indexed by label. */
export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
]);

/** The classes as `0 T-shirt/top, 1 Trouser, …` for messages. */
export const FASHION_MNIST_CLASS_LIST = `the classes are ${FASHION_MNIST_CLASSES.map((c, i) => `${i} ${c}`).join(', ')}`;

/** The directory used when none is given: `$NFDM_FASHION_MNIST_DIR`, else the Debian path. */
export function fashionMnistDir(): string {
  return process.env.NFDM_FASHION_MNIST_DIR || FASHION_MNIST_DEFAULT_DIR;
}

/** Uint8 images in NHWC order with their labels. */
export interface ImageSet {
  /** Pixels 0..255, NHWC: pixel (i, y, x, c) is `pixels[((i·height + y)·width + x)·channels + c]`. */
  pixels: Uint8Array;
  /** One label per image. */
  labels: Uint8Array;
  n: number;
  height: number;
  width: number;
  channels: number;
  /** The files the data came from (empty for derived sets). */
  files: { images?: string; labels?: string };
}

/** Options of {@link loadFashionMnist}. */
export interface LoadFashionMnistOptions {
  /** Directory with the IDX files (default {@link fashionMnistDir}). */
  dir?: string;
  /** `'train'` (60,000 images, default) or `'test'` (10,000 images, the `t10k-` files). */
  split?: 'train' | 'test';
  /** Keep only the first `limit` images (after reading and checking the whole files). */
  limit?: number;
}

function locate(dir: string, base: string): string {
  const gz = join(dir, `${base}.gz`);
  if (existsSync(gz)) return gz;
  const raw = join(dir, base);
  if (existsSync(raw)) return raw;
  throw new DatasetError(
    'not_found',
    `Fashion-MNIST file ${base}.gz not found in ${dir}; install the Debian package dataset-fashion-mnist ` +
      `(apt-get install dataset-fashion-mnist) or pass the directory that holds the IDX files`,
    { file: gz },
  );
}

/**
 * Read one split of Fashion-MNIST (or MNIST) as uint8 NHWC images `[n, 28, 28, 1]` plus
 * labels. Errors ({@link DatasetError}, naming the file and byte offset): missing file,
 * `not_gzip`, `corrupt_gzip`, `bad_magic`, `truncated`, `trailing_bytes`, `count_mismatch`
 * (images vs labels), `bad_value` (a label above 9).
 */
export function loadFashionMnist(options: LoadFashionMnistOptions = {}): ImageSet {
  const dir = options.dir ?? fashionMnistDir();
  const split = options.split ?? 'train';
  if (split !== 'train' && split !== 'test') {
    throw new DatasetError('invalid_argument', `split must be 'train' or 'test', got '${split as string}'`);
  }
  const prefix = split === 'train' ? 'train' : 't10k';
  const imagesFile = locate(dir, `${prefix}-images-idx3-ubyte`);
  const labelsFile = locate(dir, `${prefix}-labels-idx1-ubyte`);
  const images = readIdx(imagesFile, IDX_IMAGES_MAGIC);
  const labels = readIdx(labelsFile, IDX_LABELS_MAGIC);
  const [n, height, width] = images.dims;
  if (labels.dims[0] !== n) {
    throw new DatasetError(
      'count_mismatch',
      `the labels file has ${labels.dims[0]} labels but the images file ${imagesFile} has ${n} images`,
      {
        file: labelsFile,
        offset: 4,
      },
    );
  }
  for (let i = 0; i < n; i++) {
    if (labels.data[i] > 9) {
      throw new DatasetError('bad_value', `label ${labels.data[i]} of item ${i} is not a class in 0..9`, {
        file: labelsFile,
        offset: labels.dataOffset + i,
      });
    }
  }
  let keep = n;
  if (options.limit !== undefined) {
    if (!Number.isInteger(options.limit) || options.limit < 0) {
      throw new DatasetError('invalid_argument', `limit must be a non-negative integer, got ${options.limit}`);
    }
    keep = Math.min(n, options.limit);
  }
  return {
    pixels: images.data.subarray(0, keep * height * width),
    labels: labels.data.subarray(0, keep),
    n: keep,
    height,
    width,
    channels: 1,
    files: { images: imagesFile, labels: labelsFile },
  };
}

/**
 * Halve the resolution: each output pixel is the mean of a 2×2 block, rounded half up to an
 * integer (`⌊(a + b + c + d + 2) / 4⌋`), so the result is still uint8 on the 256-level grid
 * and dequantisation / bits per dimension keep their meaning. `[n, h, w, c] → [n, h/2, w/2, c]`;
 * h and w must be even.
 */
export function downsample2x(images: ImageSet): ImageSet {
  const { n, height, width, channels: c, pixels } = images;
  if (height % 2 !== 0 || width % 2 !== 0) {
    throw new DatasetError('bad_shape', `2× downsampling needs an even height and width, got ${height}×${width}`);
  }
  const h = height / 2;
  const w = width / 2;
  const out = new Uint8Array(n * h * w * c);
  const row = width * c;
  for (let i = 0; i < n; i++) {
    const src = i * height * row;
    const dst = i * h * w * c;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let k = 0; k < c; k++) {
          const p = src + 2 * y * row + 2 * x * c + k;
          const sum = pixels[p] + pixels[p + c] + pixels[p + row] + pixels[p + row + c];
          out[dst + (y * w + x) * c + k] = (sum + 2) >> 2;
        }
      }
    }
  }
  return { pixels: out, labels: images.labels, n, height: h, width: w, channels: c, files: {} };
}

/** Options of {@link imagesToMatrix}. */
export interface ImagesToMatrixOptions {
  /**
   * Uniform dequantisation (default true): x = 2(p + u)/256 − 1 with u ~ U[0, 1) drawn per
   * pixel from `seed`. When false, u = 1/2 (the bin centre), so x = 2(p + ½)/256 − 1.
   */
  dequantize?: boolean;
  /** Seed of the dequantisation noise (default 0). */
  seed?: Seed;
}

/** Images as a float32 data matrix, with the shape needed to turn rows back into images. */
export interface ImageMatrix extends DataMatrix {
  /** `[height, width, channels]`: row i reshapes to one NHWC image. */
  imageShape: [number, number, number];
  labels: Uint8Array;
}

/**
 * Map uint8 pixels p to floats x = 2(p + u)/256 − 1 ∈ [−1, 1) — every x lies in its pixel's
 * bin [2p/256 − 1, 2(p + 1)/256 − 1) — and flatten each NHWC image
 * to a row of h·w·c values (`[n, h, w, c] → [n, h·w·c]`, the same memory order).
 *
 * Likelihoods: with uniform dequantisation the discrete pixels satisfy
 * −log P(p) ≤ NLL_x + D ln 128 (the Jacobian of p + u ↦ x is (2/256)^D), so
 * bits/dim = (NLL_x + D ln 128)/(D ln 2) = NLL_x/(D ln 2) + 7; see {@link dequantizationOffsetNats}.
 */
export function imagesToMatrix(images: ImageSet, options: ImagesToMatrixOptions = {}): ImageMatrix {
  const { pixels, n, height, width, channels } = images;
  const dim = height * width * channels;
  const data = new Float32Array(n * dim);
  if (options.dequantize ?? true) {
    const rng = toRng(options.seed ?? 0);
    // Rounding to float32 could lift p + u (u < 1) onto the upper edge of p's bin; cap it there.
    const below = binUpperLimits();
    for (let i = 0; i < data.length; i++) {
      const p = pixels[i];
      data[i] = Math.min(Math.fround((p + rng.uniform()) / 128 - 1), below[p]);
    }
  } else {
    for (let i = 0; i < data.length; i++) data[i] = (pixels[i] + 0.5) / 128 - 1;
  }
  return { data, n, dim, imageShape: [height, width, channels], labels: images.labels };
}

let limits: Float32Array | undefined;

/** For each pixel value p, the largest float32 strictly below its bin's upper edge 2(p + 1)/256 − 1. */
function binUpperLimits(): Float32Array {
  if (!limits) {
    limits = new Float32Array(256);
    const bits = new Int32Array(limits.buffer);
    for (let p = 0; p < 256; p++) {
      limits[p] = (p + 1) / 128 - 1; // exact in float32
      bits[p] += limits[p] > 0 ? -1 : limits[p] < 0 ? 1 : 0;
      if (limits[p] === 0) limits[p] = -(2 ** -149); // below +0: the largest negative float32
    }
  }
  return limits;
}

/**
 * D ln 128: add it to a per-image NLL (nats) of the dequantised data in [−1, 1) to get the
 * NLL of the discrete 8-bit pixels in the usual continuous [0, 256) units (an upper bound on
 * −log P(p)).
 */
export function dequantizationOffsetNats(dim: number): number {
  return dim * Math.log(128);
}

/**
 * The images whose label is one of `labels` (in their order in the set), as a new set. Throws a
 * {@link DatasetError} for labels outside 0…9.
 */
export function selectLabels(images: ImageSet, labels: readonly number[]): ImageSet {
  for (const l of labels) {
    if (!Number.isInteger(l) || l < 0 || l > 9)
      throw new DatasetError('invalid_argument', `label ${l} is not a Fashion-MNIST class; ${FASHION_MNIST_CLASS_LIST}`);
  }
  const wanted = new Set(labels);
  const size = images.height * images.width * images.channels;
  const keep: number[] = [];
  for (let i = 0; i < images.n; i++) if (wanted.has(images.labels[i])) keep.push(i);
  const pixels = new Uint8Array(keep.length * size);
  keep.forEach((i, k) => {
    pixels.set(images.pixels.subarray(i * size, (i + 1) * size), k * size);
  });
  return { ...images, pixels, labels: Uint8Array.from(keep, (i) => images.labels[i]), n: keep.length };
}

/** Options of {@link fashionMnist}. */
export interface FashionMnistOptions extends LoadFashionMnistOptions, ImagesToMatrixOptions {
  /** Downsample 28×28 → 14×14 with {@link downsample2x} (default false). */
  downsample?: boolean;
  /** Keep only the images of these classes (0…9); `limit` then counts the kept images. */
  labels?: readonly number[];
}

/** Load, optionally select classes, downsample, dequantise and flatten one split: `[n, 784]` or `[n, 196]`. */
export function fashionMnist(options: FashionMnistOptions = {}): ImageMatrix {
  let images = options.labels
    ? firstImages(selectLabels(loadFashionMnist({ ...options, limit: undefined }), options.labels), options.limit)
    : loadFashionMnist(options);
  if (options.downsample) images = downsample2x(images);
  return imagesToMatrix(images, options);
}

/** The first `limit` images of a set (all without a limit). */
function firstImages(images: ImageSet, limit: number | undefined): ImageSet {
  if (limit === undefined || limit >= images.n) return images;
  const size = images.height * images.width * images.channels;
  return { ...images, pixels: images.pixels.subarray(0, limit * size), labels: images.labels.subarray(0, limit), n: limit };
}
