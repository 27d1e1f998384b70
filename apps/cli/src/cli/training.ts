/**
 * The training run behind `nfdm train` and `nfdm demo`: output-directory safety, data,
 * model, trainer, progress, the exported model and run.json.
 */
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { standardizationLogDet as logStdSum } from '@nfdm/datasets';
import {
  type AnyModel,
  type AnyModelConfig,
  createAnyModel,
  DEFAULT_OBJECTIVE,
  anyModelConfig as describeModel,
  type FamilyId,
  families,
  type HeldOutMetric,
  heldOutRole,
  loadAnyModel,
  type Objective,
  type Standardization,
} from '@nfdm/models';
import { type HeldOutValue, latestCheckpoint, readCheckpoint, Trainer, type TrainerEvent } from '@nfdm/training';
import * as tf from '@tensorflow/tfjs';
import { type DataInfo, normalizeSpec, trainingData } from './data.js';
import { CliError, oneLine, UsageError } from './errors.js';
import { checkWritableFolder, ensureDir, writeJson, writeText } from './files.js';
import { describeErrnoError, isErrnoError, reasonFor } from './fs-errors.js';
import type { BackendChoice } from './options.js';
import { fmt, jsonReplacer, type Output } from './output.js';
import { presetConfig, presetFamily } from './presets.js';
import { trainingProgress } from './progress.js';
import { type ReflowRun, reflowRun } from './reflow.js';
import { type DataCondition, withCondition } from './run-conditions.js';
import { completeSettings, FIXED_ON_RESUME, parseSettings, type RunSettings, trainerConfig } from './run-config.js';
import { META_FORMAT, RUN_FILE, startBackend, writeMeta } from './runtime.js';

export const RUN_FORMAT = 'nfdm-run/1';

export interface RunSummary {
  format: typeof RUN_FORMAT;
  status: 'running' | 'completed' | 'interrupted' | 'failed';
  config: RunSettings;
  data: DataInfo;
  /** Training updates done. */
  step: number;
  /**
   * Training objective on the last batch (standardised units; for diffusion models the L_diff
   * term, without the NELBO's constant terms) — not the NELBO, which is `nelbo`.
   */
  loss?: number;
  /** Held-out NELBO at the last evaluation, nats per sample in data units. */
  nelbo?: { mean: number; stderr: number; step: number };
  /** NFDM-OT runs: the held-out objective at the last evaluation (standardised units; no NELBO). */
  otLoss?: { mean: number; stderr: number; step: number };
  /**
   * Families whose held-out bound is not the NELBO (bridges, DiffFlow): the bound at the last
   * evaluation, nats per sample in data units, with the family id as `kind` (bridges: the bound
   * on −log p(x0 | x1); DiffFlow: the NLL bound of the discrete chain).
   */
  bound?: { kind: FamilyId; mean: number; stderr: number; step: number };
  /** Exported model (EMA weights) relative to the run directory. */
  model?: string;
  modelConfig: AnyModelConfig;
  backend: string;
  tfjs: string;
  /** Wall time of this invocation's training loop, seconds, and its mean time per update. */
  seconds?: number;
  msPerStep?: number;
  resumedFrom?: number;
  error?: string;
  updated: string;
}

export interface TrainRequest {
  out: string;
  /** Settings from flags (only those given) and from --config. */
  cli: Partial<RunSettings>;
  file?: Partial<RunSettings>;
  resume?: boolean;
  force?: boolean;
  backend?: BackendChoice;
  /** Threads of the native kernels (default NFDM_NATIVE_THREADS or 1). */
  threads?: number;
  /** Extra: what else the run directory is allowed to contain when refusing (demo outputs). */
  guardFiles?: string[];
  /** The progress line's label (default `step`). */
  progressLabel?: string;
}

export interface TrainOutcome {
  summary: RunSummary;
  model: AnyModel;
  modelDir: string;
  interrupted: boolean;
}

/** The run.json of a training directory (validated), or undefined when there is none. */
export function readRunSummary(out: string): RunSummary | undefined {
  const path = join(out, RUN_FILE);
  if (!existsSync(path)) return undefined;
  try {
    const raw = JSON.parse(readFileSync(path, 'utf8'));
    if (raw?.format !== RUN_FORMAT) throw new Error(`format is not ${RUN_FORMAT}`);
    parseSettings(raw.config, `${path} (config)`);
    return raw as RunSummary;
  } catch (error) {
    throw new CliError(`${path}: cannot read the run summary (${(error as Error).message})`);
  }
}

/** Refuse to train into a directory that holds a run, unless --force (clears it) or --resume. */
function guardOutDir(out: string, force: boolean | undefined, extra: string[] = []): void {
  if (!existsSync(out)) return;
  if (!statSync(out).isDirectory()) throw new CliError(`--out ${out} is a file; give a directory`);
  const held = [
    latestCheckpoint(out) ? 'checkpoints' : undefined,
    existsSync(join(out, 'model')) ? 'model/' : undefined,
    existsSync(join(out, RUN_FILE)) ? RUN_FILE : undefined,
    ...extra.filter((f) => existsSync(join(out, f))),
  ].filter((s): s is string => s !== undefined);
  if (held.length === 0) return;
  if (!force) {
    throw new CliError(`${out} already holds a run (${held.join(', ')}); pass --resume to continue it or --force to replace it`);
  }
  rmSync(join(out, 'model'), { recursive: true, force: true });
  rmSync(join(out, RUN_FILE), { force: true });
  for (const f of extra) rmSync(join(out, f), { recursive: true, force: true });
}

/** The settings of a run: the stored run's, changed by the request, when resuming; else the request's. */
interface SettledRun {
  settings: RunSettings;
  stored?: RunSummary;
  standardization?: Standardization;
  resumeModel?: AnyModelConfig;
}

function settleRun(req: TrainRequest, dir: string): SettledRun {
  if (req.resume && req.force) throw new UsageError('--resume and --force exclude each other');
  if (!req.resume) {
    const settings = completeSettings({ ...(req.file ?? {}), ...req.cli });
    guardOutDir(dir, req.force, req.guardFiles);
    return { settings };
  }
  const latest = existsSync(dir) ? latestCheckpoint(dir) : undefined;
  if (!latest) throw new CliError(`${req.out} holds no checkpoint to resume; start a new run without --resume`);
  const stored = readRunSummary(dir);
  const resumeModel = readCheckpoint(latest).model;
  const standardization = 'standardization' in resumeModel ? resumeModel.standardization : undefined;
  const base: Partial<RunSettings> = stored?.config ?? {};
  const asked = { ...(req.file ?? {}), ...req.cli };
  if (asked.data !== undefined) asked.data = normalizeSpec(asked.data);
  if (stored) {
    for (const key of FIXED_ON_RESUME) {
      const a = asked[key];
      if (a !== undefined && JSON.stringify(a) !== JSON.stringify(base[key])) {
        throw new UsageError(
          `--${key} cannot change when resuming (this run has ${JSON.stringify(base[key] ?? 'the default')}); start a new run instead`,
        );
      }
    }
  }
  const settings = completeSettings({ ...base, ...asked, data: asked.data ?? base.data, model: asked.model ?? base.model });
  return { settings, stored, standardization, resumeModel };
}

type TrainingRows = ReturnType<typeof trainingData>;

/** The trainer of a run: resumed from the latest checkpoint of `dir`, or new on a model built from the preset. */
function makeTrainer(
  req: TrainRequest,
  dir: string,
  settings: RunSettings,
  tconfig: ReturnType<typeof trainerConfig>,
  data: TrainingRows,
  held: { evalData?: tf.Tensor2D; evalConditions?: tf.Tensor2D },
  onEvent: (e: TrainerEvent) => void,
  reflow?: ReflowRun,
): { trainer: Trainer; ownModel?: AnyModel } {
  const { evalData, evalConditions } = held;
  if (req.resume) {
    reflow?.dispose();
    const config = {
      steps: settings.steps,
      evalEvery: settings.evalEvery,
      checkpointEvery: settings.checkpointEvery,
      logEvery: settings.logEvery,
    };
    return { trainer: Trainer.resume(dir, { data: data.source, evalData, evalConditions, onEvent, handleSignals: true, config }) };
  }
  let modelConfig = presetConfig(settings.model, {
    dim: data.info.dim,
    hidden: settings.hidden,
    seed: settings.seed,
    standardization: data.standardization,
    obstacle: settings.obstacle,
    pair: data.info.pair,
    image: data.info.imageShape,
    arch: settings.arch,
    base: settings.base,
    dropout: settings.dropout,
  });
  if (reflow) modelConfig = reflow.modelConfig; // the teacher's architecture, coupling 'reflow'
  modelConfig = withCondition(modelConfig, dataCondition(data), settings);
  if (settings.modelConfig) modelConfig = { ...modelConfig, ...settings.modelConfig } as AnyModelConfig;
  let model: AnyModel;
  try {
    model = createAnyModel(modelConfig);
  } catch (error) {
    throw new CliError(`model config: ${(error as Error).message}`);
  }
  reflow?.initialise(model);
  const trainer = new Trainer({
    model,
    data: data.source,
    config: tconfig,
    checkpointDir: dir,
    evalData,
    evalConditions,
    onEvent,
    handleSignals: true,
    overwrite: req.force,
  });
  return { trainer, ownModel: model };
}

/** What the run's data says the condition is (labels or vectors), if it carries one. */
function dataCondition(data: TrainingRows): DataCondition | undefined {
  if (data.labels) return { kind: 'label', classes: data.labels.classes };
  if (data.vector) return { kind: 'vector', dim: data.vector.dim };
  return undefined;
}

/** The held-out rows' conditions y [n, w] (labels [n, 1] or standardised vectors [n, m]), if the run is conditional. */
function heldOutConditions(data: TrainingRows, n: number): tf.Tensor2D | undefined {
  const values = data.labels?.heldOut ?? data.vector?.heldOut;
  return values ? tf.tensor2d(values, [n, values.length / n]) : undefined;
}

/** run.json at the start of a run: status 'running', the settings, data and model, and what a resumed run had measured. */
function startSummary(settings: RunSettings, data: TrainingRows, trainer: Trainer, backend: string, resumed: SettledRun): RunSummary {
  const summary: RunSummary = {
    format: RUN_FORMAT,
    status: 'running',
    config: settings,
    data: data.info,
    step: trainer.step,
    modelConfig: describeModel(trainer.model),
    backend,
    tfjs: tf.version.tfjs,
    updated: new Date().toISOString(),
  };
  if (resumed.resumeModel) summary.resumedFrom = trainer.step;
  const stored = resumed.stored;
  if (stored?.nelbo) summary.nelbo = stored.nelbo;
  if (stored?.otLoss) summary.otLoss = stored.otLoss;
  if (stored?.bound) summary.bound = stored.bound;
  return summary;
}

/** Settings that need a kind of data: U-Nets need images, an obstacle (a disc in the plane) 2-D toy bridges. */
function checkSettingsForData(settings: RunSettings, info: DataInfo): void {
  if (settings.arch === 'unet' && !info.imageShape)
    throw new UsageError(
      `--arch unet needs image data (fashion-mnist, fashion-mnist-14, or a folder of PNG images); ${settings.data} holds rows of ${info.dim} values`,
    );
  if (settings.obstacle && info.kind === 'image')
    throw new UsageError(`--obstacle is a disc in the plane: it applies to bridges between 2-D toy sets, not to images (${settings.data})`);
}

/**
 * Run (or resume) training. Throws CliError/UsageError/DatasetError for user errors. With
 * `reflowFrom` (rectified-flow) the teacher's ODE pairs replace the data (reflow.ts).
 */
export async function runTraining(req: TrainRequest, out: Output): Promise<TrainOutcome> {
  const dir = resolve(req.out);
  const settled = settleRun(req, dir);
  const { settings } = settled;
  // Data before the backend: bad files fail fast, with one message.
  let data = trainingData(settings.data, {
    seed: settings.seed,
    standardization: settled.standardization,
    standardize: settings.standardize,
    outliers: settings.outliers,
    condition: settings.condition,
    conditionColumns: settings.conditionColumns,
  });
  for (const w of data.warnings) out.warn(w);
  settings.data = data.info.spec;
  if (settings.reflowFrom) settings.reflowFrom = resolve(settings.reflowFrom); // stored absolute, as file data
  checkSettingsForData(settings, data.info);
  if (settled.resumeModel && settled.resumeModel.dim !== data.info.dim) {
    throw new CliError(`${settings.data} has ${data.info.dim} dimensions per row, the run being resumed has ${settled.resumeModel.dim}`);
  }
  const report = await startBackend(req.backend, out, req.threads);
  const reflow = settings.reflowFrom
    ? reflowRun(settings.reflowFrom, data, { seed: settings.seed, pairs: settings.reflowPairs })
    : undefined;
  if (reflow) data = reflow.data;
  const tconfig = trainerConfig(settings);
  const evalData = data.heldOut ? tf.tensor2d(data.heldOut.data, [data.heldOut.n, data.heldOut.dim]) : undefined;
  const evalConditions = evalData ? heldOutConditions(data, evalData.shape[0]) : undefined;
  const logDet = data.standardization ? logStdSum(data.standardization) : 0;
  const progress = trainingProgress(out.progress(req.progressLabel ?? 'step', settings.steps), logDet);
  const held = heldOutRecorder();
  const timing = { msSum: 0, msCount: 0 };
  const onEvent = (e: TrainerEvent) => {
    if (e.type === 'step') {
      timing.msSum += e.msPerStep;
      timing.msCount++;
    }
    held.record(e);
    progress(e);
  };
  const { trainer, ownModel } = makeTrainer(req, dir, settings, tconfig, data, { evalData, evalConditions }, onEvent, reflow);
  // Only now, with the model and the trainer config validated: a rejected run leaves no empty --out behind.
  ensureDir(req.out, `--out ${req.out}`);
  checkWritableFolder(req.out, join(req.out, RUN_FILE), `--out ${req.out}`);
  const summary = startSummary(settings, data, trainer, report.backend, settled);
  writeJson(join(dir, RUN_FILE), summary);
  out.note(
    `${req.resume ? `resuming at step ${trainer.step}: ` : ''}training ${settings.model} on ${data.info.source}; ` +
      `${settings.steps} steps, batch ${settings.batch}, ${settings.arch === 'unet' ? `U-Nets of base ${settings.base ?? 16}${settings.dropout ? `, dropout ${settings.dropout}` : ''}` : `hidden ${settings.hidden.join(',')}`}, lr ${settings.lr} (${settings.schedule})`,
  );
  const release = () => {
    evalData?.dispose();
    evalConditions?.dispose();
    // The trainer owns a resumed model; keep an exported copy for the caller either way.
    trainer.dispose();
    ownModel?.dispose();
  };
  const started = performance.now();
  const modelDir = join(dir, 'model');
  const result = await trainAndSave(trainer, modelDir, dir, summary, release);
  summary.status = result.reason;
  summary.step = result.step;
  if (Number.isFinite(result.loss)) summary.loss = result.loss;
  held.into(summary, logDet);
  summary.model = 'model';
  summary.seconds = (performance.now() - started) / 1000;
  if (timing.msCount > 0) summary.msPerStep = timing.msSum / timing.msCount;
  summary.updated = new Date().toISOString();
  writeMeta(modelDir, {
    format: META_FORMAT,
    model: settings.model,
    data: data.info,
    step: result.step,
    objective: trainer.config.objective,
  });
  writeJson(join(dir, RUN_FILE), summary);
  release();
  const model = loadAnyModel(modelDir);
  return { summary, model, modelDir, interrupted: result.reason === 'interrupted' };
}

/**
 * Train to the end (or an interruption) and save the model; on failure record it in run.json,
 * release the trainer and throw the failure.
 */
async function trainAndSave(
  trainer: Trainer,
  modelDir: string,
  dir: string,
  summary: RunSummary,
  release: () => void,
): Promise<Awaited<ReturnType<Trainer['run']>>> {
  try {
    const result = await trainer.run();
    trainer.saveModel(modelDir);
    return result;
  } catch (error) {
    const failure = trainingFailure(error, trainer.step);
    summary.status = 'failed';
    summary.step = trainer.step;
    summary.error = failure.message;
    summary.updated = new Date().toISOString();
    const unsaved = saveRunSummary(dir, summary);
    release();
    if (unsaved) failure.message += `; ${RUN_FILE} could not be updated either (${unsaved})`;
    throw failure;
  }
}

/**
 * Keeps the last held-out metrics of each role from the trainer's typed `heldOut` events and
 * writes them into the run summary: the NELBO and other bounds (nats, shifted by the
 * standardisation's log-Jacobian into data units) and the held-out objective of NFDM-OT runs.
 */
function heldOutRecorder() {
  const last: Partial<Record<'nelbo' | 'bound' | 'objective', { value: HeldOutValue; step: number; family: FamilyId }>> = {};
  return {
    record(e: TrainerEvent): void {
      if (e.type !== 'heldOut') return;
      for (const value of e.values) if (value.role !== 'diagnostic') last[value.role] = { value, step: e.step, family: e.family };
    },
    into(summary: RunSummary, logDet: number): void {
      const { nelbo, bound, objective } = last;
      if (nelbo) summary.nelbo = { mean: nelbo.value.mean + logDet, stderr: nelbo.value.stderr, step: nelbo.step };
      if (objective) summary.otLoss = { mean: objective.value.mean, stderr: objective.value.stderr, step: objective.step };
      if (bound) summary.bound = { kind: bound.family, mean: bound.value.mean + logDet, stderr: bound.value.stderr, step: bound.step };
    },
  };
}

/**
 * The error a failed training run ends with: file-system errors as a sentence naming the user's
 * file (`cannot create folder run/ckpt-2000: no permission to write in folder run`), prefixed
 * with the step; other errors keep their message (and class, hence their exit status).
 */
function trainingFailure(error: unknown, step: number): CliError {
  const text = isErrnoError(error) ? describeErrnoError(error) : oneLine(error);
  return new CliError(`training stopped at step ${step}: ${text}`, error instanceof CliError ? error.exitCode : undefined);
}

/**
 * Record a run's summary after a failure: atomically if the folder takes new files, else by
 * rewriting run.json in place (a read-only folder can still hold a writable run.json), so it
 * never keeps saying "running". Returns why it could not be saved, or undefined.
 */
function saveRunSummary(dir: string, summary: RunSummary): string | undefined {
  const path = join(dir, RUN_FILE);
  const text = `${JSON.stringify(summary, jsonReplacer, 2)}\n`;
  try {
    writeText(path, text);
    return undefined;
  } catch {
    try {
      writeFileSync(path, text);
      return undefined;
    } catch (error) {
      return isErrnoError(error) ? reasonFor(error, path) : oneLine(error);
    }
  }
}

/** What a family's held-out bound is, for people: its metric's label ('NLL bound' for a family not registered here). */
function boundLabel(family: FamilyId): string {
  const known = families().find((f) => f.id === family);
  const metric = known?.heldOutMetrics?.(DEFAULT_OBJECTIVE).find((m: HeldOutMetric) => heldOutRole(m) === 'bound');
  return metric?.label ?? 'NLL bound';
}

/** What a run's held-out objective is, for people: its family's metric label (e.g. 'NFDM-OT loss', 'flow-matching loss'). */
function objectiveLabel(settings: RunSettings): string {
  const metric = presetFamily(settings.model)
    .heldOutMetrics?.(trainerConfig(settings).objective as Objective)
    .find((m: HeldOutMetric) => heldOutRole(m) === 'objective');
  return metric?.label ?? 'training objective';
}

/** Human lines about a finished run. */
export function describeRun(s: RunSummary, out: string): string {
  const lines = [
    `${s.status === 'interrupted' ? 'interrupted' : 'trained'} ${s.config.model} on ${s.data.spec}: step ${s.step}/${s.config.steps}` +
      (s.seconds !== undefined ? ` in ${fmt(s.seconds, 3)} s` : '') +
      (s.msPerStep !== undefined ? ` (${fmt(s.msPerStep, 3)} ms/step, ${s.backend})` : ''),
  ];
  const parts: string[] = [];
  if (s.loss !== undefined) parts.push(`last batch loss ${fmt(s.loss)} (training objective, standardised units; not the NELBO)`);
  // A conditional model's held-out NELBO bounds −log p(x | y): the floor H(x) of the data does not apply.
  const conditional = s.config.condition !== undefined || (s.config.conditionColumns?.length ?? 0) > 0;
  if (s.nelbo)
    parts.push(
      `held-out ${conditional ? 'conditional NELBO (−log p(x | y))' : 'NELBO'} ${fmt(s.nelbo.mean)} ± ${fmt(s.nelbo.stderr, 2)} nats`,
    );
  if (s.otLoss) parts.push(`held-out ${objectiveLabel(s.config)} ${fmt(s.otLoss.mean)} ± ${fmt(s.otLoss.stderr, 2)}`);
  // A conditional bridge's bound is given the condition too: −log p(target | source, y).
  const bound = s.bound && (conditional ? boundLabel(s.bound.kind).replace(/\| source\)/, '| source, y)') : boundLabel(s.bound.kind));
  if (s.bound) parts.push(`held-out ${bound} ${fmt(s.bound.mean)} ± ${fmt(s.bound.stderr, 2)} nats`);
  if (s.data.entropy !== undefined && !conditional) parts.push(`entropy floor ${s.data.entropy.toFixed(3)}`);
  if (parts.length > 0) lines.push(`  ${parts.join(', ')}`);
  lines.push(`  model: ${join(out, 'model')}`);
  if (s.status === 'interrupted') lines.push(`  continue with: nfdm train --out ${out} --resume`);
  return lines.join('\n');
}
