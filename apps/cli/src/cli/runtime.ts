/**
 * What several commands share: starting the backend, finding and loading a model directory,
 * the CLI's metadata next to a model, solver flags, sampling and log-densities in data units.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { type BackendReport, getSolver, initBackend, SolverError, type SolveStats, setNativeThreads } from '@nfdm/core';
import type { DataMatrix } from '@nfdm/datasets';
import {
  type AnyModel,
  type AnyModelConfig,
  type ConditionConfig,
  capabilitiesOf,
  DEFAULT_OBJECTIVE,
  type FamilyCapabilities,
  type FamilyDescriptor,
  type FamilyDrawResult,
  type FamilyId,
  type FamilyOperations,
  FROZEN_PREDICTION_SOLVER,
  familyOf,
  familyOfConfig,
  isFrozenPredictionSolver,
  loadAnyModel,
  MODEL_CONFIG_FILE,
  type Objective,
  readAnyModelConfig,
  type Standardization,
  standardizationLogDet,
  standardize,
  unstandardize,
} from '@nfdm/models';
import { CHECKPOINT_FILES, latestCheckpoint, loadCheckpointAnyModel, readCheckpoint, type TrainerObjective } from '@nfdm/training';
import * as tf from '@tensorflow/tfjs';
import { bridgeEvaluationData, type DataInfo } from './data.js';
import { CliError, UsageError } from './errors.js';
import { writeJson } from './files.js';
import type { BackendChoice } from './options.js';
import type { Output } from './output.js';
import { DEFAULT_CURVATURE_WEIGHT, isModelName, PRESETS } from './presets.js';
import type { Progress } from './progress.js';

/** Start the tfjs backend (once per process) and note which one runs. */
export async function startBackend(choice: BackendChoice | undefined, out: Output, threads?: number): Promise<BackendReport> {
  let report: BackendReport;
  try {
    report = await initBackend(choice === undefined || choice === 'auto' ? undefined : choice);
  } catch (error) {
    throw new CliError((error as Error).message);
  }
  if (threads !== undefined) out.note(`native kernel threads: ${setNativeThreads(threads)}`);
  const extra = report.wasm ? ` (SIMD ${report.wasm.simd ? 'on' : 'off'}, ${report.wasm.threads} thread)` : '';
  out.note(`backend: ${report.backend}${extra}`);
  const native = report.nativeKernels;
  out.note(
    native.enabled && native.addon
      ? `native kernels: on (${native.addon.kind === 'source' ? 'built from source' : `prebuilt ${native.addon.package}`}, ${native.addon.variant}, ${native.addon.isa})`
      : `native kernels: off (${native.reason})`,
  );
  return report;
}

// ---------------------------------------------------------------------------------------------
// Model directories.

/** The CLI's file next to a model's config.json and weights.safetensors. */
export const META_FILE = 'meta.json';
export const META_FORMAT = 'nfdm-cli-meta/1';
/** The summary `nfdm train` writes into its output directory. */
export const RUN_FILE = 'run.json';

export interface ModelMeta {
  format: typeof META_FORMAT;
  /** Model name on the command line (nfdm, ndm, vp, …). */
  model: string;
  data: DataInfo;
  /** Training updates behind these weights. */
  step: number;
  /**
   * The training objective (absent: the NELBO). An `ot` model is a deterministic ODE model:
   * sampling defaults to the ODE and the NELBO is not available.
   */
  objective?: TrainerObjective;
}

/**
 * The training objective behind a model, from its metadata: the recorded objective, else the one
 * of its command-line model name (metadata written before objectives were recorded), else the NELBO.
 */
export function objectiveOf(meta: ModelMeta | undefined): Objective {
  if (meta?.objective) return meta.objective;
  if (meta?.model && isModelName(meta.model) && PRESETS[meta.model].objective === 'ot')
    return { kind: 'ot', curvatureWeight: DEFAULT_CURVATURE_WEIGHT };
  return DEFAULT_OBJECTIVE;
}

/**
 * Solver flags with the model's default mode: a model trained for few-step ODE sampling
 * (NFDM-OT) samples with the ODE unless `--sde` or a solver is named (a named solver's kind decides);
 * a model without a reverse SDE (flow matching) always samples with the ODE, and `--sde` is an error.
 */
export function withDefaultMode<T extends SolverFlags>(flags: T, capabilities: FamilyCapabilities): T {
  if (!capabilities.sde && capabilities.sample) {
    if (flags.sde)
      throw new UsageError(
        '--sde: this model has no reverse SDE (a flow-matching model samples by its ODE only); drop --sde or pass --ode',
      );
    return flags.ode ? flags : { ...flags, ode: true };
  }
  if (!capabilities.fewStep || flags.ode || flags.sde || flags.solver !== undefined) return flags;
  return { ...flags, ode: true };
}

export interface ModelLocation {
  /** A directory with config.json + weights.safetensors, or undefined for a checkpoint. */
  modelDir?: string;
  /** The checkpoint to load when there is no exported model (an interrupted run). */
  checkpoint?: string;
  /** The training output directory, if the model lives in one. */
  runDir?: string;
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * `--model DIR`: a model directory (config.json + weights.safetensors), a training output
 * directory (its `model/`, or its latest checkpoint if the model was never exported), or one
 * checkpoint directory.
 */
export function locateModel(dir: string): ModelLocation {
  if (!existsSync(dir)) throw new CliError(`model directory ${dir} does not exist`);
  if (!isDir(dir)) throw new CliError(`--model expects a directory, ${dir} is a file`);
  // A checkpoint also holds config.json + weights.safetensors: tell it apart by its optimizer state.
  if (existsSync(join(dir, MODEL_CONFIG_FILE)) && existsSync(join(dir, CHECKPOINT_FILES.optimizerJson))) {
    return { checkpoint: dir, runDir: dirname(dir) };
  }
  if (existsSync(join(dir, MODEL_CONFIG_FILE)) && existsSync(join(dir, 'weights.safetensors'))) {
    const parent = dirname(dir);
    return { modelDir: dir, runDir: basename(dir) === 'model' && existsSync(join(parent, RUN_FILE)) ? parent : undefined };
  }
  if (existsSync(join(dir, 'model', MODEL_CONFIG_FILE))) return { modelDir: join(dir, 'model'), runDir: dir };
  const latest = latestCheckpoint(dir);
  if (latest) return { checkpoint: latest, runDir: dir };
  throw new CliError(
    `${dir} is not a model: expected config.json + weights.safetensors, a training output directory with model/, or checkpoints`,
  );
}

/** The model's config without building it (no backend needed). */
export function locatedConfig(loc: ModelLocation): AnyModelConfig {
  if (loc.modelDir) return readAnyModelConfig(loc.modelDir);
  return readCheckpoint(loc.checkpoint as string).model;
}

/** The CLI metadata of a model: meta.json next to it, else the run directory's run.json. */
export function readMeta(loc: ModelLocation): ModelMeta | undefined {
  const candidates = [loc.modelDir ? join(loc.modelDir, META_FILE) : undefined, loc.runDir ? join(loc.runDir, RUN_FILE) : undefined];
  for (const path of candidates) {
    if (!path || !existsSync(path)) continue;
    try {
      const raw = JSON.parse(readFileSync(path, 'utf8'));
      if (raw?.format === META_FORMAT) return raw as ModelMeta;
      if (raw?.data?.spec && raw?.config?.model) {
        const meta: ModelMeta = { format: META_FORMAT, model: raw.config.model, data: raw.data, step: raw.step ?? 0 };
        if (raw.config.model === 'nfdm-ot') meta.objective = { kind: 'ot', curvatureWeight: raw.config.curvatureWeight ?? 1 };
        return meta;
      }
    } catch {
      // A broken metadata file only loses conveniences (default --data); the model still loads.
    }
  }
  return undefined;
}

export function writeMeta(modelDir: string, meta: ModelMeta): void {
  writeJson(join(modelDir, META_FILE), meta);
}

export interface OpenedModel {
  model: AnyModel;
  /** The family's id (as reported in JSON output). */
  family: FamilyId;
  /** The family's descriptor: what its models are and compute. */
  descriptor: FamilyDescriptor;
  /** What the model can do under the objective it was trained with. */
  capabilities: FamilyCapabilities;
  config: AnyModelConfig;
  meta?: ModelMeta;
  location: ModelLocation;
  /** What was loaded, for messages. */
  path: string;
}

/** The capabilities of the model at `--model DIR`, without loading its weights (no backend needed). */
export function locatedCapabilities(loc: ModelLocation): FamilyCapabilities {
  const config = locatedConfig(loc) as { format?: unknown };
  return capabilitiesOf(familyOfConfig(config), objectiveOf(readMeta(loc)));
}

/** Load the model of `--model DIR` (after the backend has started). */
export function openModel(loc: ModelLocation): OpenedModel {
  const meta = readMeta(loc);
  const path = loc.modelDir ?? (loc.checkpoint as string);
  const model = loc.modelDir ? loadAnyModel(loc.modelDir) : loadCheckpointAnyModel(path);
  const config = loc.modelDir ? readAnyModelConfig(loc.modelDir) : readCheckpoint(path).model;
  return openedModel(model, config, meta, loc, path);
}

/** An {@link OpenedModel} of a model in memory: its family and capabilities from the registry. */
export function openedModel(
  model: AnyModel,
  config: AnyModelConfig,
  meta: ModelMeta | undefined,
  location: ModelLocation,
  path: string,
): OpenedModel {
  const descriptor = familyOf(model);
  const capabilities = capabilitiesOf(descriptor, objectiveOf(meta));
  return { model, family: descriptor.id, descriptor, capabilities, config, meta, location, path };
}

/** The family operations of an opened model (what it computes). */
export function operationsOf(opened: OpenedModel): FamilyOperations<AnyModel> {
  return (opened.descriptor.operations ?? {}) as FamilyOperations<AnyModel>;
}

/** The data spec to use: `--data` if given, else the one the model was trained on. */
export function dataSpecFor(given: string | undefined, meta: ModelMeta | undefined, what: string): string {
  if (given) return given;
  if (meta?.data?.spec) return meta.data.spec;
  throw new UsageError(`${what} needs --data: the model directory does not say which data it was trained on`);
}

export function checkDim(data: DataMatrix, config: { dim: number }, spec: string): void {
  if (data.dim !== config.dim) {
    throw new CliError(`${spec} has ${data.dim} dimension${data.dim === 1 ? '' : 's'} per row, the model expects ${config.dim}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Solvers.

export interface SolverFlags {
  solver?: string;
  steps?: number;
  ode?: boolean;
  sde?: boolean;
  rtol?: number;
  atol?: number;
}

export interface SamplerChoice {
  mode: 'sde' | 'ode';
  solver: string;
  /** Fixed steps, or undefined when adaptive. */
  steps?: number;
  adaptive?: { rtol: number; atol: number };
  /** e.g. `sde euler_maruyama, 100 steps` or `ode dopri5, rtol 1e-4 atol 1e-4`. */
  label: string;
}

/** A solver by name, with unknown names as usage errors. */
export function solverByName(name: string): ReturnType<typeof getSolver> {
  try {
    return getSolver(name);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/**
 * How to sample, from `--solver`, `--ode`/`--sde`, `--steps`, `--rtol`/`--atol`. SDE:
 * fixed steps (default 100, Euler–Maruyama). ODE: an adaptive solver without `--steps` runs
 * adaptively (default dopri5, tolerances `defaultTol`), otherwise fixed steps (default 100).
 */
export function samplerChoice(flags: SolverFlags, defaultTol = 1e-4): SamplerChoice {
  if (flags.ode && flags.sde) throw new UsageError('--ode and --sde exclude each other');
  if (isFrozenPredictionSolver(flags.solver)) return frozenStepChoice(flags);
  let mode: 'sde' | 'ode' = flags.ode ? 'ode' : 'sde';
  let solver = mode === 'sde' ? 'euler_maruyama' : 'dopri5';
  if (flags.solver !== undefined) {
    const s = solverByName(flags.solver);
    if (s.kind === 'sde' && flags.ode) {
      throw new UsageError(
        `'${s.name}' is an SDE solver and cannot integrate the probability-flow ODE (--ode); use --sde or an ODE solver`,
      );
    }
    if (s.kind === 'ode' && flags.sde) {
      throw new UsageError(`'${s.name}' is an ODE solver; the reverse SDE (--sde) needs euler_maruyama, stochastic_heun or sra1`);
    }
    mode = s.kind;
    solver = s.name;
  }
  const s = solverByName(solver);
  if (mode === 'sde') {
    if (flags.rtol !== undefined || flags.atol !== undefined)
      throw new UsageError('--rtol/--atol apply to ODE solvers only; SDE solves use fixed --steps');
    const steps = flags.steps ?? 100;
    return { mode, solver, steps, label: `reverse SDE, ${solver}, ${steps} steps` };
  }
  if (flags.steps === undefined && s.kind === 'ode' && s.adaptive) {
    const rtol = flags.rtol ?? defaultTol;
    const atol = flags.atol ?? defaultTol;
    return { mode, solver, adaptive: { rtol, atol }, label: `probability-flow ODE, ${solver}, rtol ${rtol} atol ${atol}` };
  }
  if (flags.steps === undefined && (flags.rtol !== undefined || flags.atol !== undefined)) {
    throw new UsageError(
      `'${solver}' has no error estimate, so --rtol/--atol cannot apply; use --steps or an adaptive solver (dopri5, tsit5, bosh3, heun)`,
    );
  }
  const steps = flags.steps ?? 100;
  return { mode, solver, steps, label: `probability-flow ODE, ${solver}, ${steps} steps` };
}

/** `--solver ddim`: the frozen-prediction ODE steps of diffusion models (fixed steps, ODE only). */
function frozenStepChoice(flags: SolverFlags): SamplerChoice {
  if (flags.sde) throw new UsageError(`'${FROZEN_PREDICTION_SOLVER}' steps the probability-flow ODE; drop --sde`);
  if (flags.rtol !== undefined || flags.atol !== undefined)
    throw new UsageError(`'${FROZEN_PREDICTION_SOLVER}' takes fixed --steps, not --rtol/--atol`);
  const steps = flags.steps ?? 100;
  return {
    mode: 'ode',
    solver: FROZEN_PREDICTION_SOLVER,
    steps,
    label: `probability-flow ODE, frozen-prediction (DDIM) steps, ${steps} steps`,
  };
}

/** How to solve the probability-flow ODE for log p(x). */
export interface LogProbChoice {
  solver: string;
  /** Fixed steps, or undefined when adaptive. */
  steps?: number;
  rtol: number;
  atol: number;
  label: string;
}

/** Log-density solver choice: always the ODE; adaptive by default (dopri5). */
export function logProbChoice(flags: { solver?: string; steps?: number; rtol?: number; atol?: number }, defaultTol: number): LogProbChoice {
  const c = samplerChoice({ ...flags, ode: true }, defaultTol);
  return {
    solver: c.solver,
    steps: c.steps,
    rtol: c.adaptive?.rtol ?? defaultTol,
    atol: c.adaptive?.atol ?? defaultTol,
    label: c.label.replace('probability-flow ODE', 'exact likelihood (probability-flow ODE)'),
  };
}

// ---------------------------------------------------------------------------------------------
// Sampling and densities in data units.

export interface Drawn {
  /** [n, D] row-major, data units. */
  samples: Float32Array;
  n: number;
  dim: number;
  /** [T, n, D] row-major, data units, when asked for. */
  trajectory?: Float32Array;
  times?: number[];
  stats: SolveStats;
  /** Solver batches the samples were drawn in (the stats add up over them). */
  batches: number;
  /**
   * Samples that diverged (NaN/Inf): their indices among the `asked` draws. With `diverged:
   * 'drop'` they are left out of `samples` (n = asked − dropped); with 'keep' they are NaN rows.
   */
  diverged: number[];
  asked: number;
}

/** What to do with samples that diverge: fail (default), leave them out, or keep them as NaN rows. */
export type DivergedPolicy = 'error' | 'drop' | 'keep';

export interface DrawOptions {
  diverged?: DivergedPolicy;
  /** Progress in samples (updated after every solver step). */
  progress?: Progress;
  /** Conditional models: the label of every sample (n values; the null label K for unconditional samples). */
  labels?: number[];
  /** Vector-conditional models: the condition of every sample, m values in model units (standardised). */
  vector?: number[];
  /** Conditional models: the classifier-free guidance weight (default 0). */
  guidance?: number;
}

/** The condition of a model's config, if it is conditional (`condition` section). */
export function modelCondition(config: AnyModelConfig): ConditionConfig | undefined {
  return (config as { condition?: ConditionConfig }).condition;
}

/**
 * The conditions y [size, w] of samples start…start+size of a conditional model: the given labels,
 * the given vector on every row, or the null condition ∅ (unconditional draws); undefined for an
 * unconditional model.
 */
function conditionBatch(config: AnyModelConfig, options: DrawOptions, start: number, size: number): tf.Tensor2D | undefined {
  const c = modelCondition(config);
  if (!c) return undefined;
  if (options.labels) return tf.tensor2d(options.labels.slice(start, start + size), [size, 1]);
  if (options.vector) return tf.tidy(() => tf.tile(tf.tensor2d([options.vector as number[]]), [size, 1]) as tf.Tensor2D);
  return c.kind === 'label' ? tf.fill([size, 1], c.classes) : tf.fill([size, c.dim], Number.NaN);
}

/** Largest number of samples drawn in one solver batch (each batch uses seed + its index). */
export const SAMPLE_CHUNK = 8192;

/** One sentence about diverged samples: how many, and what to try. */
export function divergedMessage(diverged: number, asked: number, label: string, policy: DivergedPolicy): string {
  const what = `${diverged} of ${asked} sample${asked === 1 ? '' : 's'} diverged (NaN/Inf) with ${label}`;
  const fix = 'try more --steps, --ode, or another --solver';
  if (policy === 'drop') return `${what}: dropped them (${fix})`;
  if (policy === 'keep') return `${what}: written as NaN rows (${fix})`;
  return `${what}; ${fix}`;
}

/**
 * Apply a diverged-samples policy to `samples` [asked, D] whose `bad` rows (sorted) diverged:
 * 'error' throws, 'drop' removes them (and their trajectories [T, asked, D]), 'keep' sets them
 * to NaN.
 */
function settleDiverged(drawn: Omit<Drawn, 'diverged' | 'asked'>, bad: number[], policy: DivergedPolicy, label: string): Drawn {
  const asked = drawn.n;
  const D = drawn.dim;
  if (bad.length === 0) return { ...drawn, diverged: [], asked };
  if (policy === 'error' || bad.length === asked) throw new CliError(divergedMessage(bad.length, asked, label, 'error'));
  if (policy === 'keep') {
    for (const i of bad) drawn.samples.fill(Number.NaN, i * D, (i + 1) * D);
    if (drawn.trajectory) {
      const T = drawn.trajectory.length / (asked * D);
      for (let k = 0; k < T; k++) for (const i of bad) drawn.trajectory.fill(Number.NaN, (k * asked + i) * D, (k * asked + i + 1) * D);
    }
    return { ...drawn, diverged: bad, asked };
  }
  const skip = new Set(bad);
  const kept = asked - bad.length;
  const pick = (src: Float32Array, blocks: number): Float32Array => {
    const out = new Float32Array(blocks * kept * D);
    let o = 0;
    for (let k = 0; k < blocks; k++) {
      for (let i = 0; i < asked; i++) {
        if (skip.has(i)) continue;
        out.set(src.subarray((k * asked + i) * D, (k * asked + i + 1) * D), o);
        o += D;
      }
    }
    return out;
  };
  const trajectory = drawn.trajectory ? pick(drawn.trajectory, drawn.trajectory.length / (asked * D)) : undefined;
  return { ...drawn, samples: pick(drawn.samples, 1), trajectory, n: kept, diverged: bad, asked };
}

/** Rows of `samples` [n, D] with a non-finite value, merged with `known` (sorted, unique). */
function nonFiniteRows(samples: Float32Array, D: number, known: Iterable<number>): number[] {
  const bad = new Set(known);
  for (let i = 0; i < samples.length; i++) if (!Number.isFinite(samples[i])) bad.add(Math.floor(i / D));
  return [...bad].sort((a, b) => a - b);
}

/** The rows of a row-major [n, D] array except those listed in `bad`. */
function dropRows(data: Float32Array, D: number, bad: readonly number[]): Float32Array {
  if (bad.length === 0) return data;
  const skip = new Set(bad);
  const out = new Float32Array(data.length - bad.length * D);
  for (let i = 0, o = 0; i < data.length / D; i++) {
    if (skip.has(i)) continue;
    out.set(data.subarray(i * D, (i + 1) * D), o);
    o += D;
  }
  return out;
}

/** Rows per batch: `usual`, or fewer where the family says the model needs it (U-Net image models). */
export function batchFor(opened: OpenedModel, usual: number): number {
  const hint = operationsOf(opened).batchHint?.(opened.model);
  return hint === undefined ? usual : Math.min(usual, hint);
}

/** Solver counters at zero, to add chunks' counters into. */
const zeroStats = (): SolveStats => ({ nfe: 0, diffusionEvals: 0, steps: 0, acceptedSteps: 0, rejectedSteps: 0, initialStep: 0 });

const STAT_KEYS = ['nfe', 'diffusionEvals', 'steps', 'acceptedSteps', 'rejectedSteps'] as const;

/** Add one batch's solver counters into `total` (the first batch gives the initial step). */
function addStats(total: SolveStats, batch: SolveStats, first: boolean): void {
  for (const key of STAT_KEYS) total[key] += batch[key];
  if (first) total.initialStep = batch.initialStep;
}

/**
 * A draw's samples [n, D] and trajectory [T, n, D] in data units, as arrays; disposes the draw's
 * tensors.
 */
function drawToData(r: FamilyDrawResult, std: Standardization | undefined): { samples: Float32Array; trajectory?: Float32Array } {
  try {
    const samples = tf.tidy(() => (std ? unstandardize(r.samples, std) : r.samples.clone()));
    const out: { samples: Float32Array; trajectory?: Float32Array } = { samples: samples.dataSync() as Float32Array };
    samples.dispose();
    if (r.trajectory) {
      const [T, n, D] = r.trajectory.shape;
      const flat = tf.tidy(() => {
        const t2 = tf.reshape(r.trajectory as tf.Tensor3D, [T * n, D]);
        return std ? unstandardize(t2, std) : t2.clone();
      });
      out.trajectory = flat.dataSync() as Float32Array;
      flat.dispose();
    }
    return out;
  } finally {
    tf.dispose([r.samples, r.trajectory ?? []]);
  }
}

/** Why a model cannot do what was asked: its family does not have the capability. */
export function notCapable(opened: Pick<OpenedModel, 'descriptor' | 'capabilities'>, what: 'sample' | 'logProb' | 'transport'): string {
  if (what === 'logProb' && opened.capabilities.transport) return BRIDGE_NO_DENSITY;
  const verb = { sample: 'draw samples from its prior', logProb: 'evaluate log p(x)', transport: 'transport given points' }[what];
  return `a ${opened.descriptor.title} cannot ${verb} (its family has no '${what}' capability)`;
}

/**
 * Draw n samples (in batches of {@link SAMPLE_CHUNK} unless trajectories are asked for), back in
 * data units, through the family's `sample` operation (a bridge transports sources of its data
 * instead, see {@link drawBridge}). Every sample is integrated on its own account: one that
 * diverges (NaN/Inf) is frozen and then handled by `options.diverged` (default: an error naming
 * how many diverged).
 */
export function drawSamples(
  opened: OpenedModel,
  n: number,
  choice: SamplerChoice,
  seed: number,
  trajectory = false,
  options: DrawOptions = {},
): Drawn {
  if (opened.capabilities.transport) return drawBridge(opened, n, choice, seed, trajectory, undefined, options).drawn;
  const sample = operationsOf(opened).sample;
  if (!opened.capabilities.sample || !sample) throw new CliError(notCapable(opened, 'sample'));
  const D = opened.config.dim;
  const std = standardizationOf(opened.config);
  const samples = new Float32Array(n * D);
  const stats = zeroStats();
  const chunk = trajectory ? n : batchFor(opened, SAMPLE_CHUNK);
  const frozen: number[] = [];
  let traj: Float32Array | undefined;
  let times: number[] | undefined;
  let batches = 0;
  for (let start = 0, k = 0; start < n; start += chunk, k++) {
    const size = Math.min(chunk, n - start);
    batches++;
    const progress = options.progress;
    let r: FamilyDrawResult;
    const condition = conditionBatch(opened.config, options, start, size);
    try {
      r = sample(opened.model, size, {
        mode: choice.mode,
        solver: choice.solver,
        steps: choice.steps,
        adaptive: choice.adaptive,
        seed: seed + k,
        trajectory,
        nonFinite: 'freeze-rows',
        onProgress: progress ? (f) => progress.update(Math.floor(start + size * f)) : undefined,
        condition,
        guidance: options.guidance,
      });
    } catch (error) {
      if (error instanceof SolverError)
        throw new CliError(`sampling failed (${choice.label}): ${error.message}; try more --steps or another --solver`);
      throw error;
    } finally {
      condition?.dispose();
    }
    addStats(stats, r.stats, k === 0);
    for (const i of r.nonFiniteRows ?? []) frozen.push(start + i);
    if (trajectory) times = r.times;
    const data = drawToData(r, std);
    samples.set(data.samples, start * D);
    if (data.trajectory) traj = data.trajectory;
    progress?.update(start + size);
  }
  const drawn = { samples, n, dim: D, trajectory: traj, times, stats, batches };
  return settleDiverged(drawn, nonFiniteRows(samples, D, frozen), options.diverged ?? 'error', choice.label);
}

/**
 * log p(x) per row in nats, data units: the family's `logProb` of the standardised rows plus
 * log |det ∂y/∂x|. Rows go through `logProb` in batches of `batch`.
 */
export function logDensity(
  opened: OpenedModel,
  x: DataMatrix,
  options: {
    solver: string;
    steps?: number;
    rtol: number;
    atol: number;
    batch?: number;
    seed?: number;
    progress?: Progress;
    /** Conditional models: the rows' labels [n] (one column of conditions), giving log p(x | y). */
    labels?: Float32Array;
  },
): { logp: Float64Array; stats: SolveStats } {
  const logProb = operationsOf(opened).logProb;
  if (!opened.capabilities.logProb || !logProb) throw new CliError(notCapable(opened, 'logProb'));
  const std = standardizationOf(opened.config);
  const logDet = std ? standardizationLogDet(std) : 0;
  const batch = options.batch ?? batchFor(opened, 4096);
  const logp = new Float64Array(x.n);
  const stats = zeroStats();
  for (let start = 0, k = 0; start < x.n; start += batch, k++) {
    const size = Math.min(batch, x.n - start);
    const raw = tf.tensor2d(x.data.subarray(start * x.dim, (start + size) * x.dim), [size, x.dim]);
    const y = std ? standardize(raw, std) : raw;
    const condition = options.labels ? tf.tensor2d(options.labels.subarray(start, start + size), [size, 1]) : undefined;
    try {
      const progress = options.progress;
      const r = logProb(opened.model, y as tf.Tensor2D, {
        solver: options.solver,
        steps: options.steps,
        rtol: options.rtol,
        atol: options.atol,
        seed: (options.seed ?? 0) + k,
        onProgress: progress ? (f) => progress.update(Math.floor(start + size * f)) : undefined,
        condition,
      });
      progress?.update(start + size);
      for (let i = 0; i < size; i++) logp[start + i] = r.logp[i] + logDet;
      addStats(stats, r.stats, false);
    } finally {
      condition?.dispose();
      raw.dispose();
      if (y !== raw) y.dispose();
    }
  }
  return { logp, stats };
}

/** Standardisation of a config, if any (bridges have none). */
export function standardizationOf(config: AnyModelConfig): Standardization | undefined {
  return 'standardization' in config ? config.standardization : undefined;
}

/** Why a bridge has no density of its own. */
export const BRIDGE_NO_DENSITY =
  'a bridge (nfbm) is a conditional transport from source to target points; it has no marginal density to evaluate (use the bound metric or the endpoint metrics)';

/**
 * The sampler as it applies to the opened model: a family that runs its own discrete chain
 * (DiffFlow: on its grid; `--steps` re-grids only when given explicitly; solver names do not
 * apply) says which; every other family keeps `choice`.
 */
export function samplerForModel(opened: OpenedModel, choice: SamplerChoice, stepsGiven: boolean): SamplerChoice {
  const own = operationsOf(opened).ownSampler;
  if (opened.capabilities.solvers || !own) return choice;
  const s = own(opened.model, choice.mode, stepsGiven ? choice.steps : undefined);
  return { mode: choice.mode, solver: s.solver, steps: s.steps, label: s.label };
}

/** Bridge transport result: the generated targets and the sources they came from. */
export interface BridgeDrawn {
  drawn: Drawn;
  /** [n, D] row-major, the source points. */
  sources: Float32Array;
}

/**
 * Transport `n` source points (drawn with `seed` from the run's source data, or given) to
 * targets through the family's `transport` operation: the reverse SDE or the probability-flow
 * ODE from t = 1 to 0 (fixed steps), in batches of {@link SAMPLE_CHUNK} pairs or fewer where the
 * family says so (U-Net bridges; batch k uses seed + k), in one batch when trajectories are asked for.
 */
export function drawBridge(
  opened: OpenedModel,
  n: number,
  choice: SamplerChoice,
  seed: number,
  trajectory = false,
  given?: DataMatrix,
  options: DrawOptions = {},
): BridgeDrawn {
  const transport = operationsOf(opened).transport;
  if (!opened.capabilities.transport || !transport) throw new CliError(notCapable(opened, 'transport'));
  const sources = given ?? bridgeSources(opened, n, seed);
  if (choice.adaptive) throw new UsageError('bridges sample with fixed --steps (adaptive ODE stepping is not supported for nfbm)');
  const D = opened.config.dim;
  const chunk = trajectory ? sources.n : batchFor(opened, SAMPLE_CHUNK);
  const samples = new Float32Array(sources.n * D);
  const stats = zeroStats();
  const frozen: number[] = [];
  let traj: Float32Array | undefined;
  let times: number[] | undefined;
  let batches = 0;
  const progress = options.progress;
  for (let start = 0, k = 0; start < sources.n; start += chunk, k++) {
    const size = Math.min(chunk, sources.n - start);
    batches++;
    const x1 = tf.tensor2d(sources.data.subarray(start * D, (start + size) * D), [size, D]);
    const condition = conditionBatch(opened.config, options, start, size);
    let r: FamilyDrawResult;
    try {
      r = transport(opened.model, x1, {
        mode: choice.mode,
        solver: choice.solver,
        steps: choice.steps ?? 100,
        seed: seed + k,
        trajectory,
        nonFinite: 'freeze-rows',
        onProgress: progress ? (f) => progress.update(Math.floor(start + size * f)) : undefined,
        condition,
        guidance: options.guidance,
      });
    } catch (error) {
      if (error instanceof SolverError) throw new CliError(`transport failed (${choice.label}): ${error.message}; try more --steps`);
      throw error;
    } finally {
      x1.dispose();
      condition?.dispose();
    }
    addStats(stats, r.stats, k === 0);
    for (const i of r.nonFiniteRows ?? []) frozen.push(start + i);
    if (trajectory) times = r.times;
    const data = drawToData(r, undefined);
    samples.set(data.samples, start * D);
    if (data.trajectory) traj = data.trajectory;
    progress?.update(start + size);
  }
  const bad = nonFiniteRows(samples, D, frozen);
  const raw = { samples, n: sources.n, dim: D, trajectory: traj, times, stats, batches };
  const drawn = settleDiverged(raw, bad, options.diverged ?? 'error', choice.label);
  // The sources of the pairs kept, in the same order as the targets.
  return { drawn, sources: options.diverged === 'drop' ? dropRows(sources.data, D, bad) : sources.data };
}

/** `n` sources of the bridge's own data (its run's source end), drawn with the evaluation seed. */
function bridgeSources(opened: OpenedModel, n: number, seed: number): DataMatrix {
  const spec = opened.meta?.data?.spec;
  if (!spec) throw new UsageError('this bridge model does not say which source data it was trained on (meta.json / run.json)');
  return bridgeEvaluationData(spec, { n, seed: seed + 2_000_003 }).sources;
}
