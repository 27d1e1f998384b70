/**
 * A model is fully described by a JSON config plus its weights (architecture.md).
 *
 *   {
 *     "format": "nfdm-model/1",
 *     "dim": 2,
 *     "forward":    { "kind": "nfdm", "delta": 0.01, "hidden": [64, 64, 64, 64], "activation": "selu", "init": "torch" }
 *               or  { "kind": "fixed", "schedule": { "name": "vp", "betaMin": 0.1, "betaMax": 20, "tMin": 0.001 } },
 *     "predictor":  { "hidden": [64, 64, 64, 64], "activation": "selu", "init": "torch", "offset": 0.01 },
 *     "volatility": { "kind": "neural", "hidden": [64, 64, 64, 64], "activation": "selu", "floor": 0 }
 *               or  { "kind": "constant", "value": 1 }  or  { "kind": "matched", "schedule": { … } },
 *     "seed": 0,
 *     "standardization": { "mean": [m₁, …, m_D], "std": [s₁, …, s_D] }      (optional)
 *     "condition": { "kind": "label", "classes": K, "dropout": p, "embedding": 16 }
 *               or { "kind": "vector", "dim": m, "dropout": p, "embedding": 16 }   (optional)
 *   }
 *
 * - `condition` makes the model conditional (docs/maths/guidance.md): the predictor is always
 *   x̂_θ(z, t, y); `forward.conditioned: true` (nfdm, ndm) also makes the learned forward process
 *   depend on y. In training a fraction `dropout` of the rows has y replaced by the null
 *   condition ∅, so the same model is the unconditional one too (classifier-free guidance).
 *   `embedding` is the width of emb(y) in MLP networks (U-Nets embed y to their temb width).
 *   Absent: an unconditional model, the config and weights exactly as before.
 *
 * - {@link createModel} rebuilds a {@link DiffusionModel} with deterministic initial weights:
 *   one generator `Rng(seed)` is forked, in this order, for the forward process, the predictor
 *   and the volatility (always three forks, so a component without weights does not shift
 *   the others' streams).
 * - {@link saveModel} writes `config.json` and `weights.safetensors` (core's
 *   `writeFileAtomic`/`saveParameters`: temporary file, fsync, rename) into a folder;
 *   {@link loadModel} validates the config ({@link ModelConfigError} names the field), rebuilds
 *   the model and loads the weights (shape-checked; errors name the tensor), each failure as
 *   one {@link ModelFileError} naming the file.
 * - `standardization` is data preprocessing stored with the model: the model works on
 *   y = (x − mean) / std, so log p_x(x) = log p_y(y) − Σ_d log std_d
 *   ({@link standardize}, {@link unstandardize}, {@link standardizationLogDet}).
 *
 * Forward-process kinds come from a registry ({@link registerForwardProcess}); `fixed`, `nfdm`
 * and `ndm` ({ kind, schedule (default linear-logsnr), hidden, activation, init }) are built in. Downstream packages register their own
 * {@link GaussianForwardProcess} kinds so their models save and load like the built-in ones.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ACTIVATIONS,
  type ActivationName,
  type ConditionSpec,
  INIT_SCHEMES,
  type InitScheme,
  loadParameters,
  type Module,
  Rng,
  saveParameters,
  writeFileAtomic,
} from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { type ConfigObject, configKeys, configObject, describeValue, ModelConfigError } from './config-errors.js';
import { FixedGaussianProcess } from './forward/fixed.js';
import type { ForwardProcessConfig, GaussianForwardProcess } from './forward/gaussian.js';
import { NDM_DEFAULT_SCHEDULE, NDMProcess } from './forward/ndm.js';
import { NeuralGaussianProcess } from './forward/neural.js';
import { createSchedule, SCHEDULE_NAMES, type Schedule, type ScheduleConfig, type ScheduleName } from './forward/schedules.js';
import { DiffusionModel } from './model.js';
import { checkNetworkDim, type NetworkCondition, networkSection, parseNetworkConfig, type UNetNetworkConfig } from './network.js';
import { Predictor } from './predictor.js';
import { createVolatility, type Volatility, type VolatilityConfig } from './volatility.js';

/** The format tag of {@link ModelConfig} (bumped on incompatible changes). */
export const MODEL_FORMAT = 'nfdm-model/1';
/** File names inside a model folder. */
export const MODEL_CONFIG_FILE = 'config.json';
export const MODEL_WEIGHTS_FILE = 'weights.safetensors';

/** A fixed schedule z_t = α_t x + σ_t ε ({@link FixedGaussianProcess}). */
export interface FixedForwardConfig {
  kind: 'fixed';
  schedule: ScheduleConfig;
}

/** NFDM's learned Gaussian process ({@link NeuralGaussianProcess}). */
export interface NeuralForwardConfig {
  kind: 'nfdm';
  /** σ at t = 0, in (0, 1) (default 0.01). */
  delta?: number;
  hidden?: number[];
  activation?: ActivationName;
  init?: InitScheme;
  /** A U-Net for m̄, l̄ instead of the MLP (images). */
  network?: UNetNetworkConfig;
  /** m̄, l̄ also take the condition y (needs a top-level `condition`; written only when true). */
  conditioned?: boolean;
}

/** NDM's learned data transform under a fixed schedule ({@link NDMProcess}). */
export interface NDMForwardConfig {
  kind: 'ndm';
  /** A schedule defined down to t = 0 (default linear-logsnr, λ 10 → −10). */
  schedule?: ScheduleConfig;
  hidden?: number[];
  activation?: ActivationName;
  init?: InitScheme;
  /** A U-Net for F̄ instead of the MLP (images). */
  network?: UNetNetworkConfig;
  /** F̄ also takes the condition y (needs a top-level `condition`; written only when true). */
  conditioned?: boolean;
}

/** Forward-process configs: the built-in kinds, or any registered kind. */
export type ModelForwardConfig = FixedForwardConfig | NeuralForwardConfig | NDMForwardConfig | ForwardProcessConfig;

/** The predictor x̂_θ(z, t) = (1 − t) z + (t + offset) NN_θ([z, t]). */
export interface PredictorConfig {
  hidden?: number[];
  activation?: ActivationName;
  init?: InitScheme;
  /** The offset c in (t + c) (default 0.01). */
  offset?: number;
  /** 'data' (default): x̂ = (1 − t) z + (t + c) NN; 'eps' (fixed schedules with α_t > 0): x̂ = (z − σ_t NN)/α_t. */
  parametrization?: 'data' | 'eps';
  /** A U-Net instead of the MLP (images). */
  network?: UNetNetworkConfig;
}

/** Per-dimension standardisation y = (x − mean) / std applied to the data before the model. */
export interface Standardization {
  mean: number[];
  std: number[];
}

/** A conditional model's condition y: K class labels or m continuous values (see the module doc). */
export type ConditionConfig =
  | { kind: 'label'; classes: number; dropout: number; embedding: number }
  | { kind: 'vector'; dim: number; dropout: number; embedding: number };

/** Default width of emb(y) in MLP networks. */
export const CONDITION_EMBEDDING = 16;

/** The network-level description of a condition (what y is, its MLP embedding width). */
export function networkCondition(c: ConditionConfig): NetworkCondition {
  const spec: ConditionSpec = c.kind === 'label' ? { kind: 'label', classes: c.classes } : { kind: 'vector', dim: c.dim };
  return { spec, embedding: c.embedding };
}

/** The JSON description of a model (see the module doc). */
export interface ModelConfig {
  format: typeof MODEL_FORMAT;
  /** Data dimension D. */
  dim: number;
  forward: ModelForwardConfig;
  predictor: PredictorConfig;
  volatility: VolatilityConfig;
  /** Seed of the initial weights. */
  seed: number;
  standardization?: Standardization;
  /** A conditional model's condition (absent: unconditional). */
  condition?: ConditionConfig;
}

/** A model folder that cannot be read or does not fit its config; names the file. */
export class ModelFileError extends Error {
  override readonly name = 'ModelFileError';
  constructor(
    readonly path: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${path}: ${detail}`, options);
  }
}

export { type ConfigObject, configKeys, configObject, describeValue, ModelConfigError } from './config-errors.js';

// ---------------------------------------------------------------------------------------------
// Validation helpers. Each takes the dotted field path for its messages.

/** Optional finite number satisfying `ok` (described by `what`). */
export function configNumber(
  obj: ConfigObject,
  key: string,
  field: string,
  ok: (n: number) => boolean = () => true,
  what = 'a finite number',
): number | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v))
    throw new ModelConfigError(`${field}.${key}`, `expected ${what}, ${describeValue(v)}`);
  return v;
}

export function configRequiredNumber(obj: ConfigObject, key: string, field: string, ok: (n: number) => boolean, what: string): number {
  const v = configNumber(obj, key, field, ok, what);
  if (v === undefined) throw new ModelConfigError(`${field}.${key}`, `is missing (expected ${what})`);
  return v;
}

/** Optional list of positive integer widths. */
export function configHidden(obj: ConfigObject, key: string, field: string): number[] | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((w) => !Number.isInteger(w) || w < 1)) {
    throw new ModelConfigError(`${field}.${key}`, `expected an array of positive integer widths, ${describeValue(v)}`);
  }
  return [...v];
}

/** Optional activation name. */
export function configActivation(obj: ConfigObject, key: string, field: string): ActivationName | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !(v in ACTIVATIONS)) {
    throw new ModelConfigError(
      `${field}.${key}`,
      `unknown activation ${JSON.stringify(v)} (expected one of ${Object.keys(ACTIVATIONS).join(', ')})`,
    );
  }
  return v as ActivationName;
}

/** Optional weight-initialisation scheme. */
export function configInit(obj: ConfigObject, key: string, field: string): InitScheme | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !(INIT_SCHEMES as readonly string[]).includes(v)) {
    throw new ModelConfigError(`${field}.${key}`, `unknown init scheme ${JSON.stringify(v)} (expected one of ${INIT_SCHEMES.join(', ')})`);
  }
  return v as InitScheme;
}

const SCHEDULE_KEYS: Record<ScheduleName, readonly string[]> = {
  vp: ['betaMin', 'betaMax', 'tMin'],
  subvp: ['betaMin', 'betaMax', 'tMin'],
  ve: ['sigmaMin', 'sigmaMax'],
  cosine: ['s', 'tMin'],
  'fm-ot': ['sigmaMin'],
  'linear-logsnr': ['logSnrMax', 'logSnrMin'],
};

/** Validate a {@link ScheduleConfig} (name, known options, ranges); fills the defaults. */
export function parseScheduleConfig(raw: unknown, field: string): ScheduleConfig {
  const obj = configObject(raw, field);
  const name = obj.name;
  if (typeof name !== 'string' || !(SCHEDULE_NAMES as readonly string[]).includes(name)) {
    throw new ModelConfigError(
      `${field}.name`,
      `unknown schedule ${name === undefined ? '(missing)' : JSON.stringify(name)} (expected one of ${SCHEDULE_NAMES.join(', ')})`,
    );
  }
  const schedule = name as ScheduleName;
  configKeys(obj, ['name', ...SCHEDULE_KEYS[schedule]], field);
  const out: ScheduleConfig = { name: schedule };
  const positive = (n: number) => n > 0;
  const set = <K extends keyof ScheduleConfig>(key: K, value: ScheduleConfig[K] | undefined) => {
    if (value !== undefined) out[key] = value;
  };
  set(
    'betaMin',
    configNumber(obj, 'betaMin', field, (n) => n >= 0, 'a number ≥ 0'),
  );
  set('betaMax', configNumber(obj, 'betaMax', field, positive, 'a number > 0'));
  set('sigmaMin', configNumber(obj, 'sigmaMin', field, positive, 'a number > 0'));
  set('sigmaMax', configNumber(obj, 'sigmaMax', field, positive, 'a number > 0'));
  set(
    's',
    configNumber(obj, 's', field, (n) => n >= 0, 'a number ≥ 0'),
  );
  set('logSnrMax', configNumber(obj, 'logSnrMax', field));
  set('logSnrMin', configNumber(obj, 'logSnrMin', field));
  set(
    'tMin',
    configNumber(obj, 'tMin', field, (n) => n >= 0 && n < 1, 'a number in [0, 1)'),
  );
  if (out.betaMin !== undefined && out.betaMax !== undefined && out.betaMax < out.betaMin) {
    throw new ModelConfigError(`${field}.betaMax`, `must be ≥ betaMin (${out.betaMin}), got ${out.betaMax}`);
  }
  if (out.sigmaMin !== undefined && out.sigmaMax !== undefined && out.sigmaMax <= out.sigmaMin) {
    throw new ModelConfigError(`${field}.sigmaMax`, `must be > sigmaMin (${out.sigmaMin}), got ${out.sigmaMax}`);
  }
  if (out.logSnrMax !== undefined && out.logSnrMin !== undefined && out.logSnrMin >= out.logSnrMax) {
    throw new ModelConfigError(`${field}.logSnrMin`, `must be < logSnrMax (${out.logSnrMax}), got ${out.logSnrMin}`);
  }
  // Fill in the schedule's defaults (building a schedule allocates no tensors).
  return createSchedule(out).toConfig();
}

/** Validate a {@link VolatilityConfig}; fills the defaults of the neural kind. */
export function parseVolatilityConfig(raw: unknown, field: string): VolatilityConfig {
  const obj = configObject(raw, field);
  switch (obj.kind) {
    case 'neural':
      configKeys(obj, ['kind', 'hidden', 'activation', 'floor'], field);
      return {
        kind: 'neural',
        hidden: configHidden(obj, 'hidden', field) ?? [64, 64, 64, 64],
        activation: configActivation(obj, 'activation', field) ?? 'selu',
        floor: configNumber(obj, 'floor', field, (n) => n >= 0, 'a number ≥ 0') ?? 0,
      };
    case 'constant':
      configKeys(obj, ['kind', 'value'], field);
      return { kind: 'constant', value: configRequiredNumber(obj, 'value', field, (n) => n > 0, 'a number > 0') };
    case 'matched':
      configKeys(obj, ['kind', 'schedule'], field);
      return { kind: 'matched', schedule: parseScheduleConfig(obj.schedule, `${field}.schedule`) };
    default:
      throw new ModelConfigError(
        `${field}.kind`,
        `unknown volatility kind ${obj.kind === undefined ? '(missing)' : JSON.stringify(obj.kind)} (expected one of neural, constant, matched)`,
      );
  }
}

// ---------------------------------------------------------------------------------------------
// Forward-process registry.

/** How a forward-process kind is validated, built and described. */
export interface ForwardProcessEntry {
  /**
   * Validate the raw `forward` object (its `kind` already matched) and return it with the
   * defaults filled in; throw {@link ModelConfigError} naming `${field}.<key>` on bad input.
   */
  parse(raw: ConfigObject, field: string): ForwardProcessConfig;
  /**
   * Build the process for data dimension `dim`; initial weights from `rng` only. `condition` is
   * the model's condition (null for an unconditional model); a kind that can depend on y uses it
   * when its config asks to (`conditioned: true`).
   */
  create(config: ForwardProcessConfig, dim: number, rng: Rng, condition?: NetworkCondition | null): GaussianForwardProcess;
  /** The config of an existing process (default: `process.toConfig()`). */
  describe?(process: GaussianForwardProcess): ForwardProcessConfig;
  /**
   * The kind's ONNX emitter, read by `@nfdm/export` (which types it as `ForwardProcessEmitter`:
   * `emit(g, process, x, xs, t)` → μ, σ, μ̇, σ̇ and their spatial tangents as ONNX ops). This
   * package never calls it; a kind without one trains, saves and loads but cannot be exported.
   */
  onnx?: unknown;
}

const FORWARD_KINDS = new Map<string, ForwardProcessEntry>();

/**
 * Register a forward-process kind so {@link createModel}/{@link loadModel} can build it.
 * Re-registering a kind replaces it (useful in tests); built-in kinds cannot be replaced.
 */
export function registerForwardProcess(kind: string, entry: ForwardProcessEntry): void {
  if (typeof kind !== 'string' || kind.length === 0) throw new TypeError('forward-process kind must be a non-empty string');
  if (BUILT_IN_KINDS.has(kind) && FORWARD_KINDS.has(kind))
    throw new TypeError(`forward-process kind '${kind}' is built in and cannot be replaced`);
  if (typeof entry?.parse !== 'function' || typeof entry.create !== 'function') {
    throw new TypeError(`forward-process kind '${kind}': the entry needs parse(raw, field) and create(config, dim, rng)`);
  }
  FORWARD_KINDS.set(kind, entry);
}

/** The registered forward-process kinds. */
export function forwardProcessKinds(): string[] {
  return [...FORWARD_KINDS.keys()];
}

/** The registry entry of a forward-process kind (undefined when the kind is not registered). */
export function forwardProcessEntry(kind: string): Readonly<ForwardProcessEntry> | undefined {
  return FORWARD_KINDS.get(kind);
}

/**
 * Give a registered kind (built-in ones included) its ONNX emitter (the entry's `onnx` slot;
 * see {@link ForwardProcessEntry.onnx}). `@nfdm/export` uses this for the built-in kinds; a
 * downstream kind can pass `onnx` to {@link registerForwardProcess} instead.
 */
export function setForwardProcessOnnx(kind: string, onnx: unknown): void {
  const entry = FORWARD_KINDS.get(kind);
  if (!entry) {
    throw new TypeError(
      `forward-process kind '${kind}' is not registered (registerForwardProcess) so it cannot take an ONNX emitter (registered: ${forwardProcessKinds().join(', ')})`,
    );
  }
  FORWARD_KINDS.set(kind, { ...entry, onnx });
}

const BUILT_IN_KINDS = new Set(['fixed', 'nfdm', 'ndm']);

registerForwardProcess('fixed', {
  parse(raw, field) {
    configKeys(raw, ['kind', 'schedule'], field);
    return { kind: 'fixed', schedule: parseScheduleConfig(raw.schedule, `${field}.schedule`) } satisfies FixedForwardConfig;
  },
  create(config, dim) {
    return new FixedGaussianProcess(dim, (config as unknown as FixedForwardConfig).schedule);
  },
});

registerForwardProcess('nfdm', {
  parse(raw, field) {
    configKeys(raw, ['kind', 'delta', 'hidden', 'activation', 'init', 'network', 'conditioned'], field);
    const network = parseNetworkConfig(raw.network, `${field}.network`);
    return {
      ...conditionedFlag(raw, field),
      kind: 'nfdm',
      delta: configNumber(raw, 'delta', field, (n) => n > 0 && n < 1, 'a number in (0, 1)') ?? 0.01,
      hidden: configHidden(raw, 'hidden', field) ?? [64, 64, 64, 64],
      activation: configActivation(raw, 'activation', field) ?? 'selu',
      init: configInit(raw, 'init', field) ?? 'torch',
      ...(network ? { network } : {}),
    } satisfies NeuralForwardConfig;
  },
  create(config, dim, rng, condition) {
    const c = config as unknown as NeuralForwardConfig;
    return new NeuralGaussianProcess({
      dim,
      delta: c.delta,
      hidden: c.hidden,
      activation: c.activation,
      init: c.init,
      network: c.network,
      condition: c.conditioned ? condition : null,
      rng,
    });
  },
  describe(process) {
    const p = process as NeuralGaussianProcess;
    return {
      kind: 'nfdm',
      ...(p.conditioned ? { conditioned: true } : {}),
      delta: p.delta,
      hidden: [...p.mlp.hidden],
      activation: p.mlp.activation,
      init: p.mlp.init,
      ...networkSection(p.net),
    };
  },
});

registerForwardProcess('ndm', {
  parse(raw, field) {
    configKeys(raw, ['kind', 'schedule', 'hidden', 'activation', 'init', 'network', 'conditioned'], field);
    const network = parseNetworkConfig(raw.network, `${field}.network`);
    const schedule =
      raw.schedule === undefined ? createSchedule(NDM_DEFAULT_SCHEDULE).toConfig() : parseScheduleConfig(raw.schedule, `${field}.schedule`);
    if (createSchedule(schedule).tMin !== 0) {
      throw new ModelConfigError(
        `${field}.schedule.name`,
        `NDM needs a schedule that starts at t = 0 (F(x, 0) = x), '${schedule.name}' starts at tMin > 0; use linear-logsnr, ve or fm-ot`,
      );
    }
    return {
      kind: 'ndm',
      ...conditionedFlag(raw, field),
      schedule,
      hidden: configHidden(raw, 'hidden', field) ?? [64, 64, 64, 64],
      activation: configActivation(raw, 'activation', field) ?? 'selu',
      init: configInit(raw, 'init', field) ?? 'torch',
      ...(network ? { network } : {}),
    } satisfies NDMForwardConfig;
  },
  create(config, dim, rng, condition) {
    const c = config as unknown as NDMForwardConfig;
    return new NDMProcess({
      dim,
      schedule: c.schedule,
      hidden: c.hidden,
      activation: c.activation,
      init: c.init,
      network: c.network,
      condition: c.conditioned ? condition : null,
      rng,
    });
  },
  describe(process) {
    const { dim: _dim, ...rest } = (process as NDMProcess).toConfig();
    return rest;
  },
});

/** `{ conditioned: true }` when the section asks for it, `{}` when it is absent or false. */
function conditionedFlag(raw: ConfigObject, field: string): { conditioned?: true } {
  const v = raw.conditioned;
  if (v !== undefined && typeof v !== 'boolean')
    throw new ModelConfigError(`${field}.conditioned`, `expected true or false, ${describeValue(v)}`);
  return v === true ? { conditioned: true } : {};
}

/** Validate a {@link ConditionConfig}; fills the defaults (dropout 0, embedding {@link CONDITION_EMBEDDING}). */
export function parseConditionConfig(raw: unknown, field = 'condition'): ConditionConfig {
  const obj = configObject(raw, field);
  const dropout = configNumber(obj, 'dropout', field, (n) => n >= 0 && n < 1, 'a rate in [0, 1)') ?? 0;
  const embedding = obj.embedding ?? CONDITION_EMBEDDING;
  if (!Number.isInteger(embedding) || (embedding as number) < 1)
    throw new ModelConfigError(`${field}.embedding`, `expected a positive integer width, ${describeValue(obj.embedding)}`);
  const count = (key: string, what: string): number => {
    const v = obj[key];
    if (!Number.isInteger(v) || (v as number) < 1)
      throw new ModelConfigError(`${field}.${key}`, `expected a positive integer (${what}), ${describeValue(v)}`);
    return v as number;
  };
  switch (obj.kind) {
    case 'label':
      configKeys(obj, ['kind', 'classes', 'dropout', 'embedding'], field);
      return { kind: 'label', classes: count('classes', 'the number of classes K'), dropout, embedding: embedding as number };
    case 'vector':
      configKeys(obj, ['kind', 'dim', 'dropout', 'embedding'], field);
      return { kind: 'vector', dim: count('dim', 'the number of condition values m'), dropout, embedding: embedding as number };
    default:
      throw new ModelConfigError(
        `${field}.kind`,
        `unknown condition kind ${obj.kind === undefined ? '(missing)' : JSON.stringify(obj.kind)} (expected label or vector)`,
      );
  }
}

/** Validate a forward-process config through its kind's registry entry. */
export function parseForwardConfig(raw: unknown, field = 'forward'): ForwardProcessConfig {
  const obj = configObject(raw, field);
  const kind = obj.kind;
  const entry = typeof kind === 'string' ? FORWARD_KINDS.get(kind) : undefined;
  if (!entry) {
    throw new ModelConfigError(
      `${field}.kind`,
      `unknown forward-process kind ${kind === undefined ? '(missing)' : JSON.stringify(kind)} (expected one of ${forwardProcessKinds().join(', ')})`,
    );
  }
  return entry.parse(obj, field);
}

/** Validate a {@link PredictorConfig}; fills the defaults. */
export function parsePredictorConfig(raw: unknown, field = 'predictor'): PredictorConfig {
  const obj = configObject(raw, field);
  configKeys(obj, ['hidden', 'activation', 'init', 'offset', 'parametrization', 'network'], field);
  const network = parseNetworkConfig(obj.network, `${field}.network`);
  const p = obj.parametrization ?? 'data';
  if (p !== 'data' && p !== 'eps')
    throw new ModelConfigError(`${field}.parametrization`, `expected "data" or "eps", ${describeValue(obj.parametrization)}`);
  return {
    hidden: configHidden(obj, 'hidden', field) ?? [64, 64, 64, 64],
    activation: configActivation(obj, 'activation', field) ?? 'selu',
    init: configInit(obj, 'init', field) ?? 'torch',
    offset: configNumber(obj, 'offset', field, (n) => n >= 0, 'a number ≥ 0') ?? 0.01,
    parametrization: p,
    ...(network ? { network } : {}),
  };
}

/** Validate a {@link Standardization} of `dim` dimensions. */
export function parseStandardization(raw: unknown, dim: number, field = 'standardization'): Standardization {
  const obj = configObject(raw, field);
  configKeys(obj, ['mean', 'std'], field);
  const vector = (key: 'mean' | 'std', ok: (n: number) => boolean, what: string): number[] => {
    const v = obj[key];
    if (!Array.isArray(v) || v.length !== dim) {
      throw new ModelConfigError(`${field}.${key}`, `expected an array of ${dim} numbers (one per dimension), ${describeValue(v)}`);
    }
    v.forEach((n, i) => {
      if (typeof n !== 'number' || !Number.isFinite(n) || !ok(n))
        throw new ModelConfigError(`${field}.${key}[${i}]`, `expected ${what}, ${describeValue(n)}`);
    });
    return [...v];
  };
  return { mean: vector('mean', () => true, 'a finite number'), std: vector('std', (n) => n > 0, 'a number > 0') };
}

/**
 * Validate a model config (any JSON value) and return it with every default filled in, so
 * that `modelConfig(createModel(c))` deep-equals `parseModelConfig(c)`. Throws
 * {@link ModelConfigError} naming the first bad field.
 */
export function parseModelConfig(raw: unknown): ModelConfig {
  const obj = configObject(raw, 'config');
  configKeys(obj, ['format', 'dim', 'forward', 'predictor', 'volatility', 'seed', 'standardization', 'condition'], 'config');
  if (obj.format !== MODEL_FORMAT) {
    throw new ModelConfigError('format', `expected "${MODEL_FORMAT}", ${describeValue(obj.format)}`);
  }
  const dim = obj.dim;
  if (typeof dim !== 'number' || !Number.isInteger(dim) || dim < 1) {
    throw new ModelConfigError('dim', `expected a positive integer (the data dimension), ${describeValue(dim)}`);
  }
  const forward = parseForwardConfig(obj.forward, 'forward');
  const predictor = parsePredictorConfig(obj.predictor, 'predictor');
  const volatility = parseVolatilityConfig(obj.volatility, 'volatility');
  const seed = obj.seed;
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) {
    throw new ModelConfigError('seed', `expected a non-negative integer, ${describeValue(seed)}`);
  }
  checkNetworkDim(predictor.network, dim, 'predictor.network');
  checkNetworkDim((forward as { network?: UNetNetworkConfig }).network, dim, 'forward.network');
  const out: ModelConfig = { format: MODEL_FORMAT, dim, forward, predictor, volatility, seed };
  if (obj.standardization !== undefined) out.standardization = parseStandardization(obj.standardization, dim, 'standardization');
  if (obj.condition !== undefined) out.condition = parseConditionConfig(obj.condition, 'condition');
  if ((forward as { conditioned?: boolean }).conditioned && !out.condition)
    throw new ModelConfigError('forward.conditioned', 'a conditioned forward process needs a top-level "condition" section (what y is)');
  return out;
}

// ---------------------------------------------------------------------------------------------
// Building, describing, saving and loading.

/** Seed and standardisation of models built here (a DiffusionModel has no slot for them). */
const EXTRAS = new WeakMap<DiffusionModel, { seed: number; standardization?: Standardization }>();

/**
 * Build a model from its config with deterministic initial weights (see the module doc for
 * the seeding). Throws {@link ModelConfigError} for an invalid config.
 */
export function createModel(config: ModelConfig): DiffusionModel {
  const c = parseModelConfig(config);
  const root = new Rng(c.seed);
  const forwardRng = root.fork();
  const predictorRng = root.fork();
  const volatilityRng = root.fork();
  const entry = FORWARD_KINDS.get(c.forward.kind) as ForwardProcessEntry;
  const parts: { forward?: GaussianForwardProcess; predictor?: Predictor; volatility?: Volatility } = {};
  try {
    const condition = c.condition ? networkCondition(c.condition) : null;
    parts.forward = entry.create(c.forward as ForwardProcessConfig, c.dim, forwardRng, condition);
    if (parts.forward.dim !== c.dim)
      throw new ModelConfigError(
        'forward',
        `the '${c.forward.kind}' process was built with dim ${parts.forward.dim}, the config says ${c.dim}`,
      );
    const p = c.predictor;
    let schedule: Schedule | undefined;
    if (p.parametrization === 'eps') {
      if (!(parts.forward instanceof FixedGaussianProcess))
        throw new ModelConfigError(
          'predictor.parametrization',
          `"eps" needs a fixed forward process (z = α_t x + σ_t ε), not '${c.forward.kind}'`,
        );
      schedule = parts.forward.schedule;
      if (schedule.name === 'fm-ot' || schedule.name === 'cosine')
        throw new ModelConfigError(
          'predictor.parametrization',
          `"eps" needs α_t > 0 up to t = 1; the ${schedule.name} schedule has α_1 = 0`,
        );
    }
    parts.predictor = new Predictor({
      dim: c.dim,
      hidden: p.hidden,
      activation: p.activation,
      init: p.init,
      offset: p.offset,
      parametrization: p.parametrization,
      network: p.network,
      schedule,
      condition,
      rng: predictorRng,
    });
    parts.volatility = createVolatility(c.volatility, volatilityRng);
    const model = new DiffusionModel(
      parts.forward,
      parts.predictor,
      parts.volatility,
      c.condition && condition ? { spec: condition.spec, dropout: c.condition.dropout } : null,
    );
    EXTRAS.set(model, { seed: c.seed, standardization: c.standardization });
    return model;
  } catch (error) {
    parts.forward?.dispose();
    parts.predictor?.dispose();
    parts.volatility?.dispose();
    throw error;
  }
}

/**
 * The config of a model. For models built by {@link createModel}/{@link loadModel} the seed
 * and standardisation are remembered; `options` override them (default seed 0). The
 * predictor must be the library's {@link Predictor}.
 */
export function modelConfig(model: DiffusionModel, options: { seed?: number; standardization?: Standardization | null } = {}): ModelConfig {
  const extras = EXTRAS.get(model);
  const entry = FORWARD_KINDS.get(model.forward.kind);
  if (!entry) {
    throw new ModelConfigError(
      'forward.kind',
      `forward-process kind '${model.forward.kind}' is not registered (registerForwardProcess) so it cannot be described`,
    );
  }
  const forward = entry.describe ? entry.describe(model.forward) : model.forward.toConfig();
  const predictor = model.predictor;
  if (!(predictor instanceof Predictor)) throw new ModelConfigError('predictor', 'only the library Predictor can be described by a config');
  const raw: ConfigObject = {
    format: MODEL_FORMAT,
    dim: model.dim,
    forward,
    predictor: {
      hidden: [...predictor.mlp.hidden],
      activation: predictor.mlp.activation,
      init: predictor.mlp.init,
      offset: predictor.offset,
      parametrization: predictor.parametrization,
      ...networkSection(predictor.net),
    },
    volatility: model.volatility.toConfig(),
    seed: options.seed ?? extras?.seed ?? 0,
  };
  const standardization = options.standardization === null ? undefined : (options.standardization ?? extras?.standardization);
  if (standardization) raw.standardization = standardization;
  const condition = conditionConfigOf(model, predictor);
  if (condition) raw.condition = condition;
  return parseModelConfig(raw);
}

/** The condition section of a model (undefined for an unconditional one). */
function conditionConfigOf(model: DiffusionModel, predictor: Predictor): ConditionConfig | undefined {
  const c = model.condition;
  if (!c) return undefined;
  const embedding = predictor.condition?.embedding ?? CONDITION_EMBEDDING;
  return c.spec.kind === 'label'
    ? { kind: 'label', classes: c.spec.classes, dropout: c.dropout, embedding }
    : { kind: 'vector', dim: c.spec.dim, dropout: c.dropout, embedding };
}

/**
 * Write `config.json` and `weights.safetensors` into `dir` (created if needed), each
 * atomically (temporary file, fsync, rename). Returns the config written.
 */
export function saveModel(
  model: DiffusionModel,
  dir: string,
  options: { seed?: number; standardization?: Standardization | null } = {},
): ModelConfig {
  return writeModelFolder(model, dir, modelConfig(model, options));
}

/** Write a model folder: `weights.safetensors`, then `config.json`, each atomically. Returns `config`. */
export function writeModelFolder<C extends { format: string }>(model: Module, dir: string, config: C): C {
  mkdirSync(dir, { recursive: true });
  saveParameters(model, join(dir, MODEL_WEIGHTS_FILE), { format: config.format });
  writeFileAtomic(join(dir, MODEL_CONFIG_FILE), new TextEncoder().encode(`${JSON.stringify(config, null, 2)}\n`));
  return config;
}

/** Read `dir/config.json` as JSON without validating it. Throws {@link ModelFileError} naming the file. */
export function readConfigJson(dir: string): unknown {
  const path = join(dir, MODEL_CONFIG_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ModelFileError(path, `cannot read the model config (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, {
      cause: error,
    });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ModelFileError(path, `is not valid JSON (${(error as Error).message})`, { cause: error });
  }
  return raw;
}

/** Read and validate `dir/config.json` as a {@link ModelConfig}. Throws {@link ModelFileError} naming the file. */
export function readModelConfig(dir: string): ModelConfig {
  return readValidatedConfig(dir, parseModelConfig);
}

/** `dir/config.json` through `parse`; a {@link ModelConfigError} becomes a {@link ModelFileError} naming the file. */
export function readValidatedConfig<C>(dir: string, parse: (raw: unknown) => C): C {
  const raw = readConfigJson(dir);
  try {
    return parse(raw);
  } catch (error) {
    if (error instanceof ModelConfigError) throw new ModelFileError(join(dir, MODEL_CONFIG_FILE), error.message, { cause: error });
    throw error;
  }
}

/**
 * Load a model saved by {@link saveModel}: validate the config, rebuild the model, load the
 * weights (every tensor present with the right shape, no extra tensors). Nothing leaks on
 * failure; every failure is one {@link ModelFileError} naming the file (and the field or
 * tensor at fault).
 */
export function loadModel(dir: string): DiffusionModel {
  return readModelFolder(dir, readModelConfig(dir), createModel);
}

/**
 * Build a model from its validated `config` with `create` and load `dir/weights.safetensors`
 * into it; nothing leaks on failure, and every failure is one {@link ModelFileError} naming the file.
 */
export function readModelFolder<C, M extends Module & { dispose(): void }>(dir: string, config: C, create: (config: C) => M): M {
  const configPath = join(dir, MODEL_CONFIG_FILE);
  let model: M;
  try {
    model = create(config);
  } catch (error) {
    throw new ModelFileError(configPath, (error as Error).message, { cause: error });
  }
  const weightsPath = join(dir, MODEL_WEIGHTS_FILE);
  try {
    loadParameters(model, weightsPath);
  } catch (error) {
    model.dispose();
    throw new ModelFileError(weightsPath, `${(error as Error).message} (config: ${configPath})`, { cause: error });
  }
  return model;
}

// ---------------------------------------------------------------------------------------------
// Standardisation.

/** y = (x − mean) / std, x [B, D] → [B, D]. */
export function standardize(x: tf.Tensor, s: Standardization): tf.Tensor {
  return tf.tidy(() => tf.div(tf.sub(x, tf.tensor2d([s.mean])), tf.tensor2d([s.std])));
}

/** x = mean + std ⊙ y, y [B, D] → [B, D]. */
export function unstandardize(y: tf.Tensor, s: Standardization): tf.Tensor {
  return tf.tidy(() => tf.add(tf.mul(y, tf.tensor2d([s.std])), tf.tensor2d([s.mean])));
}

/** log |det ∂y/∂x| = −Σ_d log std_d: add it to log p_y(y) to get log p_x(x) (nats). */
export function standardizationLogDet(s: Standardization): number {
  return -s.std.reduce((acc, v) => acc + Math.log(v), 0);
}
