/**
 * What several commands share: starting the backend, finding and loading a model directory,
 * the CLI's metadata next to a model, solver flags, sampling and log-densities in data units.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { type BackendReport, getSolver, initBackend, SolverError, type SolveStats } from '@nfdm/core';
import type { DataMatrix } from '@nfdm/datasets';
import {
  type AnyModel,
  type AnyModelConfig,
  BridgeModel,
  DiffFlowModel,
  type DiffusionModel,
  diffflowEvalGrid,
  diffflowLogProb,
  diffflowSample,
  expTimerGrid,
  loadAnyModel,
  MODEL_CONFIG_FILE,
  type ModelFamily,
  modelFamily,
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
import type { Progress } from './progress.js';

/** Start the tfjs backend (once per process) and note which one runs. */
export async function startBackend(choice: BackendChoice | undefined, out: Output): Promise<BackendReport> {
  let report: BackendReport;
  try {
    report = await initBackend(choice === undefined || choice === 'auto' ? undefined : choice);
  } catch (error) {
    throw new CliError((error as Error).message);
  }
  const extra = report.wasm ? ` (SIMD ${report.wasm.simd ? 'on' : 'off'}, ${report.wasm.threads} thread)` : '';
  out.note(`backend: ${report.backend}${extra}`);
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

/** Whether the model was trained on the NFDM-OT objective (ODE sampling, no NELBO). */
export function isOTMeta(meta: ModelMeta | undefined): boolean {
  return meta?.objective?.kind === 'ot' || meta?.model === 'nfdm-ot';
}

/**
 * Solver flags with the model's default mode: an NFDM-OT model samples with the ODE unless
 * `--sde` or a solver is named (a named solver's kind decides).
 */
export function withDefaultMode<T extends SolverFlags>(flags: T, meta: ModelMeta | undefined): T {
  if (!isOTMeta(meta) || flags.ode || flags.sde || flags.solver !== undefined) return flags;
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
  family: ModelFamily;
  config: AnyModelConfig;
  meta?: ModelMeta;
  location: ModelLocation;
  /** What was loaded, for messages. */
  path: string;
}

/** Load the model of `--model DIR` (after the backend has started). */
export function openModel(loc: ModelLocation): OpenedModel {
  const meta = readMeta(loc);
  if (loc.modelDir) {
    const model = loadAnyModel(loc.modelDir);
    return { model, family: modelFamily(model), config: readAnyModelConfig(loc.modelDir), meta, location: loc, path: loc.modelDir };
  }
  const path = loc.checkpoint as string;
  const model = loadCheckpointAnyModel(path);
  return { model, family: modelFamily(model), config: readCheckpoint(path).model, meta, location: loc, path };
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

/** Log-density solver choice: always the ODE; adaptive by default (dopri5). */
export function logProbChoice(flags: { solver?: string; steps?: number; rtol?: number; atol?: number }, defaultTol: number) {
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

/** Solver counters at zero, to add chunks' counters into. */
const zeroStats = (): SolveStats => ({ nfe: 0, diffusionEvals: 0, steps: 0, acceptedSteps: 0, rejectedSteps: 0, initialStep: 0 });

/**
 * Draw n samples (in batches of {@link SAMPLE_CHUNK} unless trajectories are asked for), back in
 * data units. Every sample is integrated on its own account: one that diverges (NaN/Inf) is
 * frozen and then handled by `options.diverged` (default: an error naming how many diverged).
 */
export function drawSamples(
  opened: OpenedModel,
  n: number,
  choice: SamplerChoice,
  seed: number,
  trajectory = false,
  options: DrawOptions = {},
): Drawn {
  const policy = options.diverged ?? 'error';
  if (opened.model instanceof DiffFlowModel) {
    const d = drawDiffFlow(opened, opened.model, n, choice, seed, trajectory, options.progress);
    return settleDiverged(d, nonFiniteRows(d.samples, d.dim, []), policy, choice.label);
  }
  if (opened.model instanceof BridgeModel) {
    return drawBridge(opened, opened.model, n, choice, seed, trajectory, undefined, options).drawn;
  }
  const model = opened.model as DiffusionModel;
  const config = opened.config;
  const D = config.dim;
  const std = standardizationOf(config);
  const samples = new Float32Array(n * D);
  const stats = zeroStats();
  const chunk = trajectory ? n : SAMPLE_CHUNK;
  const frozen: number[] = [];
  const tStart = model.forward.start.t;
  let traj: Float32Array | undefined;
  let times: number[] | undefined;
  let batches = 0;
  for (let start = 0, k = 0; start < n; start += chunk, k++) {
    const size = Math.min(chunk, n - start);
    batches++;
    let r: ReturnType<DiffusionModel['sample']>;
    const progress = options.progress;
    try {
      r = model.sample({
        n: size,
        mode: choice.mode,
        solver: choice.solver,
        steps: choice.steps,
        adaptive: choice.adaptive,
        seed: seed + k,
        trajectory,
        nonFinite: 'freeze-rows',
        onStep: progress ? (t) => progress.update(Math.floor(start + (size * (1 - t)) / (1 - tStart))) : undefined,
      });
    } catch (error) {
      if (error instanceof SolverError)
        throw new CliError(`sampling failed (${choice.label}): ${error.message}; try more --steps or another --solver`);
      throw error;
    }
    try {
      const x = std ? unstandardize(r.samples, std) : r.samples;
      samples.set(x.dataSync() as Float32Array, start * D);
      if (x !== r.samples) x.dispose();
      if (trajectory && r.trajectory) {
        const [T] = r.trajectory.shape;
        const flat = tf.tidy(() => {
          const t2 = tf.reshape(r.trajectory as tf.Tensor, [T * size, D]);
          return std ? unstandardize(t2, std) : t2.clone();
        });
        traj = flat.dataSync() as Float32Array;
        flat.dispose();
        times = r.times;
      }
      for (const key of ['nfe', 'diffusionEvals', 'steps', 'acceptedSteps', 'rejectedSteps'] as const) stats[key] += r.stats[key];
      if (k === 0) stats.initialStep = r.stats.initialStep;
      for (const i of r.nonFiniteRows ?? []) frozen.push(start + i);
    } finally {
      tf.dispose([r.samples, r.trajectory ?? []]);
    }
  }
  const drawn = { samples, n, dim: D, trajectory: traj, times, stats, batches };
  return settleDiverged(drawn, nonFiniteRows(samples, D, frozen), policy, choice.label);
}

/**
 * log p(x) per row in nats, data units: the model's exact ODE likelihood of the standardised
 * rows plus log |det ∂y/∂x|. Rows go through `logProb` in batches of `batch`.
 */
export function logDensity(
  opened: OpenedModel,
  x: DataMatrix,
  options: { solver: string; steps?: number; rtol: number; atol: number; batch?: number; seed?: number; progress?: Progress },
): { logp: Float64Array; stats: SolveStats } {
  const { model, config } = opened;
  if (model instanceof BridgeModel) throw new CliError(BRIDGE_NO_DENSITY);
  const std = standardizationOf(config);
  const logDet = std ? standardizationLogDet(std) : 0;
  const batch = options.batch ?? 4096;
  const logp = new Float64Array(x.n);
  const stats = zeroStats();
  for (let start = 0, k = 0; start < x.n; start += batch, k++) {
    const size = Math.min(batch, x.n - start);
    const raw = tf.tensor2d(x.data.subarray(start * x.dim, (start + size) * x.dim), [size, x.dim]);
    const y = std ? standardize(raw, std) : raw;
    try {
      const solve = { solver: options.solver, steps: options.steps, rtol: options.rtol, atol: options.atol, seed: (options.seed ?? 0) + k };
      const progress = options.progress;
      const t0 = model instanceof DiffFlowModel ? 0 : model.forward.start.t;
      const onStep = progress ? (t: number) => progress.update(Math.floor(start + (size * (t - t0)) / (1 - t0))) : undefined;
      const r = model instanceof DiffFlowModel ? diffflowLogProb(model, y as tf.Tensor2D, solve) : model.logProb(y, { ...solve, onStep });
      progress?.update(start + size);
      for (let i = 0; i < size; i++) logp[start + i] = r.logp[i] + logDet;
      for (const key of ['nfe', 'diffusionEvals', 'steps', 'acceptedSteps', 'rejectedSteps'] as const) stats[key] += r.stats[key];
    } finally {
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
  'a bridge (nfbm) is a conditional transport from source to target points; it has no marginal density to evaluate (use its bound or the endpoint metrics)';

/**
 * DiffFlow sampling: its own discrete backward chain on the model's ExpTimer grid (stochastic
 * for the SDE mode, deterministic probability flow for the ODE mode); `--steps` re-grids with
 * that many steps (same tMin, tMax, exponent). Solver names do not apply. With `trajectory`, one
 * chunk records every state of the chain, x_N … x_0 at the grid times t_N … t_0 ([N + 1, n, D]).
 */
function drawDiffFlow(
  opened: OpenedModel,
  model: DiffFlowModel,
  n: number,
  choice: SamplerChoice,
  seed: number,
  trajectory = false,
  progress?: Progress,
): Omit<Drawn, 'diverged' | 'asked'> {
  const time = model.time;
  const grid =
    choice.steps === undefined || choice.steps === time.N
      ? diffflowEvalGrid(time)
      : expTimerGrid({ N: choice.steps, tMin: time.tMin, tMax: time.tMax, exponent: time.exponent });
  const D = model.dim;
  const std = standardizationOf(opened.config);
  const samples = new Float32Array(n * D);
  const chunk = trajectory ? n : SAMPLE_CHUNK;
  const frames: Float32Array[] = [];
  const times: number[] = [];
  const record = (z: tf.Tensor2D, t: number) => {
    const zx = tf.tidy(() => (std ? unstandardize(z, std) : z.clone()));
    frames.push(zx.dataSync() as Float32Array);
    times.push(t);
    zx.dispose();
  };
  for (let start = 0, k = 0; start < n; start += chunk, k++) {
    const size = Math.min(chunk, n - start);
    const deterministic = choice.mode === 'ode';
    const y = diffflowSample(model, { n: size, grid, g: time.g, seed: seed + k, deterministic, onStep: trajectory ? record : undefined });
    const x = std ? unstandardize(y, std) : y;
    samples.set(x.dataSync() as Float32Array, start * D);
    tf.dispose([x, y]);
    progress?.update(start + size);
  }
  const N = grid.length - 1;
  const stats = zeroStats();
  const batches = Math.ceil(n / chunk);
  stats.nfe = 2 * N * batches;
  stats.steps = N;
  stats.acceptedSteps = N;
  if (!trajectory) return { samples, n, dim: D, stats, batches };
  const traj = new Float32Array(frames.length * n * D);
  for (const [k, f] of frames.entries()) traj.set(f, k * n * D);
  return { samples, n, dim: D, trajectory: traj, times, stats, batches };
}

/**
 * The sampler as it applies to the opened model: DiffFlow runs its own discrete chain on its
 * grid (`--steps` re-grids only when given explicitly; solver names do not apply), every other
 * family keeps `choice`.
 */
export function samplerForModel(opened: OpenedModel, choice: SamplerChoice, stepsGiven: boolean): SamplerChoice {
  if (!(opened.model instanceof DiffFlowModel)) return choice;
  const steps = stepsGiven && choice.steps !== undefined ? choice.steps : opened.model.time.N;
  const kind = choice.mode === 'ode' ? 'probability-flow' : 'stochastic';
  return { mode: choice.mode, solver: 'diffflow-chain', steps, label: `DiffFlow ${kind} chain, ${steps} steps` };
}

/** Bridge transport result: the generated targets and the sources they came from. */
export interface BridgeDrawn {
  drawn: Drawn;
  /** [n, D] row-major, the source points. */
  sources: Float32Array;
}

/**
 * Transport `n` source points (drawn with `seed` from the run's source data, or given) to
 * targets: the reverse SDE or the probability-flow ODE from t = 1 to 0 (fixed steps).
 */
export function drawBridge(
  opened: OpenedModel,
  model: BridgeModel,
  n: number,
  choice: SamplerChoice,
  seed: number,
  trajectory = false,
  given?: DataMatrix,
  options: DrawOptions = {},
): BridgeDrawn {
  const spec = opened.meta?.data?.spec;
  let sources: DataMatrix;
  if (given) sources = given;
  else {
    if (!spec) throw new UsageError('this bridge model does not say which source data it was trained on (meta.json / run.json)');
    sources = bridgeEvaluationData(spec, { n, seed: seed + 2_000_003 }).sources;
  }
  if (choice.adaptive) throw new UsageError('bridges sample with fixed --steps (adaptive ODE stepping is not supported for nfbm)');
  const D = model.dim;
  const x1 = tf.tensor2d(sources.data, [sources.n, D]);
  const progress = options.progress;
  try {
    const r = model.sample(x1, {
      mode: choice.mode,
      solver: choice.solver,
      steps: choice.steps ?? 100,
      seed,
      trajectory,
      nonFinite: 'freeze-rows',
      onStep: progress ? (t) => progress.update(Math.floor(sources.n * (1 - t))) : undefined,
    });
    const samples = r.samples.dataSync() as Float32Array;
    let traj: Float32Array | undefined;
    if (trajectory && r.trajectory) traj = r.trajectory.dataSync() as Float32Array;
    tf.dispose([r.samples, r.trajectory ?? []]);
    const bad = nonFiniteRows(samples, D, r.nonFiniteRows ?? []);
    const raw = { samples, n: sources.n, dim: D, trajectory: traj, times: trajectory ? r.times : undefined, stats: r.stats, batches: 1 };
    const drawn = settleDiverged(raw, bad, options.diverged ?? 'error', choice.label);
    // The sources of the pairs kept, in the same order as the targets.
    return { drawn, sources: options.diverged === 'drop' ? dropRows(sources.data, D, bad) : sources.data };
  } catch (error) {
    if (error instanceof SolverError) throw new CliError(`transport failed (${choice.label}): ${error.message}; try more --steps`);
    throw error;
  } finally {
    x1.dispose();
  }
}
