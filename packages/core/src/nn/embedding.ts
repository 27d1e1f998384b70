/**
 * Time embeddings e(t) with exact time derivatives.
 *
 * Both embeddings are e(t) = [sin(ωt + φ), cos(ωt + φ)] ∈ R^{2h} for frequencies ω ∈ R^h
 * and phases φ (zero unless trainable). Since d/dt [sin a, cos a] = ω [cos a, −sin a]
 * = ω [sin(a + π/2), cos(a + π/2)], the k-th derivative is
 *   e⁽ᵏ⁾(t) = ωᵏ ⊙ [sin(a + kπ/2), cos(a + kπ/2)],   a = ωt + φ,
 * so value and tangents come from one sin over a stacked argument.
 *
 * - {@link SinusoidalEmbedding}: ω geometric between `minFrequency` and `maxFrequency`
 *   (transformer-style, rescaled to t ∈ [0, 1]).
 * - {@link RandomFourierEmbedding}: ω = 2π·s·N(0, 1), fixed at construction from a seed
 *   (Gaussian Fourier features, Tancik et al. 2020; score_sde's time embedding with s = 16).
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../random.js';
import { assertJetOrder, Jet, type JetOrder } from './jet.js';
import type { Module, NamedVariables } from './module.js';

/** A time embedding t [B, 1] → jet of e(t), shape [(order+1)·B, dim]. */
export interface TimeEmbedding extends Module {
  readonly dim: number;
  jet(t: tf.Tensor2D, order: JetOrder): Jet;
}

/** Shared implementation given the frequency vector ω (length dim/2). */
abstract class FourierTimeEmbedding implements TimeEmbedding {
  readonly dim: number;
  /** ω, as a non-trainable buffer [h]. */
  readonly frequencies: tf.Variable<tf.Rank.R1>;
  /** φ, trainable, or null. */
  readonly phase: tf.Variable<tf.Rank.R1> | null;
  private readonly offsetCache = new Map<JetOrder, tf.Tensor>();

  protected constructor(omega: Float32Array, trainablePhase: boolean) {
    this.dim = 2 * omega.length;
    this.frequencies = tf.tidy(() => tf.variable(tf.tensor1d(omega), false));
    this.phase = trainablePhase ? tf.tidy(() => tf.variable(tf.zeros([omega.length]) as tf.Tensor1D, true)) : null;
    // Made now rather than on first use, so the first jet allocates no lasting tensors.
    for (const order of [0, 1, 2] as const) this.offsets(order);
  }

  /** Constant offsets [K, 1, 2h]: kπ/2 on the sin half and (k + 1)π/2 on the cos half. */
  private offsets(order: JetOrder): tf.Tensor {
    let offset = this.offsetCache.get(order);
    if (!offset) {
      const h = this.dim / 2;
      const K = order + 1;
      const values = new Float32Array(K * 2 * h);
      for (let k = 0; k < K; k++) {
        values.fill((k * Math.PI) / 2, k * 2 * h, k * 2 * h + h);
        values.fill(((k + 1) * Math.PI) / 2, k * 2 * h + h, (k + 1) * 2 * h);
      }
      offset = tf.keep(tf.tensor3d(values, [K, 1, 2 * h]));
      this.offsetCache.set(order, offset);
    }
    return offset;
  }

  jet(t: tf.Tensor2D, order: JetOrder): Jet {
    assertJetOrder(order);
    if (t.rank !== 2 || t.shape[1] !== 1) throw new RangeError(`time must be [B, 1], got [${t.shape}]`);
    const B = t.shape[0];
    const K = order + 1;
    // ω is read from its variable on every call, so loaded weights take effect at once.
    const omega2 = tf.reshape(tf.concat([this.frequencies, this.frequencies]), [1, this.dim]);
    const tiled = K === 1 ? t : tf.tile(t, [K, 1]);
    let arg = tf.add(tf.reshape(tf.mul(tiled, omega2), [K, B, this.dim]), this.offsets(order));
    if (this.phase) arg = tf.add(arg, tf.reshape(tf.concat([this.phase, this.phase]), [1, 1, this.dim]));
    if (K === 1) return new Jet(tf.reshape(tf.sin(arg), [B, this.dim]), 0);
    const powers = [tf.onesLike(omega2), omega2];
    if (K === 3) powers.push(tf.square(omega2));
    const scale = tf.reshape(tf.concat(powers, 0), [K, 1, this.dim]); // ωᵏ for block k
    return new Jet(tf.reshape(tf.mul(tf.sin(arg), scale), [K * B, this.dim]), order);
  }

  parameters(): NamedVariables {
    const out = new Map<string, tf.Variable>([['frequencies', this.frequencies]]);
    if (this.phase) out.set('phase', this.phase);
    return out;
  }

  dispose(): void {
    this.frequencies.dispose();
    this.phase?.dispose();
    for (const t of this.offsetCache.values()) t.dispose();
    this.offsetCache.clear();
  }
}

export interface SinusoidalEmbeddingOptions {
  /** Output width 2h (even). */
  dim: number;
  minFrequency?: number;
  maxFrequency?: number;
  trainablePhase?: boolean;
}

/** e(t) = [sin(ωt + φ), cos(ωt + φ)], ω_k = ω_min (ω_max/ω_min)^{k/(h−1)}, defaults 1 … 100. */
export class SinusoidalEmbedding extends FourierTimeEmbedding {
  constructor(options: SinusoidalEmbeddingOptions) {
    const h = halfDim(options.dim);
    const lo = options.minFrequency ?? 1;
    const hi = options.maxFrequency ?? 100;
    if (!(lo > 0 && hi >= lo)) throw new RangeError(`need 0 < minFrequency ≤ maxFrequency, got ${lo}, ${hi}`);
    const omega = new Float32Array(h);
    for (let k = 0; k < h; k++) omega[k] = h === 1 ? lo : lo * (hi / lo) ** (k / (h - 1));
    super(omega, options.trainablePhase ?? false);
  }
}

export interface RandomFourierEmbeddingOptions {
  dim: number;
  /** Standard deviation s of the frequencies in cycles per unit time (default 16). */
  scale?: number;
  rng?: Rng | number;
  trainablePhase?: boolean;
}

/** e(t) = [sin(ωt + φ), cos(ωt + φ)], ω = 2π s ξ with ξ ~ N(0, 1) fixed from the seed. */
export class RandomFourierEmbedding extends FourierTimeEmbedding {
  constructor(options: RandomFourierEmbeddingOptions) {
    const h = halfDim(options.dim);
    const rng = options.rng instanceof Rng ? options.rng : new Rng(options.rng ?? 0);
    const s = options.scale ?? 16;
    const omega = rng.normalArray(h, 0, 2 * Math.PI * s);
    super(omega, options.trainablePhase ?? false);
  }
}

function halfDim(dim: number): number {
  if (!Number.isInteger(dim) || dim < 2 || dim % 2 !== 0) throw new RangeError(`embedding dim must be an even integer ≥ 2, got ${dim}`);
  return dim / 2;
}
