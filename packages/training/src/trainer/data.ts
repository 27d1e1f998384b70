/**
 * Where training batches come from. A {@link DataSource} draws a batch from a generator the
 * trainer owns (and checkpoints), so a source must take all its randomness from `rng` and keep
 * no state of its own: then the batch sequence resumes exactly.
 */
import type { Rng } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';

export interface DataSource {
  /** Data dimension D. */
  readonly dim: number;
  /** A float32 batch [size, D], using only `rng` for randomness. */
  batch(rng: Rng, size: number): tf.Tensor2D;
}

/**
 * A source that samples rows with replacement (uniformly, by `rng.int(n)`) from an in-memory
 * row-major set `data` of `n` rows of `dim` values. The array is used as is (not copied).
 */
export function arraySource(data: Float32Array, n: number, dim: number): DataSource {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n must be a positive integer, got ${n}`);
  if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`dim must be a positive integer, got ${dim}`);
  if (data.length !== n * dim) throw new RangeError(`data has ${data.length} values, ${n} rows × ${dim} needs ${n * dim}`);
  return {
    dim,
    batch(rng: Rng, size: number): tf.Tensor2D {
      const out = new Float32Array(size * dim);
      for (let i = 0; i < size; i++) {
        const row = rng.int(n);
        out.set(data.subarray(row * dim, row * dim + dim), i * dim);
      }
      return tf.tensor2d(out, [size, dim]);
    },
  };
}
