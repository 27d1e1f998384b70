/**
 * The NDM forward process (Neural Diffusion Models; docs/maths/ndm.md#process): a fixed noise schedule
 * (α_t, σ_t) applied to a *learned transformation* of the data,
 *
 *   q_φ(z_t | x) = N(α_t F_φ(x, t), σ_t² I),     F_φ(x, t) = (1 − t) x + t F̄_φ(x, t),
 *
 * where F̄_φ = NN_φ([x, e(t)]) is a {@link TimeMLP} (default 4 hidden layers of width 64, SELU),
 * so F(x, 0) = x exactly. With F̄′, F̄″ the network's partial t-derivatives (forward-mode
 * tangents, x held fixed):
 *
 *   F   = x + t (F̄ − x),          ∂F/∂t  = F̄ − x + t F̄′,        ∂²F/∂t² = 2 F̄′ + t F̄″,
 *   μ   = α F,                      μ̇ = α̇ F + α Ḟ,                μ̈ = α̈ F + 2 α̇ Ḟ + α F̈,
 *   σ   = σ_t,                      σ̇ = σ̇_t,                      σ̈ = σ̈_t.
 *
 * Shapes: x [B, D], t [B, 1] → μ and its derivatives [B, D]; σ and its derivatives [B, 1]
 * (broadcast over the data dimensions).
 *
 * Boundary requirement. The bound's reconstruction term assumes q(z_{t₀} | x) = N(α₀ x, σ₀² I)
 * at the process start t₀ = `schedule.tMin`. For NDM, μ(x, t₀) = α₀ F(x, t₀), which equals
 * α₀ x only at t₀ = 0 (where F(x, 0) = x). The schedule must therefore be defined down to
 * t = 0 with σ₀ > 0 — `linear-logsnr` (the default, λ 10 → −10, α² = sigmoid(λ)), `ve` or
 * `fm-ot`; schedules with tMin > 0 (`vp`, `subvp`, `cosine`, where σ₀ = 0) are rejected.
 *
 * Continuous time (docs/maths/ndm.md#continuous-time): NDM is exactly NFDM with this process and the matched volatility
 * g² = −σ_t² λ′(t), λ = log(α_t²/σ_t²) ({@link NDMProcess.matchedVolatility}); the discrete-time
 * objective and ancestral sampler are in `ndm-discrete.ts`.
 *
 * Conditioned (`condition` given): F̄_φ = NN_φ([x, e(t), emb(y)]), so F(x, t, y) and the process
 * depend on the condition y (constant in t: the derivatives above are unchanged).
 *
 * Note that NDM does not reach the prior exactly: q(z₁ | x) = N(α₁ F(x, 1), σ₁² I) with α₁
 * small but non-zero for VP-type schedules, so the prior term KL(q(z₁|x) ‖ N(0, s² I)) is
 * small but not zero (and depends on φ).
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
import { MatchedVolatility } from '../volatility.js';
import type { ForwardProcessConfig, GaussianForwardProcess, GaussianParams } from './gaussian.js';
import { createSchedule, type Schedule, type ScheduleConfig } from './schedules.js';

/** The default NDM schedule: VP with linear log-SNR from 10 to −10 (α² = sigmoid(λ)). */
export const NDM_DEFAULT_SCHEDULE: ScheduleConfig = Object.freeze({ name: 'linear-logsnr', logSnrMax: 10, logSnrMin: -10 });

export interface NDMProcessOptions {
  /** Data dimension D. */
  dim: number;
  /** The fixed schedule (α_t, σ_t); must start at tMin = 0. Default {@link NDM_DEFAULT_SCHEDULE}. */
  schedule?: Schedule | ScheduleConfig;
  /** Hidden widths of F̄_φ (default [64, 64, 64, 64]). */
  hidden?: number[];
  /** Activation of F̄_φ (default 'selu'). */
  activation?: ActivationName;
  init?: InitScheme;
  /** A U-Net instead of the MLP (images; see network.ts). */
  network?: UNetNetworkConfig;
  /** Condition F̄ on y: F̄_φ = NN_φ([x, e(t), emb(y)]) (default none). */
  condition?: NetworkCondition | null;
  rng?: Rng | number;
}

/** Serialised NDM process: `{ kind: 'ndm', dim, schedule, hidden, activation, init }`. */
export interface NDMProcessConfig extends ForwardProcessConfig {
  kind: 'ndm';
  dim: number;
  schedule: ScheduleConfig;
  hidden: number[];
  activation: ActivationName;
  init: InitScheme;
  network?: UNetNetworkConfig;
  /** Written (true) only for a process conditioned on y. */
  conditioned?: boolean;
}

/** F_φ(x, t) and its partial t-derivatives up to the order asked for, each [B, D]. */
export interface NDMTransform {
  F: tf.Tensor;
  /** ∂F/∂t (order ≥ 1). */
  dF?: tf.Tensor;
  /** ∂²F/∂t² (order 2). */
  d2F?: tf.Tensor;
}

export class NDMProcess implements GaussianForwardProcess {
  readonly kind = 'ndm';
  readonly learned = true;
  readonly dim: number;
  readonly schedule: Schedule;
  /** F̄_φ = NN_φ([x, e(t)]): R^{D+1} → R^D. */
  readonly net: TimeNetwork;
  /** The MLP settings (kept in the config also when a U-Net is used). */
  readonly mlp: MlpSettings;
  /** The condition input of F̄ (null: the process does not depend on y). */
  readonly condition: NetworkCondition | null;

  constructor(options: NDMProcessOptions) {
    if (!Number.isInteger(options.dim) || options.dim <= 0) throw new RangeError(`NDM dim must be a positive integer, got ${options.dim}`);
    this.dim = options.dim;
    const schedule = options.schedule ?? NDM_DEFAULT_SCHEDULE;
    this.schedule = 'at' in schedule ? schedule : createSchedule(schedule);
    if (this.schedule.tMin !== 0) {
      throw new RangeError(
        `NDM needs a schedule that starts at t = 0 (F(x, 0) = x makes q(z₀ | x) = N(α₀ x, σ₀²), which the reconstruction term assumes); ` +
          `schedule '${this.schedule.name}' has tMin = ${this.schedule.tMin}. Use 'linear-logsnr', 've' or 'fm-ot'.`,
      );
    }
    const { alpha, sigma } = this.schedule.atNumber(0);
    if (!(sigma > 0 && alpha > 0))
      throw new RangeError(`NDM needs α₀ > 0 and σ₀ > 0, schedule '${this.schedule.name}' gives α₀ = ${alpha}, σ₀ = ${sigma}`);
    this.mlp = mlpSettings(options, [64, 64, 64, 64]);
    this.condition = options.condition ?? null;
    this.net = createTimeNetwork({
      dataDim: this.dim,
      maps: 1,
      ...this.mlp,
      network: options.network,
      condition: this.condition,
      rng: options.rng,
    });
  }

  /** Whether F (so μ) depends on the condition y. */
  get conditioned(): boolean {
    return this.condition !== null;
  }

  /** Rebuild a process from {@link NDMProcess.toConfig} (weights are initialised from `rng`). */
  static fromConfig(config: ForwardProcessConfig, rng?: Rng | number): NDMProcess {
    if (config.kind !== 'ndm') throw new RangeError(`expected a forward-process config of kind 'ndm', got '${config.kind}'`);
    const c = config as Partial<NDMProcessConfig>;
    if (typeof c.dim !== 'number') throw new TypeError(`NDM config needs a numeric 'dim'`);
    return new NDMProcess({
      dim: c.dim,
      schedule: c.schedule,
      hidden: c.hidden,
      activation: c.activation,
      init: c.init,
      network: c.network,
      rng,
    });
  }

  /** t₀ = 0: q(z₀ | x) = N(α₀ x, σ₀² I) exactly because F(x, 0) = x. */
  get start() {
    return { t: 0, ...this.schedule.atNumber(0) };
  }

  get priorStd(): number {
    return this.schedule.priorStd;
  }

  /** The matched volatility g² = −σ_t² λ′(t) that makes NFDM's bound the continuous-time NDM loss. */
  matchedVolatility(): MatchedVolatility {
    return new MatchedVolatility(this.schedule);
  }

  private checkInputs(x: tf.Tensor, t: tf.Tensor): void {
    if (x.rank !== 2 || x.shape[1] !== this.dim) throw new RangeError(`NDM expects x of shape [B, ${this.dim}], got [${x.shape}]`);
    if (t.rank !== 2 || t.shape[1] !== 1 || t.shape[0] !== x.shape[0]) {
      throw new RangeError(`NDM expects t of shape [${x.shape[0]}, 1], got [${t.shape}]`);
    }
  }

  /**
   * F_φ(x, t) = (1 − t) x + t F̄_φ(x, t) and its partial t-derivatives:
   * ∂F/∂t = F̄ − x + t F̄′, ∂²F/∂t² = 2F̄′ + t F̄″. x [B, D], t [B, 1] → [B, D].
   */
  transform(x: tf.Tensor, t: tf.Tensor, order: JetOrder, condition?: tf.Tensor | null): NDMTransform {
    this.checkInputs(x, t);
    const y = this.conditioned ? (condition as tf.Tensor2D | null | undefined) : null;
    const parts = this.net.jet(x as tf.Tensor2D, t as tf.Tensor2D, order, y).parts();
    const fbar = parts[0];
    const delta = tf.sub(fbar, x); // F̄ − x
    const F = tf.add(x, tf.mul(t, delta)) as tf.Tensor;
    if (order === 0) return { F };
    const dF = tf.add(delta, tf.mul(t, parts[1])) as tf.Tensor;
    if (order === 1) return { F, dF };
    const d2F = tf.add(tf.mul(2, parts[1]), tf.mul(t, parts[2])) as tf.Tensor;
    return { F, dF, d2F };
  }

  /** μ = α_t F, σ = σ_t and their partial t-derivatives (product rule with the schedule's). */
  params(x: tf.Tensor, t: tf.Tensor, order: JetOrder, condition?: tf.Tensor | null): GaussianParams {
    const v = this.schedule.at(t, order);
    const f = this.transform(x, t, order, condition);
    const out: GaussianParams = { mu: tf.mul(v.alpha, f.F), sigma: v.sigma };
    if (order >= 1) {
      out.dmu = tf.add(tf.mul(v.dalpha!, f.F), tf.mul(v.alpha, f.dF!));
      out.dsigma = v.dsigma;
    }
    if (order === 2) {
      out.d2mu = tf.add(tf.add(tf.mul(v.d2alpha!, f.F), tf.mul(tf.mul(2, v.dalpha!), f.dF!)), tf.mul(v.alpha, f.d2F!));
      out.d2sigma = v.d2sigma;
    }
    return out;
  }

  toConfig(): NDMProcessConfig {
    return {
      kind: this.kind,
      dim: this.dim,
      schedule: this.schedule.toConfig(),
      hidden: [...this.mlp.hidden],
      activation: this.mlp.activation,
      init: this.mlp.init,
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
