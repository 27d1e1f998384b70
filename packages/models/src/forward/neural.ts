/**
 * NFDM's learned Gaussian forward process (docs/maths/forward-processes.md#nfdm-learned-process). One network NN_φ([x, e(t)])
 * outputs 2D channels (m̄, l̄), and
 *
 *   μ(x, t)      = (1 − t) x + t(1 − t) m̄,
 *   log σ(x, t)  = (1 − t) log δ + t(1 − t) l̄,
 *
 * so that μ = x, σ = δ at t = 0 and μ = 0, σ = 1 at t = 1 exactly. With m̄′, l̄′ (m̄″, l̄″)
 * the partial t-derivatives from forward-mode tangents:
 *
 *   μ̇ = −x + (1 − 2t) m̄ + t(1 − t) m̄′,       μ̈ = −2m̄ + 2(1 − 2t) m̄′ + t(1 − t) m̄″,
 *   l̇ = −log δ + (1 − 2t) l̄ + t(1 − t) l̄′,    l̈ = −2l̄ + 2(1 − 2t) l̄′ + t(1 − t) l̄″,
 *   σ̇ = σ l̇,                                  σ̈ = σ (l̈ + l̇²).
 *
 * Conditioned (`condition` given): NN_φ([x, e(t), emb(y)]), so m̄, l̄ and the whole process
 * depend on the condition y (constant in t, so the formulas above are unchanged).
 */
import {
  type ActivationName,
  collectParameters,
  type InitScheme,
  type JetOrder,
  type NamedVariables,
  type Rng,
  setTraining,
  type TimeNetwork,
} from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import {
  createTimeNetwork,
  type MlpSettings,
  mlpSettings,
  type NetworkCondition,
  networkSection,
  type UNetNetworkConfig,
} from '../network.js';
import type { ForwardProcessConfig, GaussianForwardProcess, GaussianParams } from './gaussian.js';

export interface NeuralProcessOptions {
  dim: number;
  /** σ at t = 0 (default 0.01). */
  delta?: number;
  hidden?: number[];
  activation?: ActivationName;
  init?: InitScheme;
  /** A U-Net instead of the MLP (images; see network.ts). */
  network?: UNetNetworkConfig;
  /** Condition the process on y: m̄, l̄ = NN_φ([x, e(t), emb(y)]) (default none). */
  condition?: NetworkCondition | null;
  rng?: Rng | number;
}

export class NeuralGaussianProcess implements GaussianForwardProcess {
  readonly kind = 'nfdm';
  readonly learned = true;
  readonly dim: number;
  readonly delta: number;
  readonly priorStd = 1;
  readonly net: TimeNetwork;
  /** The MLP settings (kept in the config also when a U-Net is used). */
  readonly mlp: MlpSettings;
  /** The condition input of the network (null: the process does not depend on y). */
  readonly condition: NetworkCondition | null;

  constructor(options: NeuralProcessOptions) {
    this.dim = options.dim;
    this.delta = options.delta ?? 0.01;
    if (!(this.delta > 0 && this.delta < 1)) throw new RangeError(`delta must lie in (0, 1), got ${this.delta}`);
    this.mlp = mlpSettings(options, [64, 64, 64, 64]);
    this.condition = options.condition ?? null;
    this.net = createTimeNetwork({
      dataDim: this.dim,
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

  get start() {
    return { t: 0, alpha: 1, sigma: this.delta };
  }

  params(x: tf.Tensor, t: tf.Tensor, order: JetOrder, condition?: tf.Tensor | null): GaussianParams {
    const D = this.dim;
    const logDelta = Math.log(this.delta);
    const y = this.conditioned ? (condition as tf.Tensor2D | null | undefined) : null;
    const parts = this.net.jet(x as tf.Tensor2D, t as tf.Tensor2D, order, y).parts();
    const [m, l] = tf.split(parts[0], [D, D], 1) as tf.Tensor[];
    const one = tf.sub(1, t);
    const tt = tf.mul(t, one);
    const mu = tf.add(tf.mul(one, x), tf.mul(tt, m)) as tf.Tensor;
    const logSigma = tf.add(tf.mul(one, logDelta), tf.mul(tt, l));
    const sigma = tf.exp(logSigma) as tf.Tensor;
    if (order === 0) return { mu, sigma };
    const [m1, l1] = tf.split(parts[1], [D, D], 1) as tf.Tensor[];
    const slope = tf.sub(1, tf.mul(2, t));
    const dmu = tf.add(tf.sub(tf.mul(slope, m), x), tf.mul(tt, m1)) as tf.Tensor;
    const dl = tf.add(tf.sub(tf.mul(slope, l), logDelta), tf.mul(tt, l1));
    const dsigma = tf.mul(sigma, dl) as tf.Tensor;
    if (order === 1) return { mu, sigma, dmu, dsigma };
    const [m2, l2] = tf.split(parts[2], [D, D], 1) as tf.Tensor[];
    const d2mu = tf.add(tf.add(tf.mul(-2, m), tf.mul(tf.mul(2, slope), m1)), tf.mul(tt, m2)) as tf.Tensor;
    const d2l = tf.add(tf.add(tf.mul(-2, l), tf.mul(tf.mul(2, slope), l1)), tf.mul(tt, l2));
    const d2sigma = tf.mul(sigma, tf.add(d2l, tf.square(dl))) as tf.Tensor;
    return { mu, sigma, dmu, dsigma, d2mu, d2sigma };
  }

  toConfig(): ForwardProcessConfig {
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
