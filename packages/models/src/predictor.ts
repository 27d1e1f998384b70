/**
 * The data predictor x̂_θ(z, t) of the reverse process (docs/maths/objectives.md#reverse-process-and-predictor):
 *
 *   'data' (default)  x̂_θ(z, t) = (1 − t) z + (t + c) · NN_θ([z, e(t)]),   c = 0.01 by default,
 *
 * so x̂ ≈ z near t = 0, which keeps the 1/σ² terms of the objective bounded; or, for fixed
 * schedules z = α_t x + σ_t ε,
 *
 *   'eps'             x̂_θ(z, t) = (z − σ_t · NN_θ([z, e(t)])) / α_t   (NN predicts ε),
 *
 * the standard parametrisation of VP / sub-VP / VE models: x − x̂ = (σ_t/α_t)(NN − ε), so the
 * bound's diffusion term is a λ′-weighted ε error and stays well conditioned where σ_t ≪ t
 * (sub-VP has σ_t ≈ β_min t near 0, where the 'data' form needs NN exact to O(σ_t²)). It needs
 * α_t > 0 on the whole time range (not fm-ot or cosine, whose α_1 = 0). Shapes: z [B, D],
 * t [B, 1] → [B, D]. The reverse drift plugs x̂ into the conditional reverse drift with x̂
 * held fixed (partials in t only).
 *
 * Conditional models: x̂_θ(z, t, y) with the condition y [B, w] an input of NN (network.ts); the
 * unconditional prediction x̂_θ(z, t, ∅) is the same network at the null condition ∅.
 */
import {
  type ActivationName,
  collectParameters,
  type InitScheme,
  type Module,
  type NamedVariables,
  type Rng,
  setTraining,
  type TimeNetwork,
} from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import type { Schedule } from './forward/schedules.js';
import {
  createTimeNetwork,
  type MlpSettings,
  mlpSettings,
  type NetworkCondition,
  networkSection,
  type UNetNetworkConfig,
} from './network.js';

export type PredictorParametrization = 'data' | 'eps';

/**
 * What the bound and the samplers need of a predictor: x̂(z, t) for z [B, D], t [B, 1], or
 * x̂(z, t, y) with a condition y [B, w] for a conditional one (y = ∅ for the unconditional model).
 */
export interface DataPredictor extends Module {
  readonly dim: number;
  predict(z: tf.Tensor, t: tf.Tensor, condition?: tf.Tensor | null): tf.Tensor;
}

export interface PredictorOptions {
  dim: number;
  hidden?: number[];
  activation?: ActivationName;
  init?: InitScheme;
  /** The offset c in (t + c) (default 0.01; 'data' only). */
  offset?: number;
  /** 'data' (default) or 'eps' (needs `schedule`). */
  parametrization?: PredictorParametrization;
  /** The fixed schedule (α_t, σ_t) of an 'eps' predictor. */
  schedule?: Schedule;
  /** A U-Net instead of the MLP (images; see network.ts). */
  network?: UNetNetworkConfig;
  /** A condition input y: x̂_θ(z, t, y) (default none). */
  condition?: NetworkCondition | null;
  rng?: Rng | number;
}

export class Predictor implements DataPredictor {
  readonly dim: number;
  readonly offset: number;
  readonly parametrization: PredictorParametrization;
  readonly schedule: Schedule | null;
  readonly net: TimeNetwork;
  /** The MLP settings (kept in the config also when a U-Net is used). */
  readonly mlp: MlpSettings;
  /** The condition input (null: an unconditional predictor). */
  readonly condition: NetworkCondition | null;

  constructor(options: PredictorOptions) {
    this.dim = options.dim;
    this.offset = options.offset ?? 0.01;
    this.parametrization = options.parametrization ?? 'data';
    if (this.parametrization !== 'data' && this.parametrization !== 'eps')
      throw new RangeError(`predictor parametrization must be 'data' or 'eps', got ${JSON.stringify(this.parametrization)}`);
    this.schedule = options.schedule ?? null;
    if (this.parametrization === 'eps' && !this.schedule) throw new RangeError("an 'eps' predictor needs the fixed schedule (α_t, σ_t)");
    this.mlp = mlpSettings(options, [64, 64, 64, 64]);
    this.condition = options.condition ?? null;
    this.net = createTimeNetwork({
      dataDim: options.dim,
      maps: 1,
      ...this.mlp,
      network: options.network,
      condition: options.condition,
      rng: options.rng,
    });
  }

  /** x̂(z, t) (x̂(z, t, y) for a conditional predictor, y [B, w]), [B, D]. */
  predict(z: tf.Tensor, t: tf.Tensor, condition?: tf.Tensor | null): tf.Tensor {
    const nn = this.net.apply(z as tf.Tensor2D, t as tf.Tensor2D, condition as tf.Tensor2D | null | undefined);
    if (this.parametrization === 'eps') {
      const { alpha, sigma } = (this.schedule as Schedule).at(t, 0);
      return tf.div(tf.sub(z, tf.mul(sigma, nn)), alpha) as tf.Tensor;
    }
    return tf.add(tf.mul(tf.sub(1, t), z), tf.mul(tf.add(t, this.offset), nn)) as tf.Tensor;
  }

  toConfig() {
    return {
      hidden: this.mlp.hidden,
      activation: this.mlp.activation,
      offset: this.offset,
      parametrization: this.parametrization,
      ...networkSection(this.net),
    };
  }

  parameters(): NamedVariables {
    return collectParameters({ net: this.net });
  }

  /** Training mode (a U-Net's dropout masks from `rng`) or eval mode (null, the default). */
  setTraining(rng: Rng | null): void {
    setTraining(this.net, rng);
  }

  dispose(): void {
    this.net.dispose();
  }
}
