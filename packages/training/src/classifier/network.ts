/**
 * A small convolutional image classifier, the evaluation instrument behind the sample-quality
 * metrics of image models (classifier accuracy of class-conditional samples, the Fréchet
 * distance of its features; see quality.ts).
 *
 * Architecture (config.ts), for rows x [N, h·w·c] in the models' data units ([−1, 1] pixels):
 *
 *   x → reshape [N, h, w, c]
 *     → for each block b: SiLU(GroupNorm(Conv3×3(·)))   stride 1 for b = 0, 2 after
 *     → flatten [N, h′·w′·C_last]
 *     → features φ(x) = SiLU(Dense(·))                    [N, F]   (penultimate layer)
 *     → logits ℓ(x) = Dense(φ(x))                          [N, K]
 *     → p(y | x) = softmax(ℓ(x))                           [N, K]
 *
 * The tensor methods ({@link ImageClassifier.logits}, {@link ImageClassifier.features},
 * {@link ImageClassifier.classify}) take and return tensors (the caller disposes them); the
 * array helpers ({@link classifyRows}, {@link featureRows}, {@link accuracy}) go through rows in
 * batches and return plain arrays.
 */
import { Conv2d, collectParameters, Dense, GroupNorm, ImageJet, type Module, type NamedVariables, Rng } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { type ClassifierConfig, finalGrid } from './config.js';

/** One conv block: SiLU(GroupNorm(Conv3×3(x))). */
class ConvBlock implements Module {
  constructor(
    readonly conv: Conv2d,
    readonly norm: GroupNorm,
  ) {}

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return this.norm.jetFused(new ImageJet(this.conv.apply(x), 0), { silu: true }).data;
  }

  parameters(): NamedVariables {
    return collectParameters({ conv: this.conv, norm: this.norm });
  }

  dispose(): void {
    this.conv.dispose();
    this.norm.dispose();
  }
}

export class ImageClassifier implements Module {
  readonly blocks: ConvBlock[];
  readonly hidden: Dense;
  readonly head: Dense;
  /** h·w·c: the width of the rows the classifier reads. */
  readonly dim: number;

  /** A classifier with deterministic initial weights from `Rng(config.seed)` (forked per layer, in order). */
  constructor(readonly config: ClassifierConfig) {
    const rng = new Rng(config.seed);
    const { image, channels, groups, features, classes } = config;
    this.dim = image.height * image.width * image.channels;
    this.blocks = channels.map((out, b) => {
      const conv = new Conv2d({
        inChannels: b === 0 ? image.channels : channels[b - 1],
        outChannels: out,
        stride: b === 0 ? 1 : 2,
        rng: rng.fork(),
      });
      return new ConvBlock(conv, new GroupNorm({ channels: out, groups }));
    });
    const grid = finalGrid(config);
    this.hidden = new Dense(grid.height * grid.width * channels[channels.length - 1], features, { rng: rng.fork() });
    this.head = new Dense(features, classes, { rng: rng.fork() });
  }

  /** The penultimate features φ(x) [N, F] of rows x [N, h·w·c]. */
  features(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const [n, d] = x.shape;
      const { height, width, channels } = this.config.image;
      if (d !== this.dim)
        throw new RangeError(`the classifier reads ${height}×${width}×${channels} images (${this.dim} values a row), got rows of ${d}`);
      let h: tf.Tensor4D = tf.reshape(x, [n, height, width, channels]);
      for (const block of this.blocks) h = block.apply(h);
      const flat = tf.reshape(h, [n, -1]) as tf.Tensor2D;
      const z = this.hidden.apply(flat);
      return tf.mul(z, tf.sigmoid(z)) as tf.Tensor2D;
    });
  }

  /** The logits ℓ(x) [N, K]. */
  logits(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => this.head.apply(this.features(x)));
  }

  /** The class probabilities p(y | x) = softmax(ℓ(x)) [N, K]. */
  classify(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.softmax(this.logits(x)));
  }

  parameters(): NamedVariables {
    const children: Record<string, Module> = {};
    this.blocks.forEach((b, i) => {
      children[`blocks.${i}`] = b;
    });
    return collectParameters({ ...children, hidden: this.hidden, head: this.head });
  }

  dispose(): void {
    for (const b of this.blocks) b.dispose();
    this.hidden.dispose();
    this.head.dispose();
  }
}

/** Rows of images as a flat row-major array: n rows of `dim` values. */
export interface ImageRows {
  data: Float32Array;
  n: number;
  dim: number;
}

/** Rows per forward pass of the array helpers. */
export const CLASSIFY_BATCH = 500;

/** f applied to the rows in batches of `batch`; the outputs [n, width] concatenated row-major. */
function mapRows(rows: ImageRows, width: number, batch: number, f: (x: tf.Tensor2D) => tf.Tensor2D): Float32Array {
  const out = new Float32Array(rows.n * width);
  for (let start = 0; start < rows.n; start += batch) {
    const size = Math.min(batch, rows.n - start);
    const y = tf.tidy(() => f(tf.tensor2d(rows.data.subarray(start * rows.dim, (start + size) * rows.dim), [size, rows.dim])));
    out.set(y.dataSync() as Float32Array, start * width);
    y.dispose();
  }
  return out;
}

/** p(y | x) of every row, row-major [n, K]. */
export function classifyRows(classifier: ImageClassifier, rows: ImageRows, batch = CLASSIFY_BATCH): Float32Array {
  return mapRows(rows, classifier.config.classes, batch, (x) => classifier.classify(x));
}

/** The penultimate features φ(x) of every row, row-major [n, F]. */
export function featureRows(classifier: ImageClassifier, rows: ImageRows, batch = CLASSIFY_BATCH): Float32Array {
  return mapRows(rows, classifier.config.features, batch, (x) => classifier.features(x));
}

/** argmax_y of each row of probabilities (or logits) [n, K]. */
export function argmaxRows(p: ArrayLike<number>, K: number): Int32Array {
  const n = p.length / K;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (p[i * K + k] > p[i * K + best]) best = k;
    out[i] = best;
  }
  return out;
}

/** The fraction of rows whose predicted class argmax_y p(y | x) is the given label. */
export function accuracy(classifier: ImageClassifier, rows: ImageRows, labels: ArrayLike<number>, batch = CLASSIFY_BATCH): number {
  if (labels.length !== rows.n) throw new RangeError(`accuracy: ${rows.n} rows but ${labels.length} labels`);
  if (rows.n === 0) return 0;
  const predicted = argmaxRows(classifyRows(classifier, rows, batch), classifier.config.classes);
  let correct = 0;
  for (let i = 0; i < rows.n; i++) if (predicted[i] === labels[i]) correct++;
  return correct / rows.n;
}
