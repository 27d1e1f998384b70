/**
 * Per-row (per-sample) finiteness for solves of a batch `[B, ...]`: one diverging sample need
 * not sink the other B − 1. A row is *alive* while all of its values are finite; a row that
 * turns NaN/±Inf is frozen at its last finite value and stays frozen to the end of the solve.
 *
 * Plain tf ops with no `tidy` of their own (callers run them inside one).
 */
import * as tf from '@tensorflow/tfjs';

/** `[B]` bool: row i of `y` (`[B, ...]`) holds only finite values. */
export function rowsFinite(y: tf.Tensor): tf.Tensor {
  const finite = tf.isFinite(y);
  if (y.rank === 1) return finite;
  return tf.all(
    finite,
    Array.from({ length: y.rank - 1 }, (_, k) => k + 1),
  );
}

/** `[B]` → `[B, 1, …, 1]` with the rank of `like`, to broadcast a row mask over the values. */
function asColumn(mask: tf.Tensor, like: tf.Tensor): tf.Tensor {
  return like.rank === 1 ? mask : tf.reshape(mask, [mask.shape[0], ...Array(like.rank - 1).fill(1)]);
}

/** Row i of `next` where `keep[i]`, else row i of `prev` (`keep`: `[B]` bool). */
export function freezeRows(keep: tf.Tensor, next: tf.Tensor, prev: tf.Tensor): tf.Tensor {
  return tf.where(asColumn(keep, next), next, prev);
}

/** Row i of `x` where `keep[i]`, else zeros. */
export function zeroRows(keep: tf.Tensor, x: tf.Tensor): tf.Tensor {
  return tf.where(asColumn(keep, x), x, tf.zerosLike(x));
}

/** A `[B]` bool tensor of `true`. */
export function allAlive(batch: number): tf.Tensor {
  return tf.cast(tf.ones([batch]), 'bool');
}

/** The indices i with `alive[i] == 0` (from the values of a `[B]` alive mask). */
export function deadRows(alive: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < alive.length; i++) if (!alive[i]) out.push(i);
  return out;
}
