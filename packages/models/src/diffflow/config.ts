/**
 * DiffFlow model configs: the JSON that, with a weights file, defines a {@link DiffFlowModel}.
 *
 *   {
 *     "format": "nfdm-diffflow/1",
 *     "dim": 2,
 *     "network": { "channels": 128, "layers": 3 },       (FourierMLP, for both drift and score)
 *       or { "arch": "unet", "image": { "height": 28, "width": 28, "channels": 1 }, "base": 16, … }
 *          (a U-Net for each, as the other families' network sections; dim = H·W·C)
 *     "time": { "N": 30, "tMin": 0.001, "tMax": 0.05, "exponent": 0.9, "g": 0.2,
 *               "flexible": false, "progressive": [ { "step": 0, "N": 10 }, { "step": 2000, "N": 30 } ] },
 *     "seed": 0,
 *     "standardization": { "mean": [...], "std": [...] }   (optional)
 *   }
 */
import {
  type ConfigObject,
  configKeys,
  configNumber,
  configObject,
  describeValue,
  ModelConfigError,
  parseStandardization,
  type Standardization,
} from '../config.js';
import { checkNetworkDim, networkConfigOf, parseNetworkConfig, type UNetNetworkConfig } from '../network.js';
import { DiffFlowModel, DiffFlowUNet, FourierMLP } from './networks.js';
import { type DiffFlowTimeConfig, resolveDiffFlowTime } from './time.js';

/** The format tag of {@link DiffFlowModelConfig}. */
export const DIFFFLOW_FORMAT = 'nfdm-diffflow/1';

/** Two FourierMLPs of C channels and L hidden layers (the default: C = 128, L = 3). */
export interface FourierMLPNetworkConfig {
  channels: number;
  layers: number;
}

/** The drift's and the score's architecture: FourierMLPs, or U-Nets over images (`arch: 'unet'`). */
export type DiffFlowNetworkConfig = FourierMLPNetworkConfig | UNetNetworkConfig;

/** Whether a DiffFlow network section is a U-Net. */
export function isUNetNetwork(network: DiffFlowNetworkConfig): network is UNetNetworkConfig {
  return (network as { arch?: unknown }).arch === 'unet';
}

export interface DiffFlowModelConfig {
  format: typeof DIFFFLOW_FORMAT;
  dim: number;
  network: DiffFlowNetworkConfig;
  time: DiffFlowTimeConfig;
  seed: number;
  standardization?: Standardization;
}

function parseTime(raw: unknown): DiffFlowTimeConfig {
  const obj = configObject(raw ?? {}, 'time');
  configKeys(obj, ['N', 'tMin', 'tMax', 'exponent', 'g', 'flexible', 'progressive'], 'time');
  const input: Partial<DiffFlowTimeConfig> = {};
  for (const key of ['N', 'tMin', 'tMax', 'exponent', 'g'] as const) {
    const v = configNumber(obj, key, 'time');
    if (v !== undefined) input[key] = v;
  }
  if (obj.flexible !== undefined) {
    if (typeof obj.flexible !== 'boolean')
      throw new ModelConfigError('time.flexible', `expected true or false, ${describeValue(obj.flexible)}`);
    input.flexible = obj.flexible;
  }
  if (obj.progressive !== undefined) {
    if (!Array.isArray(obj.progressive))
      throw new ModelConfigError('time.progressive', `expected an array, ${describeValue(obj.progressive)}`);
    input.progressive = obj.progressive.map((s, i) => {
      const o = configObject(s, `time.progressive[${i}]`);
      configKeys(o, ['step', 'N'], `time.progressive[${i}]`);
      return { step: o.step as number, N: o.N as number };
    });
  }
  try {
    return resolveDiffFlowTime(input);
  } catch (error) {
    throw new ModelConfigError('time', (error as Error).message);
  }
}

const FOURIER_KEYS = ['channels', 'layers'];

/**
 * The network section: `{ channels, layers }` (FourierMLPs, defaults 128 and 3; also when
 * omitted) or a U-Net section `{ arch: 'unet', image, … }` (@nfdm/models' network sections) whose
 * images have `dim` values, without dropout.
 */
function parseNetwork(raw: unknown, dim: number): DiffFlowNetworkConfig {
  const net = configObject(raw ?? {}, 'network');
  if (net.arch === undefined) {
    if (net.image !== undefined)
      throw new ModelConfigError('network.arch', 'missing: a U-Net section needs "arch": "unet" (FourierMLPs take channels and layers)');
    configKeys(net, FOURIER_KEYS, 'network');
    const channels = configNumber(net, 'channels', 'network', (n) => Number.isInteger(n) && n >= 2, 'an integer ≥ 2') ?? 128;
    const layers = configNumber(net, 'layers', 'network', (n) => Number.isInteger(n) && n >= 0, 'a non-negative integer') ?? 3;
    return { channels, layers };
  }
  if (net.arch !== 'unet')
    throw new ModelConfigError(
      'network.arch',
      `expected "unet" (omit arch for FourierMLPs: { "channels", "layers" }), ${describeValue(net.arch)}`,
    );
  const unet = parseNetworkConfig(net, 'network') as UNetNetworkConfig;
  checkNetworkDim(unet, dim, 'network');
  if (unet.dropout)
    throw new ModelConfigError(
      'network.dropout',
      `DiffFlow's U-Nets take no dropout (the memory-saving gradient re-evaluates every step's networks, which would draw other masks), got ${unet.dropout}`,
    );
  return unet;
}

/** Validate a DiffFlow config and fill its defaults (throws {@link ModelConfigError} naming the field). */
export function parseDiffFlowConfig(raw: unknown): DiffFlowModelConfig {
  const obj = configObject(raw, 'config');
  configKeys(obj, ['format', 'dim', 'network', 'time', 'seed', 'standardization'], 'config');
  if (obj.format !== DIFFFLOW_FORMAT) throw new ModelConfigError('format', `expected "${DIFFFLOW_FORMAT}", ${describeValue(obj.format)}`);
  const dim = obj.dim;
  if (typeof dim !== 'number' || !Number.isInteger(dim) || dim < 1)
    throw new ModelConfigError('dim', `expected a positive integer (the data dimension), ${describeValue(dim)}`);
  const network = parseNetwork(obj.network, dim);
  const seed = obj.seed;
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0)
    throw new ModelConfigError('seed', `expected a non-negative integer, ${describeValue(seed)}`);
  const out: DiffFlowModelConfig = { format: DIFFFLOW_FORMAT, dim, network, time: parseTime(obj.time), seed };
  if (obj.standardization !== undefined) out.standardization = parseStandardization(obj.standardization, dim);
  return out;
}

const DIFFFLOW_EXTRAS = new WeakMap<DiffFlowModel, { seed: number; standardization?: Standardization }>();

/** Build a DiffFlow model (two FourierMLPs or two U-Nets from Rng(seed), drift first) from its config. */
export function createDiffFlowModel(config: DiffFlowModelConfig): DiffFlowModel {
  const c = parseDiffFlowConfig(config);
  const options = { seed: c.seed, time: c.time };
  const model = isUNetNetwork(c.network)
    ? DiffFlowModel.unet(c.network, options)
    : DiffFlowModel.fourier(c.dim, { ...c.network, ...options });
  DIFFFLOW_EXTRAS.set(model, { seed: c.seed, standardization: c.standardization });
  return model;
}

/** The network section of one drift or score net (undefined: neither a FourierMLP nor a DiffFlowUNet). */
function netSection(net: DiffFlowModel['driftNet']): DiffFlowNetworkConfig | undefined {
  if (net instanceof FourierMLP) return { channels: net.channels, layers: net.hidden.length };
  if (net instanceof DiffFlowUNet) return networkConfigOf(net.net);
  return undefined;
}

/** The network section both nets share (a config describes one architecture for the drift and the score). */
function modelNetworkSection(model: DiffFlowModel): DiffFlowNetworkConfig {
  const drift = netSection(model.driftNet);
  const score = netSection(model.scoreNet);
  if (!drift || !score)
    throw new ModelConfigError('network', 'only FourierMLP or DiffFlowUNet drift and score networks can be described by a config');
  if (JSON.stringify(drift) !== JSON.stringify(score))
    throw new ModelConfigError('network', 'the drift and score networks differ; a config describes one architecture for both');
  return drift;
}

/** The config of a DiffFlow model with FourierMLP or U-Net nets (the same architecture for drift and score). */
export function diffflowModelConfig(
  model: DiffFlowModel,
  options: { seed?: number; standardization?: Standardization | null } = {},
): DiffFlowModelConfig {
  const extras = DIFFFLOW_EXTRAS.get(model);
  const raw: ConfigObject = {
    format: DIFFFLOW_FORMAT,
    dim: model.dim,
    network: modelNetworkSection(model),
    time: model.time,
    seed: options.seed ?? extras?.seed ?? 0,
  };
  const standardization = options.standardization === null ? undefined : (options.standardization ?? extras?.standardization);
  if (standardization) raw.standardization = standardization;
  return parseDiffFlowConfig(raw);
}

/** The standardisation remembered by {@link createDiffFlowModel}, if any. */
export function diffflowStandardization(model: DiffFlowModel): Standardization | undefined {
  return DIFFFLOW_EXTRAS.get(model)?.standardization;
}
