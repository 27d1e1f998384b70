/**
 * GroupNorm on NHWC images with exact time tangents.
 *
 * Per image and group of C/G channels, over the H·W·C/G entries: c = h − mean(h),
 * s = √(mean(c²) + ε), ĥ = c/s, y = γ ĥ + β. Differentiating in t (γ, β fixed):
 *   c′ = h′ − mean(h′),   s′ = mean(ĥ c′),   ĥ′ = (c′ − ĥ s′)/s,
 *   c″ = h″ − mean(h″),   s″ = (mean(c′²) − s′²)/s + mean(ĥ c″),   ĥ″ = (c″ − 2 ĥ′ s′ − ĥ s″)/s,
 *   y′ = γ ĥ′,   y″ = γ ĥ″.
 * Shapes: jet [(order+1)·B, H, W, C] → same.
 *
 * {@link GroupNorm.jetFused} adds a per-image channel jet first (the U-Net's time embedding) and
 * applies SiLU after; with `@nfdm/native` on (see native.ts) it — and {@link GroupNorm.jet} — is
 * one native op for orders 0 and 1, whose backward is, per group (n entries, G′ = γ ∂y′, gĥ = γ ∂y
 * with ∂y, ∂y′ through SiLU, m = mean(G′ ĥ)):
 *   T = gĥ − (G′ s′ + c′ m)/s,  ∂h = (T − mean T − ĥ (mean(T ĥ) + mean(G′ ĥ′)))/s,
 *   ∂h′ = (G′ − mean G′ − ĥ m)/s,  ∂γ = Σ ∂y ĥ + ∂y′ ĥ′,  ∂β = Σ ∂y,  ∂shift = Σ_pixels ∂h.
 */
import * as tf from '@tensorflow/tfjs';
import { getActivation } from '../activations.js';
import type { Jet } from '../jet.js';
import type { Module, NamedVariables } from '../module.js';
import { nativeGroupNormJet } from '../native.js';
import { activateImageJet, addChannelJet, ImageJet } from './image-jet.js';

const silu = getActivation('silu');

export interface GroupNormOptions {
  channels: number;
  /** Number of groups G (divides `channels`; default 8). */
  groups?: number;
  /** ε (default 1e-5). */
  epsilon?: number;
}

export class GroupNorm implements Module {
  /** γ [C], initialised to 1. */
  readonly weight: tf.Variable<tf.Rank.R1>;
  /** β [C], initialised to 0. */
  readonly bias: tf.Variable<tf.Rank.R1>;
  readonly groups: number;
  readonly epsilon: number;

  constructor(readonly options: GroupNormOptions) {
    const { channels } = options;
    this.groups = options.groups ?? 8;
    this.epsilon = options.epsilon ?? 1e-5;
    if (!Number.isInteger(this.groups) || this.groups < 1 || channels % this.groups !== 0)
      throw new RangeError(`GroupNorm: ${this.groups} groups do not divide ${channels} channels`);
    this.weight = tf.tidy(() => tf.variable(tf.ones([channels]) as tf.Tensor1D, true));
    this.bias = tf.tidy(() => tf.variable(tf.zeros([channels]) as tf.Tensor1D, true));
  }

  /** GroupNorm of x [N, H, W, C]. */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    return this.jet(new ImageJet(x, 0)).data;
  }

  /** GroupNorm of an image jet by the rules in the module doc (native for orders 0 and 1 when on). */
  jet(input: ImageJet): ImageJet {
    return this.jetFused(input);
  }

  /**
   * φ(GroupNorm(input + shift)): `shift` a per-image channel jet [(order+1)·B, C] added to every
   * pixel first (as {@link addChannelJet}; e.g. a projected time embedding), φ = SiLU when
   * `silu` (as {@link activateImageJet}), else the identity. One native op for orders 0 and 1
   * when the native kernels are on; otherwise the composition of the tfjs ops.
   */
  jetFused(input: ImageJet, options: { shift?: Jet | null; silu?: boolean } = {}): ImageJet {
    const C = input.channels;
    if (C !== this.options.channels) throw new RangeError(`GroupNorm expects ${this.options.channels} channels, got ${C}`);
    const shift = options.shift ?? null;
    if (shift && (shift.order !== input.order || shift.batch !== input.batch || shift.width !== C)) {
      throw new RangeError(
        `GroupNorm: a shift jet [${shift.data.shape}] of order ${shift.order} does not fit images [${input.data.shape}] of order ${input.order}`,
      );
    }
    const silu_ = options.silu ?? false;
    const native = nativeGroupNormJet(
      input.data,
      input.order,
      this.weight,
      this.bias,
      this.groups,
      this.epsilon,
      shift ? shift.data : null,
      silu_,
    );
    if (native) return new ImageJet(native, input.order);
    const normed = this.jetTfjs(shift ? addChannelJet(input, shift) : input);
    return silu_ ? activateImageJet(normed, silu) : normed;
  }

  /** {@link jet} on tfjs ops only (any order; the fallback of the native op). */
  jetTfjs(input: ImageJet): ImageJet {
    const [, H, W, C] = input.data.shape;
    if (C !== this.options.channels) throw new RangeError(`GroupNorm expects ${this.options.channels} channels, got ${C}`);
    const B = input.batch;
    const G = this.groups;
    const grouped = (t: tf.Tensor) => tf.reshape(t, [B, H * W, G, C / G]);
    const mean = (t: tf.Tensor) => tf.mean(t, [1, 3], true);
    const [h, h1, h2] = input.parts().map(grouped);
    const c = tf.sub(h, mean(h));
    const s = tf.sqrt(tf.add(mean(tf.square(c)), this.epsilon));
    const hat = tf.div(c, s);
    const outs: tf.Tensor[] = [hat];
    if (input.order >= 1) {
      const c1 = tf.sub(h1, mean(h1));
      const s1 = mean(tf.mul(hat, c1));
      const hat1 = tf.div(tf.sub(c1, tf.mul(hat, s1)), s);
      outs.push(hat1);
      if (input.order === 2) {
        const c2 = tf.sub(h2, mean(h2));
        const s2 = tf.add(tf.div(tf.sub(mean(tf.square(c1)), tf.square(s1)), s), mean(tf.mul(hat, c2)));
        outs.push(tf.div(tf.sub(tf.sub(c2, tf.mul(tf.mul(2, hat1), s1)), tf.mul(hat, s2)), s));
      }
    }
    const gamma = tf.reshape(this.weight, [1, 1, 1, C]);
    const blocks = outs.map((o, k) => {
      const scaled = tf.mul(tf.reshape(o, [B, H, W, C]), gamma);
      return k === 0 ? tf.add(scaled, tf.reshape(this.bias, [1, 1, 1, C])) : scaled;
    });
    return new ImageJet((blocks.length === 1 ? blocks[0] : tf.concat(blocks, 0)) as tf.Tensor4D, input.order);
  }

  parameters(): NamedVariables {
    return new Map<string, tf.Variable>([
      ['weight', this.weight],
      ['bias', this.bias],
    ]);
  }

  dispose(): void {
    this.weight.dispose();
    this.bias.dispose();
  }
}
