/**
 * The data container shared by every reader and generator: a row-major float32 matrix.
 *
 * Row i, column j is `data[i * dim + j]`; `data.length === n * dim`. It converts to the
 * `[n, dim]` float32 tensors the models train on with {@link toTensor}; it is plain data so it
 * can be sliced, shuffled and written without a tfjs backend.
 */
import * as tf from '@tensorflow/tfjs';
import { DatasetError } from './errors.js';

/** `n` rows of `dim` float32 values, row-major. */
export interface DataMatrix {
  data: Float32Array;
  n: number;
  dim: number;
}

/** Build a {@link DataMatrix}, checking `data.length === n * dim`. */
export function matrix(data: Float32Array, n: number, dim: number): DataMatrix {
  if (!Number.isInteger(n) || n < 0 || !Number.isInteger(dim) || dim < 1) {
    throw new DatasetError('invalid_argument', `a data matrix needs integer n >= 0 and dim >= 1, got n = ${n}, dim = ${dim}`);
  }
  if (data.length !== n * dim) {
    throw new DatasetError('bad_shape', `a [${n}, ${dim}] data matrix needs ${n * dim} values, got ${data.length}`);
  }
  return { data, n, dim };
}

/** Rows `indices` of `m`, in that order (a copy). */
export function takeRows(m: DataMatrix, indices: ArrayLike<number>): DataMatrix {
  const { dim } = m;
  const out = new Float32Array(indices.length * dim);
  for (let r = 0; r < indices.length; r++) {
    const i = indices[r];
    if (!(i >= 0 && i < m.n)) throw new DatasetError('invalid_argument', `row index ${i} is out of range [0, ${m.n})`);
    out.set(m.data.subarray(i * dim, (i + 1) * dim), r * dim);
  }
  return { data: out, n: indices.length, dim };
}

/** Column `j` of `m` as a float64 array (for statistics). */
export function column(m: DataMatrix, j: number): Float64Array {
  if (!Number.isInteger(j) || j < 0 || j >= m.dim) throw new DatasetError('invalid_argument', `column ${j} is out of range [0, ${m.dim})`);
  const out = new Float64Array(m.n);
  for (let i = 0; i < m.n; i++) out[i] = m.data[i * m.dim + j];
  return out;
}

/** The matrix as a float32 tensor of shape `[n, dim]` (copies the data into the backend). */
export function toTensor(m: DataMatrix): tf.Tensor2D {
  return tf.tensor2d(m.data, [m.n, m.dim], 'float32');
}
