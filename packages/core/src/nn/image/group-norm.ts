/**
 * GroupNorm on NHWC images with exact time tangents.
 *
 * Per image and group of C/G channels, over the H·W·C/G entries: c = h − mean(h),
 * s = √(mean(c²) + ε), ĥ = c/s, y = γ ĥ + β. Differentiating in t (γ, β fixed):
 *   c′ = h′ − mean(h′),   s′ = mean(ĥ c′),   ĥ′ = (c′ − ĥ s′)/s,
 *   c″ = h″ − mean(h″),   s″ = (mean(c′²) − s′²)/s + mean(ĥ c″),   ĥ″ = (c″ − 2 ĥ′ s′ − ĥ s″)/s,
 *   y′ = γ ĥ′,   y″ = γ ĥ″.
 * Shapes: jet [(order+1)·B, H, W, C] → same.
 */
import * as tf from '@tensorflow/tfjs';
import type { Module, NamedVariables } from '../module.js';
import { ImageJet } from './image-jet.js';

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

  /** GroupNorm of an image jet by the rules in the module doc. */
  jet(input: ImageJet): ImageJet {
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
