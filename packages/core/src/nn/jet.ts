/**
 * Jets: a value and its derivatives with respect to time, stacked along the batch axis.
 *
 * A jet of order k over a batch of B rows of width n is one tensor of shape [(k+1)·B, n]:
 * rows [0, B) hold the value v, rows [B, 2B) hold ∂v/∂t and rows [2B, 3B) hold ∂²v/∂t².
 * Stacking lets a Dense layer push value and tangents through ONE matMul (h = a W for the
 * value and h' = a' W, h'' = a'' W for the tangents share W), which is what makes
 * forward-mode tangents cheap on tfjs's one-kernel-at-a-time backends.
 *
 * Jets are plain tensors under the hood, so a loss built from them is differentiated by a
 * single ordinary reverse pass (tf.grad / tf.variableGrads) — the exact alternative to
 * nested gradients, which tfjs gets wrong through tanh/exp/sigmoid (tfjs#3252).
 */
import * as tf from '@tensorflow/tfjs';
import type { ActivationFn } from './activations.js';

/** 0: value only; 1: value and ∂/∂t; 2: value, ∂/∂t and ∂²/∂t². */
export type JetOrder = 0 | 1 | 2;

export function assertJetOrder(order: number): asserts order is JetOrder {
  if (order !== 0 && order !== 1 && order !== 2) throw new RangeError(`jet order must be 0, 1 or 2, got ${order}`);
}

/** Value and time derivatives of a [B, n] quantity, stacked as [(order+1)·B, n]. */
export class Jet {
  /** Rows per block (the batch size B). */
  readonly batch: number;

  constructor(
    /** The stacked tensor [(order+1)·B, n]. */
    readonly data: tf.Tensor2D,
    readonly order: JetOrder,
  ) {
    assertJetOrder(order);
    const rows = data.shape[0];
    if (data.rank !== 2 || rows % (order + 1) !== 0) {
      throw new RangeError(`a jet of order ${order} needs a rank-2 tensor with a multiple of ${order + 1} rows, got [${data.shape}]`);
    }
    this.batch = rows / (order + 1);
  }

  /** Width n of each row. */
  get width(): number {
    return this.data.shape[1];
  }

  /** Blocks [v, v', v''] up to the jet's order (one split kernel). */
  parts(): tf.Tensor2D[] {
    if (this.order === 0) return [this.data];
    return tf.split(this.data, this.order + 1, 0) as tf.Tensor2D[];
  }

  /** The value block [B, n]. */
  value(): tf.Tensor2D {
    return this.order === 0 ? this.data : tf.slice(this.data, [0, 0], [this.batch, this.width]);
  }

  /** Columns [start, start + size) of every block, as a jet of the same order. */
  columns(start: number, size: number): Jet {
    return new Jet(tf.slice(this.data, [0, start], [this.data.shape[0], size]), this.order);
  }

  /**
   * Build a jet from its blocks. Missing tangents are zero; tangents beyond `order` are
   * ignored. `value` is [B, n]; `d1`, `d2` are [B, n] or null.
   */
  static fromParts(value: tf.Tensor2D, order: JetOrder, d1?: tf.Tensor2D | null, d2?: tf.Tensor2D | null): Jet {
    assertJetOrder(order);
    if (order === 0) return new Jet(value, 0);
    const blocks = [value, d1 ?? tf.zerosLike(value)];
    if (order === 2) blocks.push(d2 ?? tf.zerosLike(value));
    return new Jet(tf.concat(blocks, 0), order);
  }

  /** A quantity that does not depend on t: its tangents are zero. */
  static constant(value: tf.Tensor2D, order: JetOrder): Jet {
    return Jet.fromParts(value, order);
  }

  /** Concatenate jets of equal order and batch along the feature axis. */
  static concatColumns(jets: Jet[]): Jet {
    if (jets.length === 0) throw new RangeError('concatColumns needs at least one jet');
    const { order, batch } = jets[0];
    for (const j of jets) {
      if (j.order !== order || j.batch !== batch) {
        throw new RangeError(`cannot concatenate jets of order/batch ${j.order}/${j.batch} and ${order}/${batch}`);
      }
    }
    return jets.length === 1
      ? jets[0]
      : new Jet(
          tf.concat(
            jets.map((j) => j.data),
            1,
          ),
          order,
        );
  }
}

/**
 * Push a jet through an elementwise activation a = φ(h):
 *   a' = φ'(h) h',   a'' = φ''(h) h'² + φ'(h) h''.
 */
export function activateJet(input: Jet, activation: ActivationFn): Jet {
  if (input.order === 0) return new Jet(activation(input.data, 0).value as tf.Tensor2D, 0);
  const [h, h1, h2] = input.parts();
  const phi = activation(h, input.order);
  const a1 = tf.mul(phi.d1 as tf.Tensor, h1);
  if (input.order === 1) return new Jet(tf.concat([phi.value, a1], 0) as tf.Tensor2D, 1);
  const a2 = tf.add(tf.mul(phi.d2 as tf.Tensor, tf.square(h1)), tf.mul(phi.d1 as tf.Tensor, h2));
  return new Jet(tf.concat([phi.value, a1, a2], 0) as tf.Tensor2D, 2);
}
