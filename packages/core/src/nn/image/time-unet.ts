/**
 * A U-Net as a network of flattened data rows and time, with the contract of {@link TimeMLP}:
 * x [B, H·W·C] (rows are NHWC images, flattened) and t [B, 1] → jet [(order+1)·B, maps·H·W·C]
 * of U(x, t) and its partial t-derivatives, where the U-Net outputs `maps` images of C channels
 * and each one fills a block of H·W·C columns (maps 2: [m̄ | l̄] for NFDM's forward process).
 * With `inMaps` k > 1 the rows hold k images side by side ([x0 | x1] for bridges), which enter the
 * U-Net as k·C channels.
 * Models that work on [B, D] rows (solvers, likelihoods, the objectives) use it unchanged.
 * With `dropout` > 0 its ResBlocks drop out in training mode only ({@link TimeUNet.setTraining}).
 * With a `condition` (a class label or a vector y [B, w], see ../condition.ts) it is U(x, t, y),
 * y added to the time embedding (unet.ts).
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../random.js';
import type { ConditionSpec } from '../condition.js';
import { SinusoidalEmbedding } from '../embedding.js';
import { Jet, type JetOrder } from '../jet.js';
import type { Module, NamedVariables } from '../module.js';
import { UNET_DEFAULTS, UNet, type UNetOptions } from './unet.js';

/** Default frequencies of the time embedding: ADM's sinusoidal embedding of 1000·t. */
export const TIME_UNET_EMBEDDING = { minFrequency: 0.1, maxFrequency: 1000 } as const;

/** An image size: height × width × channels. */
export interface ImageShape {
  height: number;
  width: number;
  channels: number;
}

export interface TimeUNetOptions extends Omit<UNetOptions, 'height' | 'width' | 'inChannels' | 'outChannels' | 'embedding'> {
  image: ImageShape;
  /** Output images of `image.channels` channels each (default 1). */
  outMaps?: number;
  /** Input images per row, stacked as channels (default 1). */
  inMaps?: number;
  /** Frequencies of the sinusoidal time embedding (width `base`), default 0.1 … 1000 (ADM's embedding of 1000·t). */
  embedding?: { minFrequency: number; maxFrequency: number };
}

/**
 * What a network of data and time offers the models: TimeMLP and TimeUNet both do (a U-Net with
 * dropout also has a training mode, `setTraining` of {@link Module}).
 */
export interface TimeNetwork extends Module {
  /** What the network is conditioned on; null (or absent) for a network of x and t only. */
  readonly conditionSpec?: ConditionSpec | null;
  /** The network and its partial t-derivatives; a conditional network needs y [B, w] (constant in t). */
  jet(x: tf.Tensor2D | null, t: tf.Tensor2D, order: JetOrder, y?: tf.Tensor2D | null): Jet;
  apply(x: tf.Tensor2D | null, t: tf.Tensor2D, y?: tf.Tensor2D | null): tf.Tensor2D;
}

export class TimeUNet implements TimeNetwork {
  readonly net: UNet;
  readonly maps: number;
  readonly inMaps: number;

  constructor(readonly options: TimeUNetOptions) {
    const { image } = options;
    this.maps = options.outMaps ?? 1;
    this.inMaps = options.inMaps ?? 1;
    const base = options.base ?? UNET_DEFAULTS.base;
    const freq = options.embedding ?? TIME_UNET_EMBEDDING;
    this.net = new UNet({
      ...options,
      height: image.height,
      width: image.width,
      inChannels: this.inMaps * image.channels,
      outChannels: this.maps * image.channels,
      embedding: new SinusoidalEmbedding({ dim: base, ...freq }),
    });
  }

  /** Values per image, H·W·C. */
  get dim(): number {
    const { height, width, channels } = this.options.image;
    return height * width * channels;
  }

  /** Rows [B, k·H·W·C] of k images side by side → [B, H, W, k·C] (channels of image j at [j·C, (j+1)·C)). */
  private images(x: tf.Tensor2D): tf.Tensor4D {
    const { height: H, width: W, channels: C } = this.options.image;
    const B = x.shape[0];
    if (this.inMaps === 1) return tf.reshape(x, [B, H, W, C]);
    return tf.reshape(tf.transpose(tf.reshape(x, [B, this.inMaps, H * W, C]), [0, 2, 1, 3]), [B, H, W, this.inMaps * C]);
  }

  /** What the U-Net is conditioned on (null: nothing). */
  get conditionSpec(): ConditionSpec | null {
    return this.net.condition?.spec ?? null;
  }

  jet(x: tf.Tensor2D | null, t: tf.Tensor2D, order: JetOrder, y?: tf.Tensor2D | null): Jet {
    const { height: H, width: W, channels: C } = this.options.image;
    const width = this.inMaps * H * W * C;
    if (x?.rank !== 2 || x.shape[1] !== width)
      throw new RangeError(
        `TimeUNet expects rows of ${this.inMaps} × ${H}×${W}×${C} = ${width} values, got ${x ? `[${x.shape}]` : 'null'}`,
      );
    const out = this.net.jet(this.images(x), t, order, y).data;
    const rows = out.shape[0];
    if (this.maps === 1) return new Jet(tf.reshape(out, [rows, H * W * C]), order);
    const blocks = tf.transpose(tf.reshape(out, [rows, H * W, this.maps, C]), [0, 2, 1, 3]);
    return new Jet(tf.reshape(blocks, [rows, this.maps * H * W * C]), order);
  }

  apply(x: tf.Tensor2D | null, t: tf.Tensor2D, y?: tf.Tensor2D | null): tf.Tensor2D {
    return this.jet(x, t, 0, y).data;
  }

  /** Training mode (dropout masks from `rng`) or eval mode (null, the default). */
  setTraining(rng: Rng | null): void {
    this.net.setTraining(rng);
  }

  parameters(): NamedVariables {
    return this.net.parameters();
  }

  dispose(): void {
    this.net.dispose();
  }
}
