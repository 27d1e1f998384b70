/**
 * NFBM model configs: the JSON that, with a weights file, defines a {@link BridgeModel}.
 *
 *   {
 *     "format": "nfdm-bridge/1",
 *     "dim": 2,
 *     "process":    { "delta": 0.01, "hidden": [64, 64, 64], "activation": "selu", "init": "torch" }
 *               or { "kind": "fixed-bridge", "delta": 0.01, "sigmaMax": 0.5 }   (the fixed baseline),
 *     "predictor":  { "hidden": [64, 64, 64], "activation": "selu", "init": "torch", "offset": 0.01 },
 *     "volatility": { "kind": "neural", "hidden": [64, 64, 64] }   (any VolatilityConfig),
 *     "penalties":  [ { "kind": "obstacle", "center": [0, 0], "radius": 0.5, "weight": 10 } ],
 *     "seed": 0,
 *     "data": { "source": "8gaussians", "target": "moons" }          (optional, descriptive)
 *     "condition": { "kind": "label", "classes": K, "dropout": p, "embedding": 16 }
 *               or { "kind": "vector", "dim": m, "dropout": p, "embedding": 16 }   (optional)
 *   }
 *
 * `condition` makes a conditional bridge (docs/maths/bridges.md#conditions-and-guidance): the
 * predictor is x̂_θ(z, t, x1, y); `process.conditioned: true` also makes the two-sided process
 * F(·, x0, x1, y) depend on y. A fraction `dropout` of the training rows has y replaced by ∅, so
 * the bridge is also unconditional (classifier-free guidance). Absent: the config and weights
 * exactly as before.
 *
 * `process.kind: "fixed-bridge"` replaces the learned process by the {@link FixedBridgeProcess}
 * baseline (m̄ ≡ 0, σ(1/2) = sigmaMax; no network, no process weights, never conditioned); the
 * predictor, volatility, penalties and condition are those of NFBM. Without `kind` (or with
 * "nfbm") the process is NFBM's learned one, and the parsed config has no `kind`.
 *
 * Seeding as for diffusion models: Rng(seed) forks, in order, the process, predictor and
 * volatility generators.
 */
import { Rng } from '@nfdm/core';
import {
  CONDITION_EMBEDDING,
  type ConditionConfig,
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
  networkCondition,
  parseConditionConfig,
  parseVolatilityConfig,
} from '../config.js';
import { checkNetworkDim, networkSection, parseNetworkConfig, type UNetNetworkConfig } from '../network.js';
import { createVolatility, type Volatility, type VolatilityConfig } from '../volatility.js';
import { DEFAULT_SIGMA_MAX, FIXED_BRIDGE_KIND, FixedBridgeProcess } from './fixed.js';
import { BridgeModel } from './model.js';
import { createPenalty, type PathPenalty, type PenaltyConfig, penaltyConfig } from './penalty.js';
import { BridgePredictor, BridgeProcess, type TwoSidedProcess } from './process.js';

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
  /**
   * The two-sided process. `conditioned`: the learned process also takes the condition y (needs
   * `condition`; written only when true). `kind: 'fixed-bridge'`: the fixed baseline, whose only
   * fields are `delta` and `sigmaMax` (absent kind: NFBM's learned process).
   */
  process: BridgeNetConfig & { kind?: typeof FIXED_BRIDGE_KIND; delta?: number; conditioned?: boolean; sigmaMax?: number };
  predictor: BridgeNetConfig & { offset?: number };
  volatility: VolatilityConfig;
  penalties: PenaltyConfig[];
  seed: number;
  /** Names of the source (t = 1) and target (t = 0) data, for people reading the file. */
  data?: { source: string; target: string };
  /** A conditional bridge's condition (absent: unconditional). */
  condition?: ConditionConfig;
}

function parseNet(raw: unknown, field: string, extra: 'delta' | 'offset'): ConfigObject {
  const obj = configObject(raw, field);
  configKeys(obj, ['hidden', 'activation', 'init', 'network', extra, ...(extra === 'delta' ? ['conditioned'] : [])], field);
  const out: ConfigObject = {
    hidden: configHidden(obj, 'hidden', field) ?? [64, 64, 64],
    activation: configActivation(obj, 'activation', field) ?? 'selu',
    init: configInit(obj, 'init', field) ?? 'torch',
  };
  const network = parseNetworkConfig(obj.network, `${field}.network`);
  if (network) out.network = network;
  if (extra === 'delta') {
    out.delta = configDelta(obj, field);
    if (obj.conditioned !== undefined && typeof obj.conditioned !== 'boolean')
      throw new ModelConfigError(`${field}.conditioned`, `expected true or false, ${describeValue(obj.conditioned)}`);
    if (obj.conditioned === true) out.conditioned = true;
  } else out.offset = configNumber(obj, 'offset', field, (n) => n >= 0, 'a number ≥ 0') ?? 0.01;
  return out;
}

/** The `delta` of a process section: a number in (0, 1), default 0.01. */
function configDelta(obj: ConfigObject, field: string): number {
  return configNumber(obj, 'delta', field, (n) => n > 0 && n < 1, 'a number in (0, 1)') ?? 0.01;
}

/** Validate the `process` section: NFBM's learned process (no kind, or "nfbm") or the fixed baseline. */
function parseProcess(raw: unknown): BridgeModelConfig['process'] {
  const field = 'process';
  const obj = configObject(raw, field);
  if (obj.kind === undefined || obj.kind === 'nfbm') {
    const { kind: _kind, ...rest } = obj;
    return parseNet(rest, field, 'delta') as BridgeModelConfig['process'];
  }
  if (obj.kind !== FIXED_BRIDGE_KIND)
    throw new ModelConfigError(
      `${field}.kind`,
      `unknown bridge-process kind (expected nfbm or ${FIXED_BRIDGE_KIND}), ${describeValue(obj.kind)}`,
    );
  if (obj.conditioned !== undefined)
    throw new ModelConfigError(
      `${field}.conditioned`,
      `the ${FIXED_BRIDGE_KIND} process does not depend on y (only the learned nfbm process can)`,
    );
  configKeys(obj, ['kind', 'delta', 'sigmaMax'], field);
  const delta = configDelta(obj, field);
  const sigmaMax = configNumber(obj, 'sigmaMax', field, (n) => Number.isFinite(n) && n >= delta, `a finite number ≥ delta (${delta})`);
  return { kind: FIXED_BRIDGE_KIND, delta, sigmaMax: sigmaMax ?? Math.max(DEFAULT_SIGMA_MAX, delta) };
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
  configKeys(obj, ['format', 'dim', 'process', 'predictor', 'volatility', 'penalties', 'seed', 'data', 'condition'], 'config');
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
    process: parseProcess(obj.process ?? {}),
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
  if (obj.condition !== undefined) out.condition = parseConditionConfig(obj.condition, 'condition');
  if (out.process.conditioned && !out.condition)
    throw new ModelConfigError('process.conditioned', 'a conditioned bridge process needs a top-level "condition" section (what y is)');
  return out;
}

/** The two-sided process of a parsed config: the fixed baseline, or NFBM's learned process (conditioned on y when asked). */
function createTwoSidedProcess(c: BridgeModelConfig, condition: ReturnType<typeof networkCondition> | null, rng: Rng): TwoSidedProcess {
  const { kind, conditioned, sigmaMax, ...process } = c.process;
  if (kind === FIXED_BRIDGE_KIND) return new FixedBridgeProcess({ dim: c.dim, delta: process.delta, sigmaMax });
  return new BridgeProcess({ dim: c.dim, ...process, condition: conditioned ? condition : null, rng });
}

/** The `process` section of a bridge's config. */
function processSection(process: TwoSidedProcess): ConfigObject {
  if (process instanceof FixedBridgeProcess) return { kind: FIXED_BRIDGE_KIND, delta: process.delta, sigmaMax: process.sigmaMax };
  if (!(process instanceof BridgeProcess))
    throw new ModelConfigError('process', `a custom bridge process (kind '${process.kind}') cannot be described by a config`);
  return { ...netSection(process), delta: process.delta, ...(process.conditioned ? { conditioned: true } : {}) };
}

/** The network fields of a learned process or predictor section. */
function netSection(m: BridgeProcess | BridgePredictor): ConfigObject {
  return { hidden: [...m.mlp.hidden], activation: m.mlp.activation, init: m.mlp.init, ...networkSection(m.net) };
}

const BRIDGE_EXTRAS = new WeakMap<BridgeModel, { seed: number; data?: { source: string; target: string } }>();

/** Build a bridge from its config with deterministic initial weights. */
export function createBridgeModel(config: BridgeModelConfig): BridgeModel {
  const c = parseBridgeConfig(config);
  const root = new Rng(c.seed);
  const processRng = root.fork();
  const predictorRng = root.fork();
  const volatilityRng = root.fork();
  const parts: { process?: TwoSidedProcess; predictor?: BridgePredictor; volatility?: Volatility } = {};
  const condition = c.condition ? networkCondition(c.condition) : null;
  try {
    parts.process = createTwoSidedProcess(c, condition, processRng);
    parts.predictor = new BridgePredictor({ dim: c.dim, ...c.predictor, condition, rng: predictorRng });
    parts.volatility = createVolatility(c.volatility, volatilityRng);
    const penalties: PathPenalty[] = c.penalties.map(createPenalty);
    const modelCondition = c.condition && condition ? { spec: condition.spec, dropout: c.condition.dropout } : null;
    const model = new BridgeModel(parts.process, parts.predictor, parts.volatility, penalties, modelCondition);
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
  const penalties = model.penalties.map((p, i) => {
    const c = penaltyConfig(p);
    if (!c) throw new ModelConfigError(`penalties[${i}]`, 'a custom path penalty (a plain function) cannot be described by a config');
    return c;
  });
  const raw: ConfigObject = {
    format: BRIDGE_FORMAT,
    dim: model.dim,
    process: processSection(model.process),
    predictor: { ...netSection(model.predictor), offset: model.predictor.offset },
    volatility: model.volatility.toConfig(),
    penalties,
    seed: options.seed ?? extras?.seed ?? 0,
  };
  if (extras?.data) raw.data = extras.data;
  const c = model.condition;
  if (c) {
    const embedding = model.predictor.condition?.embedding ?? CONDITION_EMBEDDING;
    raw.condition =
      c.spec.kind === 'label'
        ? { kind: 'label', classes: c.spec.classes, dropout: c.dropout, embedding }
        : { kind: 'vector', dim: c.spec.dim, dropout: c.dropout, embedding };
  }
  return parseBridgeConfig(raw);
}
