/**
 * Flow-matching model configs: the JSON that, with a weights file, defines a {@link CFMModel}.
 *
 *   {
 *     "format": "nfdm-cfm/1",
 *     "dim": 2,
 *     "flow": { "coupling": "independent" | "ot" | "reflow", "sigmaMin": 0 },
 *     "velocity": { "hidden": [64, 64, 64, 64], "activation": "selu", "init": "torch",
 *                   "network": { "arch": "unet", … } },        (optional U-Net, images)
 *     "seed": 0,
 *     "standardization": { "mean": [...], "std": [...] }       (optional)
 *   }
 *
 * Defaults: coupling 'independent', sigmaMin 0, the velocity MLP 64×4 SELU with torch's init.
 */
import {
  type ConfigObject,
  configActivation,
  configHidden,
  configInit,
  configKeys,
  configNumber,
  configObject,
  describeValue,
  ModelConfigError,
  parseStandardization,
  type Standardization,
} from '../config.js';
import { checkNetworkDim, networkSection, parseNetworkConfig, type UNetNetworkConfig } from '../network.js';
import { CFM_COUPLINGS, type CFMCoupling, CFMModel } from './model.js';

/** The format tag of {@link CFMModelConfig}. */
export const CFM_FORMAT = 'nfdm-cfm/1';

export interface CFMModelConfig {
  format: typeof CFM_FORMAT;
  dim: number;
  flow: { coupling: CFMCoupling; sigmaMin: number };
  velocity: { hidden: number[]; activation: string; init: string; network?: UNetNetworkConfig };
  seed: number;
  standardization?: Standardization;
}

function parseFlow(raw: unknown): CFMModelConfig['flow'] {
  const obj = configObject(raw ?? {}, 'flow');
  configKeys(obj, ['coupling', 'sigmaMin'], 'flow');
  const coupling = obj.coupling ?? 'independent';
  if (!(CFM_COUPLINGS as readonly unknown[]).includes(coupling))
    throw new ModelConfigError(
      'flow.coupling',
      `expected one of ${CFM_COUPLINGS.map((c) => `"${c}"`).join(', ')}, ${describeValue(coupling)}`,
    );
  const sigmaMin = configNumber(obj, 'sigmaMin', 'flow', (n) => n >= 0 && n < 1, 'a number in [0, 1)') ?? 0;
  return { coupling: coupling as CFMCoupling, sigmaMin };
}

function parseVelocity(raw: unknown, dim: number): CFMModelConfig['velocity'] {
  const obj = configObject(raw ?? {}, 'velocity');
  configKeys(obj, ['hidden', 'activation', 'init', 'network'], 'velocity');
  const network = parseNetworkConfig(obj.network, 'velocity.network');
  checkNetworkDim(network, dim, 'velocity.network');
  return {
    hidden: configHidden(obj, 'hidden', 'velocity') ?? [64, 64, 64, 64],
    activation: configActivation(obj, 'activation', 'velocity') ?? 'selu',
    init: configInit(obj, 'init', 'velocity') ?? 'torch',
    ...(network ? { network } : {}),
  };
}

/** Validate a flow-matching config and fill its defaults (throws {@link ModelConfigError} naming the field). */
export function parseCFMConfig(raw: unknown): CFMModelConfig {
  const obj = configObject(raw, 'config');
  configKeys(obj, ['format', 'dim', 'flow', 'velocity', 'seed', 'standardization'], 'config');
  if (obj.format !== CFM_FORMAT) throw new ModelConfigError('format', `expected "${CFM_FORMAT}", ${describeValue(obj.format)}`);
  const dim = obj.dim;
  if (typeof dim !== 'number' || !Number.isInteger(dim) || dim < 1)
    throw new ModelConfigError('dim', `expected a positive integer (the data dimension), ${describeValue(dim)}`);
  const seed = obj.seed ?? 0;
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0)
    throw new ModelConfigError('seed', `expected a non-negative integer, ${describeValue(seed)}`);
  const out: CFMModelConfig = { format: CFM_FORMAT, dim, flow: parseFlow(obj.flow), velocity: parseVelocity(obj.velocity, dim), seed };
  if (obj.standardization !== undefined) out.standardization = parseStandardization(obj.standardization, dim);
  return out;
}

const CFM_EXTRAS = new WeakMap<CFMModel, { seed: number; standardization?: Standardization }>();

/** Build a flow-matching model (initial weights from Rng(seed)) from its config. */
export function createCFMModel(config: CFMModelConfig): CFMModel {
  const c = parseCFMConfig(config);
  const v = c.velocity;
  const model = new CFMModel({
    dim: c.dim,
    coupling: c.flow.coupling,
    sigmaMin: c.flow.sigmaMin,
    hidden: v.hidden,
    activation: v.activation as CFMModel['mlp']['activation'],
    init: v.init as CFMModel['mlp']['init'],
    network: v.network,
    rng: c.seed,
  });
  CFM_EXTRAS.set(model, { seed: c.seed, standardization: c.standardization });
  return model;
}

/** The config that rebuilds `model` (its architecture, coupling and σ_min; weights are saved apart). */
export function cfmModelConfig(model: CFMModel, options: { seed?: number; standardization?: Standardization | null } = {}): CFMModelConfig {
  const extras = CFM_EXTRAS.get(model);
  const raw: ConfigObject = {
    format: CFM_FORMAT,
    dim: model.dim,
    flow: { coupling: model.coupling, sigmaMin: model.sigmaMin },
    velocity: { ...model.mlp, ...networkSection(model.net) },
    seed: options.seed ?? extras?.seed ?? 0,
  };
  const standardization = options.standardization === null ? undefined : (options.standardization ?? extras?.standardization);
  if (standardization) raw.standardization = standardization;
  return parseCFMConfig(raw);
}
