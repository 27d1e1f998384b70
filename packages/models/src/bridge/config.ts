/**
 * NFBM model configs: the JSON that, with a weights file, defines a {@link BridgeModel}.
 *
 *   {
 *     "format": "nfdm-bridge/1",
 *     "dim": 2,
 *     "process":    { "delta": 0.01, "hidden": [64, 64, 64], "activation": "selu", "init": "torch" },
 *     "predictor":  { "hidden": [64, 64, 64], "activation": "selu", "init": "torch", "offset": 0.01 },
 *     "volatility": { "kind": "neural", "hidden": [64, 64, 64] }   (any VolatilityConfig),
 *     "penalties":  [ { "kind": "obstacle", "center": [0, 0], "radius": 0.5, "weight": 10 } ],
 *     "seed": 0,
 *     "data": { "source": "8gaussians", "target": "moons" }          (optional, descriptive)
 *   }
 *
 * Seeding as for diffusion models: Rng(seed) forks, in order, the process, predictor and
 * volatility generators.
 */
import { Rng } from '@nfdm/core';
import {
  type ConfigObject,
  configActivation,
  configHidden,
  configInit,
  configKeys,
  configNumber,
  configObject,
  configRequiredNumber,
  describeValue,
  ModelConfigError,
  parseVolatilityConfig,
} from '../config.js';
import { checkNetworkDim, networkSection, parseNetworkConfig, type UNetNetworkConfig } from '../network.js';
import { createVolatility, type Volatility, type VolatilityConfig } from '../volatility.js';
import { BridgeModel } from './model.js';
import { createPenalty, type PathPenalty, type PenaltyConfig, penaltyConfig } from './penalty.js';
import { BridgePredictor, BridgeProcess } from './process.js';

/** The format tag of {@link BridgeModelConfig}. */
export const BRIDGE_FORMAT = 'nfdm-bridge/1';

export interface BridgeNetConfig {
  hidden?: number[];
  activation?: 'selu' | 'silu' | 'tanh' | 'softplus' | 'gelu-tanh' | 'sigmoid' | 'relu' | 'identity';
  init?: 'torch' | 'glorot';
  /** A U-Net of the two images side by side (as channels) instead of the MLP (image ↔ image bridges). */
  network?: UNetNetworkConfig;
}

export interface BridgeModelConfig {
  format: typeof BRIDGE_FORMAT;
  dim: number;
  process: BridgeNetConfig & { delta?: number };
  predictor: BridgeNetConfig & { offset?: number };
  volatility: VolatilityConfig;
  penalties: PenaltyConfig[];
  seed: number;
  /** Names of the source (t = 1) and target (t = 0) data, for people reading the file. */
  data?: { source: string; target: string };
}

function parseNet(raw: unknown, field: string, extra: 'delta' | 'offset'): ConfigObject {
  const obj = configObject(raw, field);
  configKeys(obj, ['hidden', 'activation', 'init', 'network', extra], field);
  const out: ConfigObject = {
    hidden: configHidden(obj, 'hidden', field) ?? [64, 64, 64],
    activation: configActivation(obj, 'activation', field) ?? 'selu',
    init: configInit(obj, 'init', field) ?? 'torch',
  };
  const network = parseNetworkConfig(obj.network, `${field}.network`);
  if (network) out.network = network;
  if (extra === 'delta') out.delta = configNumber(obj, 'delta', field, (n) => n > 0 && n < 1, 'a number in (0, 1)') ?? 0.01;
  else out.offset = configNumber(obj, 'offset', field, (n) => n >= 0, 'a number ≥ 0') ?? 0.01;
  return out;
}

/** Validate a penalty config. */
export function parsePenaltyConfig(raw: unknown, dim: number, field: string): PenaltyConfig {
  const obj = configObject(raw, field);
  if (obj.kind !== 'obstacle')
    throw new ModelConfigError(`${field}.kind`, `unknown path-penalty kind (expected obstacle), ${describeValue(obj.kind)}`);
  configKeys(obj, ['kind', 'center', 'radius', 'weight'], field);
  const c = obj.center;
  if (!Array.isArray(c) || c.length !== dim || c.some((v) => typeof v !== 'number' || !Number.isFinite(v)))
    throw new ModelConfigError(`${field}.center`, `expected ${dim} finite numbers, ${describeValue(c)}`);
  return {
    kind: 'obstacle',
    center: [...(c as number[])],
    radius: configRequiredNumber(obj, 'radius', field, (n) => n > 0, 'a number > 0'),
    weight: configRequiredNumber(obj, 'weight', field, (n) => n >= 0, 'a number ≥ 0'),
  };
}

/** Validate a bridge config and fill its defaults (throws {@link ModelConfigError} naming the field). */
export function parseBridgeConfig(raw: unknown): BridgeModelConfig {
  const obj = configObject(raw, 'config');
  configKeys(obj, ['format', 'dim', 'process', 'predictor', 'volatility', 'penalties', 'seed', 'data'], 'config');
  if (obj.format !== BRIDGE_FORMAT) throw new ModelConfigError('format', `expected "${BRIDGE_FORMAT}", ${describeValue(obj.format)}`);
  const dim = obj.dim;
  if (typeof dim !== 'number' || !Number.isInteger(dim) || dim < 1)
    throw new ModelConfigError('dim', `expected a positive integer (the data dimension), ${describeValue(dim)}`);
  const penaltiesRaw = obj.penalties ?? [];
  if (!Array.isArray(penaltiesRaw)) throw new ModelConfigError('penalties', `expected an array, ${describeValue(penaltiesRaw)}`);
  const seed = obj.seed;
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0)
    throw new ModelConfigError('seed', `expected a non-negative integer, ${describeValue(seed)}`);
  const out: BridgeModelConfig = {
    format: BRIDGE_FORMAT,
    dim,
    process: parseNet(obj.process ?? {}, 'process', 'delta') as BridgeModelConfig['process'],
    predictor: parseNet(obj.predictor ?? {}, 'predictor', 'offset') as BridgeModelConfig['predictor'],
    volatility: parseVolatilityConfig(obj.volatility ?? { kind: 'neural', hidden: [64, 64, 64] }, 'volatility'),
    penalties: penaltiesRaw.map((p, i) => parsePenaltyConfig(p, dim, `penalties[${i}]`)),
    seed,
  };
  checkNetworkDim(out.process.network, dim, 'process.network');
  checkNetworkDim(out.predictor.network, dim, 'predictor.network');
  if (obj.data !== undefined) {
    const d = configObject(obj.data, 'data');
    configKeys(d, ['source', 'target'], 'data');
    if (typeof d.source !== 'string' || typeof d.target !== 'string')
      throw new ModelConfigError('data', `expected { source, target } strings, ${describeValue(obj.data)}`);
    out.data = { source: d.source, target: d.target };
  }
  return out;
}

const BRIDGE_EXTRAS = new WeakMap<BridgeModel, { seed: number; data?: { source: string; target: string } }>();

/** Build a bridge from its config with deterministic initial weights. */
export function createBridgeModel(config: BridgeModelConfig): BridgeModel {
  const c = parseBridgeConfig(config);
  const root = new Rng(c.seed);
  const processRng = root.fork();
  const predictorRng = root.fork();
  const volatilityRng = root.fork();
  const parts: { process?: BridgeProcess; predictor?: BridgePredictor; volatility?: Volatility } = {};
  try {
    parts.process = new BridgeProcess({ dim: c.dim, ...c.process, rng: processRng });
    parts.predictor = new BridgePredictor({ dim: c.dim, ...c.predictor, rng: predictorRng });
    parts.volatility = createVolatility(c.volatility, volatilityRng);
    const penalties: PathPenalty[] = c.penalties.map(createPenalty);
    const model = new BridgeModel(parts.process, parts.predictor, parts.volatility, penalties);
    BRIDGE_EXTRAS.set(model, { seed: c.seed, data: c.data });
    return model;
  } catch (error) {
    parts.process?.dispose();
    parts.predictor?.dispose();
    parts.volatility?.dispose();
    throw error;
  }
}

/** The config of a bridge (penalties must be built-in kinds, e.g. {@link obstaclePenalty}). */
export function bridgeModelConfig(model: BridgeModel, options: { seed?: number } = {}): BridgeModelConfig {
  const extras = BRIDGE_EXTRAS.get(model);
  const net = (m: BridgeProcess | BridgePredictor) => {
    return { hidden: [...m.mlp.hidden], activation: m.mlp.activation, init: m.mlp.init, ...networkSection(m.net) };
  };
  const penalties = model.penalties.map((p, i) => {
    const c = penaltyConfig(p);
    if (!c) throw new ModelConfigError(`penalties[${i}]`, 'a custom path penalty (a plain function) cannot be described by a config');
    return c;
  });
  const raw: ConfigObject = {
    format: BRIDGE_FORMAT,
    dim: model.dim,
    process: { ...net(model.process), delta: model.process.delta },
    predictor: { ...net(model.predictor), offset: model.predictor.offset },
    volatility: model.volatility.toConfig(),
    penalties,
    seed: options.seed ?? extras?.seed ?? 0,
  };
  if (extras?.data) raw.data = extras.data;
  return parseBridgeConfig(raw);
}
