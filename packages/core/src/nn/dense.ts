/**
 * Dense layer y = x W + b (W is [in, out], bias [out]) that also carries time tangents.
 *
 * On a jet [v; v'; v''] the layer computes [vW + b; v'W; v''W] with ONE matMul and adds the
 * bias to the value block only. Its gradient is written by hand so that no matMul uses the
 * transposed-operand kernels (10–15× slower on tfjs-wasm than transposing first):
 *   ∂L/∂x = g · transpose(W),   ∂L/∂W = transpose(x) · g,   ∂L/∂b = Σ_rows g[value block].
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../random.js';
import { type InitScheme, initDense } from './init.js';
import { Jet } from './jet.js';
import type { Module, NamedVariables } from './module.js';

type LinearOp = (x: tf.Tensor2D, weight: tf.Tensor2D, bias: tf.Tensor1D) => tf.Tensor2D;

const linearOps = new Map<number, LinearOp>();

/**
 * y = x W + b on a stack of `blocks` row blocks, with the bias added to the first block only.
 * x: [blocks·B, in], W: [in, out], b: [out] → [blocks·B, out]. Custom gradient (see module doc).
 */
export function linearBlocks(x: tf.Tensor2D, weight: tf.Tensor2D, bias: tf.Tensor1D, blocks = 1): tf.Tensor2D {
  let op = linearOps.get(blocks);
  if (!op) {
    op = makeLinearOp(blocks);
    linearOps.set(blocks, op);
  }
  return op(x, weight, bias);
}

function makeLinearOp(blocks: number): LinearOp {
  const f = tf.customGrad((...args: unknown[]) => {
    const [x, w, b, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
    save([x, w]);
    const rows = x.shape[0];
    const out = w.shape[1];
    const xw = tf.matMul(x, w);
    let value: tf.Tensor2D;
    if (blocks === 1) {
      value = tf.add(xw, b);
    } else {
      const perBlock = tf.reshape(xw, [blocks, rows / blocks, out]);
      const biasBlocks = tf.pad(tf.reshape(b, [1, 1, out]), [
        [0, blocks - 1],
        [0, 0],
        [0, 0],
      ]);
      value = tf.reshape(tf.add(perBlock, biasBlocks), [rows, out]);
    }
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
      const g = dy as tf.Tensor2D;
      const dx = tf.matMul(g, tf.transpose(ws));
      const dw = tf.matMul(tf.transpose(xs), g);
      const valueRows = blocks === 1 ? g : tf.slice(g, [0, 0], [xs.shape[0] / blocks, g.shape[1]]);
      const db = tf.sum(valueRows, 0);
      return [dx, dw, db];
    };
    return { value, gradFunc };
  });
  return f as unknown as LinearOp;
}

/** Options for {@link Dense}. */
export interface DenseOptions {
  init?: InitScheme;
  /** Generator for the initial weights (required unless `weight`/`bias` are given). */
  rng?: Rng;
  /** Explicit initial values: weight row-major [in, out], bias [out]. */
  weight?: Float32Array | number[];
  bias?: Float32Array | number[];
}

/** A fully connected layer. Parameters: `weight` [in, out], `bias` [out]. */
export class Dense implements Module {
  readonly weight: tf.Variable<tf.Rank.R2>;
  readonly bias: tf.Variable<tf.Rank.R1>;

  constructor(
    readonly inDim: number,
    readonly outDim: number,
    options: DenseOptions = {},
  ) {
    if (!Number.isInteger(inDim) || inDim <= 0 || !Number.isInteger(outDim) || outDim <= 0) {
      throw new RangeError(`Dense dimensions must be positive integers, got ${inDim} → ${outDim}`);
    }
    let { weight, bias } = options;
    if (!weight || !bias) {
      if (!options.rng) throw new TypeError('Dense needs either an rng or explicit weight and bias');
      const init = initDense(inDim, outDim, options.init ?? 'torch', options.rng);
      weight = weight ?? init.weight;
      bias = bias ?? init.bias;
    }
    if (weight.length !== inDim * outDim) throw new RangeError(`Dense weight needs ${inDim * outDim} values, got ${weight.length}`);
    if (bias.length !== outDim) throw new RangeError(`Dense bias needs ${outDim} values, got ${bias.length}`);
    const w = tf.tensor2d(Float32Array.from(weight), [inDim, outDim]);
    const b = tf.tensor1d(Float32Array.from(bias));
    this.weight = tf.variable(w, true);
    this.bias = tf.variable(b, true);
    tf.dispose([w, b]); // variables copy their initial value
  }

  /** y = x W + b for x [B, in] → [B, out]. */
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return linearBlocks(x, this.weight, this.bias, 1);
  }

  /** The layer on a jet: [vW + b; v'W; v''W]. */
  applyJet(input: Jet): Jet {
    if (input.width !== this.inDim) throw new RangeError(`Dense expects width ${this.inDim}, got ${input.width}`);
    return new Jet(linearBlocks(input.data, this.weight, this.bias, input.order + 1), input.order);
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
