/**
 * Gaussian log-densities, per sample: inputs `[B, ...]`, outputs `[B]` (nats), summed over
 * every non-batch axis.
 *
 * - {@link standardNormalLogProb}: $\log N(z; 0, I) = -\tfrac12\lVert z\rVert^2 - \tfrac D2 \log 2\pi$.
 * - {@link normalLogProb}: diagonal $N(\mu, \mathrm{diag}(\sigma^2))$.
 * - {@link mvnLogProb}: full-covariance $N(\mu, \Sigma)$ for `[B, D]` inputs, with the
 *   Cholesky factor computed in float64 on the JS side (for closed-form checks of likelihood
 *   code on Gaussian data).
 */
import * as tf from '@tensorflow/tfjs';

const LOG_2PI = Math.log(2 * Math.PI);

function eventSize(x: tf.Tensor): number {
  if (x.rank < 1) throw new TypeError('log-densities need a batch axis: expected a tensor of shape [B, ...]');
  return x.shape.slice(1).reduce((a, b) => a * b, 1);
}

/** Sum over every axis but the first (`[B, ...] -> [B]`). */
export function sumEvent(x: tf.Tensor): tf.Tensor {
  if (x.rank <= 1) return tf.clone(x);
  return tf.sum(
    x,
    Array.from({ length: x.rank - 1 }, (_, i) => i + 1),
  );
}

/**
 * $\log N(z; 0, I)$ per sample.
 *
 * **Arguments:** `z` — `[B, ...]`. **Returns:** `[B]`.
 */
export function standardNormalLogProb(z: tf.Tensor): tf.Tensor {
  const d = eventSize(z);
  return tf.tidy(() => tf.sub(tf.mul(sumEvent(tf.square(z)), -0.5), 0.5 * d * LOG_2PI));
}

/**
 * $\log N(x; \mu, \mathrm{diag}(\sigma^2))$ per sample.
 *
 * **Arguments:** `x` — `[B, ...]`; `mean`, `std` — numbers or tensors broadcastable to `x`
 * (`std > 0`). **Returns:** `[B]`.
 */
export function normalLogProb(x: tf.Tensor, mean: tf.Tensor | number, std: tf.Tensor | number): tf.Tensor {
  eventSize(x);
  return tf.tidy(() => {
    const s = tf.broadcastTo(typeof std === 'number' ? tf.scalar(std) : std, x.shape);
    const u = tf.div(tf.sub(x, mean), s);
    const perComponent = tf.add(tf.add(tf.mul(tf.square(u), 0.5), tf.log(s)), 0.5 * LOG_2PI);
    return tf.neg(sumEvent(perComponent));
  });
}

/**
 * Lower-triangular Cholesky factor $L$ of a symmetric positive-definite matrix, $A = LL^T$,
 * in float64. Throws `RangeError` if `a` is not (numerically) positive definite.
 */
export function cholesky(a: readonly (readonly number[])[]): number[][] {
  const n = a.length;
  if (a.some((row) => row.length !== n)) throw new TypeError('cholesky needs a square matrix');
  const l = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i][j];
      for (let k = 0; k < j; k++) s -= l[i][k] * l[j][k];
      if (i === j) {
        if (!(s > 0)) throw new RangeError('covariance is not positive definite');
        l[i][i] = Math.sqrt(s);
      } else l[i][j] = s / l[j][j];
    }
  }
  return l;
}

/** Inverse of a lower-triangular matrix (float64, forward substitution). */
function invertLower(l: readonly (readonly number[])[]): number[][] {
  const n = l.length;
  const inv = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let j = 0; j < n; j++) {
    inv[j][j] = 1 / l[j][j];
    for (let i = j + 1; i < n; i++) {
      let s = 0;
      for (let k = j; k < i; k++) s += l[i][k] * inv[k][j];
      inv[i][j] = -s / l[i][i];
    }
  }
  return inv;
}

/**
 * $\log N(x; \mu, \Sigma) = -\tfrac12 \lVert L^{-1}(x - \mu)\rVert^2 - \sum_i \log L_{ii} - \tfrac D2 \log 2\pi$
 * with $\Sigma = LL^T$.
 *
 * **Arguments:** `x` — `[B, D]`; `mean` — length `D`; `cov` — `D×D` symmetric positive
 * definite (JS numbers). **Returns:** `[B]`.
 */
export function mvnLogProb(x: tf.Tensor, mean: readonly number[], cov: readonly (readonly number[])[]): tf.Tensor {
  if (x.rank !== 2) throw new TypeError(`mvnLogProb expects x of shape [B, D], got [${x.shape.join(',')}]`);
  const d = x.shape[1];
  if (mean.length !== d || cov.length !== d) throw new TypeError(`mean and cov must have dimension ${d}`);
  const l = cholesky(cov);
  const linvT = invertLower(l).map((_, i, m) => m.map((row) => row[i])); // (L^{-1})^T
  const halfLogDet = l.reduce((acc, row, i) => acc + Math.log(row[i]), 0);
  return tf.tidy(() => {
    const u = tf.matMul(tf.sub(x, tf.tensor1d(mean as number[])), tf.tensor2d(linvT));
    return tf.sub(tf.mul(tf.sum(tf.square(u), 1), -0.5), halfLogDet + 0.5 * d * LOG_2PI);
  });
}
