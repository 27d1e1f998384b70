/**
 * Training an {@link ImageClassifier}: Adam on the mean cross-entropy of minibatches,
 *
 *   L(θ) = −(1/B) Σ_i log softmax(ℓ_θ(x_i))[y_i],
 *
 * with minibatches of `batch` rows drawn uniformly with replacement by `Rng(seed + 1)`, the
 * initial weights from `Rng(seed)` (config.seed), and a cosine learning rate by default:
 * lr_k = lr · ½ (1 + cos(π (k − 1) / steps)) for update k = 1…steps. Deterministic given the seed, the data and
 * the backend. Never prints; `onStep` reports each update (the CLI shows progress from it).
 */
import { Rng } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { Adam } from '../optim/adam.js';
import { type ClassifierConfig, type ClassifierImage, classifierConfig } from './config.js';
import { ImageClassifier, type ImageRows } from './network.js';

export interface TrainClassifierOptions {
  /** The images' shape (rows must hold height·width·channels values). */
  image: ClassifierImage;
  /** Number of classes K (labels 0…K−1). */
  classes: number;
  /** Adam updates (default 6000). */
  steps?: number;
  /** Rows per update (default 128). */
  batch?: number;
  /** Learning rate (default 2e-3). */
  lr?: number;
  /** `cosine` (default: decays to 0 over the updates) or `constant`. */
  schedule?: 'cosine' | 'constant';
  /** Initial weights and minibatches (default 0). */
  seed?: number;
  /** Architecture overrides (config.ts). */
  architecture?: Partial<Pick<ClassifierConfig, 'channels' | 'groups' | 'features'>>;
  /** Called after every update with its number (1…steps) and minibatch loss (nats). */
  onStep?: (step: number, loss: number) => void;
}

export interface TrainedClassifier {
  classifier: ImageClassifier;
  /** The minibatch loss of every update. */
  losses: Float64Array;
}

/** Check labels: n integers in 0…K−1. */
function checkLabels(labels: ArrayLike<number>, n: number, K: number): void {
  if (labels.length !== n) throw new RangeError(`trainClassifier: ${n} rows but ${labels.length} labels`);
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    if (!Number.isInteger(y) || y < 0 || y >= K) throw new RangeError(`trainClassifier: label ${y} of row ${i} is not a class 0…${K - 1}`);
  }
}

/** Train a classifier on labelled image rows (see the module doc). */
export function trainClassifier(rows: ImageRows, labels: ArrayLike<number>, options: TrainClassifierOptions): TrainedClassifier {
  const steps = options.steps ?? 6000;
  const batch = options.batch ?? 128;
  const lr = options.lr ?? 2e-3;
  const seed = options.seed ?? 0;
  if (!Number.isInteger(steps) || steps < 0) throw new RangeError(`trainClassifier: steps must be an integer ≥ 0, got ${steps}`);
  if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`trainClassifier: batch must be an integer ≥ 1, got ${batch}`);
  if (!(lr > 0)) throw new RangeError(`trainClassifier: lr must be > 0, got ${lr}`);
  const config = classifierConfig({ image: options.image, classes: options.classes, seed, ...options.architecture });
  const { height, width, channels } = config.image;
  if (rows.dim !== height * width * channels)
    throw new RangeError(`trainClassifier: rows of ${rows.dim} values are not ${height}×${width}×${channels} images`);
  if (rows.n < 1) throw new RangeError('trainClassifier: no training rows');
  checkLabels(labels, rows.n, config.classes);
  const classifier = new ImageClassifier(config);
  const adam = new Adam(classifier.parameters());
  const draw = new Rng(seed + 1);
  const losses = new Float64Array(steps);
  const x = new Float32Array(batch * rows.dim);
  const y = new Int32Array(batch);
  try {
    for (let step = 1; step <= steps; step++) {
      for (let i = 0; i < batch; i++) {
        const r = draw.int(rows.n);
        x.set(rows.data.subarray(r * rows.dim, (r + 1) * rows.dim), i * rows.dim);
        y[i] = labels[r];
      }
      const loss = tf.tidy(() => {
        const xs = tf.tensor2d(x, [batch, rows.dim]);
        const onehot = tf.oneHot(tf.tensor1d(y, 'int32'), config.classes);
        const { value, grads } = tf.variableGrads(() => crossEntropy(classifier.logits(xs), onehot), adam.variables);
        const rate = options.schedule === 'constant' ? lr : 0.5 * lr * (1 + Math.cos((Math.PI * (step - 1)) / steps));
        adam.apply(
          adam.variables.map((v) => grads[v.name]),
          rate,
        );
        return value;
      });
      losses[step - 1] = (loss.dataSync() as Float32Array)[0];
      loss.dispose();
      options.onStep?.(step, losses[step - 1]);
    }
  } catch (error) {
    classifier.dispose();
    throw error;
  } finally {
    adam.dispose();
  }
  return { classifier, losses };
}

/** Mean cross-entropy −(1/B) Σ_i Σ_k onehot[i, k] log softmax(logits)[i, k] (a scalar). */
export function crossEntropy(logits: tf.Tensor2D, onehot: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), 1))) as tf.Scalar);
}
