/**
 * Where training batches come from. A {@link DataSource} draws a batch from a generator the
 * trainer owns (and checkpoints), so a source must take all its randomness from `rng` and keep
 * no state of its own: then the batch sequence resumes exactly.
 *
 * Data for conditional models carry a condition y [w] per row (a label: w = 1, or a vector):
 * such a source has `conditionDim` w and draws rows with their conditions by
 * {@link DataSource.conditionedBatch} (the same rows, the same draws of `rng` as `batch`).
 */
import type { Rng } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';

/** A batch of rows x [B, D] with their conditions y [B, w] (row i of y belongs to row i of x). */
export interface ConditionedBatch {
  x: tf.Tensor2D;
  y: tf.Tensor2D;
}

export interface DataSource {
  /** Data dimension D. */
  readonly dim: number;
  /** Width w of the condition each row carries (labels: 1); absent or 0 for rows without conditions. */
  readonly conditionDim?: number;
  /** A float32 batch [size, D], using only `rng` for randomness. */
  batch(rng: Rng, size: number): tf.Tensor2D;
  /** Sources with a `conditionDim`: a batch of rows and their conditions, using only `rng`. */
  conditionedBatch?(rng: Rng, size: number): ConditionedBatch;
}

/** Conditions of the rows of an {@link arraySource}: `dim` values per row, row-major. */
export interface RowConditions {
  values: Float32Array;
  dim: number;
}

/**
 * A source that samples rows with replacement (uniformly, by `rng.int(n)`) from an in-memory
 * row-major set `data` of `n` rows of `dim` values, with each row's condition when `conditions`
 * are given. The arrays are used as is (not copied).
 */
export function arraySource(data: Float32Array, n: number, dim: number, conditions?: RowConditions): DataSource {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n must be a positive integer, got ${n}`);
  if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`dim must be a positive integer, got ${dim}`);
  if (data.length !== n * dim) throw new RangeError(`data has ${data.length} values, ${n} rows × ${dim} needs ${n * dim}`);
  if (conditions) checkRowConditions(conditions, n);
  const draw = (rng: Rng, size: number): ConditionedBatch | tf.Tensor2D => {
    const out = new Float32Array(size * dim);
    const w = conditions?.dim ?? 0;
    const ys = new Float32Array(size * w);
    for (let i = 0; i < size; i++) {
      const row = rng.int(n);
      out.set(data.subarray(row * dim, row * dim + dim), i * dim);
      if (conditions) ys.set(conditions.values.subarray(row * w, row * w + w), i * w);
    }
    const x = tf.tensor2d(out, [size, dim]);
    return conditions ? { x, y: tf.tensor2d(ys, [size, w]) } : x;
  };
  const source: DataSource = { dim, batch: (rng, size) => asRows(draw(rng, size)) };
  if (!conditions) return source;
  return { ...source, conditionDim: conditions.dim, conditionedBatch: (rng, size) => draw(rng, size) as ConditionedBatch };
}

function checkRowConditions(c: RowConditions, n: number): void {
  if (!Number.isInteger(c.dim) || c.dim < 1) throw new RangeError(`conditions need a positive integer dim, got ${c.dim}`);
  if (c.values.length !== n * c.dim)
    throw new RangeError(`conditions have ${c.values.length} values, ${n} rows × ${c.dim} needs ${n * c.dim}`);
}

/** The rows of a draw (the conditions, if any, are freed). */
function asRows(b: ConditionedBatch | tf.Tensor2D): tf.Tensor2D {
  if (b instanceof tf.Tensor) return b;
  b.y.dispose();
  return b.x;
}
