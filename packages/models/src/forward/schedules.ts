/**
 * Fixed noise schedules z_t = α_t x + σ_t ε (docs/maths/forward-processes.md#fixed-schedules), with exact
 * first and second time derivatives. Each returns [B, 1] tensors for t [B, 1].
 *
 * | schedule | α_t | σ_t | defined on |
 * |---|---|---|---|
 * | `vp` (β 0.1 → 20) | exp(−¼t²(β₁ − β₀) − ½tβ₀) | √(1 − α²) | [tMin, 1], tMin = 1e-3 (σ₀ = 0) |
 * | `subvp` | same α | 1 − α² | [tMin, 1], tMin = 1e-3 |
 * | `ve` (σ 0.01 → σ_max) | 1 | σ_min (σ_max/σ_min)^t | [0, 1]; prior N(0, σ_max²) |
 * | `cosine` (s = 0.008) | cos(u)/cos(u₀), u = (π/2)(t + s)/(1 + s) | √(1 − α²) | [tMin, 1] |
 * | `fm-ot` (σ_min 0.01) | 1 − t | σ_min + (1 − σ_min) t | [0, 1] |
 * | `linear-logsnr` (λ 10 → −10) | √sigmoid(λ) | √sigmoid(−λ) | [0, 1] |
 *
 * The SDE with these marginals has g² = −σ² λ′(t), λ = log(α²/σ²) (docs/maths/forward-processes.md#matched-volatility); {@link matchedG2}.
 */

import type { JetOrder } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';

/** α_t, σ_t and their derivatives, each [B, 1]. */
export interface ScheduleValues {
  alpha: tf.Tensor;
  sigma: tf.Tensor;
  dalpha?: tf.Tensor;
  dsigma?: tf.Tensor;
  d2alpha?: tf.Tensor;
  d2sigma?: tf.Tensor;
}

export type ScheduleName = 'vp' | 'subvp' | 've' | 'cosine' | 'fm-ot' | 'linear-logsnr';

export interface ScheduleConfig {
  name: ScheduleName;
  betaMin?: number;
  betaMax?: number;
  sigmaMin?: number;
  sigmaMax?: number;
  s?: number;
  logSnrMax?: number;
  logSnrMin?: number;
  /** Start of the process (where σ > 0); default per schedule. */
  tMin?: number;
}

export interface Schedule {
  readonly name: ScheduleName;
  readonly tMin: number;
  readonly priorStd: number;
  at(t: tf.Tensor, order: JetOrder): ScheduleValues;
  /** α, σ at a JS time (for boundary terms). */
  atNumber(t: number): { alpha: number; sigma: number };
  toConfig(): ScheduleConfig;
}

/** From log α = a(t) (with a′, a″ given as tensors) to α and its derivatives. */
function expDerivs(a: tf.Tensor, a1: tf.Tensor | null, a2: tf.Tensor | null, order: JetOrder) {
  const alpha = tf.exp(a);
  if (order === 0 || !a1) return { alpha };
  const dalpha = tf.mul(alpha, a1);
  if (order === 1 || !a2) return { alpha, dalpha };
  return { alpha, dalpha, d2alpha: tf.mul(alpha, tf.add(a2, tf.square(a1))) };
}

/** σ = √(1 − α²) and its derivatives: σ′ = −αα′/σ, σ″ = −(α′² + αα″)/σ − (αα′)²/σ³. */
function complementSigma(
  v: { alpha: tf.Tensor; dalpha?: tf.Tensor; d2alpha?: tf.Tensor },
  order: JetOrder,
  sigma2?: tf.Tensor,
): ScheduleValues {
  const sigma = tf.sqrt(sigma2 ?? tf.sub(1, tf.square(v.alpha)));
  if (order === 0) return { alpha: v.alpha, sigma };
  const aa1 = tf.mul(v.alpha, v.dalpha!);
  const dsigma = tf.neg(tf.div(aa1, sigma));
  if (order === 1) return { ...v, sigma, dsigma };
  const num = tf.add(tf.square(v.dalpha!), tf.mul(v.alpha, v.d2alpha!));
  const d2sigma = tf.sub(tf.neg(tf.div(num, sigma)), tf.div(tf.square(aa1), tf.pow(sigma, 3)));
  return { ...v, sigma, dsigma, d2sigma };
}

const constant = (like: tf.Tensor, value: number) => tf.fill(like.shape, value) as tf.Tensor;

/**
 * −expm1(y) = 1 − eʸ for y ≤ 0 without float32 cancellation near 0 (tfjs has no expm1):
 * the Taylor series −y(1 + y/2 + y²/6 + y³/24) for |y| < 1e-2, 1 − eʸ otherwise.
 */
function oneMinusExp(y: tf.Tensor): tf.Tensor {
  const series = tf.neg(tf.mul(y, tf.add(1, tf.mul(y, tf.add(0.5, tf.mul(y, tf.add(1 / 6, tf.mul(y, 1 / 24))))))));
  const direct = tf.sub(1, tf.exp(y));
  return tf.where(tf.less(tf.abs(y), 1e-2), series, direct);
}

function vpLogAlpha(t: tf.Tensor, b0: number, b1: number) {
  const a = tf.sub(tf.mul(-0.25 * (b1 - b0), tf.square(t)), tf.mul(0.5 * b0, t)) as tf.Tensor;
  const a1 = tf.mul(-0.5, tf.add(b0, tf.mul(b1 - b0, t))) as tf.Tensor; // −β(t)/2
  const a2 = constant(t, -0.5 * (b1 - b0));
  return { a, a1, a2 };
}

class VPSchedule implements Schedule {
  readonly name = 'vp' as const;
  readonly priorStd = 1;
  readonly tMin: number;
  constructor(
    readonly betaMin = 0.1,
    readonly betaMax = 20,
    tMin = 1e-3,
  ) {
    this.tMin = tMin;
  }
  at(t: tf.Tensor, order: JetOrder): ScheduleValues {
    const { a, a1, a2 } = vpLogAlpha(t, this.betaMin, this.betaMax);
    // σ² = 1 − e^{2a} = −expm1(2a), computed without cancellation for small t.
    const sigma2 = oneMinusExp(tf.mul(2, a));
    return complementSigma(expDerivs(a, a1, a2, order), order, sigma2);
  }
  atNumber(t: number) {
    const a = -0.25 * t * t * (this.betaMax - this.betaMin) - 0.5 * t * this.betaMin;
    return { alpha: Math.exp(a), sigma: Math.sqrt(-Math.expm1(2 * a)) };
  }
  toConfig(): ScheduleConfig {
    return { name: this.name, betaMin: this.betaMin, betaMax: this.betaMax, tMin: this.tMin };
  }
}

class SubVPSchedule implements Schedule {
  readonly name = 'subvp' as const;
  readonly priorStd = 1;
  constructor(
    readonly betaMin = 0.1,
    readonly betaMax = 20,
    readonly tMin = 1e-3,
  ) {}
  at(t: tf.Tensor, order: JetOrder): ScheduleValues {
    const { a, a1, a2 } = vpLogAlpha(t, this.betaMin, this.betaMax);
    const v = expDerivs(a, a1, a2, order);
    const sigma = oneMinusExp(tf.mul(2, a)); // 1 − α², without cancellation near t = 0
    if (order === 0) return { alpha: v.alpha, sigma };
    const aa1 = tf.mul(v.alpha, v.dalpha!);
    const dsigma = tf.mul(-2, aa1) as tf.Tensor;
    if (order === 1) return { ...v, sigma, dsigma };
    const d2sigma = tf.mul(-2, tf.add(tf.square(v.dalpha!), tf.mul(v.alpha, v.d2alpha!))) as tf.Tensor;
    return { ...v, sigma, dsigma, d2sigma };
  }
  atNumber(t: number) {
    const a = -0.25 * t * t * (this.betaMax - this.betaMin) - 0.5 * t * this.betaMin;
    return { alpha: Math.exp(a), sigma: -Math.expm1(2 * a) };
  }
  toConfig(): ScheduleConfig {
    return { name: this.name, betaMin: this.betaMin, betaMax: this.betaMax, tMin: this.tMin };
  }
}

class VESchedule implements Schedule {
  readonly name = 've' as const;
  readonly tMin = 0;
  constructor(
    readonly sigmaMin = 0.01,
    readonly sigmaMax = 10,
  ) {}
  get priorStd(): number {
    return this.sigmaMax;
  }
  at(t: tf.Tensor, order: JetOrder): ScheduleValues {
    const L = Math.log(this.sigmaMax / this.sigmaMin);
    const sigma = tf.mul(this.sigmaMin, tf.exp(tf.mul(L, t))) as tf.Tensor;
    const alpha = tf.onesLike(t);
    if (order === 0) return { alpha, sigma };
    const zero = tf.zerosLike(t);
    const dsigma = tf.mul(L, sigma) as tf.Tensor;
    if (order === 1) return { alpha, sigma, dalpha: zero, dsigma };
    return { alpha, sigma, dalpha: zero, dsigma, d2alpha: zero, d2sigma: tf.mul(L * L, sigma) as tf.Tensor };
  }
  atNumber(t: number) {
    return { alpha: 1, sigma: this.sigmaMin * (this.sigmaMax / this.sigmaMin) ** t };
  }
  toConfig(): ScheduleConfig {
    return { name: this.name, sigmaMin: this.sigmaMin, sigmaMax: this.sigmaMax };
  }
}

class CosineSchedule implements Schedule {
  readonly name = 'cosine' as const;
  readonly priorStd = 1;
  constructor(
    readonly s = 0.008,
    readonly tMin = 1e-3,
  ) {}
  at(t: tf.Tensor, order: JetOrder): ScheduleValues {
    const k = Math.PI / (2 * (1 + this.s));
    const c0 = Math.cos(k * this.s);
    const u = tf.mul(k, tf.add(t, this.s));
    const alpha = tf.div(tf.cos(u), c0) as tf.Tensor;
    // σ² = 1 − α² = sin(k t) sin(k(t + 2s)) / cos²(ks) exactly (cos²u₀ − cos²u = sin(u − u₀) sin(u + u₀)),
    // which avoids the cancellation of 1 − α² near t = 0.
    const sigma2 = tf.div(tf.mul(tf.sin(tf.mul(k, t)), tf.sin(tf.mul(k, tf.add(t, 2 * this.s)))), c0 * c0);
    if (order === 0) return complementSigma({ alpha }, 0, sigma2);
    const dalpha = tf.mul(-k / c0, tf.sin(u)) as tf.Tensor;
    const d2alpha = tf.mul(-k * k, alpha) as tf.Tensor;
    return complementSigma({ alpha, dalpha, d2alpha }, order, sigma2);
  }
  atNumber(t: number) {
    const k = Math.PI / (2 * (1 + this.s));
    const alpha = Math.cos(k * (t + this.s)) / Math.cos(k * this.s);
    return { alpha, sigma: Math.sqrt(Math.max(0, 1 - alpha * alpha)) };
  }
  toConfig(): ScheduleConfig {
    return { name: this.name, s: this.s, tMin: this.tMin };
  }
}

class FMOTSchedule implements Schedule {
  readonly name = 'fm-ot' as const;
  readonly priorStd = 1;
  readonly tMin = 0;
  constructor(readonly sigmaMin = 0.01) {}
  at(t: tf.Tensor, order: JetOrder): ScheduleValues {
    const alpha = tf.sub(1, t) as tf.Tensor;
    const sigma = tf.add(this.sigmaMin, tf.mul(1 - this.sigmaMin, t)) as tf.Tensor;
    if (order === 0) return { alpha, sigma };
    const dalpha = constant(t, -1);
    const dsigma = constant(t, 1 - this.sigmaMin);
    if (order === 1) return { alpha, sigma, dalpha, dsigma };
    const zero = tf.zerosLike(t);
    return { alpha, sigma, dalpha, dsigma, d2alpha: zero, d2sigma: zero };
  }
  atNumber(t: number) {
    return { alpha: 1 - t, sigma: this.sigmaMin + (1 - this.sigmaMin) * t };
  }
  toConfig(): ScheduleConfig {
    return { name: this.name, sigmaMin: this.sigmaMin };
  }
}

/** λ(t) = λ_max − (λ_max − λ_min)t; α² = sigmoid(λ), σ² = sigmoid(−λ). */
class LinearLogSnrSchedule implements Schedule {
  readonly name = 'linear-logsnr' as const;
  readonly priorStd = 1;
  readonly tMin = 0;
  constructor(
    readonly logSnrMax = 10,
    readonly logSnrMin = -10,
  ) {}
  at(t: tf.Tensor, order: JetOrder): ScheduleValues {
    const dl = this.logSnrMin - this.logSnrMax; // λ′ (constant)
    const lambda = tf.add(this.logSnrMax, tf.mul(dl, t));
    const alpha2 = tf.sigmoid(lambda) as tf.Tensor;
    const sigma2 = tf.sigmoid(tf.neg(lambda)) as tf.Tensor;
    const alpha = tf.sqrt(alpha2);
    const sigma = tf.sqrt(sigma2);
    if (order === 0) return { alpha, sigma };
    // (log α)′ = ½σ²λ′, (log σ)′ = −½α²λ′; (log α)″ = −½α²σ²λ′², (log σ)″ = −½α²σ²λ′².
    const la1 = tf.mul(0.5 * dl, sigma2);
    const ls1 = tf.mul(-0.5 * dl, alpha2);
    const dalpha = tf.mul(alpha, la1) as tf.Tensor;
    const dsigma = tf.mul(sigma, ls1) as tf.Tensor;
    if (order === 1) return { alpha, sigma, dalpha, dsigma };
    const l2 = tf.mul(-0.5 * dl * dl, tf.mul(alpha2, sigma2));
    return {
      alpha,
      sigma,
      dalpha,
      dsigma,
      d2alpha: tf.mul(alpha, tf.add(l2, tf.square(la1))) as tf.Tensor,
      d2sigma: tf.mul(sigma, tf.add(l2, tf.square(ls1))) as tf.Tensor,
    };
  }
  atNumber(t: number) {
    const lambda = this.logSnrMax + (this.logSnrMin - this.logSnrMax) * t;
    return { alpha: Math.sqrt(1 / (1 + Math.exp(-lambda))), sigma: Math.sqrt(1 / (1 + Math.exp(lambda))) };
  }
  toConfig(): ScheduleConfig {
    return { name: this.name, logSnrMax: this.logSnrMax, logSnrMin: this.logSnrMin };
  }
}

export const SCHEDULE_NAMES: readonly ScheduleName[] = ['vp', 'subvp', 've', 'cosine', 'fm-ot', 'linear-logsnr'];

/** Build a schedule from its config (defaults as in the table above). */
export function createSchedule(config: ScheduleConfig): Schedule {
  if (config.tMin !== undefined && config.tMin !== 0 && ['ve', 'fm-ot', 'linear-logsnr'].includes(config.name)) {
    throw new RangeError(`schedule '${config.name}' starts at t = 0 (σ₀ > 0); tMin = ${config.tMin} is not supported`);
  }
  switch (config.name) {
    case 'vp':
      return new VPSchedule(config.betaMin, config.betaMax, config.tMin);
    case 'subvp':
      return new SubVPSchedule(config.betaMin, config.betaMax, config.tMin);
    case 've':
      return new VESchedule(config.sigmaMin, config.sigmaMax);
    case 'cosine':
      return new CosineSchedule(config.s, config.tMin);
    case 'fm-ot':
      return new FMOTSchedule(config.sigmaMin);
    case 'linear-logsnr':
      return new LinearLogSnrSchedule(config.logSnrMax, config.logSnrMin);
    default:
      throw new RangeError(`unknown schedule '${(config as { name: string }).name}': expected one of ${SCHEDULE_NAMES.join(', ')}`);
  }
}

/** g² = −σ² λ′ = 2σ(σ′ − σα′/α), the diffusion of the SDE with these marginals; [B, 1]. */
export function matchedG2(v: ScheduleValues): tf.Tensor {
  if (!v.dalpha || !v.dsigma) throw new Error('matchedG2 needs first derivatives (order ≥ 1)');
  return tf.mul(tf.mul(2, v.sigma), tf.sub(v.dsigma, tf.div(tf.mul(v.sigma, v.dalpha), v.alpha))) as tf.Tensor;
}
