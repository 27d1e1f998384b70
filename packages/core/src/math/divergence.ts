/**
 * Divergence of a vector field, $\nabla\cdot v(t, y) = \mathrm{tr}\,\partial v/\partial y$, per sample.
 *
 * - `'exact'`: one reverse pass per dimension. With $e_i$ the $i$-th unit vector (over the
 *   flattened non-batch axes), $\partial v_i/\partial y_i = \big(\nabla_y \sum_b v_{b,i}\big)_{b,i}$,
 *   summed over $i$. Cost: $D$ forward + $D$ reverse passes — for $D$ up to ~16.
 * - `'hutchinson'`: $\nabla\cdot v \approx \varepsilon^T (\partial v/\partial y)\,\varepsilon
 *   = \langle \nabla_y \langle v, \varepsilon\rangle, \varepsilon\rangle$, one reverse pass,
 *   unbiased when $E[\varepsilon\varepsilon^T] = I$ (Rademacher or Gaussian probes; Rademacher
 *   has lower variance). The probe must be drawn once per solve and kept fixed: resampling it
 *   inside an adaptive solve makes the error estimate noise and the NFE explode
 *   (torchdiffeq #120).
 *
 * Both rely on samples being independent (`v[b]` depends on `y[b]` only), as for every
 * per-sample vector field; they use first-order `tf.grad` only, so the field may be any
 * tfjs graph without nested gradients.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../random.js';
import { sumEvent } from './gaussian.js';

/** How to compute the divergence. */
export type DivergenceMethod = 'exact' | 'hutchinson';
/** Distribution of a Hutchinson probe. */
export type ProbeKind = 'rademacher' | 'gaussian';

/** Options of {@link divergence}. */
export interface DivergenceOptions {
  /** Default `'exact'`. */
  method?: DivergenceMethod;
  /** Hutchinson probe $\varepsilon$ with `y`'s shape (required for `'hutchinson'`). */
  probe?: tf.Tensor;
}

/** Value and divergence of a field at one point. */
export interface DivergenceResult {
  /** $v(t, y)$, shape of `y`. */
  value: tf.Tensor;
  /** $\nabla\cdot v(t, y)$ (exact or estimated), shape `[B]`. */
  divergence: tf.Tensor;
}

/**
 * A Hutchinson probe of shape `shape` drawn from `rng`: ±1 with equal probability
 * (`'rademacher'`) or standard normal (`'gaussian'`).
 */
export function makeProbe(shape: readonly number[], kind: ProbeKind, rng: Rng): tf.Tensor {
  if (kind === 'rademacher') return rng.rademacherTensor([...shape]);
  if (kind === 'gaussian') return rng.normalTensor([...shape]);
  throw new TypeError(`unknown probe '${String(kind)}': expected 'rademacher' or 'gaussian'`);
}

/**
 * $v(t, y)$ and its divergence per sample.
 *
 * **Arguments:**
 * - `field`: `(t, y) => v`, `[B, ...] -> [B, ...]`.
 * - `t`: time (JS number).
 * - `y`: point `[B, ...]` (float32).
 * - `options`: {@link DivergenceOptions}.
 *
 * **Returns:** {@link DivergenceResult}; both tensors owned by the caller.
 */
export function divergence(
  field: (t: number, y: tf.Tensor) => tf.Tensor,
  t: number,
  y: tf.Tensor,
  options: DivergenceOptions = {},
): DivergenceResult {
  const method = options.method ?? 'exact';
  if (method !== 'exact' && method !== 'hutchinson') {
    throw new TypeError(`unknown divergence method '${String(method)}': expected 'exact' or 'hutchinson'`);
  }
  if (!(y instanceof tf.Tensor) || y.rank < 1) throw new TypeError('divergence needs y of shape [B, ...]');
  const probe = options.probe;
  if (method === 'hutchinson') {
    if (!(probe instanceof tf.Tensor)) throw new TypeError("divergence 'hutchinson' needs a probe tensor (see makeProbe)");
    if (!tf.util.arraysEqual(probe.shape, y.shape)) {
      throw new TypeError(`probe shape [${probe.shape.join(',')}] must equal y's shape [${y.shape.join(',')}]`);
    }
  }
  // The first forward pass's output is kept as the value, so D passes cost D forwards, not
  // D + 1. It is kept only across the inner gradient scopes: the caller gets a fresh clone
  // that belongs to the caller's scope (a kept tensor would escape every enclosing tidy).
  let kept: tf.Tensor | undefined;
  const evaluate = (yy: tf.Tensor): tf.Tensor => {
    const out = field(t, yy);
    if (!(out instanceof tf.Tensor) || !tf.util.arraysEqual(out.shape, yy.shape)) {
      const got = out instanceof tf.Tensor ? `[${out.shape.join(',')}]` : typeof out;
      throw new TypeError(`the vector field returned ${got} for y of shape [${yy.shape.join(',')}]`);
    }
    // + 0·y keeps a gradient path for fields that ignore y (a constant field has divergence 0).
    const v = tf.add(out, tf.mul(yy, 0));
    if (kept === undefined) kept = tf.keep(tf.clone(v));
    return v;
  };
  try {
    return tf.tidy(() => {
      let div: tf.Tensor;
      if (method === 'hutchinson') {
        const eps = probe as tf.Tensor;
        const g = tf.grad((yy: tf.Tensor) => tf.sum(tf.mul(evaluate(yy), eps)))(y);
        div = sumEvent(tf.mul(g, eps));
      } else {
        const rest = y.shape.slice(1);
        const d = rest.reduce((a, b) => a * b, 1);
        const parts: tf.Tensor[] = [];
        for (let i = 0; i < d; i++) {
          const m = new Float32Array(d);
          m[i] = 1;
          const mask = tf.tensor(m, [1, ...rest], 'float32');
          const g = tf.grad((yy: tf.Tensor) => tf.sum(tf.mul(evaluate(yy), mask)))(y);
          parts.push(sumEvent(tf.mul(g, mask)));
        }
        div = parts.length === 1 ? parts[0] : tf.addN(parts);
      }
      return { value: tf.clone(kept as tf.Tensor), divergence: div };
    });
  } finally {
    (kept as tf.Tensor | undefined)?.dispose();
  }
}
