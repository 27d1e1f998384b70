/**
 * The analytic optimal predictor of Gaussian data under a fixed process, shared by the oracle
 * tests (oracle.test.ts, frozen-step.test.ts).
 */

import * as tf from '@tensorflow/tfjs';
import type { Schedule } from '../src/index.js';

/**
 * x̂*(z, t) = m + (α s² / (α² s² + σ²)) ⊙ (z − α m) for x ~ N(m, diag s²) under
 * z_t = α_t x + σ_t ε. Shapes: z [B, D], t [B, 1] → [B, D]. Has the `predict(z, t)` shape of
 * the library's Predictor and no parameters.
 */
export class AnalyticPredictor {
  readonly offset = 0;
  constructor(
    readonly schedule: Schedule,
    readonly mean: number[],
    readonly std: number[],
  ) {}
  get dim(): number {
    return this.mean.length;
  }
  predict(z: tf.Tensor, t: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const { alpha, sigma } = this.schedule.at(t, 0);
      const m = tf.tensor2d([this.mean]);
      const s2 = tf.square(tf.tensor2d([this.std]));
      const gain = tf.div(tf.mul(alpha, s2), tf.add(tf.mul(tf.square(alpha), s2), tf.square(sigma)));
      return tf.add(m, tf.mul(gain, tf.sub(z, tf.mul(alpha, m))));
    });
  }
  toConfig() {
    return { analytic: true };
  }
  parameters() {
    return new Map<string, tf.Variable>();
  }
  dispose(): void {}
}
