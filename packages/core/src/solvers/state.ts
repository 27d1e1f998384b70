/**
 * Solver states: one tensor, or a fixed-length tuple of tensors.
 *
 * A {@link StateTree} is the smallest "pytree" that covers what nfdm integrates: a plain state
 * `y` of shape `[B, ...]`, or an augmented state such as `[y, ℓ]` (the log-density solve:
 * `y: [B, D]`, `ℓ: [B]`). Every operation a solver needs (linear combinations of stages,
 * error norms, interpolation, stacking saved states) works leaf by leaf, so Runge–Kutta code
 * never cares which of the two it has. All leaves must be float32.
 *
 * The helpers here are plain tf ops with no `tidy` of their own; callers run them inside a
 * `tf.tidy`.
 */
import * as tf from '@tensorflow/tfjs';

/** One tensor, or a tuple of tensors combined component-wise. */
export type StateTree = tf.Tensor | tf.Tensor[];

/** The leaves of a state, in order (a single tensor is a one-leaf state). */
export function leavesOf(y: StateTree): tf.Tensor[] {
  return Array.isArray(y) ? y : [y];
}

/** Rebuild a state with the structure of `template` from `leaves`. */
export function withLeaves<Y extends StateTree>(template: Y, leaves: tf.Tensor[]): Y {
  return (Array.isArray(template) ? leaves : leaves[0]) as Y;
}

/** Apply `fn` to every leaf (with the leaf index), keeping the structure. */
export function mapState<Y extends StateTree>(y: Y, fn: (leaf: tf.Tensor, index: number) => tf.Tensor): Y {
  return withLeaves(y, leavesOf(y).map(fn));
}

/**
 * `base + Σ_j c_j · x_j`, leaf by leaf; terms with `c_j = 0` are skipped.
 *
 * **Arguments:**
 * - `base`: a state, or `undefined` for a plain sum.
 * - `terms`: pairs `[c_j, x_j]` of JS-number coefficients and states with `base`'s structure.
 * - `template`: structure to use when `base` is `undefined`.
 *
 * **Returns:** a new state (always freshly allocated tensors, never one of the inputs).
 */
export function combine<Y extends StateTree>(base: Y | undefined, terms: ReadonlyArray<readonly [number, Y]>, template: Y): Y {
  const live = terms.filter(([c]) => c !== 0);
  const n = leavesOf(template).length;
  const out: tf.Tensor[] = [];
  for (let i = 0; i < n; i++) {
    const baseLeaf = base === undefined ? undefined : leavesOf(base)[i];
    if (live.length === 0) {
      out.push(baseLeaf === undefined ? tf.zerosLike(leavesOf(template)[i]) : tf.clone(baseLeaf));
      continue;
    }
    const parts = live.map(([c, x]) => tf.mul(leavesOf(x)[i], c));
    if (baseLeaf !== undefined) parts.push(baseLeaf);
    out.push(parts.length === 1 ? parts[0] : tf.addN(parts));
  }
  return withLeaves(template, out);
}

/** Fresh handles on the same values (`tf.clone` per leaf). */
export function cloneState<Y extends StateTree>(y: Y): Y {
  return mapState(y, (leaf) => tf.clone(leaf));
}

/** Clone and `tf.keep` every leaf so the result survives the enclosing `tidy`. */
export function keepState<Y extends StateTree>(y: Y): Y {
  return mapState(y, (leaf) => tf.keep(tf.clone(leaf)));
}

/** Dispose every leaf of a state (no-op for `undefined`). */
export function disposeState(y: StateTree | undefined): void {
  if (y === undefined) return;
  for (const leaf of leavesOf(y)) leaf.dispose();
}

/** Stack a list of states along a new leading axis, leaf by leaf: `[T, ...leafShape]`. */
export function stackStates<Y extends StateTree>(ys: readonly Y[]): Y {
  const n = leavesOf(ys[0]).length;
  const out: tf.Tensor[] = [];
  for (let i = 0; i < n; i++) out.push(tf.stack(ys.map((y) => leavesOf(y)[i])));
  return withLeaves(ys[0], out);
}

/** Number of scalar components over all leaves. */
export function stateSize(y: StateTree): number {
  return leavesOf(y).reduce((acc, leaf) => acc + leaf.size, 0);
}

/** Human-readable structure, e.g. `[2,3]` or `([2,3], [2])`. */
export function describeStructure(y: StateTree): string {
  const shapes = leavesOf(y).map((leaf) => `[${leaf.shape.join(',')}]`);
  return Array.isArray(y) ? `(${shapes.join(', ')})` : shapes[0];
}

/**
 * Check that `y0` is a valid initial state: a float32 tensor or a non-empty array of
 * float32 tensors, none disposed. Throws `TypeError` otherwise.
 */
export function assertValidState(y0: unknown, what = 'y0'): asserts y0 is StateTree {
  const leaves = Array.isArray(y0) ? y0 : [y0];
  if (Array.isArray(y0) && y0.length === 0) throw new TypeError(`${what} must be a tensor or a non-empty array of tensors`);
  for (const [i, leaf] of leaves.entries()) {
    const name = Array.isArray(y0) ? `${what}[${i}]` : what;
    if (!(leaf instanceof tf.Tensor)) throw new TypeError(`${name} must be a tf.Tensor`);
    if (leaf.isDisposed) throw new TypeError(`${name} has been disposed`);
    if (leaf.dtype !== 'float32') throw new TypeError(`${name} must be float32, got ${leaf.dtype}`);
  }
}

/**
 * Check that `value` (what a vector field returned) has exactly the structure and shapes of
 * `like`. Throws `TypeError` naming the field and both structures otherwise.
 */
export function assertSameStructure(value: unknown, like: StateTree, what: string): asserts value is StateTree {
  const ok =
    (Array.isArray(like) ? Array.isArray(value) && value.length === like.length : value instanceof tf.Tensor && !Array.isArray(value)) &&
    leavesOf(value as StateTree).every((leaf, i) => leaf instanceof tf.Tensor && tf.util.arraysEqual(leaf.shape, leavesOf(like)[i].shape));
  if (!ok) {
    const got = Array.isArray(value)
      ? `(${value.map((v) => (v instanceof tf.Tensor ? `[${v.shape.join(',')}]` : typeof v)).join(', ')})`
      : value instanceof tf.Tensor
        ? `[${value.shape.join(',')}]`
        : typeof value;
    throw new TypeError(`${what} returned ${got} for a state of shape ${describeStructure(like)}; shapes must match`);
  }
}

/** `tf.Scalar` (bool) that is true iff every component of every leaf is finite. */
export function allFinite(y: StateTree): tf.Scalar {
  const flags = leavesOf(y).map((leaf) => tf.all(tf.isFinite(leaf)));
  return (flags.length === 1 ? flags[0] : tf.all(tf.stack(flags))) as tf.Scalar;
}
