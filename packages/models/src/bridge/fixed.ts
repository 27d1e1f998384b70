/**
 * The fixed-process bridge baseline (docs/maths/bridges.md#fixed-baseline): NFBM's two-sided
 * process with m̄ ≡ 0 and a constant l̄ ≡ L, nothing learned,
 *
 *   μ(x0, x1, t) = (1 − t) x0 + t x1,
 *   σ(t)         = δ · exp(t(1 − t) L)          (log σ = log δ + t(1 − t) L),
 *   L            = 4 log(σ_max / δ),
 *
 * so σ(0) = σ(1) = δ (q(z_0 | x0, x1) = N(x0, δ² I), q(z_1 | x0, x1) = N(x1, δ² I), as for
 * NFBM) and the peak σ(1/2) = δ exp(L/4) = σ_max. Derivatives in closed form:
 *
 *   μ̇ = x1 − x0,   μ̈ = 0,
 *   l̇ = (1 − 2t) L,   l̈ = −2L,   σ̇ = σ l̇,   σ̈ = σ (l̈ + l̇²).
 *
 * A Brownian-bridge-type path: the Brownian bridge of unit diffusion coefficient between fixed
 * ends has standard deviation √(t(1 − t)), 1/2 at t = 1/2; σ here has the same ends (up to δ) and
 * the same peak for σ_max = 1/2, with log σ a parabola in t instead. The default σ_max = 0.5 is
 * that unit-volatility bridge's midpoint standard deviation: for data in [−1, 1] or in
 * standardised units it is half the data scale — enough noise mid-path to move between modes,
 * little enough that the path stays tied to its two ends. [UNVERIFIED] that it is the best σ_max
 * for any particular data set; it is a config field (`process.sigmaMax`).
 *
 * μ is affine in x0 and σ does not depend on (x0, x1), so this is the process under which the
 * guided drifts are exactly the (1 + w, −w) combinations (docs/maths/bridges.md#conditions-and-guidance).
 * It has no variables and no networks, ignores any condition y (`conditioned` is false), and the
 * bridge's objective, predictor, volatility, sampler and transport are NFBM's unchanged. Path
 * penalties act on forward samples z_t = μ + σ ε, which here depend on no parameter: they add a
 * constant to the loss and train nothing (the fixed paths do not learn to avoid an obstacle).
 * Shapes: x0, x1 [B, D], t [B, 1] → μ, μ̇, μ̈ [B, D]; σ, σ̇, σ̈ [B, 1] (broadcast over D).
 */
import type { JetOrder, NamedVariables } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import type { GaussianParams } from '../forward/gaussian.js';
import type { TwoSidedProcess } from './process.js';

/** The `kind` of {@link FixedBridgeProcess} (config `process.kind`). */
export const FIXED_BRIDGE_KIND = 'fixed-bridge';

/** Default peak σ(1/2) of the fixed bridge (the unit-volatility Brownian bridge's midpoint std; module doc). */
export const DEFAULT_SIGMA_MAX = 0.5;

/** Default δ = σ(0) = σ(1), as for {@link BridgeProcess}. */
const DEFAULT_DELTA = 0.01;

export interface FixedBridgeProcessOptions {
  dim: number;
  /** σ at t = 0 and t = 1 (default 0.01), in (0, 1). */
  delta?: number;
  /** σ at t = 1/2, finite and ≥ δ (default {@link DEFAULT_SIGMA_MAX}, or δ if δ is larger: a constant σ). */
  sigmaMax?: number;
}

/** Throws a RangeError unless 0 < δ < 1 and δ ≤ σ_max < ∞. */
export function checkFixedBridgeScales(delta: number, sigmaMax: number): void {
  if (!(delta > 0 && delta < 1)) throw new RangeError(`delta must lie in (0, 1), got ${delta}`);
  if (!(sigmaMax >= delta && Number.isFinite(sigmaMax)))
    throw new RangeError(`sigmaMax must be a finite number ≥ delta (${delta}), got ${sigmaMax}`);
}

export class FixedBridgeProcess implements TwoSidedProcess {
  readonly kind = FIXED_BRIDGE_KIND;
  readonly dim: number;
  readonly delta: number;
  readonly sigmaMax: number;
  /** L = 4 log(σ_max / δ), the constant l̄. */
  readonly logPeak: number;
  /** A fixed process never depends on the condition y. */
  readonly conditioned = false;
  /** No networks. */
  readonly networks: readonly unknown[] = [];

  constructor(options: FixedBridgeProcessOptions) {
    if (!(Number.isInteger(options.dim) && options.dim >= 1)) throw new RangeError(`dim must be a positive integer, got ${options.dim}`);
    this.dim = options.dim;
    this.delta = options.delta ?? DEFAULT_DELTA;
    this.sigmaMax = options.sigmaMax ?? Math.max(DEFAULT_SIGMA_MAX, this.delta);
    checkFixedBridgeScales(this.delta, this.sigmaMax);
    this.logPeak = 4 * Math.log(this.sigmaMax / this.delta);
  }

  /** μ, σ and their t-derivatives up to `order` (module doc); the condition is ignored. */
  params(x0: tf.Tensor, x1: tf.Tensor, t: tf.Tensor, order: JetOrder, _condition?: tf.Tensor | null): GaussianParams {
    const D = this.dim;
    if (x0.shape[1] !== D || x1.shape[1] !== D)
      throw new RangeError(`FixedBridgeProcess expects x0, x1 [B, ${D}], got [${x0.shape}] and [${x1.shape}]`);
    const L = this.logPeak;
    const mu = tf.add(tf.mul(tf.sub(1, t), x0), tf.mul(t, x1)) as tf.Tensor;
    const sigma = tf.mul(this.delta, tf.exp(tf.mul(L, tf.mul(t, tf.sub(1, t))))) as tf.Tensor;
    if (order === 0) return { mu, sigma };
    const dl = tf.mul(L, tf.sub(1, tf.mul(2, t)));
    const dmu = tf.sub(x1, x0) as tf.Tensor;
    const dsigma = tf.mul(sigma, dl) as tf.Tensor;
    if (order === 1) return { mu, sigma, dmu, dsigma };
    const d2sigma = tf.mul(sigma, tf.add(-2 * L, tf.square(dl))) as tf.Tensor;
    return { mu, sigma, dmu, dsigma, d2mu: tf.zerosLike(mu), d2sigma };
  }

  toConfig() {
    return { kind: this.kind, dim: this.dim, delta: this.delta, sigmaMax: this.sigmaMax };
  }

  /** No variables. */
  parameters(): NamedVariables {
    return new Map();
  }

  dispose(): void {}
}
