/**
 * Classifier-free guidance for conditional bridges (docs/maths/bridges.md#conditions-and-guidance).
 *
 * A conditional bridge predicts the target from (z, t, the source x1, the condition y). Guidance
 * extrapolates that prediction away from the unconditional one, the source held fixed:
 *
 *   x̂_w(z, t, x1, y) = (1 + w) x̂_θ(z, t, x1, y) − w x̂_θ(z, t, x1, ∅),
 *
 * and plugs x̂_w into the drifts of the two-sided process at the row's condition (F(·, x̂_w, x1, y)
 * when the process is conditioned on y, else F(·, x̂_w, x1)):
 *
 *   probability-flow velocity  f_w  = μ̇(x̂_w, x1, t, y) + (σ̇/σ)(x̂_w, x1, t, y) (z − μ(x̂_w, x1, t, y)),
 *   reverse-SDE drift          fB_w = f_w + (g²/2) (z − μ(x̂_w, x1, t, y)) / σ²(x̂_w, x1, t, y).
 *
 * Where the process is affine in x̂ (e.g. m̄ = l̄ = 0: μ = (1 − t) x̂ + t x1, σ = δ) both drifts are
 * affine in x̂, so f_w and fB_w are the (1 + w, −w) combinations of the conditional and the
 * unconditional drifts. w = 0 is the conditional bridge (one predictor call); otherwise both
 * predictions come from ONE call on 2B rows [z; z], [x1; x1] with conditions [y; ∅].
 * Shapes: z, x1 [B, D], t [B, 1], y [B, w_y] → [B, D].
 */
import { type ConditionSpec, nullCondition } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { reverseDrift, velocity } from '../forward/gaussian.js';
import type { Volatility } from '../volatility.js';
import type { BridgePredictor, TwoSidedProcess } from './process.js';

/** What bridge guidance needs of a model (a {@link BridgeModel} qualifies). */
export interface BridgeGuidanceParts {
  process: TwoSidedProcess;
  predictor: Pick<BridgePredictor, 'predict'>;
  volatility: Volatility;
  /** The condition the predictor takes (defines ∅); null for an unconditional bridge. */
  condition: { spec: ConditionSpec } | null;
}

type Cond = tf.Tensor | null | undefined;

/** x̂_w = (1 + w) x̂(z, t, x1, y) − w x̂(z, t, x1, ∅), [B, D]; x̂(z, t, x1, y) when w = 0. */
export function guidedBridgePrediction(
  parts: BridgeGuidanceParts,
  z: tf.Tensor,
  t: tf.Tensor,
  x1: tf.Tensor,
  y: Cond,
  w: number,
): tf.Tensor {
  const { predictor, condition } = parts;
  if (w === 0) return predictor.predict(z, t, x1, y);
  if (!condition || !y) throw new RangeError('guidance needs a conditional bridge (a "condition" section) and the conditions y');
  if (!Number.isFinite(w)) throw new RangeError(`the guidance weight must be a finite number, got ${w}`);
  const B = z.shape[0] as number;
  const both = predictor.predict(
    tf.concat([z, z], 0),
    tf.concat([t, t], 0),
    tf.concat([x1, x1], 0),
    tf.concat([y, nullCondition(condition.spec, B)], 0),
  );
  const [cond, uncond] = tf.split(both, 2, 0);
  return tf.sub(tf.mul(1 + w, cond), tf.mul(w, uncond));
}

/** The guided probability-flow velocity f(z, t, x̂_w, x1) of the process at y, [B, D]. */
export function guidedBridgeVelocity(parts: BridgeGuidanceParts, z: tf.Tensor, t: tf.Tensor, x1: tf.Tensor, y: Cond, w: number): tf.Tensor {
  const xhat = guidedBridgePrediction(parts, z, t, x1, y, w);
  return velocity(parts.process.params(xhat, x1, t, 1, y), z);
}

/** The guided reverse-SDE drift fB(z, t, x̂_w, x1) = f − (g²/2) s of the process at y, [B, D]. */
export function guidedBridgeReverseDrift(
  parts: BridgeGuidanceParts,
  z: tf.Tensor,
  t: tf.Tensor,
  x1: tf.Tensor,
  y: Cond,
  w: number,
): tf.Tensor {
  const xhat = guidedBridgePrediction(parts, z, t, x1, y, w);
  return reverseDrift(parts.process.params(xhat, x1, t, 1, y), z, parts.volatility.g2(t));
}
