/**
 * The settings of a training run: command-line flags over a `--config` file over the stored
 * settings of a resumed run over the defaults. The same object is stored as `config` in
 * run.json, so `nfdm train --config old/run.json --out new` repeats a run.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { TrainerConfigInput } from '@nfdm/training';
import { OUTLIER_POLICIES, type OutlierPolicy, STANDARDIZE_METHODS, type StandardizeMethod } from './data-options.js';
import { CliError, UsageError } from './errors.js';
import { checkConditionSettings } from './run-conditions.js';

export { DEFAULT_CONDITION_DROPOUT } from './run-conditions.js';

import {
  DEFAULT_OBSTACLE_WEIGHT,
  isBridgeModel,
  isModelName,
  isOTModel,
  MODEL_NAMES,
  type ModelName,
  type ObstacleSetting,
  PRESETS,
  presetObjective,
} from './presets.js';

export interface RunSettings {
  model: ModelName;
  data: string;
  steps: number;
  batch: number;
  seed: number;
  hidden: number[];
  lr: number;
  schedule: 'cosine' | 'constant';
  /** Warm-up updates (default min(100, 5% of steps)). */
  warmup?: number;
  ema: number | null;
  clip: number | null;
  evalEvery: number;
  checkpointEvery: number;
  logEvery: number;
  /** λ of the NFDM-OT objective (`nfdm-ot` only; default 1). */
  curvatureWeight?: number;
  /** nfbm, fixed-bridge: the source data (t = 1): a toy set (optionally shifted) or an image set. */
  source?: string;
  /** nfbm, fixed-bridge: the target data (t = 0), of the same kind (and image shape) as the source. */
  target?: string;
  /** nfbm, fixed-bridge: a disc obstacle penalised along the paths. */
  obstacle?: ObstacleSetting;
  /** Tables: how the stored standardisation is fitted (default mean-std). */
  standardize?: StandardizeMethod;
  /** Tables: rows with extreme values are refused (default), dropped or kept. */
  outliers?: OutlierPolicy;
  /** Network architecture: 'mlp' (default) or 'unet' (image data; diffusion models, bridges and DiffFlow). */
  arch?: 'mlp' | 'unet';
  /** U-Net: channels of the first level (default 16). */
  base?: number;
  /** U-Net: dropout rate in [0, 1) of the predictor's ResBlocks, active in training updates only (default 0). */
  dropout?: number;
  /**
   * Diffusion models and bridges: train a conditional model on the data's labels (toy sets with a
   * natural label, e.g. 8gaussians: the mode; Fashion-MNIST: the class; bridges: the target's
   * labels; a CSV file: its one `conditionColumns` column of integers 0…K−1).
   */
  condition?: 'label';
  /** Condition dropout: the fraction of training rows whose condition is replaced by ∅ (default 0.1), so the model is also unconditional. */
  conditionDropout?: number;
  /** CSV data: columns that are the condition (a vector of their values, or with `condition: 'label'` one label column), removed from x. */
  conditionColumns?: string[];
  /** Conditional models with a learned forward process: it depends on y too (`forward.conditioned` / `process.conditioned`). */
  conditionForward?: boolean;
  /** rectified-flow: the flow-matching model whose ODE pairs the run trains on (one reflow round). */
  reflowFrom?: string;
  /** rectified-flow with reflowFrom: the number of training pairs (default 10,000). */
  reflowPairs?: number;
  /** Replaces top-level sections of the named model's config (advanced; e.g. forward, predictor, volatility, time). */
  modelConfig?: Record<string, unknown>;
  /** Merged last into the trainer config (advanced: optimizer, evalDraws, keep, …). */
  trainer?: Partial<TrainerConfigInput>;
}

/**
 * Defaults of `nfdm train`, chosen by the sweep in docs/defaults.md (2,000 updates on moons,
 * 8gaussians, checkerboard): gradient clipping at global norm 1 and the EMA's warm-up (on in
 * the trainer by default) are what matter; with them the papers' 2-D reference network and
 * Adam at 1e-3 give the lowest exact NLL of the sweep.
 */
export const DEFAULTS: {
  batch: number;
  seed: number;
  hidden: number[];
  lr: number;
  schedule: 'cosine';
  ema: number;
  clip: number;
  evalEvery: number;
  checkpointEvery: number;
  logEvery: number;
} = {
  batch: 1024,
  seed: 0,
  hidden: [64, 64, 64, 64],
  lr: 1e-3,
  schedule: 'cosine',
  ema: 0.999,
  clip: 1,
  evalEvery: 1000,
  checkpointEvery: 1000,
  logEvery: 10,
};

/** Every setting a --config file or run.json may hold (the `nfdm train` flags, plus modelConfig and trainer). */
export const SETTING_KEYS = [
  'model',
  'data',
  'steps',
  'batch',
  'seed',
  'hidden',
  'lr',
  'schedule',
  'warmup',
  'ema',
  'clip',
  'evalEvery',
  'checkpointEvery',
  'logEvery',
  'curvatureWeight',
  'source',
  'target',
  'obstacle',
  'standardize',
  'outliers',
  'arch',
  'base',
  'dropout',
  'condition',
  'conditionDropout',
  'conditionColumns',
  'conditionForward',
  'reflowFrom',
  'reflowPairs',
  'modelConfig',
  'trainer',
] as const;

/** Settings that define the run; a resume cannot change them. */
export const FIXED_ON_RESUME = [
  'model',
  'data',
  'batch',
  'seed',
  'hidden',
  'lr',
  'schedule',
  'warmup',
  'ema',
  'clip',
  'curvatureWeight',
  'source',
  'target',
  'obstacle',
  'standardize',
  'outliers',
  'arch',
  'base',
  'dropout',
  'condition',
  'conditionDropout',
  'conditionColumns',
  'conditionForward',
  'reflowFrom',
  'reflowPairs',
] as const;

function fail(file: string, key: string, what: string, got: unknown): never {
  throw new CliError(`${file}: '${key}' must be ${what}, got ${JSON.stringify(got)}`);
}

const isInt = (v: unknown, min: number): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const oneOf = (values: readonly unknown[], quote: (v: unknown) => string, sep: string) => ({
  what: values.map(quote).join(sep),
  ok: (v: unknown) => values.includes(v),
});

/** How one setting is checked in a JSON file: what it must be (for the message), the test, and how it is read. */
interface SettingRule {
  what: string;
  ok(v: unknown): boolean;
  read?(v: unknown): unknown;
}

const intRule = (min: number): SettingRule => ({ what: `an integer ≥ ${min}`, ok: (v) => isInt(v, min) });

function isObstacle(v: unknown): boolean {
  if (!isObject(v)) return false;
  const c = v.center;
  return (
    Array.isArray(c) &&
    c.length === 2 &&
    c.every(isFiniteNumber) &&
    typeof v.radius === 'number' &&
    v.radius > 0 &&
    (v.weight === undefined || (typeof v.weight === 'number' && v.weight >= 0))
  );
}

/**
 * The settings a --config file or run.json may hold, with their rules: the one table behind
 * {@link parseSettings} (messages name the file and the key, see docs/architecture.md §Validation).
 */
const SETTING_RULES: Record<(typeof SETTING_KEYS)[number], SettingRule> = {
  model: { what: `one of ${MODEL_NAMES.join(', ')}`, ok: (v) => typeof v === 'string' && isModelName(v) },
  data: { what: 'a dataset name or file path', ok: (v) => typeof v === 'string' && v.length > 0 },
  steps: intRule(1),
  batch: intRule(1),
  seed: intRule(0),
  hidden: {
    what: 'a non-empty array of positive integers',
    ok: (v) => Array.isArray(v) && v.length > 0 && v.every((w) => isInt(w, 1)),
  },
  lr: { what: 'a number > 0', ok: (v) => isFiniteNumber(v) && v > 0 },
  schedule: oneOf(['cosine', 'constant'], (v) => `"${v}"`, ' or '),
  warmup: intRule(0),
  evalEvery: intRule(0),
  checkpointEvery: intRule(0),
  logEvery: intRule(1),
  modelConfig: { what: 'an object', ok: isObject },
  trainer: { what: 'an object', ok: isObject },
  ema: { what: 'a decay in [0, 1) or null', ok: (v) => v === null || (typeof v === 'number' && v >= 0 && v < 1) },
  clip: { what: 'a number > 0 or null', ok: (v) => v === null || (typeof v === 'number' && v > 0) },
  curvatureWeight: { what: 'a number ≥ 0', ok: (v) => isFiniteNumber(v) && v >= 0 },
  source: { what: 'a data set spec (a toy set or an image set)', ok: (v) => typeof v === 'string' && v.length > 0 },
  target: { what: 'a data set spec (a toy set or an image set)', ok: (v) => typeof v === 'string' && v.length > 0 },
  obstacle: {
    what: '{ center: [x, y], radius > 0, weight ≥ 0 }',
    ok: isObstacle,
    read: (v) => {
      const o = v as { center: number[]; radius: number; weight?: number };
      return { center: [o.center[0], o.center[1]], radius: o.radius, weight: o.weight ?? DEFAULT_OBSTACLE_WEIGHT };
    },
  },
  standardize: oneOf(STANDARDIZE_METHODS, (v) => `"${v}"`, ' or '),
  arch: oneOf(['mlp', 'unet'], (v) => `"${v}"`, ' or '),
  base: { what: 'an even integer ≥ 2', ok: (v) => isInt(v, 2) && (v as number) % 2 === 0 },
  dropout: { what: 'a rate in [0, 1)', ok: (v) => isFiniteNumber(v) && v >= 0 && v < 1 },
  outliers: oneOf(OUTLIER_POLICIES, (v) => `"${v}"`, ', '),
  condition: oneOf(['label'], (v) => `"${v}"`, ' or '),
  conditionDropout: { what: 'a rate in [0, 1)', ok: (v) => isFiniteNumber(v) && v >= 0 && v < 1 },
  conditionColumns: {
    what: 'a non-empty array of column names',
    ok: (v) => Array.isArray(v) && v.length > 0 && v.every((c) => typeof c === 'string' && c.length > 0),
  },
  conditionForward: { what: 'true or false', ok: (v) => typeof v === 'boolean' },
  reflowFrom: { what: 'a model directory', ok: (v) => typeof v === 'string' && v.length > 0 },
  reflowPairs: intRule(1),
};

/** Validate settings read from JSON (a --config file or run.json); names the file and key. */
export function parseSettings(raw: unknown, file: string): Partial<RunSettings> {
  if (!isObject(raw)) throw new CliError(`${file}: expected a JSON object of training settings`);
  for (const key of Object.keys(raw)) {
    if (!(SETTING_KEYS as readonly string[]).includes(key))
      throw new CliError(`${file}: unknown setting '${key}' (known: ${SETTING_KEYS.join(', ')})`);
  }
  const out: Record<string, unknown> = {};
  for (const key of SETTING_KEYS) {
    const v = raw[key];
    if (v === undefined) continue;
    const rule = SETTING_RULES[key];
    if (!rule.ok(v)) fail(file, key, rule.what, v);
    out[key] = rule.read ? rule.read(v) : v;
  }
  return out as Partial<RunSettings>;
}

/** Read a --config file: either settings, or a run.json (its `config`). */
export function readSettingsFile(path: string): Partial<RunSettings> {
  if (!existsSync(path)) throw new CliError(`config file ${path} does not exist`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new CliError(`${path}: not valid JSON (${(error as Error).message})`);
  }
  const obj = raw as Record<string, unknown> | null;
  if (obj && typeof obj === 'object' && obj.format === 'nfdm-run/1') return parseSettings(obj.config, `${path} (config)`);
  return parseSettings(raw, path);
}

/** Fill in the defaults; model, data and steps must be known by now. */
export function completeSettings(s: Partial<RunSettings>): RunSettings {
  if (!s.model) throw new UsageError(`--model is required (one of ${MODEL_NAMES.join(', ')})`);
  if (isBridgeModel(s.model)) {
    s = withBridgeEnds(s);
    if (!s.source || !s.target)
      throw new UsageError(
        `--model ${s.model} needs --source and --target (toy sets, e.g. --source 8gaussians --target moons, or image sets, e.g. --source fashion-mnist-14:label=5 --target fashion-mnist-14:label=7)`,
      );
    const spec = bridgeSpec(s.source, s.target);
    if (s.data !== undefined && s.data !== spec)
      throw new UsageError(`--model ${s.model} takes its data from --source and --target, not --data (got --data ${s.data})`);
    s = { ...s, data: spec };
  } else {
    for (const key of ['source', 'target', 'obstacle'] as const) {
      if (s[key] !== undefined) throw new UsageError(`--${key} applies to bridge models (nfbm, fixed-bridge) only, not ${s.model}`);
    }
  }
  if (!s.data)
    throw new UsageError('--data is required (a toy set such as 8gaussians, fashion-mnist, or a .csv / .npy file; see nfdm datasets)');
  if (!s.steps) throw new UsageError('--steps is required (the number of training updates)');
  if ((s.arch === 'unet' || s.base !== undefined || s.dropout !== undefined) && !PRESETS[s.model as ModelName].unet) {
    throw new UsageError(
      `--arch unet applies to diffusion models (nfdm, ndm, nfdm-ot, vp, …), bridges (nfbm, fixed-bridge) and diffflow so far, not ${s.model}`,
    );
  }
  if (s.base !== undefined && s.arch !== 'unet') throw new UsageError('--base sets the U-Net width; it needs --arch unet');
  if (s.dropout !== undefined && PRESETS[s.model as ModelName].family === 'diffflow')
    throw new UsageError(
      `--dropout applies to the U-Net predictor of diffusion models and bridges, not ${s.model} (DiffFlow's gradient walk re-evaluates its networks step by step: the masks would differ)`,
    );
  if (s.dropout !== undefined && s.arch !== 'unet')
    throw new UsageError('--dropout sets the dropout rate of the U-Net predictor; it needs --arch unet');
  checkConditionSettings(s);
  if ((s.reflowFrom !== undefined || s.reflowPairs !== undefined) && s.model !== 'rectified-flow')
    throw new UsageError(`--reflow-from and --reflow-pairs apply to rectified-flow only, not ${s.model}`);
  if (s.reflowPairs !== undefined && s.reflowFrom === undefined)
    throw new UsageError('--reflow-pairs sets the number of reflow pairs; it needs --reflow-from DIR');
  if (s.curvatureWeight !== undefined && !isOTModel(s.model)) {
    throw new UsageError(`--curvature-weight applies to NFDM-OT models (nfdm-ot) only, not ${s.model}`);
  }
  // OT-CFM solves a B × B assignment per update (~35 ms at 256, ~1.2 s at 1024 here): its own default batch.
  const defaults = s.model === 'ot-cfm' ? { ...DEFAULTS, batch: OT_CFM_BATCH } : DEFAULTS;
  return {
    ...defaults,
    ...Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)),
  } as RunSettings;
}

/** The default batch of `ot-cfm` (the batch's OT coupling costs O(B²) memory and about O(B^2.7) time). */
export const OT_CFM_BATCH = 256;

/** A bridge run given as `--data <source>-><target>` alone: its ends as --source and --target. */
function withBridgeEnds(s: Partial<RunSettings>): Partial<RunSettings> {
  const pair = s.source === undefined && s.target === undefined && s.data !== undefined ? parseBridgeSpec(s.data) : undefined;
  return pair ? { ...s, source: pair.source, target: pair.target } : s;
}

/** The trainer config of a run. */
export function trainerConfig(s: RunSettings): TrainerConfigInput {
  const warmup = s.warmup ?? Math.min(100, Math.floor(s.steps / 20));
  const schedule: TrainerConfigInput['schedule'] =
    s.schedule === 'constant' ? { kind: 'constant', lr: s.lr, warmup } : { kind: 'cosine', lr: s.lr, warmup, floor: s.lr / 100 };
  return {
    objective: presetObjective(s.model, s.curvatureWeight),
    steps: s.steps,
    batchSize: s.batch,
    seed: s.seed,
    schedule,
    ema: s.ema,
    clipNorm: s.clip,
    evalEvery: s.evalEvery,
    evalDraws: 4,
    checkpointEvery: s.checkpointEvery,
    logEvery: s.logEvery,
    keep: 3,
    ...(s.trainer ?? {}),
  };
}

/** The data spec of a bridge run: `<source>-><target>`. */
export function bridgeSpec(source: string, target: string): string {
  return `${source}->${target}`;
}

/** The (source, target) of a bridge data spec, or undefined for other specs. */
export function parseBridgeSpec(spec: string): { source: string; target: string } | undefined {
  const i = spec.indexOf('->');
  if (i <= 0 || i + 2 >= spec.length) return undefined;
  return { source: spec.slice(0, i), target: spec.slice(i + 2) };
}
