/**
 * NFBM: a learned Gaussian forward process conditioned on both ends (docs/maths/bridges.md#two-sided-forward-process), x0 the
 * target (t = 0) and x1 the source (t = 1). One network NN_φ([x0, x1, t]) (a TimeMLP with
 * dataDim 2D) outputs 2D channels (m̄, l̄), and
 *
 *   μ(x0, x1, t)     = (1 − t) x0 + t x1 + t(1 − t) m̄,
 *   σ(x0, x1, t)     = δ · exp(t(1 − t) l̄)          (log σ = log δ + t(1 − t) l̄),
 *
 * so q(z_0 | x0, x1) = N(x0, δ² I) and q(z_1 | x0, x1) = N(x1, δ² I) exactly (the factor
 * t(1 − t) is exactly 0 in float32 at t ∈ {0, 1}, and δ · exp(0) = δ). With m̄′, l̄′ (m̄″, l̄″)
 * the partial t-derivatives from the TimeMLP jet:
 *
 *   μ̇ = x1 − x0 + (1 − 2t) m̄ + t(1 − t) m̄′,     μ̈ = −2m̄ + 2(1 − 2t) m̄′ + t(1 − t) m̄″,
 *   l̇ = (1 − 2t) l̄ + t(1 − t) l̄′,                 l̈ = −2l̄ + 2(1 − 2t) l̄′ + t(1 − t) l̄″,
 *   σ̇ = σ l̇,                                      σ̈ = σ (l̈ + l̇²).
 *
 * The result is a {@link GaussianParams}, so every closed form of forward/gaussian.ts
 * (sampleZ, velocity, reverseDrift, …) applies unchanged with (x0, x1) as the condition.
 * Shapes: x0, x1 [B, D], t [B, 1] → μ, σ and derivatives [B, D].
 *
 * Conditioned (`condition` given; config `process.conditioned: true` of a conditional bridge):
 * NN_φ([x0, x1, e(t), emb(y)]) (a U-Net adds emb(y) to its time embedding), so m̄, l̄ and the whole
 * process F(·, x0, x1, y) depend on the condition y [B, w]; emb(y) is constant in t, so the
 * formulas above are unchanged. An unconditioned process ignores y.
 */
import {
  type ActivationName,
  collectParameters,
  type InitScheme,
  type JetOrder,
  type Module,
  type NamedVariables,
  type Rng,
  setTraining,
  type TimeNetwork,
} from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import type { GaussianParams } from '../forward/gaussian.js';
import {
  createTimeNetwork,
  type MlpSettings,
  mlpSettings,
  type NetworkCondition,
  networkSection,
  type UNetNetworkConfig,
} from '../network.js';

export interface BridgeProcessOptions {
  dim: number;
  /** σ at t = 0 and t = 1 (default 0.01). */
  delta?: number;
  hidden?: number[];
  activation?: ActivationName;
  init?: InitScheme;
  /** A U-Net of the two images (x0, x1 as channels) instead of the MLP. */
  network?: UNetNetworkConfig;
  /** A condition input y: F(·, x0, x1, y) (default none: the process does not depend on y). */
  condition?: NetworkCondition | null;
  rng?: Rng | number;
}

/**
 * What a bridge needs of its two-sided process (NFBM's learned {@link BridgeProcess}, the
 * {@link FixedBridgeProcess} baseline): μ, σ and their t-derivatives given both ends, with
 * σ = δ at t = 0 and t = 1. Shapes: x0, x1 [B, D], t [B, 1] → μ [B, D], σ [B, D] or [B, 1].
 */
export interface TwoSidedProcess extends Module {
  readonly kind: string;
  readonly dim: number;
  /** σ at t = 0 and t = 1. */
  readonly delta: number;
  /** Whether μ, σ depend on the condition y. */
  readonly conditioned: boolean;
  /** Its networks (none for a fixed process): what memory budgets of image models look at. */
  readonly networks: readonly unknown[];
  params(x0: tf.Tensor, x1: tf.Tensor, t: tf.Tensor, order: JetOrder, condition?: tf.Tensor | null): GaussianParams;
  toConfig(): Record<string, unknown>;
}

export class BridgeProcess implements TwoSidedProcess {
  readonly kind = 'nfbm';
  readonly dim: number;
  readonly delta: number;
  readonly net: TimeNetwork;
  /** The MLP settings (kept in the config also when a U-Net is used). */
  readonly mlp: MlpSettings;
  /** The condition input of the network (null: the process does not depend on y). */
  readonly condition: NetworkCondition | null;

  constructor(options: BridgeProcessOptions) {
    this.dim = options.dim;
    this.delta = options.delta ?? 0.01;
    if (!(this.delta > 0 && this.delta < 1)) throw new RangeError(`delta must lie in (0, 1), got ${this.delta}`);
    this.mlp = mlpSettings(options, [64, 64, 64]);
    this.condition = options.condition ?? null;
    this.net = createTimeNetwork({
      dataDim: this.dim,
      inMaps: 2,
      maps: 2,
      ...this.mlp,
      network: options.network,
      condition: this.condition,
      rng: options.rng,
    });
  }

  /** Whether μ, σ depend on the condition y. */
  get conditioned(): boolean {
    return this.condition !== null;
  }

  /** The process network NN_φ. */
  get networks(): readonly unknown[] {
    return [this.net];
  }

  /**
   * μ, σ and their partial t-derivatives up to `order`, conditioned on (x0, x1) — and on y [B, w]
   * for a conditioned process (required then; ignored otherwise).
   */
  params(x0: tf.Tensor, x1: tf.Tensor, t: tf.Tensor, order: JetOrder, condition?: tf.Tensor | null): GaussianParams {
    const D = this.dim;
    if (x0.shape[1] !== D || x1.shape[1] !== D)
      throw new RangeError(`BridgeProcess expects x0, x1 [B, ${D}], got [${x0.shape}] and [${x1.shape}]`);
    const input = tf.concat([x0, x1], 1) as tf.Tensor2D;
    const y = this.conditioned ? (condition as tf.Tensor2D | null | undefined) : null;
    const parts = this.net.jet(input, t as tf.Tensor2D, order, y).parts();
    const [m, l] = tf.split(parts[0], [D, D], 1) as tf.Tensor[];
    const one = tf.sub(1, t);
    const tt = tf.mul(t, one);
    const mu = tf.add(tf.add(tf.mul(one, x0), tf.mul(t, x1)), tf.mul(tt, m)) as tf.Tensor;
    const sigma = tf.mul(this.delta, tf.exp(tf.mul(tt, l))) as tf.Tensor;
    if (order === 0) return { mu, sigma };
    const [m1, l1] = tf.split(parts[1], [D, D], 1) as tf.Tensor[];
    const slope = tf.sub(1, tf.mul(2, t));
    const dmu = tf.add(tf.add(tf.sub(x1, x0), tf.mul(slope, m)), tf.mul(tt, m1)) as tf.Tensor;
    const dl = tf.add(tf.mul(slope, l), tf.mul(tt, l1));
    const dsigma = tf.mul(sigma, dl) as tf.Tensor;
    if (order === 1) return { mu, sigma, dmu, dsigma };
    const [m2, l2] = tf.split(parts[2], [D, D], 1) as tf.Tensor[];
    const d2mu = tf.add(tf.add(tf.mul(-2, m), tf.mul(tf.mul(2, slope), m1)), tf.mul(tt, m2)) as tf.Tensor;
    const d2l = tf.add(tf.add(tf.mul(-2, l), tf.mul(tf.mul(2, slope), l1)), tf.mul(tt, l2));
    const d2sigma = tf.mul(sigma, tf.add(d2l, tf.square(dl))) as tf.Tensor;
    return { mu, sigma, dmu, dsigma, d2mu, d2sigma };
  }

  toConfig() {
    return {
      kind: this.kind,
      dim: this.dim,
      delta: this.delta,
      hidden: this.mlp.hidden,
      activation: this.mlp.activation,
      ...networkSection(this.net),
      ...(this.conditioned ? { conditioned: true } : {}),
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

export interface BridgePredictorOptions {
  dim: number;
  hidden?: number[];
  activation?: ActivationName;
  init?: InitScheme;
  /** The offset c in (t + c) (default 0.01). */
  offset?: number;
  /** A U-Net of (z, x1) as channels instead of the MLP. */
  network?: UNetNetworkConfig;
  /** A condition input y: x̂_θ(z, t, x1, y) (default none). */
  condition?: NetworkCondition | null;
  rng?: Rng | number;
}

/**
 * The target predictor of the bridge's reverse process, conditioned on the source only:
 *
 *   x̂0 = x̂_θ(z, t, x1) = (1 − t) z + (t + c) · NN_θ([z, x1, t]),   c = 0.01 by default.
 *
 * Well posed at both ends: at t = 0 it is z + c·NN (≈ z, which keeps the 1/σ² terms of the
 * loss bounded where σ = δ), and at t = 1 it is (1 + c)·NN([z, x1, 1]) — a free function of the
 * source, as it must be since z_1 ≈ x1 carries no information about x0 beyond x1.
 * Shapes: z, x1 [B, D], t [B, 1] → [B, D].
 *
 * Conditional bridges: x̂_θ(z, t, x1, y) = (1 − t) z + (t + c) · NN_θ([z, x1, e(t), emb(y)]) with
 * the condition y [B, w]; the null condition ∅ gives the unconditional x̂_θ(z, t, x1, ∅).
 */
export class BridgePredictor implements Module {
  readonly dim: number;
  readonly offset: number;
  readonly net: TimeNetwork;
  /** The MLP settings (kept in the config also when a U-Net is used). */
  readonly mlp: MlpSettings;
  /** The condition input (null: an unconditional predictor). */
  readonly condition: NetworkCondition | null;

  constructor(options: BridgePredictorOptions) {
    this.dim = options.dim;
    this.offset = options.offset ?? 0.01;
    this.mlp = mlpSettings(options, [64, 64, 64]);
    this.condition = options.condition ?? null;
    this.net = createTimeNetwork({
      dataDim: this.dim,
      inMaps: 2,
      maps: 1,
      ...this.mlp,
      network: options.network,
      condition: this.condition,
      rng: options.rng,
    });
  }

  /** x̂0 [B, D] from z, x1 [B, D], t [B, 1] (and y [B, w] for a conditional predictor). */
  predict(z: tf.Tensor, t: tf.Tensor, x1: tf.Tensor, condition?: tf.Tensor | null): tf.Tensor {
    const nn = this.net.apply(tf.concat([z, x1], 1) as tf.Tensor2D, t as tf.Tensor2D, condition as tf.Tensor2D | null | undefined);
    return tf.add(tf.mul(tf.sub(1, t), z), tf.mul(tf.add(t, this.offset), nn)) as tf.Tensor;
  }

  toConfig() {
    return { hidden: this.mlp.hidden, activation: this.mlp.activation, offset: this.offset, ...networkSection(this.net) };
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
