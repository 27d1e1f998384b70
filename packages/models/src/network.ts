/**
 * The networks of a model's parts (predictor, forward process): an MLP of [x, e(t)]
 * ({@link TimeMLP}, the default) or, for images, a U-Net ({@link TimeUNet}) named by a
 * `network` section in the part's config:
 *
 *     "network": { "arch": "unet", "image": { "height": 28, "width": 28, "channels": 1 },
 *                  "base": 16, "multipliers": [1, 2, 2], "numResBlocks": 1,
 *                  "attentionResolutions": [7], "groups": 8, "layout": "adm", "dropout": 0.1,
 *                  "embedding": { "minFrequency": 0.1, "maxFrequency": 1000 } }
 *
 * Both take rows x [B, D] (images flattened NHWC, D = H·W·C) and t [B, 1] and return a jet of
 * `maps` blocks of D columns, so every model works on images unchanged.
 */
import {
  type ActivationName,
  type ConditionSpec,
  type InitScheme,
  type Rng,
  TIME_UNET_EMBEDDING,
  TimeMLP,
  type TimeNetwork,
  TimeUNet,
  UNET_DEFAULTS,
} from '@nfdm/core';
import { type ConfigObject, configKeys, configObject, describeValue, ModelConfigError } from './config-errors.js';

/**
 * A U-Net network section. Defaults: base 32, multipliers [1, 2, 2], numResBlocks 1, no
 * attention, groups 8, layout 'adm', no dropout, embedding frequencies 0.1 … 1000 (ADM's
 * embedding of 1000·t).
 */
export interface UNetNetworkConfig {
  arch: 'unet';
  image: { height: number; width: number; channels: number };
  base?: number;
  multipliers?: number[];
  numResBlocks?: number;
  attentionResolutions?: number[];
  groups?: number;
  layout?: 'adm' | 'compact';
  /** ADM's scale-shift (FiLM) time conditioning (default false). */
  scaleShift?: boolean;
  /**
   * Dropout rate in [0, 1) in every ResBlock, active only while the trainer updates the model
   * (default 0; written only when > 0). Each evaluation of the network draws its own masks, so it
   * suits the predictor (ADM's use); a learned forward process is evaluated at x and at x̂ with
   * different masks.
   */
  dropout?: number;
  embedding?: { minFrequency: number; maxFrequency: number };
}

const UNET_KEYS = [
  'arch',
  'image',
  'base',
  'multipliers',
  'numResBlocks',
  'attentionResolutions',
  'groups',
  'layout',
  'scaleShift',
  'dropout',
  'embedding',
];

function positiveInt(obj: ConfigObject, key: string, field: string, fallback?: number): number {
  const v = obj[key] ?? fallback;
  if (!Number.isInteger(v) || (v as number) < 1)
    throw new ModelConfigError(`${field}.${key}`, `expected a positive integer, ${describeValue(obj[key])}`);
  return v as number;
}

function intList(obj: ConfigObject, key: string, field: string, fallback: number[], min: number): number[] {
  const v = obj[key] ?? fallback;
  if (!Array.isArray(v) || v.some((x) => !Number.isInteger(x) || x < min))
    throw new ModelConfigError(`${field}.${key}`, `expected an array of integers ≥ ${min}, ${describeValue(obj[key])}`);
  return [...v];
}

/** The section's dropout rate: a number in [0, 1), default 0. */
function dropoutRate(obj: ConfigObject, field: string): number {
  const v = obj.dropout ?? UNET_DEFAULTS.dropout;
  if (typeof v !== 'number' || !(v >= 0 && v < 1))
    throw new ModelConfigError(`${field}.dropout`, `expected a rate in [0, 1), ${describeValue(obj.dropout)}`);
  return v;
}

/** Validate a network section; fills the defaults. `undefined` stays undefined (an MLP). */
export function parseNetworkConfig(raw: unknown, field: string): UNetNetworkConfig | undefined {
  if (raw === undefined) return undefined;
  const obj = configObject(raw, field);
  configKeys(obj, UNET_KEYS, field);
  if (obj.arch !== 'unet')
    throw new ModelConfigError(`${field}.arch`, `expected "unet" (omit the section for an MLP), ${describeValue(obj.arch)}`);
  const image = configObject(obj.image, `${field}.image`);
  configKeys(image, ['height', 'width', 'channels'], `${field}.image`);
  const size = {
    height: positiveInt(image, 'height', `${field}.image`),
    width: positiveInt(image, 'width', `${field}.image`),
    channels: positiveInt(image, 'channels', `${field}.image`),
  };
  const base = positiveInt(obj, 'base', field, UNET_DEFAULTS.base);
  const groups = positiveInt(obj, 'groups', field, UNET_DEFAULTS.groups);
  const multipliers = intList(obj, 'multipliers', field, [...UNET_DEFAULTS.multipliers], 1);
  if (multipliers.length === 0) throw new ModelConfigError(`${field}.multipliers`, 'expected at least one level');
  for (const m of multipliers)
    if ((base * m) % groups !== 0)
      throw new ModelConfigError(`${field}.groups`, `${groups} groups do not divide ${base * m} channels (base ${base} × ${m})`);
  const layout = obj.layout ?? UNET_DEFAULTS.layout;
  if (layout !== 'adm' && layout !== 'compact')
    throw new ModelConfigError(`${field}.layout`, `expected "adm" or "compact", ${describeValue(obj.layout)}`);
  const emb = obj.embedding === undefined ? {} : configObject(obj.embedding, `${field}.embedding`);
  configKeys(emb, ['minFrequency', 'maxFrequency'], `${field}.embedding`);
  const minFrequency = (emb.minFrequency ?? TIME_UNET_EMBEDDING.minFrequency) as number;
  const maxFrequency = (emb.maxFrequency ?? TIME_UNET_EMBEDDING.maxFrequency) as number;
  if (!(typeof minFrequency === 'number' && typeof maxFrequency === 'number' && minFrequency > 0 && maxFrequency >= minFrequency))
    throw new ModelConfigError(`${field}.embedding`, `expected 0 < minFrequency ≤ maxFrequency, ${describeValue(obj.embedding)}`);
  if (base % 2 !== 0)
    throw new ModelConfigError(`${field}.base`, `expected an even width (the sinusoidal embedding has base channels), got ${base}`);
  if (obj.scaleShift !== undefined && typeof obj.scaleShift !== 'boolean')
    throw new ModelConfigError(`${field}.scaleShift`, `expected true or false, ${describeValue(obj.scaleShift)}`);
  const dropout = dropoutRate(obj, field);
  return {
    arch: 'unet',
    image: size,
    ...(obj.scaleShift === true ? { scaleShift: true } : {}),
    ...(dropout > 0 ? { dropout } : {}),
    base,
    multipliers,
    numResBlocks: positiveInt(obj, 'numResBlocks', field, UNET_DEFAULTS.numResBlocks),
    attentionResolutions: intList(obj, 'attentionResolutions', field, [], 1),
    groups,
    layout,
    embedding: { minFrequency, maxFrequency },
  };
}

/** Throw unless a network's images have `dim` values (H·W·C). */
export function checkNetworkDim(network: UNetNetworkConfig | undefined, dim: number, field: string): void {
  if (!network) return;
  const { height, width, channels } = network.image;
  if (height * width * channels !== dim)
    throw new ModelConfigError(
      `${field}.image`,
      `${height}×${width}×${channels} = ${height * width * channels} values, but the model has dim ${dim}`,
    );
}

export interface TimeNetworkSpec {
  /** D: columns of one input block (one image). */
  dataDim: number;
  /** Input blocks of D columns side by side (default 1; bridges: [x0 | x1] or [z | x1]). */
  inMaps?: number;
  /** Output blocks of D columns. */
  maps: number;
  hidden: number[];
  activation: ActivationName;
  init?: InitScheme;
  network?: UNetNetworkConfig;
  /** A condition input y (MLP: [x, e(t), emb(y)] with emb of width `embedding`; U-Net: added to temb). */
  condition?: NetworkCondition | null;
  rng?: Rng | number;
}

/** The condition input of a part's network: what y is and the width of its MLP embedding. */
export interface NetworkCondition {
  spec: ConditionSpec;
  /** Width e of emb(y) in an MLP (a U-Net embeds y to the width 4·base of its time embedding). */
  embedding: number;
}

/** The network of a part: a U-Net when `network` is given, else an MLP NN([x, t]) with maps·D outputs. */
export function createTimeNetwork(spec: TimeNetworkSpec): TimeNetwork {
  const n = spec.network;
  const inMaps = spec.inMaps ?? 1;
  if (!n) {
    return new TimeMLP({
      dataDim: inMaps * spec.dataDim,
      outDim: spec.maps * spec.dataDim,
      hidden: spec.hidden,
      activation: spec.activation,
      init: spec.init,
      rng: spec.rng,
      condition: spec.condition ?? null,
    });
  }
  checkNetworkDim(n, spec.dataDim, 'network');
  const { arch: _arch, ...options } = n;
  return new TimeUNet({ ...options, inMaps, outMaps: spec.maps, rng: spec.rng, condition: spec.condition?.spec ?? null });
}

/** The network section of a part's network (undefined for an MLP). */
export function networkConfigOf(net: TimeNetwork): UNetNetworkConfig | undefined {
  if (!(net instanceof TimeUNet)) return undefined;
  const o = net.options;
  return {
    arch: 'unet',
    image: { ...o.image },
    base: o.base ?? UNET_DEFAULTS.base,
    multipliers: [...(o.multipliers ?? UNET_DEFAULTS.multipliers)],
    numResBlocks: o.numResBlocks ?? UNET_DEFAULTS.numResBlocks,
    attentionResolutions: [...(o.attentionResolutions ?? [])],
    groups: o.groups ?? UNET_DEFAULTS.groups,
    layout: o.layout ?? UNET_DEFAULTS.layout,
    ...(o.scaleShift ? { scaleShift: true } : {}),
    ...(o.dropout ? { dropout: o.dropout } : {}),
    embedding: { ...(o.embedding ?? TIME_UNET_EMBEDDING) },
  };
}

/** The MLP settings of a part, with the library defaults (kept in configs also when a U-Net is used). */
export interface MlpSettings {
  hidden: number[];
  activation: ActivationName;
  init: InitScheme;
}

export function mlpSettings(
  o: { hidden?: number[]; activation?: ActivationName; init?: InitScheme },
  defaultHidden: number[],
): MlpSettings {
  return { hidden: o.hidden ?? defaultHidden, activation: o.activation ?? 'selu', init: o.init ?? 'torch' };
}

/** `{ network }` for a part whose network is a U-Net, `{}` for an MLP (spread into a part's config). */
export function networkSection(net: TimeNetwork): { network?: UNetNetworkConfig } {
  const network = networkConfigOf(net);
  return network ? { network } : {};
}

/** Rows per evaluation batch of small U-Net models (14×14 images, base 8); larger ones use fewer. */
export const IMAGE_EVAL_BATCH = 64;

/**
 * Rows per evaluation batch that keep memory bounded when some of `nets` are U-Nets: their
 * activations grow with H·W·base, so 64 · (14·14·8)/(H·W·base) rows (64 for 14×14 at base 8, 8
 * for 28×28 at base 16; at least 1) for the largest; undefined when all are MLPs.
 */
export function imageEvalBatch(nets: readonly unknown[]): number | undefined {
  const size = largestUNetSize(nets);
  return size === 0 ? undefined : Math.max(1, Math.min(IMAGE_EVAL_BATCH, Math.floor((IMAGE_EVAL_BATCH * 14 * 14 * 8) / size)));
}

/**
 * Row·pixel·channel budgets of one training micro-batch (see {@link imageTrainBatch}): 1.6M units
 * on tfjs kernels, 4M with the native image kernels. Measured on the wasm backend (4 GB heap),
 * U-Net NFDM step with one t-tangent: ≈ 1.5 KB per unit on tfjs kernels with the blocks
 * recomputed (0.6 GB at base 16 × batch 16), ≈ 0.55 KB with the native kernels (0.43 GB at
 * base 16 × batch 32), so both budgets stay near 2.3 GB.
 */
export const IMAGE_TRAIN_UNITS = { tfjs: 1_600_000, native: 4_000_000 } as const;

/**
 * Rows per training micro-batch that keep one reverse pass within the wasm heap when some of
 * `nets` are U-Nets: ⌊units / (2·H·W·base)⌋ for the largest (2: the value and its t-tangent),
 * at least 1; undefined when all are MLPs (no limit).
 */
export function imageTrainBatch(nets: readonly unknown[], native: boolean): number | undefined {
  const size = largestUNetSize(nets);
  if (size === 0) return undefined;
  return Math.max(1, Math.floor((native ? IMAGE_TRAIN_UNITS.native : IMAGE_TRAIN_UNITS.tfjs) / (2 * size)));
}

/** max H·W·base over the U-Nets among `nets` (0 when there are none): what their activations scale with. */
function largestUNetSize(nets: readonly unknown[]): number {
  let size = 0;
  for (const net of nets) {
    if (!(net instanceof TimeUNet)) continue;
    const { height, width } = net.options.image;
    size = Math.max(size, height * width * (net.options.base ?? UNET_DEFAULTS.base));
  }
  return size;
}
