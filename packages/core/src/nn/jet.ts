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

type JetActivationOp = (stacked: tf.Tensor2D) => tf.Tensor2D;
const fusedOps = new Map<ActivationFn, Map<JetOrder, JetActivationOp | null>>();

/**
 * The activation of a stacked jet as ONE differentiable op with a hand-written gradient
 * (fewer kernels than autodiff through the forward formulas). With upstream cotangents
 * (g₀, g₁, g₂) of (a, a′, a″):
 *   order 1:  ∂/∂h = g₀φ′ + g₁φ″h′,                    ∂/∂h′ = g₁φ′;
 *   order 2:  ∂/∂h = g₀φ′ + g₁φ″h′ + g₂(φ‴h′² + φ″h″),  ∂/∂h′ = g₁φ′ + 2g₂φ″h′,  ∂/∂h″ = g₂φ′.
 * Returns null when the activation cannot supply φ‴ (order 2 then uses autodiff).
 */
function fusedActivation(activation: ActivationFn, order: JetOrder): JetActivationOp | null {
  let byOrder = fusedOps.get(activation);
  if (!byOrder) {
    byOrder = new Map();
    fusedOps.set(activation, byOrder);
  }
  if (byOrder.has(order)) return byOrder.get(order) ?? null;
  let op: JetActivationOp | null = null;
  if (order === 1) {
    op = tf.customGrad((...args: unknown[]) => {
      const [x, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
      const [h, h1] = tf.split(x, 2, 0);
      const phi = activation(h, 2);
      const d1 = phi.d1 as tf.Tensor;
      const c = tf.mul(phi.d2 as tf.Tensor, h1); // φ″h′
      save([d1, c]);
      return {
        value: tf.concat([phi.value, tf.mul(d1, h1)], 0) as tf.Tensor2D,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [sd1, sc] = saved;
          const [g0, g1] = tf.split(dy, 2, 0);
          return [tf.concat([tf.add(tf.mul(g0, sd1), tf.mul(g1, sc)), tf.mul(g1, sd1)], 0)];
        },
      };
    }) as unknown as JetActivationOp;
  } else if (order === 2 && supportsThirdDerivative(activation)) {
    op = tf.customGrad((...args: unknown[]) => {
      const [x, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
      const [h, h1, h2] = tf.split(x, 3, 0);
      const phi = activation(h, 3);
      const d1 = phi.d1 as tf.Tensor;
      const d2 = phi.d2 as tf.Tensor;
      const A = tf.mul(d2, h1); // φ″h′
      const B = tf.add(tf.mul(phi.d3 as tf.Tensor, tf.square(h1)), tf.mul(d2, h2)); // φ‴h′² + φ″h″
      save([d1, A, B]);
      const a2 = tf.add(tf.mul(A, h1), tf.mul(d1, h2));
      return {
        value: tf.concat([phi.value, tf.mul(d1, h1), a2], 0) as tf.Tensor2D,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [sd1, sA, sB] = saved;
          const [g0, g1, g2] = tf.split(dy, 3, 0);
          const gh = tf.add(tf.add(tf.mul(g0, sd1), tf.mul(g1, sA)), tf.mul(g2, sB));
          const gh1 = tf.add(tf.mul(g1, sd1), tf.mul(tf.mul(2, g2), sA));
          return [tf.concat([gh, gh1, tf.mul(g2, sd1)], 0)];
        },
      };
    }) as unknown as JetActivationOp;
  }
  byOrder.set(order, op);
  return op;
}

function supportsThirdDerivative(activation: ActivationFn): boolean {
  return tf.tidy(() => activation(tf.zeros([1, 1]), 3).d3 !== undefined);
}

/**
 * Push a jet through an elementwise activation a = φ(h):
 *   a′ = φ′(h) h′,   a″ = φ″(h) h′² + φ′(h) h″.
 * Orders 1 and 2 run as one fused op with a hand-written gradient where the activation
 * supplies the derivatives it needs (see {@link fusedActivation}).
 */
export function activateJet(input: Jet, activation: ActivationFn): Jet {
  if (input.order === 0) return new Jet(activation(input.data, 0).value as tf.Tensor2D, 0);
  const fused = fusedActivation(activation, input.order);
  if (fused) return new Jet(fused(input.data), input.order);
  return activateJetAutodiff(input, activation);
}

/** The same jet activation built from plain ops (reverse mode differentiates the formulas). */
export function activateJetAutodiff(input: Jet, activation: ActivationFn): Jet {
  if (input.order === 0) return new Jet(activation(input.data, 0).value as tf.Tensor2D, 0);
  const [h, h1, h2] = input.parts();
  const phi = activation(h, input.order);
  const a1 = tf.mul(phi.d1 as tf.Tensor, h1);
  if (input.order === 1) return new Jet(tf.concat([phi.value, a1], 0) as tf.Tensor2D, 1);
  const a2 = tf.add(tf.mul(phi.d2 as tf.Tensor, tf.square(h1)), tf.mul(phi.d1 as tf.Tensor, h2));
  return new Jet(tf.concat([phi.value, a1, a2], 0) as tf.Tensor2D, 2);
}
