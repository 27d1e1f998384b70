/**
 * Point sets for the sample-quality metrics.
 *
 * **Primary representation:** a {@link PointSet} — `n` points in $\mathbb{R}^d$ stored
 * row-major in one typed array, point $i$ being `data[i*d .. i*d + d)`. Every metric does its
 * arithmetic in float64 on the JS side (deterministic, identical on every tfjs backend, no
 * float32 cancellation in $\lVert x - y\rVert^2$), so a metric reads its inputs once and never
 * allocates tensors.
 *
 * For convenience every metric also accepts a rank-2 `tf.Tensor` `[n, d]` (read once with
 * `dataSync`, not disposed — the caller keeps ownership) or nested arrays `number[][]`; see
 * {@link toPointSet}.
 */
import * as tf from '@tensorflow/tfjs';

/** `n` points of dimension `d`, row-major: point `i` is `data[i*d .. i*d + d)`. */
export interface PointSet {
  readonly data: Float32Array | Float64Array;
  readonly n: number;
  readonly d: number;
}

/** Anything a metric accepts as a point set: a {@link PointSet}, a `[n, d]` tensor, or `number[][]`. */
export type Points = PointSet | tf.Tensor | readonly (readonly number[])[];

/**
 * A validated {@link PointSet} view of `data` (no copy).
 *
 * Throws `TypeError` if `n`, `d` are not positive integers or `data.length ≠ n·d`.
 */
export function pointSet(data: Float32Array | Float64Array, n: number, d: number): PointSet {
  if (!Number.isInteger(n) || n < 1) throw new TypeError(`a point set needs n ≥ 1 points, got n = ${n}`);
  if (!Number.isInteger(d) || d < 1) throw new TypeError(`a point set needs dimension d ≥ 1, got d = ${d}`);
  if (data.length !== n * d) throw new TypeError(`point-set data has length ${data.length}, expected n·d = ${n}·${d} = ${n * d}`);
  return { data, n, d };
}

function isPointSet(x: unknown): x is PointSet {
  return typeof x === 'object' && x !== null && 'data' in x && 'n' in x && 'd' in x && !(x instanceof tf.Tensor);
}

/**
 * Convert any {@link Points} to a {@link PointSet} and check that every coordinate is finite.
 *
 * - `PointSet`: validated, not copied.
 * - `tf.Tensor` of rank 2 `[n, d]`: read with `dataSync()` (float32); the tensor is not disposed.
 * - `number[][]`: copied into a `Float64Array`; rows must all have the same length.
 *
 * `name` is used in error messages (e.g. `'x'`). Throws `TypeError` for a wrong shape and
 * `RangeError` for a NaN or infinite coordinate.
 */
export function toPointSet(points: Points, name = 'points'): PointSet {
  let set: PointSet;
  if (points instanceof tf.Tensor) {
    if (points.rank !== 2) throw new TypeError(`${name} must be a rank-2 tensor [n, d], got shape [${points.shape.join(', ')}]`);
    const [n, d] = points.shape as [number, number];
    if (n < 1 || d < 1) throw new TypeError(`${name} must have n ≥ 1 points of dimension d ≥ 1, got shape [${n}, ${d}]`);
    const data = points.dataSync();
    if (!(data instanceof Float32Array)) throw new TypeError(`${name} must be a float32 tensor, got dtype ${points.dtype}`);
    set = { data, n, d };
  } else if (isPointSet(points)) {
    if (!(points.data instanceof Float32Array || points.data instanceof Float64Array))
      throw new TypeError(`${name}.data must be a Float32Array or Float64Array`);
    set = pointSet(points.data, points.n, points.d);
  } else if (Array.isArray(points)) {
    const rows = points as readonly (readonly number[])[];
    const n = rows.length;
    if (n < 1) throw new TypeError(`${name} must contain at least one point`);
    const d = Array.isArray(rows[0]) ? rows[0].length : 0;
    if (d < 1) throw new TypeError(`${name} must be an array of points (number[][]) of dimension d ≥ 1`);
    const data = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      const row = rows[i];
      if (!Array.isArray(row) || row.length !== d)
        throw new TypeError(`${name}[${i}] has ${Array.isArray(row) ? row.length : 'no'} coordinates, expected ${d}`);
      for (let k = 0; k < d; k++) data[i * d + k] = row[k];
    }
    set = { data, n, d };
  } else {
    throw new TypeError(`${name} must be a PointSet {data, n, d}, a rank-2 tf.Tensor or number[][]`);
  }
  const { data } = set;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new RangeError(`${name} has a non-finite coordinate (${data[i]}) at point ${Math.floor(i / set.d)}, dimension ${i % set.d}`);
    }
  }
  return set;
}

/** Both sets converted and checked to share the dimension `d`. */
export function toPointSetPair(x: Points, y: Points): [PointSet, PointSet] {
  const a = toPointSet(x, 'x');
  const b = toPointSet(y, 'y');
  if (a.d !== b.d) throw new TypeError(`x and y must have the same dimension, got d = ${a.d} and d = ${b.d}`);
  return [a, b];
}

/** $\lVert x_i - y_j\rVert^2$ for point `i` of `a` and point `j` of `b` (same `d`), in float64. */
export function squaredDistance(a: ArrayLike<number>, i: number, b: ArrayLike<number>, j: number, d: number): number {
  const oi = i * d;
  const oj = j * d;
  let s = 0;
  for (let k = 0; k < d; k++) {
    const t = a[oi + k] - b[oj + k];
    s += t * t;
  }
  return s;
}

/**
 * Sums of f(‖u − v‖²) over pairs, the shared core of MMD and the energy distance:
 * `withinA` = Σ_{i ≠ i'} f(‖a_i − a_i'‖²) (ordered pairs, = 2 Σ_{i < i'}), `withinB` likewise,
 * `cross` = Σ_{i, j} f(‖a_i − b_j‖²). Per-row partial sums keep the float64 error small.
 * Diagonal terms f(0) are not included.
 */
export function pairwiseSums(
  a: PointSet,
  b: PointSet,
  f: (squaredDistance: number) => number,
): { withinA: number; withinB: number; cross: number } {
  const d = a.d;
  const within = (p: Float32Array | Float64Array, n: number): number => {
    let total = 0;
    for (let i = 0; i < n; i++) {
      let row = 0;
      const oi = i * d;
      for (let j = i + 1; j < n; j++) {
        const oj = j * d;
        let r = 0;
        for (let k = 0; k < d; k++) {
          const t = p[oi + k] - p[oj + k];
          r += t * t;
        }
        row += f(r);
      }
      total += row;
    }
    return 2 * total;
  };
  let cross = 0;
  for (let i = 0; i < a.n; i++) {
    let row = 0;
    const oi = i * d;
    for (let j = 0; j < b.n; j++) {
      const oj = j * d;
      let r = 0;
      for (let k = 0; k < d; k++) {
        const t = a.data[oi + k] - b.data[oj + k];
        r += t * t;
      }
      row += f(r);
    }
    cross += row;
  }
  return { withinA: within(a.data, a.n), withinB: within(b.data, b.n), cross };
}
