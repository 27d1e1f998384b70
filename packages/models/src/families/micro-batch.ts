/**
 * Gradient accumulation: the loss of a batch of B rows — a mean of per-row terms — and its
 * gradients, computed over micro-batches of at most m rows so that one reverse pass holds only
 * m rows' intermediates:
 *
 *   L = Σ_k (B_k/B) L_k,   ∇L = Σ_k (B_k/B) ∇L_k,
 *
 * where L_k is the loss of chunk k (B_k rows) with the chunk's slice of the batch's noise, so the
 * result equals the one-pass loss and gradients up to float rounding, for any m.
 */
import * as tf from '@tensorflow/tfjs';

/** The batch's randomness: tensors whose first axis is the batch (sliced with the rows). */
export type BatchNoise = Record<string, tf.Tensor>;

function checkSize(size: number): void {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`a micro-batch needs a positive integer size, got ${size}`);
}

/** Rows [start, start + rows) of the batch and of its noise. */
function sliceRows<N extends BatchNoise>(x: tf.Tensor2D, noise: N, start: number, rows: number): { xs: tf.Tensor2D; ns: N } {
  const xs = tf.slice(x, [start, 0], [rows, -1]) as tf.Tensor2D;
  const ns = Object.fromEntries(Object.entries(noise).map(([k, v]) => [k, tf.slice(v, start, rows)])) as N;
  return { xs, ns };
}

/**
 * {@link tf.variableGrads} of `loss(x, noise)` over micro-batches of at most `size` rows (module
 * doc); one pass when `size` is undefined or ≥ B.
 */
export function microBatchedGrads<N extends BatchNoise>(
  x: tf.Tensor2D,
  noise: N,
  variables: tf.Variable[],
  size: number | undefined,
  loss: (x: tf.Tensor2D, noise: N) => tf.Scalar,
): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  const B = x.shape[0];
  if (size === undefined || size >= B) return tf.variableGrads(() => loss(x, noise), variables);
  checkSize(size);
  let value: tf.Scalar | null = null;
  let grads: tf.NamedTensorMap = {};
  for (let start = 0; start < B; start += size) {
    const rows = Math.min(size, B - start);
    const weight = rows / B;
    const chunk = tf.tidy(() => {
      const { xs, ns } = sliceRows(x, noise, start, rows);
      return tf.variableGrads(() => tf.mul(loss(xs, ns), weight) as tf.Scalar, variables);
    });
    if (value === null) {
      value = chunk.value;
      grads = chunk.grads;
      continue;
    }
    const sum = tf.add(value, chunk.value) as tf.Scalar;
    tf.dispose([value, chunk.value]);
    value = sum;
    for (const [name, g] of Object.entries(chunk.grads)) {
      const previous = grads[name];
      grads[name] = previous ? tf.add(previous, g) : g;
      if (previous) tf.dispose([previous, g]);
    }
  }
  return { value: value as tf.Scalar, grads };
}

/**
 * The value of `loss(x, noise)` over micro-batches of at most `size` rows, L = Σ_k (B_k/B) L_k
 * (module doc), without gradients: held-out evaluation of an image model, whose one-pass loss
 * over a whole held-out set (e.g. 1000 × 784 with the NFDM-OT tangents through a U-Net) would not
 * fit in memory. One pass when `size` is undefined or ≥ B. Returns a number.
 */
export function microBatchedLoss<N extends BatchNoise>(
  x: tf.Tensor2D,
  noise: N,
  size: number | undefined,
  loss: (x: tf.Tensor2D, noise: N) => tf.Scalar,
): number {
  const B = x.shape[0];
  if (size !== undefined) checkSize(size);
  const step = Math.min(size ?? B, B);
  let total = tf.scalar(0);
  for (let start = 0; start < B; start += step) {
    const rows = Math.min(step, B - start);
    const next = tf.tidy(() => {
      const { xs, ns } = rows === B ? { xs: x, ns: noise } : sliceRows(x, noise, start, rows);
      return tf.add(total, tf.mul(loss(xs, ns), rows / B)) as tf.Scalar;
    });
    total.dispose();
    total = next;
  }
  const value = total.dataSync()[0]; // one read-back, after every chunk
  total.dispose();
  return value;
}
