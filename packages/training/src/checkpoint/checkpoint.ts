/**
 * Training checkpoints: one directory per step, written so that a crash at any instant leaves
 * either the previous checkpoint or the new one in place, never a half-written one.
 *
 *   <root>/ckpt-<step>/config.json          {format, step, model: ModelConfig, trainer: TrainerConfig, backend, tfjs}
 *                      weights.safetensors  the model's weights (all variables)
 *                      ema.safetensors      the EMA weights (when EMA is on; metadata `updates`: the EMA's update count)
 *                      optimizer.safetensors  m.<name>, v.<name> (float32, bit-exact)
 *                      optimizer.json       {config, step, schedule, lr}
 *                      rng.json             {data: [4 × uint32], noise: [4 × uint32]}
 *   <root>/latest                            "ckpt-<step>\n": the checkpoint to resume from
 *
 * Write order: every file goes into a fresh `.tmp-ckpt-<step>-…` directory (each file written
 * and fsynced, then the directory fsynced), the directory is renamed to `ckpt-<step>` (and the
 * root fsynced), then `latest` is replaced atomically (temporary file, fsync, rename), and only
 * then are older checkpoints pruned. Readers ({@link latestCheckpoint}) follow `latest` and fall
 * back to the newest complete `ckpt-*` when `latest` is missing or points nowhere; temporary
 * directories are never read and are removed by {@link cleanCheckpointTemp}.
 *
 * One writer per root directory.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  decodeWeights,
  encodeWeights,
  loadParameters,
  type StoredTensor,
  type WeightFile,
  type WeightFileError,
  writeFileAtomic,
} from '@nfdm/core';
import {
  type AnyModel,
  type AnyModelConfig,
  createAnyModel,
  type DiffusionModel,
  diffusionFamily,
  familyOf,
  MODEL_FORMAT,
  parseAnyModelConfig,
} from '@nfdm/models';
import type { AdamConfig } from '../optim/adam.js';
import type { LRSchedule } from '../optim/schedules.js';

export const CHECKPOINT_FORMAT = 'nfdm-checkpoint/1';
export const CHECKPOINT_FILES = {
  config: 'config.json',
  weights: 'weights.safetensors',
  ema: 'ema.safetensors',
  optimizer: 'optimizer.safetensors',
  optimizerJson: 'optimizer.json',
  rng: 'rng.json',
} as const;
/** The pointer file in the root directory. */
export const LATEST_FILE = 'latest';
const CKPT_RE = /^ckpt-(\d+)$/;
const TEMP_PREFIXES = ['.tmp-ckpt-', '.trash-ckpt-', `${LATEST_FILE}.tmp-`];

/** A checkpoint that cannot be written or read; `path` names the file or directory at fault. */
export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
  constructor(
    readonly path: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${path}: ${detail}`, options);
  }
}

/** Everything a checkpoint holds. `trainer` is the trainer's JSON config (opaque here). */
export interface CheckpointData {
  step: number;
  /** The model's config (any family: diffusion, bridge, DiffFlow). */
  model: AnyModelConfig;
  trainer: Record<string, unknown>;
  weights: Map<string, StoredTensor>;
  /** Absent when the run has no EMA. */
  ema?: Map<string, StoredTensor>;
  /**
   * Updates folded into the EMA (its warm-up position), stored as the `updates` metadata of
   * ema.safetensors; absent in checkpoints written before it was stored.
   */
  emaUpdates?: number;
  optimizer: {
    config: AdamConfig;
    step: number;
    schedule: LRSchedule;
    /** The learning rate of the next update (informational). */
    lr: number;
    tensors: Map<string, StoredTensor>;
  };
  /** Generator states by stream name (four uint32 each). */
  rng: Record<string, number[]>;
  /** Backend and tfjs version that wrote it (exact resume holds on the same backend). */
  backend?: string;
  tfjs?: string;
}

/** Test and tooling hooks, called synchronously while a checkpoint is written. */
export interface CheckpointHooks {
  /** After each file is written and fsynced inside the temporary directory. */
  afterFile?(file: string, step: number, tempDir: string): void;
  /** After the temporary directory is complete, before it is renamed into place. */
  beforeRename?(step: number, tempDir: string): void;
  /** After the rename, before `latest` is updated. */
  beforeLatest?(step: number, dir: string): void;
}

export interface WriteCheckpointOptions {
  /** Keep this many checkpoints (default 3; at least 1). */
  keep?: number;
  hooks?: CheckpointHooks;
}

/** The directory name of the checkpoint of `step`. */
export function checkpointName(step: number): string {
  return `ckpt-${step}`;
}

function fsyncDir(path: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    fsyncSync(fd);
  } catch {
    // Directory fsync is best effort (not every filesystem supports it).
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function writeFileDurable(path: string, bytes: Uint8Array): void {
  const fd = openSync(path, 'wx');
  try {
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

const json = (value: unknown): Uint8Array => new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);

/**
 * Write `data` as `<root>/ckpt-<step>` (see the module doc for the order of operations), point
 * `latest` at it and prune to the last `keep`. Returns the checkpoint directory.
 */
export function writeCheckpoint(root: string, data: CheckpointData, options: WriteCheckpointOptions = {}): string {
  const keep = options.keep ?? 3;
  if (!Number.isInteger(keep) || keep < 1) throw new RangeError(`keep must be a positive integer, got ${keep}`);
  const hooks = options.hooks ?? {};
  mkdirSync(root, { recursive: true });
  cleanCheckpointTemp(root);
  const name = checkpointName(data.step);
  const final = join(root, name);
  const tmp = join(root, `.tmp-${name}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  mkdirSync(tmp);
  try {
    const files: [string, Uint8Array][] = [
      [CHECKPOINT_FILES.weights, encodeWeights(data.weights, { format: MODEL_FORMAT, step: String(data.step) })],
    ];
    if (data.ema)
      files.push([
        CHECKPOINT_FILES.ema,
        encodeWeights(data.ema, {
          format: MODEL_FORMAT,
          step: String(data.step),
          ema: 'true',
          ...(data.emaUpdates !== undefined ? { updates: String(data.emaUpdates) } : {}),
        }),
      ]);
    const { tensors, ...optimizerJson } = data.optimizer;
    files.push([
      CHECKPOINT_FILES.optimizer,
      encodeWeights(tensors, { step: String(data.optimizer.step), kind: data.optimizer.config.kind }),
    ]);
    files.push([CHECKPOINT_FILES.optimizerJson, json(optimizerJson)]);
    files.push([CHECKPOINT_FILES.rng, json(data.rng)]);
    // config.json last: a directory with a config.json was written to the end.
    files.push([
      CHECKPOINT_FILES.config,
      json({
        format: CHECKPOINT_FORMAT,
        step: data.step,
        model: data.model,
        trainer: data.trainer,
        ...(data.backend ? { backend: data.backend } : {}),
        ...(data.tfjs ? { tfjs: data.tfjs } : {}),
      }),
    ]);
    for (const [file, bytes] of files) {
      writeFileDurable(join(tmp, file), bytes);
      hooks.afterFile?.(file, data.step, tmp);
    }
    fsyncDir(tmp);
    hooks.beforeRename?.(data.step, tmp);
    if (existsSync(final)) {
      // A checkpoint of this step from an abandoned timeline (e.g. written after the
      // checkpoint this run resumed from): move it aside, then replace it.
      const trash = join(root, `.trash-${name}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
      renameSync(final, trash);
      renameSync(tmp, final);
      fsyncDir(root);
      rmSync(trash, { recursive: true, force: true });
    } else {
      renameSync(tmp, final);
      fsyncDir(root);
    }
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    throw error instanceof CheckpointError
      ? error
      : new CheckpointError(tmp, `writing the checkpoint failed: ${(error as Error).message}`, { cause: error });
  }
  hooks.beforeLatest?.(data.step, final);
  writeFileAtomic(join(root, LATEST_FILE), new TextEncoder().encode(`${name}\n`));
  pruneCheckpoints(root, keep, data.step);
  return final;
}

/** The `ckpt-<step>` directories under `root` (complete or not), by increasing step. */
export function listCheckpoints(root: string): { step: number; path: string }[] {
  if (!existsSync(root)) return [];
  const out: { step: number; path: string }[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const m = CKPT_RE.exec(entry.name);
    if (m && entry.isDirectory()) out.push({ step: Number(m[1]), path: join(root, entry.name) });
  }
  return out.sort((a, b) => a.step - b.step);
}

/** Cheap completeness check: config.json parses with the right format and every file is there. */
export function isCompleteCheckpoint(dir: string): boolean {
  try {
    const config = JSON.parse(readFileSync(join(dir, CHECKPOINT_FILES.config), 'utf8'));
    if (config?.format !== CHECKPOINT_FORMAT) return false;
    const needed: string[] = [CHECKPOINT_FILES.weights, CHECKPOINT_FILES.optimizer, CHECKPOINT_FILES.optimizerJson, CHECKPOINT_FILES.rng];
    if (config.trainer?.ema != null) needed.push(CHECKPOINT_FILES.ema);
    return needed.every((f) => existsSync(join(dir, f)));
  } catch {
    return false;
  }
}

/**
 * The checkpoint to resume from under `root`: the one `latest` names if it is complete,
 * otherwise the complete `ckpt-*` with the highest step; `undefined` if there is none.
 */
export function latestCheckpoint(root: string): string | undefined {
  try {
    const name = readFileSync(join(root, LATEST_FILE), 'utf8').trim();
    if (CKPT_RE.test(name) && isCompleteCheckpoint(join(root, name))) return join(root, name);
  } catch {
    // No pointer: fall back to scanning.
  }
  const all = listCheckpoints(root).reverse();
  return all.find((c) => isCompleteCheckpoint(c.path))?.path;
}

/** Remove temporary and trash directories and stale pointer temp files left by killed writers. */
export function cleanCheckpointTemp(root: string): string[] {
  if (!existsSync(root)) return [];
  const removed: string[] = [];
  for (const entry of readdirSync(root)) {
    if (TEMP_PREFIXES.some((p) => entry.startsWith(p))) {
      rmSync(join(root, entry), { recursive: true, force: true });
      removed.push(entry);
    }
  }
  return removed;
}

/**
 * Keep the `keep` newest checkpoints with step ≤ `current` (and whatever `latest` names);
 * checkpoints with a higher step (left by an abandoned timeline) are left alone — they are
 * replaced when the run reaches their step.
 */
export function pruneCheckpoints(root: string, keep: number, current: number): void {
  let pointed: string | undefined;
  try {
    pointed = readFileSync(join(root, LATEST_FILE), 'utf8').trim();
  } catch {
    pointed = undefined;
  }
  const candidates = listCheckpoints(root)
    .filter((c) => c.step <= current)
    .reverse();
  for (const c of candidates.slice(keep)) {
    if (basename(c.path) === pointed) continue;
    rmSync(c.path, { recursive: true, force: true });
  }
}

function readJson(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CheckpointError(path, `cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { cause: error });
  }
  try {
    const value = JSON.parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not a JSON object');
    return value;
  } catch (error) {
    throw new CheckpointError(path, `is not valid JSON (${(error as Error).message})`, { cause: error });
  }
}

function readWeights(path: string): Map<string, StoredTensor> {
  return readWeightFile(path).tensors;
}

function readWeightFile(path: string): WeightFile {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new CheckpointError(path, `cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { cause: error });
  }
  try {
    return decodeWeights(bytes);
  } catch (error) {
    throw new CheckpointError(path, (error as WeightFileError).message, { cause: error });
  }
}

function isRngState(v: unknown): v is number[] {
  return Array.isArray(v) && v.length === 4 && v.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff);
}

/**
 * The checkpoint directory `dir` designates: `dir` itself if it holds a config.json, else the
 * checkpoint {@link latestCheckpoint} finds under it. Throws {@link CheckpointError} if none.
 */
export function resolveCheckpointDir(dir: string): string {
  if (existsSync(join(dir, CHECKPOINT_FILES.config))) return dir;
  const latest = latestCheckpoint(dir);
  if (!latest) throw new CheckpointError(dir, 'no checkpoint here (neither a ckpt-<step> directory nor a folder with a complete one)');
  return latest;
}

/**
 * Read and validate a checkpoint directory (`ckpt-<step>`), or the one a root directory's
 * `latest` names. Every problem is one {@link CheckpointError} naming the file.
 */
export function readCheckpoint(dir: string): CheckpointData {
  dir = resolveCheckpointDir(dir);
  const configPath = join(dir, CHECKPOINT_FILES.config);
  const config = readJson(configPath);
  if (config.format !== CHECKPOINT_FORMAT)
    throw new CheckpointError(configPath, `format must be "${CHECKPOINT_FORMAT}", got ${JSON.stringify(config.format)}`);
  const step = config.step;
  if (typeof step !== 'number' || !Number.isInteger(step) || step < 0)
    throw new CheckpointError(configPath, `step must be a non-negative integer, got ${JSON.stringify(step)}`);
  let model: AnyModelConfig;
  try {
    model = parseAnyModelConfig(config.model);
  } catch (error) {
    throw new CheckpointError(configPath, `model: ${(error as Error).message}`, { cause: error });
  }
  const trainer = config.trainer;
  if (trainer === null || typeof trainer !== 'object' || Array.isArray(trainer))
    throw new CheckpointError(configPath, 'trainer config is missing');
  const weights = readWeights(join(dir, CHECKPOINT_FILES.weights));
  const emaPath = join(dir, CHECKPOINT_FILES.ema);
  const emaFile = (trainer as Record<string, unknown>).ema != null || existsSync(emaPath) ? readWeightFile(emaPath) : undefined;
  const ema = emaFile?.tensors;
  let emaUpdates: number | undefined;
  if (emaFile?.metadata.updates !== undefined) {
    emaUpdates = Number(emaFile.metadata.updates);
    if (!/^\d+$/.test(emaFile.metadata.updates) || !Number.isSafeInteger(emaUpdates))
      throw new CheckpointError(
        emaPath,
        `'updates' metadata must be a non-negative integer, got ${JSON.stringify(emaFile.metadata.updates)}`,
      );
  }
  const optPath = join(dir, CHECKPOINT_FILES.optimizerJson);
  const opt = readJson(optPath);
  if (opt.step !== step) throw new CheckpointError(optPath, `optimizer step ${JSON.stringify(opt.step)} ≠ checkpoint step ${step}`);
  if (opt.config === null || typeof opt.config !== 'object') throw new CheckpointError(optPath, 'optimizer config is missing');
  if (opt.schedule === null || typeof opt.schedule !== 'object') throw new CheckpointError(optPath, 'schedule is missing');
  const tensors = readWeights(join(dir, CHECKPOINT_FILES.optimizer));
  const rngPath = join(dir, CHECKPOINT_FILES.rng);
  const rngRaw = readJson(rngPath);
  const rng: Record<string, number[]> = {};
  for (const [k, v] of Object.entries(rngRaw)) {
    if (!isRngState(v)) throw new CheckpointError(rngPath, `'${k}' is not a generator state (four uint32 integers)`);
    rng[k] = v;
  }
  return {
    step,
    model,
    trainer: trainer as Record<string, unknown>,
    weights,
    ema,
    ...(emaUpdates !== undefined ? { emaUpdates } : {}),
    optimizer: {
      config: opt.config as AdamConfig,
      step,
      schedule: opt.schedule as LRSchedule,
      lr: Number(opt.lr),
      tensors,
    },
    rng,
    backend: typeof config.backend === 'string' ? config.backend : undefined,
    tfjs: typeof config.tfjs === 'string' ? config.tfjs : undefined,
  };
}

/**
 * Rebuild the model of a checkpoint (root folder or `ckpt-<step>`), with the EMA weights by
 * default when the checkpoint has them, for sampling, evaluation or export.
 */
export function loadCheckpointModel(dir: string, options: { ema?: boolean } = {}): DiffusionModel {
  const model = loadCheckpointAnyModel(dir, options);
  if (!diffusionFamily.owns(model)) {
    model.dispose();
    throw new CheckpointError(
      resolveCheckpointDir(dir),
      `holds a ${familyOf(model).title}, not a diffusion model (use loadCheckpointAnyModel)`,
    );
  }
  return model as DiffusionModel;
}

/** {@link loadCheckpointModel} for a model of any family (diffusion, bridge, DiffFlow). */
export function loadCheckpointAnyModel(dir: string, options: { ema?: boolean } = {}): AnyModel {
  const path = resolveCheckpointDir(dir);
  const c = readCheckpoint(path);
  const model = createAnyModel(c.model);
  const weights = (options.ema ?? true) && c.ema ? c.ema : c.weights;
  try {
    loadParameters(model, { tensors: weights, metadata: {} });
  } catch (error) {
    model.dispose();
    throw new CheckpointError(join(path, weights === c.ema ? CHECKPOINT_FILES.ema : CHECKPOINT_FILES.weights), (error as Error).message, {
      cause: error,
    });
  }
  return model;
}
