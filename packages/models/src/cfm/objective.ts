/**
 * Conditional flow matching objectives (docs/maths/flow-matching.md), in nfdm's time convention
 * (t = 0 data, t = 1 prior):
 *
 *   path      x_t = (1 − t) x + (σ_min + (1 − σ_min) t) ε,    x ~ data, ε ~ N(0, I), t ~ U(0, 1),
 *   target    u_t = dx_t/dt = (1 − σ_min) ε − x,
 *   loss      L(θ) = mean over rows and coordinates of (v_θ(x_t, t) − u_t)²
 *             (= E ‖v_θ − u_t‖² / D, the element mean of torchcfm's and flow_matching's losses).
 *
 * Couplings of a batch's data rows x [B, D] with its noise rows ε [B, D]: 'independent' (CFM) as
 * drawn; 'ot' (OT-CFM) ε permuted by the exact optimal assignment π = argmin Σ_i ‖x_i − ε_π(i)‖²
 * of the batch (LAPJV, float64); 'reflow' rows that arrive as given pairs [x | ε] (rectified flow).
 */
import { linearSumAssignment, type Rng } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import type { CFMCoupling, CFMModel } from './model.js';

/** The (x, ε, t) of one loss evaluation: x [B, D], ε [B, D] (already coupled), t [B, 1]. */
export interface CFMBatch {
  x: tf.Tensor2D;
  eps: tf.Tensor2D;
  t: tf.Tensor2D;
}

/** x_t [B, D] and u_t [B, D] of the conditional path for data x, noise ε and times t [B, 1]. */
export function cfmPath(x: tf.Tensor2D, eps: tf.Tensor2D, t: tf.Tensor2D, sigmaMin: number): { xt: tf.Tensor2D; ut: tf.Tensor2D } {
  return tf.tidy(() => {
    const scale = tf.add(sigmaMin, tf.mul(1 - sigmaMin, t));
    const xt = tf.add(tf.mul(tf.sub(1, t), x), tf.mul(scale, eps)) as tf.Tensor2D;
    const ut = tf.sub(tf.mul(1 - sigmaMin, eps), x) as tf.Tensor2D;
    return { xt, ut };
  });
}

/** The flow-matching loss mean((v_θ(x_t, t) − u_t)²) of a coupled batch (a scalar). */
export function cfmLoss(model: CFMModel, batch: CFMBatch): tf.Scalar {
  return tf.tidy(() => {
    const { xt, ut } = cfmPath(batch.x, batch.eps, batch.t, model.sigmaMin);
    return tf.mean(tf.square(tf.sub(model.predict(xt, batch.t), ut))) as tf.Scalar;
  });
}

/** Squared Euclidean costs C_ij = ‖x_i − ε_j‖² [B·B] in float64, row-major. */
export function squaredDistances(x: ArrayLike<number>, eps: ArrayLike<number>, rows: number, dim: number): Float64Array {
  const cost = new Float64Array(rows * rows);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < rows; j++) {
      let s = 0;
      for (let k = 0; k < dim; k++) {
        const d = x[i * dim + k] - eps[j * dim + k];
        s += d * d;
      }
      cost[i * rows + j] = s;
    }
  }
  return cost;
}

/**
 * The exact mini-batch OT coupling: π with Σ_i ‖x_i − ε_π(i)‖² minimal over permutations
 * (`rowToCol[i]` = π(i)), for x, ε [B, D].
 */
export function otPermutation(x: tf.Tensor2D, eps: tf.Tensor2D): Int32Array {
  const [rows, dim] = x.shape;
  if (eps.shape[0] !== rows || eps.shape[1] !== dim) throw new RangeError(`x ${x.shape} and ε ${eps.shape} must have the same shape`);
  return linearSumAssignment(squaredDistances(x.dataSync(), eps.dataSync(), rows, dim)).rowToCol;
}

/** ε [B, D] re-ordered by the OT coupling with x: row i of the result is ε_π(i). */
export function otCouple(x: tf.Tensor2D, eps: tf.Tensor2D): tf.Tensor2D {
  const perm = otPermutation(x, eps);
  return tf.tidy(() => tf.gather(eps, tf.tensor1d(perm, 'int32')) as tf.Tensor2D);
}

/**
 * One training batch from data rows `rows` [B, D] (or [B, 2D] pairs [x | ε] for 'reflow'): draws
 * t ~ U(0, 1) [B] and then (except 'reflow') ε ~ N(0, I) [B, D] from `rng`, and couples them.
 */
export function cfmBatch(rows: tf.Tensor2D, coupling: CFMCoupling, dim: number, rng: Rng): CFMBatch {
  const n = rows.shape[0];
  const t = tf.tensor2d(rng.uniformArray(n), [n, 1]);
  if (coupling === 'reflow') {
    if (rows.shape[1] !== 2 * dim) throw new RangeError(`reflow rows are pairs [x | ε] of ${2 * dim} columns, got ${rows.shape[1]}`);
    const [x, eps] = tf.split(rows, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
    return { x, eps, t };
  }
  if (rows.shape[1] !== dim) throw new RangeError(`data rows have ${rows.shape[1]} columns, the model has dim ${dim}`);
  const drawn = rng.normalTensor([n, dim]) as tf.Tensor2D;
  if (coupling === 'independent') return { x: rows, eps: drawn, t };
  const eps = otCouple(rows, drawn);
  drawn.dispose();
  return { x: rows, eps, t };
}
