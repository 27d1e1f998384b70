/**
 * Classifier-free guidance for diffusion models with a learned (or fixed) Gaussian forward process
 * (docs/maths/guidance.md). The generative drift is built from the data prediction x̂, so guidance
 * extrapolates x̂ between the conditional and the unconditional model,
 *
 *   x̂_w(z, t, y) = (1 + w) x̂_θ(z, t, y) − w x̂_θ(z, t, ∅),
 *
 * and plugs x̂_w into the drift of the conditional process (F(·, y) when the forward process
 * depends on y, for μ, σ and their t-derivatives):
 *
 *   probability-flow velocity  f_w  = μ̇(x̂_w, t, y) + (σ̇/σ)(x̂_w, t, y) (z − μ(x̂_w, t, y)),
 *   reverse-SDE drift          fB_w = f_w + (g²/2) (z − μ(x̂_w, t, y)) / σ²(x̂_w, t, y).
 *
 * For a fixed process (μ = α_t x, σ = σ_t) both are affine in x̂, so they equal the usual
 * (1 + w)·(conditional) − w·(unconditional) combination of velocities, drifts, ε-predictions
 * and scores. w = 0 is the conditional model (one predictor call); otherwise both predictions
 * come from ONE call on 2B rows [z; z] with conditions [y; ∅].
 * Shapes: z [B, D], t [B, 1], y [B, w_y] → [B, D].
 */
import { type ConditionSpec, nullCondition } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { type GaussianForwardProcess, reverseDrift, velocity } from './forward/gaussian.js';
import type { DataPredictor } from './predictor.js';
import type { Volatility } from './volatility.js';

/** The conditions y [B, w_y] (absent for an unconditional model, which only takes w = 0). */
type Cond = tf.Tensor | null | undefined;

/** What guidance needs of a conditional model (a conditional {@link DiffusionModel} qualifies). */
export interface GuidanceParts {
  forward: GaussianForwardProcess;
  predictor: DataPredictor;
  /** The condition the predictor takes (defines ∅). */
  condition: { spec: ConditionSpec } | null;
}

/** x̂_w = (1 + w) x̂(z, t, y) − w x̂(z, t, ∅), [B, D]; x̂(z, t, y) when w = 0. */
export function guidedPrediction(parts: GuidanceParts, z: tf.Tensor, t: tf.Tensor, y: Cond, w: number): tf.Tensor {
  const { predictor, condition } = parts;
  if (w === 0) return predictor.predict(z, t, y);
  if (!condition || !y) throw new RangeError('guidance needs a conditional model (a "condition" section) and the conditions y');
  if (!Number.isFinite(w)) throw new RangeError(`the guidance weight must be a finite number, got ${w}`);
  const B = z.shape[0] as number;
  const both = predictor.predict(tf.concat([z, z], 0), tf.concat([t, t], 0), tf.concat([y, nullCondition(condition.spec, B)], 0));
  const [cond, uncond] = tf.split(both, 2, 0);
  return tf.sub(tf.mul(1 + w, cond), tf.mul(w, uncond));
}

/** The guided probability-flow velocity f(z, t, x̂_w) of the conditional process, [B, D]. */
export function guidedVelocity(parts: GuidanceParts, z: tf.Tensor, t: tf.Tensor, y: Cond, w: number): tf.Tensor {
  const xhat = guidedPrediction(parts, z, t, y, w);
  return velocity(parts.forward.params(xhat, t, 1, y), z);
}

/** The guided reverse-SDE drift fB(z, t, x̂_w) = f − (g²/2) s of the conditional process, [B, D]. */
export function guidedReverseDrift(
  parts: GuidanceParts & { volatility: Volatility },
  z: tf.Tensor,
  t: tf.Tensor,
  y: Cond,
  w: number,
): tf.Tensor {
  const xhat = guidedPrediction(parts, z, t, y, w);
  return reverseDrift(parts.forward.params(xhat, t, 1, y), z, parts.volatility.g2(t));
}
