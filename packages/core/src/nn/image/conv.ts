/**
 * 2-D convolution ('same' padding, 1×1 or 3×3, stride 1 or 2) whose gradients are built from the
 * forward Conv2D kernel every tfjs backend has (tfjs's wasm backend has no Conv2DBackpropFilter
 * kernel, so `tf.conv2d`'s own gradient cannot train there; see {@link conv2dSame}). The im2col
 * form (pad + k² slices + concat, one matMul) is kept as the reference.
 *
 * Shapes: x [N, H, W, Cin], kernel [k, k, Cin, Cout] (HWIO), bias [Cout] → [N, H', W', Cout]
 * with H' = H (stride 1) or ⌈H/2⌉ (stride 2: the even positions of the stride-1 output, which is
 * PyTorch's Conv2d(k, stride=2, padding=(k−1)/2)).
 * Convolution is linear in x, so on an {@link ImageJet} value and tangents go through one call
 * and the bias is added to the value block only.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../random.js';
import type { Module, NamedVariables } from '../module.js';
import { nativeConv2d } from '../native.js';
import { ImageJet } from './image-jet.js';

/** Keep rows and columns 0, 2, 4, … of x [N, H, W, C] (odd sizes padded by one zero row/column first). */
export function evenPositions(x: tf.Tensor4D): tf.Tensor4D {
  const [N, H, W, C] = x.shape;
  const padded =
    H % 2 === 1 || W % 2 === 1
      ? tf.pad(x, [
          [0, 0],
          [0, H % 2],
          [0, W % 2],
          [0, 0],
        ])
      : x;
  const Ho = Math.ceil(H / 2);
  const Wo = Math.ceil(W / 2);
  const grid = tf.reshape(padded, [N * Ho, 2, Wo, 2 * C]);
  const rows = tf.slice(grid, [0, 0, 0, 0], [N * Ho, 1, Wo, C]); // row 2i, column 2j (first C of the 2C pair)
  return tf.reshape(rows, [N, Ho, Wo, C]);
}

/** The k×k patches of x [N, H, W, C] around every pixel ('same' zero padding): [N, H, W, k·k·C], ordered (dy, dx, c). */
export function im2col(x: tf.Tensor4D, k: number): tf.Tensor4D {
  if (k === 1) return x;
  const [N, H, W, C] = x.shape;
  const p = (k - 1) / 2;
  const padded = tf.pad(x, [
    [0, 0],
    [p, p],
    [p, p],
    [0, 0],
  ]);
  const pieces: tf.Tensor4D[] = [];
  for (let dy = 0; dy < k; dy++) for (let dx = 0; dx < k; dx++) pieces.push(tf.slice(padded, [0, dy, dx, 0], [N, H, W, C]));
  return tf.concat(pieces, 3) as tf.Tensor4D;
}

/** 'same' convolution by im2col + one matMul (the reference form; {@link conv2dSame} is faster and lighter). */
export function conv2dIm2col(x: tf.Tensor4D, kernel: tf.Tensor4D, stride: 1 | 2 = 1): tf.Tensor4D {
  checkConv(x, kernel);
  const [k, , , cout] = kernel.shape;
  let cols = im2col(x, k);
  if (stride === 2) cols = evenPositions(cols);
  const [N, Ho, Wo, kkc] = cols.shape;
  const y = tf.matMul(tf.reshape(cols, [N * Ho * Wo, kkc]) as tf.Tensor2D, tf.reshape(kernel, [kkc, cout]) as tf.Tensor2D);
  return tf.reshape(y, [N, Ho, Wo, cout]);
}

function checkConv(x: tf.Tensor4D, kernel: tf.Tensor4D): void {
  const [k, k2, cin] = kernel.shape;
  if (k !== k2 || k % 2 !== 1) throw new RangeError(`conv2dSame needs an odd square kernel, got [${kernel.shape}]`);
  if (x.shape[3] !== cin) throw new RangeError(`conv2dSame: input has ${x.shape[3]} channels, the kernel expects ${cin}`);
}

type ConvOp = (x: tf.Tensor4D, kernel: tf.Tensor4D) => tf.Tensor4D;
const convOps = new Map<1 | 2, ConvOp>();

/**
 * 'same' convolution without bias (see the module doc). With `@nfdm/native` loaded and enabled
 * (backend wasm or cpu; see native.ts) it is one native op, forward and backward
 * ({@link nativeConv2d}). Otherwise: the backend's Conv2D kernel forward,
 * with a custom gradient built from forward convolutions only (wasm's Conv2DBackpropInput is
 * 10–20× slower than its Conv2D, and it has no Conv2DBackpropFilter):
 *
 *   ∂/∂x       = conv_same(ďy, W̃),  W̃[i, j, o, c] = W[k−1−i, k−1−j, c, o] (flipped, in/out swapped);
 *   ∂/∂kernel  = [conv_valid(pad(x)ᵀ, ďyᵀ)]ᵀ: with the batch as channels, dW[i, j, c, o] =
 *                Σ_{n,y,x} pad(x)[n, y+i, x+j, c] ďy[n, y, x, o],
 *
 * where ďy is dy itself for stride 1 and, for stride 2, dy spread onto the even positions of an
 * H × W grid of zeros (the stride-2 output is the stride-1 output at even positions).
 */
export function conv2dSame(x: tf.Tensor4D, kernel: tf.Tensor4D, stride: 1 | 2 = 1): tf.Tensor4D {
  checkConv(x, kernel);
  const native = nativeConv2d(x, kernel, null, stride);
  if (native) return native;
  return conv2dSameTfjs(x, kernel, stride);
}

/** {@link conv2dSame} on tfjs kernels only (the fallback of the native path; also its test reference). */
export function conv2dSameTfjs(x: tf.Tensor4D, kernel: tf.Tensor4D, stride: 1 | 2 = 1): tf.Tensor4D {
  checkConv(x, kernel);
  let op = convOps.get(stride);
  if (!op) {
    op = makeConvOp(stride);
    convOps.set(stride, op);
  }
  return op(x, kernel);
}

/**
 * dy [N, Ho, Wo, C] on the even positions of zeros [N, H, W, C] (Ho = ⌈H/2⌉, Wo = ⌈W/2⌉): a zero
 * after every column, then a zero row after every row. Tensors of rank ≤ 4 only — tfjs's WebGPU
 * backend cannot compile its shaders for rank 6 (there is no `vec6` in WGSL).
 */
export function spreadToEvenPositions(dy: tf.Tensor4D, H: number, W: number): tf.Tensor4D {
  const [N, Ho, Wo, C] = dy.shape;
  const columns = tf.pad(tf.reshape(dy, [N * Ho, Wo, 1, C]), [
    [0, 0],
    [0, 0],
    [0, 1],
    [0, 0],
  ]);
  const rows = tf.pad(tf.reshape(columns, [N * Ho, 1, 2 * Wo, C]), [
    [0, 0],
    [0, 1],
    [0, 0],
    [0, 0],
  ]);
  const full = tf.reshape(rows, [N, 2 * Ho, 2 * Wo, C]) as tf.Tensor4D;
  return 2 * Ho === H && 2 * Wo === W ? full : (tf.slice(full, [0, 0, 0, 0], [N, H, W, C]) as tf.Tensor4D);
}

/** ∂L/∂kernel of a 'same' stride-1 convolution: x [N, H, W, Cin], dy [N, H, W, Cout] → [k, k, Cin, Cout]. */
export function convKernelGradient(x: tf.Tensor4D, dy: tf.Tensor4D, k: number): tf.Tensor4D {
  const p = (k - 1) / 2;
  const padded =
    p === 0
      ? x
      : tf.pad(x, [
          [0, 0],
          [p, p],
          [p, p],
          [0, 0],
        ]);
  const byChannel = tf.transpose(padded, [3, 1, 2, 0]) as tf.Tensor4D; // [Cin, H+2p, W+2p, N]
  const filter = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D; // [H, W, N, Cout]
  return tf.transpose(tf.conv2d(byChannel, filter, 1, 'valid'), [1, 2, 0, 3]) as tf.Tensor4D;
}

function makeConvOp(stride: 1 | 2): ConvOp {
  const f = tf.customGrad((...args: unknown[]) => {
    const [x, w, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    const pad = (w.shape[0] - 1) / 2;
    save([x, w]);
    const value = tf.conv2d(x, w, stride, pad);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
      const [, H, W] = xs.shape;
      const g = stride === 2 ? spreadToEvenPositions(dy as tf.Tensor4D, H, W) : (dy as tf.Tensor4D);
      const flipped = tf.transpose(tf.reverse(ws, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
      const dx = tf.conv2d(g, flipped, 1, pad);
      return [dx, convKernelGradient(xs, g, ws.shape[0])];
    };
    return { value, gradFunc };
  });
  return f as unknown as ConvOp;
}

/** Add `bias` [C] to the value block of a stacked [(blocks)·B, H, W, C] tensor only. */
export function addBiasToValue(y: tf.Tensor4D, bias: tf.Tensor1D, blocks: number): tf.Tensor4D {
  if (blocks === 1) return tf.add(y, bias);
  const [rows, H, W, C] = y.shape;
  const perBlock = tf.reshape(y, [blocks, rows / blocks, H, W, C]);
  const biasBlocks = tf.reshape(
    tf.pad(tf.reshape(bias, [1, C]), [
      [0, blocks - 1],
      [0, 0],
    ]),
    [blocks, 1, 1, 1, C],
  );
  return tf.reshape(tf.add(perBlock, biasBlocks), [rows, H, W, C]);
}

export interface Conv2dOptions {
  inChannels: number;
  outChannels: number;
  /** 1 or 3 (default 3). */
  kernel?: 1 | 3;
  /** 1 or 2 (default 1). */
  stride?: 1 | 2;
  /** 'torch' (U(±1/√fan_in), PyTorch's default) or 'zero' (weights and bias 0: residual outputs start at the identity). */
  init?: 'torch' | 'zero';
  rng?: Rng;
}

/** A convolution layer. Parameters: `kernel` [k, k, Cin, Cout] (HWIO), `bias` [Cout]. */
export class Conv2d implements Module {
  readonly kernel: tf.Variable<tf.Rank.R4>;
  readonly bias: tf.Variable<tf.Rank.R1>;
  readonly stride: 1 | 2;

  constructor(readonly options: Conv2dOptions) {
    const { inChannels: cin, outChannels: cout } = options;
    const k = options.kernel ?? 3;
    if (!Number.isInteger(cin) || cin < 1 || !Number.isInteger(cout) || cout < 1)
      throw new RangeError(`Conv2d channels must be positive integers, got ${cin} → ${cout}`);
    if (k !== 1 && k !== 3) throw new RangeError(`Conv2d kernel must be 1 or 3, got ${k}`);
    this.stride = options.stride ?? 1;
    const n = k * k * cin * cout;
    let w: Float32Array = new Float32Array(n);
    let b: Float32Array = new Float32Array(cout);
    if ((options.init ?? 'torch') === 'torch') {
      if (!options.rng) throw new TypeError('Conv2d needs an rng for its initial weights');
      const bound = 1 / Math.sqrt(k * k * cin);
      w = options.rng.uniformArray(n, -bound, bound);
      b = options.rng.uniformArray(cout, -bound, bound);
    }
    this.kernel = tf.tidy(() => tf.variable(tf.tensor4d(w, [k, k, cin, cout]), true));
    this.bias = tf.tidy(() => tf.variable(tf.tensor1d(b), true));
  }

  /** y = conv(x) + b for x [N, H, W, Cin]. */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    checkConv(x, this.kernel);
    return nativeConv2d(x, this.kernel, this.bias, this.stride) ?? tf.add(conv2dSameTfjs(x, this.kernel, this.stride), this.bias);
  }

  /** The layer on a jet: [conv(v) + b; conv(v′); conv(v″)] (natively one op with the bias fused in). */
  jet(input: ImageJet): ImageJet {
    checkConv(input.data, this.kernel);
    const blocks = input.order + 1;
    const native = nativeConv2d(input.data, this.kernel, this.bias, this.stride, blocks);
    if (native) return new ImageJet(native, input.order);
    const y = conv2dSameTfjs(input.data, this.kernel, this.stride);
    return new ImageJet(addBiasToValue(y, this.bias, blocks), input.order);
  }

  parameters(): NamedVariables {
    return new Map<string, tf.Variable>([
      ['kernel', this.kernel],
      ['bias', this.bias],
    ]);
  }

  dispose(): void {
    this.kernel.dispose();
    this.bias.dispose();
  }
}
