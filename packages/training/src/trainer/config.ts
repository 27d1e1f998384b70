/**
 * The trainer's JSON config: everything that, with the model config and the data, determines
 * the run. It is stored in every checkpoint's config.json and restored by `Trainer.resume`.
 */

import type { Objective } from '@nfdm/models';
import { type AdamConfig, resolveAdamConfig } from '../optim/adam.js';
import { type LRSchedule, parseLRSchedule } from '../optim/schedules.js';
import { TrainerConfigError } from './errors.js';

export const TRAINER_FORMAT = 'nfdm-trainer/1';

/**
 * What the updates minimise: `nelbo` — the NFDM bound's diffusion term (`model.loss`); `ot` —
 * the NFDM-OT objective (`otLoss` of @nfdm/models: velocity matching + λ · curvature, with λ
 * `curvatureWeight`; the model's volatility is unused).
 */
/** The training objective (see `Objective` in @nfdm/models). */
export type TrainerObjective = Objective;

export interface TrainerConfig {
  format: typeof TRAINER_FORMAT;
  /** The training objective (default `{ kind: 'nelbo' }`). */
  objective: TrainerObjective;
  /** Total number of updates of the run. */
  steps: number;
  batchSize: number;
  /** Seeds the data and the noise generators (two forks of Rng(seed), in that order). */
  seed: number;
  optimizer: AdamConfig;
  schedule: LRSchedule;
  /** Clip gradients to this global norm (null: no clipping; the norm is still reported). */
  clipNorm: number | null;
  /** EMA decay, or null for no EMA. */
  ema: number | null;
  /**
   * Warm up the EMA decay: update n (0-based) uses min(ema, (1 + n)/(10 + n)) as diffusers'
   * EMAModel, so the average forgets the initial weights (see optim/ema.ts). Default true;
   * checkpoints written before this field existed resume with false (their EMA had none).
   */
  emaWarmup: boolean;
  /** Write a metrics line (and compute the window means) every this many steps. */
  logEvery: number;
  /** Evaluate every this many steps (0: only when asked, and at the end if eval data is given). */
  evalEvery: number;
  /** NELBO draws per held-out row, and the seed of those draws (the same at every evaluation). */
  evalDraws: number;
  evalSeed: number;
  /** Checkpoint every this many steps (0: only at the end / on interruption). */
  checkpointEvery: number;
  /** Checkpoints to keep. */
  keep: number;
}

/**
 * Default global-norm clip of the updates: the first gradients of an NFDM bound reach norms of
 * 10⁵ (the likelihood terms near t = 0), which Adam's normalisation does not tame on its own.
 */
export const DEFAULT_CLIP_NORM = 1;

/** A schedule as given by a user: `total` defaults to the run's `steps`. */
export type LRScheduleInput =
  | { kind: 'constant'; lr: number; warmup?: number }
  | { kind: 'cosine' | 'polynomial'; lr: number; total?: number; warmup?: number; floor?: number; power?: number };

export interface TrainerConfigInput {
  steps: number;
  /** Default `{ kind: 'nelbo' }`; `{ kind: 'ot' }` takes `curvatureWeight` default 1. */
  objective?: TrainerObjective | { kind: 'ot'; curvatureWeight?: number };
  batchSize?: number;
  seed?: number;
  optimizer?: Partial<AdamConfig>;
  /** Default: constant 1e-3. A number is shorthand for a constant rate. */
  schedule?: LRScheduleInput | number;
  /** Default 1 (global norm). */
  clipNorm?: number | null;
  /** Default 0.999. */
  ema?: number | null;
  /** Default true. */
  emaWarmup?: boolean;
  logEvery?: number;
  evalEvery?: number;
  evalDraws?: number;
  evalSeed?: number;
  checkpointEvery?: number;
  keep?: number;
}

const KEYS = [
  'format',
  'objective',
  'steps',
  'batchSize',
  'seed',
  'optimizer',
  'schedule',
  'clipNorm',
  'ema',
  'emaWarmup',
  'logEvery',
  'evalEvery',
  'evalDraws',
  'evalSeed',
  'checkpointEvery',
  'keep',
];

function int(raw: Record<string, unknown>, key: string, min: number, fallback?: number): number {
  const v = raw[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw new TrainerConfigError(key, `expected an integer >= ${min}, got ${v === undefined ? 'nothing' : JSON.stringify(v)}`);
  }
  return v;
}

function parseObjective(v: unknown): TrainerObjective {
  if (v === undefined) return { kind: 'nelbo' };
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new TrainerConfigError('objective', `expected { kind: 'nelbo' } or { kind: 'ot', curvatureWeight }, got ${JSON.stringify(v)}`);
  }
  const o = v as Record<string, unknown>;
  if (o.kind === 'nelbo') {
    for (const key of Object.keys(o)) if (key !== 'kind') throw new TrainerConfigError(`objective.${key}`, 'unknown field (expected kind)');
    return { kind: 'nelbo' };
  }
  if (o.kind === 'ot') {
    for (const key of Object.keys(o)) {
      if (key !== 'kind' && key !== 'curvatureWeight')
        throw new TrainerConfigError(`objective.${key}`, 'unknown field (expected kind, curvatureWeight)');
    }
    const w = o.curvatureWeight ?? 1;
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) {
      throw new TrainerConfigError('objective.curvatureWeight', `expected a finite number >= 0, got ${JSON.stringify(w)}`);
    }
    return { kind: 'ot', curvatureWeight: w };
  }
  throw new TrainerConfigError('objective.kind', `expected "nelbo" or "ot", got ${JSON.stringify(o.kind)}`);
}

/** Validate a config (input or stored JSON) and fill in every default. */
export function resolveTrainerConfig(input: TrainerConfigInput | Record<string, unknown>): TrainerConfig {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new TrainerConfigError('config', 'expected an object');
  const raw = input as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!KEYS.includes(key)) throw new TrainerConfigError(key, `unknown field (expected one of ${KEYS.slice(1).join(', ')})`);
  }
  if (raw.format !== undefined && raw.format !== TRAINER_FORMAT) throw new TrainerConfigError('format', `expected "${TRAINER_FORMAT}"`);
  const steps = int(raw, 'steps', 0);
  const objective = parseObjective(raw.objective);
  let schedule: LRSchedule;
  try {
    const s = raw.schedule ?? 1e-3;
    const obj: Record<string, unknown> = typeof s === 'number' ? { kind: 'constant', lr: s } : { ...(s as Record<string, unknown>) };
    if (obj.kind !== 'constant' && obj.total === undefined) obj.total = steps;
    schedule = parseLRSchedule(obj);
  } catch (error) {
    throw new TrainerConfigError('schedule', (error as Error).message);
  }
  let optimizer: AdamConfig;
  try {
    optimizer = resolveAdamConfig((raw.optimizer ?? {}) as Partial<AdamConfig>);
  } catch (error) {
    throw new TrainerConfigError('optimizer', (error as Error).message);
  }
  const clipNorm = raw.clipNorm === undefined ? DEFAULT_CLIP_NORM : raw.clipNorm;
  if (clipNorm !== null && !(typeof clipNorm === 'number' && clipNorm > 0)) {
    throw new TrainerConfigError('clipNorm', `expected a number > 0 or null, got ${JSON.stringify(clipNorm)}`);
  }
  const ema = raw.ema === undefined ? 0.999 : raw.ema;
  if (ema !== null && !(typeof ema === 'number' && ema >= 0 && ema < 1)) {
    throw new TrainerConfigError('ema', `expected a decay in [0, 1) or null, got ${JSON.stringify(ema)}`);
  }
  const emaWarmup = raw.emaWarmup ?? true;
  if (typeof emaWarmup !== 'boolean') throw new TrainerConfigError('emaWarmup', `expected true or false, got ${JSON.stringify(emaWarmup)}`);
  return {
    format: TRAINER_FORMAT,
    objective,
    steps,
    batchSize: int(raw, 'batchSize', 1, 256),
    seed: int(raw, 'seed', 0, 0),
    optimizer,
    schedule,
    clipNorm: clipNorm as number | null,
    ema: ema as number | null,
    emaWarmup,
    logEvery: int(raw, 'logEvery', 1, 1),
    evalEvery: int(raw, 'evalEvery', 0, 0),
    evalDraws: int(raw, 'evalDraws', 1, 1),
    evalSeed: int(raw, 'evalSeed', 0, 0),
    checkpointEvery: int(raw, 'checkpointEvery', 0, 0),
    keep: int(raw, 'keep', 1, 3),
  };
}
