/**
 * DiffFlow model configs: the JSON that, with a weights file, defines a {@link DiffFlowModel}.
 *
 *   {
 *     "format": "nfdm-diffflow/1",
 *     "dim": 2,
 *     "network": { "channels": 128, "layers": 3 },       (FourierMLP, for both drift and score)
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
import { DiffFlowModel, FourierMLP } from './networks.js';
import { type DiffFlowTimeConfig, resolveDiffFlowTime } from './time.js';

/** The format tag of {@link DiffFlowModelConfig}. */
export const DIFFFLOW_FORMAT = 'nfdm-diffflow/1';

export interface DiffFlowModelConfig {
  format: typeof DIFFFLOW_FORMAT;
  dim: number;
  network: { channels: number; layers: number };
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

/** Validate a DiffFlow config and fill its defaults (throws {@link ModelConfigError} naming the field). */
export function parseDiffFlowConfig(raw: unknown): DiffFlowModelConfig {
  const obj = configObject(raw, 'config');
  configKeys(obj, ['format', 'dim', 'network', 'time', 'seed', 'standardization'], 'config');
  if (obj.format !== DIFFFLOW_FORMAT) throw new ModelConfigError('format', `expected "${DIFFFLOW_FORMAT}", ${describeValue(obj.format)}`);
  const dim = obj.dim;
  if (typeof dim !== 'number' || !Number.isInteger(dim) || dim < 1)
    throw new ModelConfigError('dim', `expected a positive integer (the data dimension), ${describeValue(dim)}`);
  const net = configObject(obj.network ?? {}, 'network');
  configKeys(net, ['channels', 'layers'], 'network');
  const channels = configNumber(net, 'channels', 'network', (n) => Number.isInteger(n) && n >= 2, 'an integer ≥ 2') ?? 128;
  const layers = configNumber(net, 'layers', 'network', (n) => Number.isInteger(n) && n >= 0, 'a non-negative integer') ?? 3;
  const seed = obj.seed;
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0)
    throw new ModelConfigError('seed', `expected a non-negative integer, ${describeValue(seed)}`);
  const out: DiffFlowModelConfig = { format: DIFFFLOW_FORMAT, dim, network: { channels, layers }, time: parseTime(obj.time), seed };
  if (obj.standardization !== undefined) out.standardization = parseStandardization(obj.standardization, dim);
  return out;
}

const DIFFFLOW_EXTRAS = new WeakMap<DiffFlowModel, { seed: number; standardization?: Standardization }>();

/** Build a DiffFlow model (two FourierMLPs from Rng(seed), drift first) from its config. */
export function createDiffFlowModel(config: DiffFlowModelConfig): DiffFlowModel {
  const c = parseDiffFlowConfig(config);
  const model = DiffFlowModel.fourier(c.dim, { ...c.network, seed: c.seed, time: c.time });
  DIFFFLOW_EXTRAS.set(model, { seed: c.seed, standardization: c.standardization });
  return model;
}

/** The config of a DiffFlow model with FourierMLP nets. */
export function diffflowModelConfig(
  model: DiffFlowModel,
  options: { seed?: number; standardization?: Standardization | null } = {},
): DiffFlowModelConfig {
  const extras = DIFFFLOW_EXTRAS.get(model);
  const drift = model.driftNet;
  if (!(drift instanceof FourierMLP) || !(model.scoreNet instanceof FourierMLP))
    throw new ModelConfigError('network', 'only FourierMLP drift and score networks can be described by a config');
  const raw: ConfigObject = {
    format: DIFFFLOW_FORMAT,
    dim: model.dim,
    network: { channels: drift.channels, layers: drift.hidden.length },
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
