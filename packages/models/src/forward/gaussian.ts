/**
 * The Gaussian forward-process family and its closed forms.
 *
 * A Gaussian forward process has marginals q(z_t | x) = N(μ(x, t), diag σ(x, t)²), i.e.
 * z_t = F(ε, t, x) = μ(x, t) + σ(x, t) ⊙ ε with ε ~ N(0, I). Everything the objectives and
 * samplers need follows from μ, σ and their partial time derivatives (x held fixed):
 *
 *   ε(z)          = (z − μ) / σ
 *   velocity   f  = ∂F/∂t = μ̇ + σ̇ ⊙ ε                    (conditional ODE)
 *   score      s  = ∇_z log q(z | x) = −ε / σ
 *   reverse drift fB = f − (g²/2) s = f + (g²/2) ε / σ     (reverse SDE, dt < 0)
 *   forward drift fF = f + (g²/2) s                        (forward SDE)
 *   log q(z | x)  = −Σ log σ − (D/2) log 2π − ‖ε‖²/2
 *   ∂²F/∂t²       = μ̈ + σ̈ ⊙ ε                            (NFDM-OT's curvature)
 *
 * Shapes: x, z, ε, μ and their derivatives are [B, D]; σ and its derivatives are [B, D] or
 * [B, 1] (broadcast over the data dimensions, as for the fixed schedules); g² is [B, 1].
 */
import type { JetOrder, Module } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';

/** μ, σ and their partial time derivatives up to the order asked for. */
export interface GaussianParams {
  mu: tf.Tensor;
  sigma: tf.Tensor;
  /** ∂μ/∂t (order ≥ 1). */
  dmu?: tf.Tensor;
  /** ∂σ/∂t (order ≥ 1). */
  dsigma?: tf.Tensor;
  /** ∂²μ/∂t² (order 2). */
  d2mu?: tf.Tensor;
  /** ∂²σ/∂t² (order 2). */
  d2sigma?: tf.Tensor;
}

/** Serializable description of a forward process (its `kind` selects the implementation). */
export interface ForwardProcessConfig {
  kind: string;
  [option: string]: unknown;
}

/**
 * The public extension point: a forward process downstream libraries can implement.
 *
 * Contract (checked by the forward-process contract test):
 * - `params(x, t, order)` returns μ, σ > 0 and, for order ≥ 1 (2), their first (second)
 *   partial t-derivatives, as differentiable tf ops (a loss built from them is trained by
 *   one reverse pass; do not nest tf.grad);
 * - `start`: on [start.t, 1] the process is defined with σ > 0, and
 *   q(z_{start.t} | x) = N(start.alpha · x, start.sigma² I) exactly (this fixes the
 *   reconstruction term of the bound);
 * - `priorStd`: the generative prior is N(0, priorStd² I) at t = 1.
 */
export interface GaussianForwardProcess extends Module {
  readonly kind: string;
  /** Data dimension D. */
  readonly dim: number;
  readonly start: { t: number; alpha: number; sigma: number };
  readonly priorStd: number;
  /** Whether params depend on trainable variables. */
  readonly learned: boolean;
  /**
   * μ, σ and their partial t-derivatives at x [B, D], t [B, 1]. A process conditioned on y
   * (F(ε, t, x, y)) reads `condition` [B, w] (∅ rows for the unconditional process); the others
   * ignore it.
   */
  params(x: tf.Tensor, t: tf.Tensor, order: JetOrder, condition?: tf.Tensor | null): GaussianParams;
  /** Whether params depend on the condition y (default false). */
  readonly conditioned?: boolean;
  toConfig(): ForwardProcessConfig;
}

function need(t: tf.Tensor | undefined, what: string): tf.Tensor {
  if (!t) throw new Error(`the forward process did not return ${what}; ask params() for a higher order`);
  return t;
}

/** z = μ + σ ε. */
export function sampleZ(p: GaussianParams, eps: tf.Tensor): tf.Tensor {
  return tf.add(p.mu, tf.mul(p.sigma, eps));
}

/** ε = (z − μ) / σ. */
export function epsilonOf(p: GaussianParams, z: tf.Tensor): tf.Tensor {
  return tf.div(tf.sub(z, p.mu), p.sigma);
}

/** f = μ̇ + σ̇ ε (from ε; avoids the cancellation in z − μ). */
export function velocityFromEps(p: GaussianParams, eps: tf.Tensor): tf.Tensor {
  return tf.add(need(p.dmu, '∂μ/∂t'), tf.mul(need(p.dsigma, '∂σ/∂t'), eps));
}

/** f(z) = μ̇ + (σ̇ / σ)(z − μ). */
export function velocity(p: GaussianParams, z: tf.Tensor): tf.Tensor {
  return velocityFromEps(p, epsilonOf(p, z));
}

/** s(z) = (μ − z) / σ². */
export function score(p: GaussianParams, z: tf.Tensor): tf.Tensor {
  return tf.div(tf.sub(p.mu, z), tf.square(p.sigma));
}

/** fB = f − (g²/2) s = μ̇ + σ̇ ε + (g²/2) ε/σ, given ε; g2 is [B, 1]. */
export function reverseDriftFromEps(p: GaussianParams, eps: tf.Tensor, g2: tf.Tensor): tf.Tensor {
  return tf.add(velocityFromEps(p, eps), tf.mul(tf.mul(0.5, g2), tf.div(eps, p.sigma)));
}

/** fB(z) = f(z) − (g²/2) s(z). */
export function reverseDrift(p: GaussianParams, z: tf.Tensor, g2: tf.Tensor): tf.Tensor {
  return reverseDriftFromEps(p, epsilonOf(p, z), g2);
}

/** fF(z) = f(z) + (g²/2) s(z). */
export function forwardDrift(p: GaussianParams, z: tf.Tensor, g2: tf.Tensor): tf.Tensor {
  const eps = epsilonOf(p, z);
  return tf.sub(velocityFromEps(p, eps), tf.mul(tf.mul(0.5, g2), tf.div(eps, p.sigma)));
}

/** ∂²F/∂t² = μ̈ + σ̈ ε. */
export function accelerationFromEps(p: GaussianParams, eps: tf.Tensor): tf.Tensor {
  return tf.add(need(p.d2mu, '∂²μ/∂t²'), tf.mul(need(p.d2sigma, '∂²σ/∂t²'), eps));
}

/** Σ_d log σ_d per sample, [B] (σ may be [B, 1], broadcast over D dimensions). */
export function sumLogSigma(p: GaussianParams, dim: number): tf.Tensor {
  const logs = tf.log(p.sigma);
  const summed = tf.sum(logs, 1) as tf.Tensor;
  return p.sigma.shape[1] === dim ? summed : tf.mul(summed, dim);
}

/** log q(z | x) per sample [B]: −Σ log σ − (D/2) log 2π − ‖ε‖²/2. */
export function logQ(p: GaussianParams, z: tf.Tensor): tf.Tensor {
  const dim = p.mu.shape[1] as number;
  const eps = epsilonOf(p, z);
  return tf.sub(tf.sub(tf.neg(sumLogSigma(p, dim)), 0.5 * dim * Math.log(2 * Math.PI)), tf.mul(0.5, tf.sum(tf.square(eps), 1)));
}

/** KL(N(μ, σ²) ‖ N(0, s² I)) per sample [B] (s = prior std). */
export function klToPrior(p: GaussianParams, priorStd = 1): tf.Tensor {
  const s2 = priorStd * priorStd;
  const sigma2 = tf.square(p.sigma);
  const perDim = tf.sub(tf.div(tf.add(tf.square(p.mu), sigma2), s2), tf.add(1, tf.log(tf.div(sigma2, s2))));
  // μ² is [B, D], so perDim is [B, D] even when σ is [B, 1].
  return tf.mul(0.5, tf.sum(perDim, 1));
}
