/**
 * Single-head self-attention over the H·W pixels of an image, with exact time tangents:
 * y = x + P(O),  O = A V,  A = softmax(S),  S = Q Kᵀ/√d,  (Q, K, V) = 1×1 convs of GN(x),
 * P a zero-initialised 1×1 conv (the block starts as the identity); d = C.
 *
 * Q, K, V and P are linear, so their jets come from one op on the stack; S and O are bilinear
 * and A is a softmax over each row:
 *   S′ = (Q′Kᵀ + QK′ᵀ)/√d,  S″ = (Q″Kᵀ + 2Q′K′ᵀ + QK″ᵀ)/√d,
 *   A′ = A ⊙ u,  u = S′ − Σ_j A S′,   A″ = A′ ⊙ u + A ⊙ (S″ − Σ_j (A′S′ + A S″)),
 *   O′ = A′V + AV′,  O″ = A″V + 2A′V′ + AV″.
 * Shapes: jet [(order+1)·B, H, W, C] → same. Meant for low resolutions (7×7: 49 tokens).
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../random.js';
import { collectParameters, type Module, type NamedVariables } from '../module.js';
import { Conv2d } from './conv.js';
import { GroupNorm } from './group-norm.js';
import { ImageJet } from './image-jet.js';

/** The jet blocks of a bilinear product f(a, b): [f(a₀,b₀), f(a₁,b₀)+f(a₀,b₁), f(a₂,b₀)+2f(a₁,b₁)+f(a₀,b₂)]. */
export function bilinearJet(a: tf.Tensor[], b: tf.Tensor[], f: (x: tf.Tensor, y: tf.Tensor) => tf.Tensor): tf.Tensor[] {
  const out = [f(a[0], b[0])];
  if (a.length > 1) out.push(tf.add(f(a[1], b[0]), f(a[0], b[1])));
  if (a.length > 2) out.push(tf.add(tf.add(f(a[2], b[0]), tf.mul(2, f(a[1], b[1]))), f(a[0], b[2])));
  return out;
}

/** The jet blocks of softmax over the last axis (see the module doc). */
export function softmaxJet(s: tf.Tensor[]): tf.Tensor[] {
  const a = tf.softmax(s[0]);
  if (s.length === 1) return [a];
  const rowSum = (t: tf.Tensor) => tf.sum(t, -1, true);
  const u = tf.sub(s[1], rowSum(tf.mul(a, s[1])));
  const a1 = tf.mul(a, u);
  if (s.length === 2) return [a, a1];
  const u1 = tf.sub(s[2], tf.add(rowSum(tf.mul(a1, s[1])), rowSum(tf.mul(a, s[2]))));
  return [a, a1, tf.add(tf.mul(a1, u), tf.mul(a, u1))];
}

export interface SelfAttentionOptions {
  channels: number;
  groups?: number;
  rng: Rng;
}

export class SelfAttention implements Module {
  readonly norm: GroupNorm;
  readonly qkv: Conv2d;
  readonly proj: Conv2d;

  constructor(readonly options: SelfAttentionOptions) {
    const C = options.channels;
    this.norm = new GroupNorm({ channels: C, groups: options.groups });
    this.qkv = new Conv2d({ inChannels: C, outChannels: 3 * C, kernel: 1, rng: options.rng });
    this.proj = new Conv2d({ inChannels: C, outChannels: C, kernel: 1, init: 'zero' });
  }

  jet(input: ImageJet): ImageJet {
    const [, H, W, C] = input.data.shape;
    const B = input.batch;
    const L = H * W;
    const qkv = this.qkv.jet(this.norm.jet(input)).parts();
    const split = qkv.map((block) => tf.split(tf.reshape(block, [B, L, 3 * C]), 3, 2));
    const q = split.map((p) => p[0]);
    const k = split.map((p) => p[1]);
    const v = split.map((p) => p[2]);
    const scale = 1 / Math.sqrt(C);
    const s = bilinearJet(q, k, (x, y) => tf.mul(tf.matMul(x, y, false, true), scale));
    const a = softmaxJet(s);
    const o = bilinearJet(a, v, (x, y) => tf.matMul(x, y));
    const stacked = tf.reshape(o.length === 1 ? o[0] : tf.concat(o, 0), [(input.order + 1) * B, H, W, C]) as tf.Tensor4D;
    return ImageJet.add(input, this.proj.jet(new ImageJet(stacked, input.order)));
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return this.jet(new ImageJet(x, 0)).data;
  }

  parameters(): NamedVariables {
    return collectParameters({ norm: this.norm, qkv: this.qkv, proj: this.proj });
  }

  dispose(): void {
    this.norm.dispose();
    this.qkv.dispose();
    this.proj.dispose();
  }
}
