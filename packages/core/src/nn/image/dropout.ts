/**
 * Dropout on image jets (docs/maths/image-networks.md#dropout). In training mode a layer of rate p
 * multiplies its input by a mask m [B, H, W, C] of independent entries
 *
 *   m = 1/(1 − p) with probability 1 − p, else 0        (so E[m] = 1),
 *
 * drawn from the generator of the mode (see {@link setTraining}). The SAME mask multiplies the
 * value and every tangent block of the jet: for a fixed mask y = m ⊙ h is linear in h, so
 * y′ = m ⊙ h′ and y″ = m ⊙ h″ — the masked network is one fixed function of (x, t) whose
 * t-derivatives are the masked tangents. In eval mode (the default) and at rate 0 it is the
 * identity.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../random.js';
import type { Module, NamedVariables } from '../module.js';
import { ImageJet } from './image-jet.js';

/** Throw unless `rate` is a dropout rate in [0, 1). */
export function checkDropoutRate(rate: number): void {
  if (!(typeof rate === 'number' && rate >= 0 && rate < 1)) throw new RangeError(`a dropout rate must lie in [0, 1), got ${rate}`);
}

/**
 * A dropout mask of `shape` (float32): each entry 1/(1 − p) with probability 1 − p, else 0,
 * from one raw uint32 of `rng` per entry (kept when it is ≥ p·2³², in row-major order).
 */
export function dropoutMask(rng: Rng, shape: number[], rate: number): tf.Tensor {
  checkDropoutRate(rate);
  const n = shape.reduce((a, b) => a * b, 1);
  const threshold = rate * 2 ** 32;
  const scale = 1 / (1 - rate);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.nextUint32() >= threshold ? scale : 0;
  return tf.tensor(out, shape, 'float32');
}

/** m ⊙ h on every block of an image jet: one mask [B, H, W, C] tiled over the (order+1) blocks. */
export function maskImageJet(h: ImageJet, mask: tf.Tensor4D): ImageJet {
  const [B, H, W, C] = mask.shape;
  if (B !== h.batch || H !== h.height || W !== h.width || C !== h.channels)
    throw new RangeError(`a mask [${mask.shape}] does not fit image jet blocks [${h.batch}, ${h.height}, ${h.width}, ${h.channels}]`);
  const tiled = h.order === 0 ? mask : tf.tile(mask, [h.order + 1, 1, 1, 1]);
  return new ImageJet(tf.mul(h.data, tiled) as tf.Tensor4D, h.order);
}

/** Dropout of rate `rate` ∈ [0, 1) on image jets; no parameters. */
export class Dropout implements Module {
  private rng: Rng | null = null;

  constructor(readonly rate: number) {
    checkDropoutRate(rate);
  }

  /** Whether masks are drawn (training mode at a rate > 0). */
  get active(): boolean {
    return this.rng !== null && this.rate > 0;
  }

  /** Whether the layer is in training mode. */
  get training(): boolean {
    return this.rng !== null;
  }

  /** [(k)·B, H, W, C] → the same shape: m ⊙ every block with one fresh mask [B, H, W, C], or h itself when not {@link active}. */
  jet(h: ImageJet): ImageJet {
    const mask = this.drawMask(h.batch, h.height, h.width, h.channels);
    return mask ? maskImageJet(h, mask) : h;
  }

  /**
   * A fresh mask [B, H, W, C] when {@link active}, else null — for callers that must apply the
   * same mask twice (a checkpointed block recomputes its forward pass; see checkpoint.ts).
   */
  drawMask(batch: number, height: number, width: number, channels: number): tf.Tensor4D | null {
    return this.active ? (dropoutMask(this.rng as Rng, [batch, height, width, channels], this.rate) as tf.Tensor4D) : null;
  }

  setTraining(rng: Rng | null): void {
    this.rng = rng;
  }

  parameters(): NamedVariables {
    return new Map();
  }

  dispose(): void {}
}
