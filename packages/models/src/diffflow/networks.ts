/**
 * DiffFlow's networks (docs/maths/diffflow.md#networks) for the drift f_θ(x, t) and the score
 * s_θ(x, t), both a {@link DiffFlowNet}: x [B, d], t [B, 1] or [1, 1] → [B, d].
 *
 * {@link FourierMLP} (the default, the 2-D reference architecture):
 *
 *   e(t)  = [sin(w t + φ), cos(w t + φ)] ∈ R^{2C},   w = linspace(0.1, 100, C) fixed, φ ~ N(0, 1)^C learnable,
 *   h_t   = Linear(C→C)(GELU(Linear(2C→C)(e(t)))),
 *   h_x   = Linear(d→C)(x),
 *   h     = GELU(h_x + h_t) → L × [Linear(C→C) → GELU] → Linear(C→d).
 *
 * GELU is the tanh approximation ('gelu-tanh'; torch's nn.GELU default is the erf form).
 * For one time t shared by every row (DiffFlow's chain), h_x + h_t = x W_in + (b_in + h_t): the
 * whole trunk is one dense chain over x whose first bias c(t) = b_in + h_t carries the time
 * ({@link FourierMLP.condition}), run by core's `denseChainJet` — one fused op on @nfdm/native's
 * kernels when they are in use, as is the time branch e(t) → Linear → GELU → Linear.
 *
 * {@link DiffFlowUNet} (images): core's TimeUNet U(x, t) on rows of flattened NHWC images,
 * d = H·W·C, one output image of C channels per row.
 */
import {
  collectParameters,
  Dense,
  denseChainJet,
  getActivation,
  Jet,
  type Module,
  type NamedVariables,
  Rng,
  TimeUNet,
  type TimeUNetOptions,
} from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import type { UNetNetworkConfig } from '../network.js';
import { imageEvalBatch } from '../network.js';
import { type DiffFlowTimeConfig, resolveDiffFlowTime } from './time.js';

/**
 * What DiffFlow asks of its drift and score networks: (x [B, d], t) → [B, d]. The chain
 * evaluates every row at the same time and passes t [1, 1]; a network must also take t [B, 1].
 */
export interface DiffFlowNet extends Module {
  readonly dim: number;
  /** x [B, d], t [B, 1] or [1, 1] (one time for every row) → [B, d]. */
  apply(x: tf.Tensor2D, t: tf.Tensor2D): tf.Tensor2D;
  /**
   * Optional split into a time part and a data part, so that a chain over a fixed grid computes
   * the time part once for all its times: `condition(t)` for K times t [K, 1] → [K, F], one row
   * c(t_k) per time, and `applyConditioned(x, c(t_k))` = `apply(x, t_k)` for x [B, d] (every
   * row at t_k). Both differentiable (θ reaches the result through c and through the data part).
   */
  condition?(t: tf.Tensor2D): tf.Tensor2D;
  /** x [B, d] and one row c [F] of {@link condition} → [B, d]. */
  applyConditioned?(x: tf.Tensor2D, c: tf.Tensor1D): tf.Tensor2D;
}

/** Throw unless x is [B, dim] and t is [B, 1] or [1, 1]. */
function checkNetInputs(name: string, dim: number, x: tf.Tensor2D, t: tf.Tensor2D): void {
  if (x.rank !== 2 || x.shape[1] !== dim) throw new RangeError(`${name} expects x [B, ${dim}], got [${x.shape}]`);
  if (t.rank !== 2 || t.shape[1] !== 1 || (t.shape[0] !== 1 && t.shape[0] !== x.shape[0]))
    throw new RangeError(`${name} expects t [B, 1] or [1, 1] (one time for every row), got [${t.shape}]`);
}

/** Options for {@link FourierMLP}. */
export interface FourierMLPOptions {
  /** Channels C (default 128). */
  channels?: number;
  /** Hidden layers L (default 3). */
  layers?: number;
  /** Generator for the initial weights and phase (default seed 0). */
  rng?: Rng;
}

const gelu = getActivation('gelu-tanh');
const act = (h: tf.Tensor): tf.Tensor2D => gelu(h, 0).value as tf.Tensor2D;

/**
 * DiffFlow's FourierMLP (module doc). Parameters (names unchanged since the first format):
 * `frequencies` (buffer), `phase`, `timeIn.*`, `timeOut.*`, `input.*`, `hidden.<l>.*`, `output.*`.
 */
export class FourierMLP implements DiffFlowNet {
  readonly channels: number;
  /** w, a non-trainable buffer [C]. */
  readonly frequencies: tf.Variable<tf.Rank.R1>;
  /** φ, trainable [C]. */
  readonly phase: tf.Variable<tf.Rank.R1>;
  readonly timeIn: Dense;
  readonly timeOut: Dense;
  readonly inputLayer: Dense;
  readonly hidden: Dense[];
  readonly output: Dense;

  constructor(
    readonly dim: number,
    options: FourierMLPOptions = {},
  ) {
    const C = options.channels ?? 128;
    const L = options.layers ?? 3;
    if (!Number.isInteger(dim) || dim <= 0) throw new RangeError(`FourierMLP: dim must be a positive integer, got ${dim}`);
    if (!Number.isInteger(C) || C < 2) throw new RangeError(`FourierMLP: channels must be an integer ≥ 2, got ${C}`);
    if (!Number.isInteger(L) || L < 0) throw new RangeError(`FourierMLP: layers must be a non-negative integer, got ${L}`);
    const rng = options.rng ?? new Rng(0);
    this.channels = C;
    const w = new Float32Array(C);
    for (let i = 0; i < C; i++) w[i] = 0.1 + ((100 - 0.1) * i) / (C - 1);
    this.frequencies = tf.tidy(() => tf.variable(tf.tensor1d(w), false));
    this.phase = tf.tidy(() => tf.variable(tf.tensor1d(rng.normalArray(C)), true));
    this.timeIn = new Dense(2 * C, C, { rng });
    this.timeOut = new Dense(C, C, { rng });
    this.inputLayer = new Dense(dim, C, { rng });
    this.hidden = Array.from({ length: L }, () => new Dense(C, C, { rng }));
    this.output = new Dense(C, dim, { rng });
  }

  /**
   * The time features h_t = Linear(GELU(Linear(e(t)))), e(t) = [sin(wt + φ), cos(wt + φ)], for
   * t [K, 1] → [K, C] (t [1, 1] → [1, C], broadcast over the rows by {@link apply}). The two
   * layers run as one dense chain (one native op when the kernels are in use).
   */
  timeFeatures(t: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const arg = tf.add(tf.mul(t, tf.reshape(this.frequencies, [1, -1])), tf.reshape(this.phase, [1, -1]));
      const emb = tf.concat([tf.sin(arg), tf.cos(arg)], 1) as tf.Tensor2D;
      const layers = [this.timeIn, this.timeOut];
      return denseChainJet(
        new Jet(emb, 0),
        layers.map((l) => l.weight),
        layers.map((l) => l.bias),
        'gelu-tanh',
      ).data;
    });
  }

  /** The first layer's bias at each time, c(t) = b_in + h_t, for t [K, 1] → [K, C] ({@link DiffFlowNet.condition}). */
  condition(t: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.add(this.timeFeatures(t), tf.reshape(this.inputLayer.bias, [1, -1])) as tf.Tensor2D);
  }

  /**
   * The trunk at one time, as one dense chain over x with the first bias c = b_in + h_t:
   * x W_in + c → GELU → L × [Linear → GELU] → Linear; x [B, d], c [C] → [B, d].
   */
  applyConditioned(x: tf.Tensor2D, c: tf.Tensor1D): tf.Tensor2D {
    const layers = [this.inputLayer, ...this.hidden, this.output];
    const weights = layers.map((l) => l.weight);
    const biases = [c, ...layers.slice(1).map((l) => l.bias)];
    return denseChainJet(new Jet(x, 0), weights, biases, 'gelu-tanh').data;
  }

  apply(x: tf.Tensor2D, t: tf.Tensor2D): tf.Tensor2D {
    checkNetInputs('FourierMLP', this.dim, x, t);
    return tf.tidy(() => {
      if (t.shape[0] === 1) return this.applyConditioned(x, tf.reshape(this.condition(t), [-1]) as tf.Tensor1D);
      // A time per row: the first layer's pre-activation varies by row, the rest is one dense chain.
      const h = act(tf.add(this.inputLayer.apply(x), this.timeFeatures(t)));
      const layers = [...this.hidden, this.output];
      return denseChainJet(
        new Jet(h, 0),
        layers.map((l) => l.weight),
        layers.map((l) => l.bias),
        'gelu-tanh',
      ).data;
    });
  }

  parameters(): NamedVariables {
    const out: NamedVariables = new Map<string, tf.Variable>([
      ['frequencies', this.frequencies],
      ['phase', this.phase],
    ]);
    const children: Record<string, Module> = { timeIn: this.timeIn, timeOut: this.timeOut, input: this.inputLayer, output: this.output };
    this.hidden.forEach((layer, i) => {
      children[`hidden.${i}`] = layer;
    });
    for (const [k, v] of collectParameters(children)) out.set(k, v);
    return out;
  }

  dispose(): void {
    this.frequencies.dispose();
    this.phase.dispose();
    for (const layer of [this.timeIn, this.timeOut, this.inputLayer, ...this.hidden, this.output]) layer.dispose();
  }
}

/** Options of {@link DiffFlowUNet}: a TimeUNet's, one image in and one out per row. */
export type DiffFlowUNetOptions = Omit<TimeUNetOptions, 'inMaps' | 'outMaps'>;

/**
 * A U-Net as a DiffFlow network: U(x, t) of core's TimeUNet (docs/maths/image-networks.md) on
 * rows x [B, H·W·C] of flattened NHWC images → [B, H·W·C]. The U-Net conditions every row on its
 * own time, so a shared t [1, 1] is tiled to [B, 1] first. Parameters are the TimeUNet's. It
 * stays in eval mode (no `setTraining`): DiffFlow's configs refuse U-Net dropout, whose masks the
 * memory-saving gradient could not reproduce when it re-evaluates a step.
 */
export class DiffFlowUNet implements DiffFlowNet {
  readonly net: TimeUNet;

  constructor(options: DiffFlowUNetOptions) {
    this.net = new TimeUNet({ ...options, inMaps: 1, outMaps: 1 });
  }

  /** d = H·W·C. */
  get dim(): number {
    return this.net.dim;
  }

  apply(x: tf.Tensor2D, t: tf.Tensor2D): tf.Tensor2D {
    checkNetInputs('DiffFlowUNet', this.dim, x, t);
    const B = x.shape[0];
    return tf.tidy(() => this.net.apply(x, t.shape[0] === B ? t : (tf.tile(t, [B, 1]) as tf.Tensor2D)));
  }

  parameters(): NamedVariables {
    return this.net.parameters();
  }

  dispose(): void {
    this.net.dispose();
  }
}

/**
 * The DiffFlow model: a drift net f_θ(x, t) and a score net s_θ(x, t) (separate networks),
 * shared by the forward SDE dx = f dt + g dw and the backward SDE dx = [f − g² s] dt + g dw̄.
 * The diffusion g is a constant (the repo's 2D setting; ExpTimer with start = end). The
 * model carries its time settings ({@link DiffFlowTimeConfig}: grid, g, flexible timestamps,
 * progressive N; default the 2-D setting), which training, sampling and the likelihoods use.
 */
export class DiffFlowModel implements Module {
  readonly dim: number;
  readonly time: DiffFlowTimeConfig;

  constructor(
    readonly driftNet: DiffFlowNet,
    readonly scoreNet: DiffFlowNet,
    time: Partial<DiffFlowTimeConfig> = {},
  ) {
    if (driftNet.dim !== scoreNet.dim) throw new RangeError(`DiffFlowModel: drift dim ${driftNet.dim} ≠ score dim ${scoreNet.dim}`);
    this.dim = driftNet.dim;
    this.time = resolveDiffFlowTime(time);
  }

  /** A model with two FourierMLPs (the repo's 2D architecture), seeded. */
  static fourier(
    dim: number,
    options: Omit<FourierMLPOptions, 'rng'> & { seed?: number; time?: Partial<DiffFlowTimeConfig> } = {},
  ): DiffFlowModel {
    const rng = new Rng(options.seed ?? 0);
    const net = () => new FourierMLP(dim, { channels: options.channels, layers: options.layers, rng });
    return new DiffFlowModel(net(), net(), options.time);
  }

  /** A model with two U-Nets of one `network` section (images of d = H·W·C values), seeded; drift first. */
  static unet(network: UNetNetworkConfig, options: { seed?: number; time?: Partial<DiffFlowTimeConfig> } = {}): DiffFlowModel {
    const rng = new Rng(options.seed ?? 0);
    const { arch: _arch, ...unet } = network;
    const net = () => new DiffFlowUNet({ ...unet, rng });
    return new DiffFlowModel(net(), net(), options.time);
  }

  /**
   * Rows per evaluation batch that keep memory bounded for U-Net networks (as
   * DiffusionModel's `evalBatch`: 64 at 14×14, base 8, fewer for larger images); undefined for
   * FourierMLPs.
   */
  get evalBatch(): number | undefined {
    const unets = [this.driftNet, this.scoreNet].map((n) => (n instanceof DiffFlowUNet ? n.net : n));
    return imageEvalBatch(unets);
  }

  drift(x: tf.Tensor2D, t: tf.Tensor2D): tf.Tensor2D {
    return this.driftNet.apply(x, t);
  }

  score(x: tf.Tensor2D, t: tf.Tensor2D): tf.Tensor2D {
    return this.scoreNet.apply(x, t);
  }

  parameters(): NamedVariables {
    return collectParameters({ drift: this.driftNet, score: this.scoreNet });
  }

  dispose(): void {
    this.driftNet.dispose();
    this.scoreNet.dispose();
  }
}
