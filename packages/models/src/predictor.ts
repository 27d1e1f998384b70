/**
 * The data predictor x̂_θ(z, t) of the reverse process (nfdm-math §1.2):
 *
 *   x̂_θ(z, t) = (1 − t) z + (t + c) · NN_θ([z, e(t)]),   c = 0.01 by default,
 *
 * so x̂ ≈ z near t = 0, which keeps the 1/σ² terms of the objective bounded. Shapes: z [B, D],
 * t [B, 1] → [B, D]. The reverse drift plugs x̂ into the conditional reverse drift with x̂
 * held fixed (partials in t only).
 */
import { type ActivationName, collectParameters, type InitScheme, type Module, type NamedVariables, type Rng, TimeMLP } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';

/** What the bound and the samplers need of a predictor: x̂(z, t) for z [B, D], t [B, 1]. */
export interface DataPredictor extends Module {
  readonly dim: number;
  predict(z: tf.Tensor, t: tf.Tensor): tf.Tensor;
}

export interface PredictorOptions {
  dim: number;
  hidden?: number[];
  activation?: ActivationName;
  init?: InitScheme;
  /** The offset c in (t + c) (default 0.01). */
  offset?: number;
  rng?: Rng | number;
}

export class Predictor implements DataPredictor {
  readonly dim: number;
  readonly offset: number;
  readonly net: TimeMLP;

  constructor(options: PredictorOptions) {
    this.dim = options.dim;
    this.offset = options.offset ?? 0.01;
    this.net = new TimeMLP({
      dataDim: options.dim,
      outDim: options.dim,
      hidden: options.hidden ?? [64, 64, 64, 64],
      activation: options.activation ?? 'selu',
      init: options.init,
      rng: options.rng,
    });
  }

  /** x̂(z, t), [B, D]. */
  predict(z: tf.Tensor, t: tf.Tensor): tf.Tensor {
    const nn = this.net.apply(z as tf.Tensor2D, t as tf.Tensor2D);
    return tf.add(tf.mul(tf.sub(1, t), z), tf.mul(tf.add(t, this.offset), nn)) as tf.Tensor;
  }

  toConfig() {
    const o = this.net.options;
    return { hidden: o.hidden, activation: o.activation ?? 'selu', offset: this.offset };
  }

  parameters(): NamedVariables {
    return collectParameters({ net: this.net });
  }

  dispose(): void {
    this.net.dispose();
  }
}
