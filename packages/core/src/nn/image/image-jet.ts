/**
 * Image jets: NHWC feature maps with their time derivatives, stacked along the batch axis.
 *
 * A jet of order k over B images of size H × W × C is one tensor [(k+1)·B, H, W, C]: images
 * [0, B) hold the value v, [B, 2B) hold ∂v/∂t, [2B, 3B) hold ∂²v/∂t² — the image analogue of
 * {@link Jet}. Linear layers (convolution, up/down-sampling, concatenation, 1×1 projections)
 * act on the stacked tensor in one op, with their bias on the value block only; the nonlinear
 * ones (activations, GroupNorm, attention) apply their exact JVP rules block by block. Every op
 * is an ordinary tf op, so one reverse pass differentiates value and tangents (no nested
 * gradients, see docs/architecture.md §Time derivatives).
 */
import * as tf from '@tensorflow/tfjs';
import type { ActivationFn } from '../activations.js';
import { activateJet, assertJetOrder, Jet, type JetOrder } from '../jet.js';
import { nativeConcatChannels } from '../native.js';

/** Value and time derivatives of B images [B, H, W, C], stacked as [(order+1)·B, H, W, C]. */
export class ImageJet {
  /** Images per block (the batch size B). */
  readonly batch: number;

  constructor(
    /** The stacked tensor [(order+1)·B, H, W, C]. */
    readonly data: tf.Tensor4D,
    readonly order: JetOrder,
  ) {
    assertJetOrder(order);
    if (data.rank !== 4 || data.shape[0] % (order + 1) !== 0) {
      throw new RangeError(
        `an image jet of order ${order} needs a rank-4 tensor with a multiple of ${order + 1} images, got [${data.shape}]`,
      );
    }
    this.batch = data.shape[0] / (order + 1);
  }

  get height(): number {
    return this.data.shape[1];
  }

  get width(): number {
    return this.data.shape[2];
  }

  get channels(): number {
    return this.data.shape[3];
  }

  /** Blocks [v, v', v''] up to the jet's order. */
  parts(): tf.Tensor4D[] {
    if (this.order === 0) return [this.data];
    return tf.split(this.data, this.order + 1, 0) as tf.Tensor4D[];
  }

  /** The value block [B, H, W, C]. */
  value(): tf.Tensor4D {
    return this.order === 0 ? this.data : (tf.slice(this.data, [0, 0, 0, 0], [this.batch, -1, -1, -1]) as tf.Tensor4D);
  }

  /** The same jet with every block reshaped to [B, H·W·C] (a {@link Jet}, for elementwise ops). */
  flat(): Jet {
    return new Jet(tf.reshape(this.data, [this.data.shape[0], -1]) as tf.Tensor2D, this.order);
  }

  /** A linear map applied to every block at once (it must keep the batch axis). */
  map(linear: (stacked: tf.Tensor4D) => tf.Tensor4D): ImageJet {
    return new ImageJet(linear(this.data), this.order);
  }

  /** Build a jet from its blocks; missing tangents are zero, tangents beyond `order` are ignored. */
  static fromParts(value: tf.Tensor4D, order: JetOrder, d1?: tf.Tensor4D | null, d2?: tf.Tensor4D | null): ImageJet {
    assertJetOrder(order);
    if (order === 0) return new ImageJet(value, 0);
    const blocks = [value, d1 ?? tf.zerosLike(value)];
    if (order === 2) blocks.push(d2 ?? tf.zerosLike(value));
    return new ImageJet(tf.concat(blocks, 0) as tf.Tensor4D, order);
  }

  /** Images that do not depend on t: zero tangents. */
  static constant(value: tf.Tensor4D, order: JetOrder): ImageJet {
    return ImageJet.fromParts(value, order);
  }

  /** Concatenate jets of equal order, batch and size along the channel axis (skip connections; native when on). */
  static concatChannels(jets: ImageJet[]): ImageJet {
    const { order, batch } = jets[0];
    for (const j of jets) {
      if (j.order !== order || j.batch !== batch) throw new RangeError('concatChannels needs jets of one order and batch');
    }
    const native = nativeConcatChannels(jets.map((j) => j.data));
    if (native) return new ImageJet(native, order);
    return new ImageJet(
      tf.concat(
        jets.map((j) => j.data),
        3,
      ) as tf.Tensor4D,
      order,
    );
  }

  /** Elementwise sum of jets of one shape and order (residual connections). */
  static add(a: ImageJet, b: ImageJet): ImageJet {
    if (a.order !== b.order) throw new RangeError(`cannot add image jets of orders ${a.order} and ${b.order}`);
    return new ImageJet(tf.add(a.data, b.data) as tf.Tensor4D, a.order);
  }
}

/** An elementwise activation on an image jet: a′ = φ′(h) h′, a″ = φ″(h) h′² + φ′(h) h″. */
export function activateImageJet(input: ImageJet, activation: ActivationFn): ImageJet {
  const out = activateJet(input.flat(), activation);
  return new ImageJet(tf.reshape(out.data, input.data.shape) as tf.Tensor4D, input.order);
}

/**
 * Add a per-image channel vector jet v [(order+1)·B, C] (e.g. a projected time embedding) to
 * every pixel of an image jet [(order+1)·B, H, W, C]: blocks add blockwise, so the sum's
 * tangents are the sums of the tangents.
 */
export function addChannelJet(input: ImageJet, v: Jet): ImageJet {
  if (v.order !== input.order || v.batch !== input.batch || v.width !== input.channels) {
    throw new RangeError(
      `addChannelJet: a jet [${v.data.shape}] of order ${v.order} does not fit images [${input.data.shape}] of order ${input.order}`,
    );
  }
  return new ImageJet(tf.add(input.data, tf.reshape(v.data, [v.data.shape[0], 1, 1, v.width])) as tf.Tensor4D, input.order);
}
