/**
 * A velocity-parametrised flow-matching model (docs/maths/flow-matching.md): one network
 * v_θ(z, t) regresses the velocity of the probability-flow ODE dz/dt = v_θ(z, t) directly, in
 * nfdm's time convention (t = 0 data, t = 1 prior N(0, I)).
 *
 * The network is a TimeMLP NN([z, t]) or, for images, a TimeUNet (network.ts); shapes z [B, D],
 * t [B, 1] → v [B, D]. The model also remembers how it is trained: its `coupling` of data and
 * noise ('independent': CFM, 'ot': OT-CFM, 'reflow': given pairs, rectified flow's reflow) and
 * σ_min of the conditional path.
 */
import {
  type ActivationName,
  collectParameters,
  type InitScheme,
  type Module,
  type NamedVariables,
  nativeKernelsStatus,
  type Rng,
  setTraining,
  type TimeNetwork,
} from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { createTimeNetwork, imageEvalBatch, imageTrainBatch, type MlpSettings, mlpSettings, type UNetNetworkConfig } from '../network.js';

/** How a training batch pairs data rows with noise rows. */
export type CFMCoupling = 'independent' | 'ot' | 'reflow';

export const CFM_COUPLINGS: readonly CFMCoupling[] = ['independent', 'ot', 'reflow'];

export interface CFMModelOptions {
  dim: number;
  /** Default 'independent'. */
  coupling?: CFMCoupling;
  /** σ_min ∈ [0, 1) of the path x_t = (1 − t) x + (σ_min + (1 − σ_min) t) ε (default 0). */
  sigmaMin?: number;
  hidden?: number[];
  activation?: ActivationName;
  init?: InitScheme;
  /** A U-Net instead of the MLP (images). */
  network?: UNetNetworkConfig;
  rng?: Rng | number;
  /** A given velocity network instead of a new one (e.g. an analytic field in tests). */
  net?: TimeNetwork;
}

export class CFMModel implements Module {
  readonly dim: number;
  readonly coupling: CFMCoupling;
  readonly sigmaMin: number;
  readonly net: TimeNetwork;
  /** The MLP settings (kept in the config also when a U-Net is used). */
  readonly mlp: MlpSettings;

  constructor(options: CFMModelOptions) {
    if (!Number.isInteger(options.dim) || options.dim < 1) throw new RangeError(`dim must be a positive integer, got ${options.dim}`);
    this.dim = options.dim;
    this.coupling = options.coupling ?? 'independent';
    if (!CFM_COUPLINGS.includes(this.coupling))
      throw new RangeError(`coupling must be one of ${CFM_COUPLINGS.join(', ')}, got ${JSON.stringify(this.coupling)}`);
    this.sigmaMin = options.sigmaMin ?? 0;
    if (!(this.sigmaMin >= 0 && this.sigmaMin < 1)) throw new RangeError(`sigmaMin must lie in [0, 1), got ${this.sigmaMin}`);
    this.mlp = mlpSettings(options, [64, 64, 64, 64]);
    this.net = options.net ?? createTimeNetwork({ dataDim: this.dim, maps: 1, ...this.mlp, network: options.network, rng: options.rng });
  }

  /** Columns of a training row: D, or 2D ([x | ε]) for a model trained on reflow pairs. */
  get rowDim(): number {
    return this.coupling === 'reflow' ? 2 * this.dim : this.dim;
  }

  /** v_θ(z, t) for z [B, D] and t [B, 1] (or [1, 1] for one time), [B, D]. */
  predict(z: tf.Tensor2D, t: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const tt = t.shape[0] === z.shape[0] ? t : (tf.broadcastTo(t, [z.shape[0], 1]) as tf.Tensor2D);
      return this.net.apply(z, tt);
    });
  }

  /** The ODE's velocity v_θ(z, t) at one time t for every row of z [B, D]. */
  velocity(z: tf.Tensor2D, t: number): tf.Tensor2D {
    return tf.tidy(() => this.net.apply(z, tf.fill([z.shape[0], 1], t) as tf.Tensor2D));
  }

  /** Rows per evaluation batch for U-Net models (network.ts), undefined for MLPs. */
  get evalBatch(): number | undefined {
    return imageEvalBatch([this.net]);
  }

  /** Rows per training micro-batch for U-Net models (network.ts), undefined for MLPs. */
  get trainBatch(): number | undefined {
    const status = nativeKernelsStatus();
    return imageTrainBatch([this.net], status.conv2d && status.groupNorm);
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
