/**
 * A U-Net of images and time, U(x, t), with exact partial time derivatives ∂U/∂t, ∂²U/∂t²
 * (x fixed) — the image counterpart of {@link TimeMLP}. NHWC throughout:
 * x [B, H, W, Cin], t [B, 1] → jet [(order+1)·B, H, W, Cout].
 *
 * Time: e(t) (a {@link TimeEmbedding}; default sinusoidal of width `base` over 1000·t, ADM's
 * convention) → Dense(4·base) → SiLU → Dense(4·base) = temb; every residual block adds
 * Dense(SiLU(temb)) to its first convolution's output.
 *
 * ResBlock(c → c′): h = conv3(SiLU(GN(x))); h += Dense(SiLU(temb)); h = conv3(Dropout(SiLU(GN(h))))
 * (zero-initialised); out = skip(x) + h with skip a 1×1 conv when c ≠ c′. Dropout (rate
 * `dropout`, ADM's place for it) acts in training mode only ({@link setTraining}), with one mask
 * for the value and all tangents (dropout.ts); eval mode, the default, is deterministic. With `scaleShift`
 * (ADM's FiLM) the time projection gives 2c′ values (a, b) and modulates the second norm instead:
 * h = conv3(Dropout(SiLU(GN(h) ⊙ (1 + a) + b))), whose jet is the bilinear rule
 * (GN·(1 + a))′ = GN′(1 + a) + GN a′, (…)″ = GN″(1 + a) + 2 GN′ a′ + GN a″.
 *
 * Condition (optional, `condition`): a class label or a vector y (../condition.ts) embedded to the
 * width of temb and added to it before the SiLU, temb = Dense(SiLU(Dense(e(t)))) + emb(y) (ADM's
 * class conditioning); emb(y) is constant in t, so only the value block of temb's jet changes.
 * Without a condition the U-Net is unchanged (same parameters, same outputs).
 *
 * Two layouts:
 * - `adm` (the ADM/guided-diffusion layout; docs/maths/image-networks.md): input conv 3×3 → base; per level
 *   `numResBlocks` ResBlocks (then attention where the resolution is listed), a 3×3 stride-2
 *   conv between levels; skips after the input conv, every ResBlock and every down-sampling;
 *   middle ResBlock → attention (when the lowest resolution is listed) → ResBlock; up path per
 *   level `numResBlocks + 1` ResBlocks, each on concat(h, skip), then nearest ×2 + conv 3×3.
 * - `compact` (the reference U-Net of the training-speed benchmark): per level `numResBlocks`
 *   ResBlocks with a skip after each, 2×2 average pooling between levels, one middle ResBlock,
 *   up path per level `numResBlocks` ResBlocks on concat(h, skip), nearest ×2 between levels.
 * Output: GN → SiLU → conv3 (zero-initialised), so U ≡ 0 at initialisation.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../random.js';
import { getActivation } from '../activations.js';
import { checkpoint } from '../checkpoint.js';
import { ConditionEmbedding, type ConditionSpec, conditionJet } from '../condition.js';
import { Dense } from '../dense.js';
import { SinusoidalEmbedding, type TimeEmbedding } from '../embedding.js';
import { activateJet, assertJetOrder, Jet, type JetOrder } from '../jet.js';
import { MLP } from '../mlp.js';
import { collectParameters, type Module, type NamedVariables, setChildrenTraining } from '../module.js';
import { nativeKernelsStatus } from '../native.js';
import { bilinearJet, SelfAttention } from './attention.js';
import { Conv2d } from './conv.js';
import { Dropout, maskImageJet } from './dropout.js';
import { GroupNorm } from './group-norm.js';
import { activateImageJet, addChannelJet, ImageJet } from './image-jet.js';
import { avgPool2x, upsampleNearest2x } from './resample.js';

const silu = getActivation('silu');

/**
 * FiLM on an image jet: y = h ⊙ (1 + a) + b with per-image channel vectors a, b (jets
 * [(k)·B, C]); y′ = h′(1 + a) + h a′ + b′, y″ = h″(1 + a) + 2 h′ a′ + h a″ + b″.
 */
export function scaleShiftJet(h: ImageJet, a: Jet, b: Jet): ImageJet {
  const B = h.batch;
  const C = h.channels;
  const hs = h.parts();
  const as = a.parts().map((p, k) => tf.reshape(k === 0 ? tf.add(p, 1) : p, [B, 1, 1, C]));
  const prod = bilinearJet(hs, as, (u, v) => tf.mul(u, v));
  return addChannelJet(new ImageJet((prod.length === 1 ? prod[0] : tf.concat(prod, 0)) as tf.Tensor4D, h.order), b);
}

export interface ResBlockOptions {
  inChannels: number;
  outChannels: number;
  /** Width of temb. */
  timeDim: number;
  groups: number;
  /** FiLM: the time projection scales and shifts the second norm (default false: it is added after conv1). */
  scaleShift?: boolean;
  /** Dropout rate in [0, 1) before the second conv, in training mode only (default 0). */
  dropout?: number;
  rng: Rng;
}

/** The residual block of the module doc. */
export class ResBlock implements Module {
  readonly norm1: GroupNorm;
  readonly conv1: Conv2d;
  readonly time: Dense;
  readonly norm2: GroupNorm;
  readonly dropout: Dropout;
  readonly conv2: Conv2d;
  readonly skip: Conv2d | null;
  /** The block's variables as a list (fixed after construction; built once, for checkpoint()). */
  private parameterList: tf.Variable[] | undefined;

  constructor(readonly options: ResBlockOptions) {
    const { inChannels: cin, outChannels: cout, groups, rng } = options;
    this.norm1 = new GroupNorm({ channels: cin, groups });
    this.conv1 = new Conv2d({ inChannels: cin, outChannels: cout, rng });
    this.time = new Dense(options.timeDim, options.scaleShift ? 2 * cout : cout, { rng });
    this.norm2 = new GroupNorm({ channels: cout, groups });
    this.dropout = new Dropout(options.dropout ?? 0);
    this.conv2 = new Conv2d({ inChannels: cout, outChannels: cout, init: 'zero' });
    this.skip = cin === cout ? null : new Conv2d({ inChannels: cin, outChannels: cout, kernel: 1, rng });
  }

  /**
   * x jet [(k)·B, H, W, cin], activated temb jet SiLU(temb) [(k)·B, timeDim] → [(k)·B, H, W, cout].
   * Checkpointed (nn/checkpoint.ts) when `recompute` (the caller's choice unless forced): under a
   * gradient tape only the block's inputs are kept and the reverse pass recomputes the block; a
   * dropout mask is drawn once, outside, so the recomputation applies the same one.
   */
  jet(x: ImageJet, temb: Jet, recompute = true): ImageJet {
    const mask = this.dropout.drawMask(x.batch, x.height, x.width, this.options.outChannels);
    const body = (xd: tf.Tensor, td: tf.Tensor, m?: tf.Tensor) =>
      this.body(new ImageJet(xd as tf.Tensor4D, x.order), new Jet(td as tf.Tensor2D, temb.order), (m as tf.Tensor4D) ?? null).data;
    this.parameterList ??= [...this.parameters().values()];
    const y = checkpoint(body, [x.data, temb.data], this.parameterList, mask ? [mask] : [], recompute);
    return new ImageJet(y as tf.Tensor4D, x.order);
  }

  /** The block itself (module doc), with an optional dropout mask [B, H, W, cout]. */
  private body(x: ImageJet, temb: Jet, mask: tf.Tensor4D | null): ImageJet {
    // GN → SiLU (and the time-embedding add before norm2) are one fused op each (GroupNorm.jetFused).
    let h = this.conv1.jet(this.norm1.jetFused(x, { silu: true }));
    const projected = this.time.applyJet(temb);
    let activated: ImageJet;
    if (this.options.scaleShift) {
      const cout = this.options.outChannels;
      activated = activateImageJet(scaleShiftJet(this.norm2.jet(h), projected.columns(0, cout), projected.columns(cout, cout)), silu);
    } else {
      activated = this.norm2.jetFused(h, { shift: projected, silu: true });
    }
    h = this.conv2.jet(mask ? maskImageJet(activated, mask) : activated);
    return ImageJet.add(this.skip ? this.skip.jet(x) : x, h);
  }

  /** Training mode (dropout masks from `rng`) or eval mode (null). */
  setTraining(rng: Rng | null): void {
    this.dropout.setTraining(rng);
  }

  parameters(): NamedVariables {
    return collectParameters({
      norm1: this.norm1,
      conv1: this.conv1,
      time: this.time,
      norm2: this.norm2,
      conv2: this.conv2,
      skip: this.skip,
    });
  }

  dispose(): void {
    for (const m of [this.norm1, this.conv1, this.time, this.norm2, this.conv2, this.skip]) m?.dispose();
  }
}

/** Defaults of the optional {@link UNetOptions} (and of the models' `network` sections). */
export const UNET_DEFAULTS = {
  base: 32,
  multipliers: [1, 2, 2] as readonly number[],
  numResBlocks: 1,
  groups: 8,
  layout: 'adm' as 'adm' | 'compact',
  dropout: 0,
};

export interface UNetOptions {
  /** Input image size and channels (H and W must halve evenly down to the lowest level for `compact`). */
  height: number;
  width: number;
  inChannels: number;
  outChannels: number;
  /** Channels of the first level (default 32). */
  base?: number;
  /** Channel multiplier per level (default [1, 2, 2]). */
  multipliers?: number[];
  /** ResBlocks per level on the way down (default 1). */
  numResBlocks?: number;
  /** Resolutions (image heights) with self-attention, e.g. [7] (default none). */
  attentionResolutions?: number[];
  /** GroupNorm groups (default 8). */
  groups?: number;
  layout?: 'adm' | 'compact';
  /** ADM's scale-shift (FiLM) time conditioning in every ResBlock (default false). */
  scaleShift?: boolean;
  /** Dropout rate in [0, 1) in every ResBlock, active in training mode only (default 0). */
  dropout?: number;
  /** Time embedding (default: sinusoidal of width `base` over 1000·t). */
  embedding?: TimeEmbedding;
  /** A condition y, embedded to the width 4·base of temb and added to it (default none). */
  condition?: ConditionSpec | null;
  rng?: Rng | number;
}

interface Level {
  blocks: ResBlock[];
  attention: (SelfAttention | null)[];
  /** Down-sampling conv (adm) after the level, or null. */
  down: Conv2d | null;
}

interface UpLevel {
  blocks: ResBlock[];
  attention: (SelfAttention | null)[];
  /** Conv after the nearest ×2 up-sampling (adm), or null. */
  up: Conv2d | null;
}

export class UNet implements Module {
  readonly embedding: TimeEmbedding;
  readonly timeMlp: MLP;
  readonly inConv: Conv2d;
  readonly levels: Level[] = [];
  readonly middle: { first: ResBlock; attention: SelfAttention | null; second: ResBlock | null };
  readonly upLevels: UpLevel[] = [];
  readonly outNorm: GroupNorm;
  readonly outConv: Conv2d;
  readonly layout: 'adm' | 'compact';
  /** emb(y) of width 4·base, or null for a U-Net without a condition. */
  readonly condition: ConditionEmbedding | null;

  constructor(readonly options: UNetOptions) {
    const rng = options.rng instanceof Rng ? options.rng : new Rng(options.rng ?? 0);
    const base = options.base ?? UNET_DEFAULTS.base;
    const mults = options.multipliers ?? UNET_DEFAULTS.multipliers;
    const numRes = options.numResBlocks ?? UNET_DEFAULTS.numResBlocks;
    const groups = options.groups ?? UNET_DEFAULTS.groups;
    const attnAt = new Set(options.attentionResolutions ?? []);
    this.layout = options.layout ?? UNET_DEFAULTS.layout;
    const adm = this.layout === 'adm';
    checkSizes(options, mults.length, adm);
    this.embedding = options.embedding ?? new SinusoidalEmbedding({ dim: base, minFrequency: 1000 / 10000, maxFrequency: 1000 });
    const timeDim = 4 * base;
    this.timeMlp = new MLP({ inDim: this.embedding.dim, outDim: timeDim, hidden: [timeDim], activation: 'silu', rng });
    this.inConv = new Conv2d({ inChannels: options.inChannels, outChannels: base, rng });
    const scaleShift = options.scaleShift ?? false;
    const dropout = options.dropout ?? UNET_DEFAULTS.dropout;
    const block = (cin: number, cout: number) =>
      new ResBlock({ inChannels: cin, outChannels: cout, timeDim, groups, scaleShift, dropout, rng });
    const attention = (c: number, res: number) => (attnAt.has(res) ? new SelfAttention({ channels: c, groups, rng }) : null);
    const skips: number[] = adm ? [base] : [];
    let ch = base;
    let res = options.height;
    mults.forEach((m, i) => {
      const level: Level = { blocks: [], attention: [], down: null };
      for (let r = 0; r < numRes; r++) {
        level.blocks.push(block(ch, base * m));
        ch = base * m;
        level.attention.push(attention(ch, res));
        skips.push(ch);
      }
      if (i < mults.length - 1) {
        if (adm) {
          level.down = new Conv2d({ inChannels: ch, outChannels: ch, stride: 2, rng });
          skips.push(ch);
        }
        res = Math.ceil(res / 2);
      }
      this.levels.push(level);
    });
    this.middle = adm
      ? { first: block(ch, ch), attention: attention(ch, res), second: block(ch, ch) }
      : { first: block(ch, ch), attention: null, second: null };
    for (let i = mults.length - 1; i >= 0; i--) {
      const level: UpLevel = { blocks: [], attention: [], up: null };
      const count = adm ? numRes + 1 : numRes;
      for (let r = 0; r < count; r++) {
        const skip = skips.pop() as number;
        level.blocks.push(block(ch + skip, base * mults[i]));
        ch = base * mults[i];
        level.attention.push(attention(ch, res));
      }
      if (i > 0) {
        if (adm) level.up = new Conv2d({ inChannels: ch, outChannels: ch, rng });
        res *= 2;
      }
      this.upLevels.push(level);
    }
    this.outNorm = new GroupNorm({ channels: ch, groups });
    this.outConv = new Conv2d({ inChannels: ch, outChannels: options.outChannels, init: 'zero' });
    // Last: a U-Net without a condition draws exactly the weights it always did.
    this.condition = options.condition ? new ConditionEmbedding(options.condition, timeDim, rng) : null;
  }

  /** U(x, t) (U(x, t, y) with a condition y [B, w]) and its partial t-derivatives up to `order`: [(order+1)·B, H, W, Cout]. */
  jet(x: tf.Tensor4D, t: tf.Tensor2D, order: JetOrder, y?: tf.Tensor2D | null): ImageJet {
    assertJetOrder(order);
    const { height, width, inChannels } = this.options;
    if (x.rank !== 4 || x.shape[1] !== height || x.shape[2] !== width || x.shape[3] !== inChannels || x.shape[0] !== t.shape[0])
      throw new RangeError(`UNet expects x [${t.shape[0]}, ${height}, ${width}, ${inChannels}], got [${x.shape}]`);
    const temb = activateJet(this.timeEmbedding(t, order, y), silu);
    const recompute = checkpointPays(x.shape[0] * (order + 1), height, width, this.options.base ?? UNET_DEFAULTS.base);
    let h = this.inConv.jet(ImageJet.constant(x, order));
    const adm = this.layout === 'adm';
    const skips: ImageJet[] = adm ? [h] : [];
    for (const level of this.levels) {
      level.blocks.forEach((b, r) => {
        h = b.jet(h, temb, recompute);
        const a = level.attention[r];
        if (a) h = a.jet(h);
        skips.push(h);
      });
      if (level === this.levels[this.levels.length - 1]) continue;
      if (level.down) {
        h = level.down.jet(h);
        skips.push(h);
      } else h = h.map(avgPool2x);
    }
    h = this.middle.first.jet(h, temb, recompute);
    if (this.middle.attention) h = this.middle.attention.jet(h);
    if (this.middle.second) h = this.middle.second.jet(h, temb, recompute);
    this.upLevels.forEach((level, i) => {
      level.blocks.forEach((b, r) => {
        h = b.jet(ImageJet.concatChannels([h, skips.pop() as ImageJet]), temb, recompute);
        const a = level.attention[r];
        if (a) h = a.jet(h);
      });
      if (i === this.upLevels.length - 1) return;
      h = h.map(upsampleNearest2x);
      if (level.up) h = level.up.jet(h);
    });
    return this.outConv.jet(this.outNorm.jetFused(h, { silu: true }));
  }

  /** temb before its SiLU: Dense(SiLU(Dense(e(t)))) (+ emb(y), a constant in t, on the value block). */
  private timeEmbedding(t: tf.Tensor2D, order: JetOrder, y: tf.Tensor2D | null | undefined): Jet {
    const temb = this.timeMlp.applyJet(this.embedding.jet(t, order));
    const cond = conditionJet(this.condition, y, t.shape[0], order, 'UNet');
    return cond ? new Jet(tf.add(temb.data, cond.data) as tf.Tensor2D, order) : temb;
  }

  /** U(x, t) (or U(x, t, y)) without tangents. */
  apply(x: tf.Tensor4D, t: tf.Tensor2D, y?: tf.Tensor2D | null): tf.Tensor4D {
    return this.jet(x, t, 0, y).data;
  }

  /** Every ResBlock, in the order a forward pass reaches them (the order their dropout masks are drawn). */
  resBlocks(): ResBlock[] {
    const { first, second } = this.middle;
    return [...this.levels.flatMap((l) => l.blocks), first, ...(second ? [second] : []), ...this.upLevels.flatMap((l) => l.blocks)];
  }

  /** Training mode (every ResBlock's dropout draws its masks from `rng`) or eval mode (null, the default). */
  setTraining(rng: Rng | null): void {
    setChildrenTraining(this.resBlocks(), rng);
  }

  parameters(): NamedVariables {
    const children: Record<string, Module | null> = { embedding: this.embedding, time: this.timeMlp, in: this.inConv };
    this.levels.forEach((level, i) => {
      level.blocks.forEach((b, r) => {
        children[`down.${i}.${r}`] = b;
        children[`down.${i}.${r}.attn`] = level.attention[r];
      });
      children[`down.${i}.sample`] = level.down;
    });
    children['mid.0'] = this.middle.first;
    children['mid.attn'] = this.middle.attention;
    children['mid.1'] = this.middle.second;
    this.upLevels.forEach((level, i) => {
      level.blocks.forEach((b, r) => {
        children[`up.${i}.${r}`] = b;
        children[`up.${i}.${r}.attn`] = level.attention[r];
      });
      children[`up.${i}.sample`] = level.up;
    });
    children['out.norm'] = this.outNorm;
    children['out.conv'] = this.outConv;
    children.condition = this.condition;
    return collectParameters(children);
  }

  dispose(): void {
    for (const [name, v] of this.parameters()) if (!name.startsWith('embedding.')) v.dispose();
    this.embedding.dispose();
  }
}

/**
 * Rows·H·W·base above which a U-Net call recomputes its blocks in the reverse pass (unless
 * checkpointing is forced on or off), on tfjs kernels: 600k, e.g. 24 images of 28×28 at base 16
 * with one tangent. Measured on the wasm backend (U-Net NFDM step, base 16, batch 16 = 401k per
 * network call): the taped step holds ≈ 1.7 GB of the 4 GB wasm heap; recomputation cuts that to
 * 0.6 GB for ≈ 1.5× the time — so it pays only where memory would otherwise run out.
 */
export const CHECKPOINT_AUTO_SIZE = 600_000;

/**
 * The same threshold with the native image kernels (fused GroupNorm/SiLU and convolutions keep
 * far fewer tensors on the tape): 3M. Measured: base 16, batch 32 (802k) holds 0.62 GB without
 * recomputation (0.43 GB with, for ≈ 1.1× the time), so ≈ 0.8 KB per unit; 3M ≈ 2.4 GB.
 */
export const CHECKPOINT_AUTO_SIZE_NATIVE = 3_000_000;

/**
 * Whether a U-Net call of `rows` stacked rows of H×W images at width `base` should recompute:
 * above {@link CHECKPOINT_AUTO_SIZE_NATIVE} when the native image kernels run, else above
 * {@link CHECKPOINT_AUTO_SIZE}.
 */
export function checkpointPays(rows: number, height: number, width: number, base: number, native = nativeImageKernels()): boolean {
  return rows * height * width * base > (native ? CHECKPOINT_AUTO_SIZE_NATIVE : CHECKPOINT_AUTO_SIZE);
}

function nativeImageKernels(): boolean {
  const status = nativeKernelsStatus();
  return status.conv2d && status.groupNorm;
}

function checkSizes(options: UNetOptions, levels: number, adm: boolean): void {
  const { height, width } = options;
  for (const [name, v] of Object.entries({ height, width, inChannels: options.inChannels, outChannels: options.outChannels })) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`UNet ${name} must be a positive integer, got ${v}`);
  }
  let h = height;
  let w = width;
  for (let i = 0; i < levels - 1; i++) {
    if (!adm && (h % 2 !== 0 || w % 2 !== 0))
      throw new RangeError(`the compact UNet halves ${height}×${width} ${levels - 1} times; ${h}×${w} is odd`);
    if (adm && (h % 2 !== 0 || w % 2 !== 0))
      throw new RangeError(
        `the UNet's up-sampling doubles sizes back: ${height}×${width} must halve evenly ${levels - 1} times (${h}×${w} is odd)`,
      );
    h /= 2;
    w /= 2;
  }
}
