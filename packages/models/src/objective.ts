/**
 * The NFDM variational bound (docs/maths/objectives.md#the-nfdm-bound), for any Gaussian forward process:
 *
 *   −log p(x) ≤ L_rec + L_diff + L_prior,
 *   L_diff  = ∫_{t₀}^{1} E_ε [ ‖fB(z_t, t, x) − fB(z_t, t, x̂_θ(z_t, t))‖² / (2 g²(t)) ] dt,
 *   L_rec   = E[−log p(x | z_{t₀})] = (D/2) log(2π σ₀²/α₀²) + D/2   with p(x | z) = N(z/α₀, σ₀²/α₀²),
 *   L_prior = KL(q(z₁ | x) ‖ N(0, s² I)),
 *
 * where q(z_{t₀} | x) = N(α₀ x, σ₀² I) is the process's `start` (t₀ = 0, α₀ = 1, σ₀ = δ for
 * NFDM, so L_rec is a constant and L_prior = 0). L_diff is estimated by Monte Carlo with
 * t ~ U(t₀, 1) (one per sample) and ε ~ N(0, I): per sample, (1 − t₀) ‖ΔfB‖² / (2g²).
 *
 * fB at the true x uses the ε form (μ̇ + σ̇ε + (g²/2)ε/σ), avoiding the cancellation in z − μ;
 * fB at x̂ uses z. Everything is differentiable: one reverse pass trains φ (forward process,
 * volatility) and θ (predictor) jointly.
 *
 * Conditional models: the noise carries the rows' conditions y (after condition dropout), and
 * every term is conditional — q(z_t | x, y) when the forward process depends on y, x̂_θ(z, t, y) —
 * so the bound is that of −log p(x | y) (of −log p(x) in the rows where y = ∅).
 */
import type { Rng } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { type GaussianForwardProcess, klToPrior, reverseDrift, reverseDriftFromEps, sampleZ } from './forward/gaussian.js';
import type { DataPredictor } from './predictor.js';
import type { Volatility } from './volatility.js';

/**
 * The randomness of one Monte Carlo draw of L_diff: t [B, 1] in [t₀, 1], ε [B, D], and for a
 * conditional model the rows' conditions y [B, w] after condition dropout (∅ in the dropped rows).
 */
export interface DiffusionNoise {
  t: tf.Tensor;
  eps: tf.Tensor;
  condition?: tf.Tensor;
}

/** Draw t ~ U(t₀, 1) and ε ~ N(0, I) from a seeded generator. */
export function drawDiffusionNoise(rng: Rng, batch: number, dim: number, tStart: number): DiffusionNoise {
  return { t: rng.uniformTensor([batch, 1], tStart, 1) as tf.Tensor, eps: rng.normalTensor([batch, dim]) as tf.Tensor };
}

/** The pieces of the bound's integrand for one draw (all [B, D] unless noted). */
export interface DiffusionTerms {
  z: tf.Tensor;
  xhat: tf.Tensor;
  /** g², [B, 1]. */
  g2: tf.Tensor;
  fTrue: tf.Tensor;
  fPred: tf.Tensor;
  /** (1 − t₀) ‖fB_true − fB_pred‖² / (2g²), [B]. */
  perSample: tf.Tensor;
}

export interface BoundParts {
  forward: GaussianForwardProcess;
  predictor: DataPredictor;
  volatility: Volatility;
}

/** One Monte Carlo draw of the diffusion term, with its intermediates. */
export function diffusionTerms(parts: BoundParts, x: tf.Tensor, noise: DiffusionNoise): DiffusionTerms {
  const { forward, predictor, volatility } = parts;
  const { t, eps, condition: y } = noise;
  const p = forward.params(x, t, 1, y);
  const z = sampleZ(p, eps);
  const g2 = volatility.g2(t);
  const fTrue = reverseDriftFromEps(p, eps, g2);
  const xhat = predictor.predict(z, t, y);
  const fPred = reverseDrift(forward.params(xhat, t, 1, y), z, g2);
  const weight = 1 - forward.start.t;
  const sq = tf.sum(tf.square(tf.sub(fTrue, fPred)), 1);
  const perSample = tf.mul(weight * 0.5, tf.div(sq, tf.reshape(g2, [-1]))) as tf.Tensor;
  return { z, xhat, g2, fTrue, fPred, perSample };
}

/** The training loss: the batch mean of the diffusion term (the constants do not train). */
export function diffusionLoss(parts: BoundParts, x: tf.Tensor, noise: DiffusionNoise): tf.Scalar {
  return tf.mean(diffusionTerms(parts, x, noise).perSample) as tf.Scalar;
}

/** L_rec = (D/2) log(2π σ₀²/α₀²) + D/2 in nats (a constant of the process). */
export function reconstructionTerm(forward: GaussianForwardProcess): number {
  const { alpha, sigma } = forward.start;
  const D = forward.dim;
  return 0.5 * D * Math.log((2 * Math.PI * sigma * sigma) / (alpha * alpha)) + 0.5 * D;
}

/** L_prior = KL(q(z₁ | x) ‖ N(0, s² I)) per sample, [B] (a process conditioned on y: q(z₁ | x, y), given `condition` [B, w]). */
export function priorTerm(forward: GaussianForwardProcess, x: tf.Tensor, condition?: tf.Tensor): tf.Tensor {
  const ones = tf.ones([x.shape[0], 1]) as tf.Tensor;
  return klToPrior(forward.params(x, ones, 0, condition), forward.priorStd);
}
