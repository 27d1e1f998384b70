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
  anyModelConfig as describeModel,
  loadAnyModel,
  type Standardization,
} from '@nfdm/models';
import { latestCheckpoint, readCheckpoint, Trainer, type TrainerEvent } from '@nfdm/training';
import * as tf from '@tensorflow/tfjs';
import { type DataInfo, normalizeSpec, trainingData } from './data.js';
import { CliError, oneLine, UsageError } from './errors.js';
import { checkWritableFolder, ensureDir, writeJson, writeText } from './files.js';
import { describeErrnoError, isErrnoError, reasonFor } from './fs-errors.js';
import type { BackendChoice } from './options.js';
import { fmt, jsonReplacer, type Output } from './output.js';
import { presetConfig } from './presets.js';
import { trainingProgress } from './progress.js';
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
   * Bridge and DiffFlow runs: the held-out bound at the last evaluation, nats per sample in data
   * units — nfbm: the bound on −log p(x0 | x1); diffflow: the NLL bound of the discrete chain.
   */
  bound?: { kind: 'bridge' | 'diffflow'; mean: number; stderr: number; step: number };
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

function readRunSummary(out: string): RunSummary | undefined {
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

/** Run (or resume) training. Throws CliError/UsageError/DatasetError for user errors. */
export async function runTraining(req: TrainRequest, out: Output): Promise<TrainOutcome> {
  const dir = resolve(req.out);
  if (req.resume && req.force) throw new UsageError('--resume and --force exclude each other');
  let settings: RunSettings;
  let stored: RunSummary | undefined;
  let standardization: Standardization | undefined;
  let resumeModel: AnyModelConfig | undefined;
  if (req.resume) {
    const latest = existsSync(dir) ? latestCheckpoint(dir) : undefined;
    if (!latest) throw new CliError(`${req.out} holds no checkpoint to resume; start a new run without --resume`);
    stored = readRunSummary(dir);
    const storedModel = readCheckpoint(latest).model;
    resumeModel = storedModel;
    standardization = 'standardization' in storedModel ? storedModel.standardization : undefined;
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
    settings = completeSettings({ ...base, ...asked, data: asked.data ?? base.data, model: asked.model ?? base.model });
  } else {
    settings = completeSettings({ ...(req.file ?? {}), ...req.cli });
    guardOutDir(dir, req.force, req.guardFiles);
  }

  // Data before the backend: bad files fail fast, with one message.
  const data = trainingData(settings.data, {
    seed: settings.seed,
    standardization,
    standardize: settings.standardize,
    outliers: settings.outliers,
  });
  for (const w of data.warnings) out.warn(w);
  settings.data = data.info.spec;
  if (resumeModel && resumeModel.dim !== data.info.dim) {
    throw new CliError(`${settings.data} has ${data.info.dim} dimensions per row, the run being resumed has ${resumeModel.dim}`);
  }
  const report = await startBackend(req.backend, out);

  const tconfig = trainerConfig(settings);
  const evalData = data.heldOut ? tf.tensor2d(data.heldOut.data, [data.heldOut.n, data.heldOut.dim]) : undefined;
  const logDet = data.standardization ? logStdSum(data.standardization) : 0;
  const progress = trainingProgress(out.progress(req.progressLabel ?? 'step', settings.steps), logDet);
  let lastEval: { mean: number; stderr: number; step: number } | undefined;
  let lastOT: { mean: number; stderr: number; step: number } | undefined;
  let lastBound: RunSummary['bound'];
  let msSum = 0;
  let msCount = 0;
  const onEvent = (e: TrainerEvent) => {
    if (e.type === 'step') {
      msSum += e.msPerStep;
      msCount++;
    }
    if (e.type === 'eval' && e.metrics.ot_loss !== undefined) {
      lastOT = { mean: e.metrics.ot_loss, stderr: e.metrics.ot_loss_stderr ?? Number.NaN, step: e.step };
    }
    if (e.type === 'eval' && e.metrics.bridge_bound !== undefined) {
      lastBound = { kind: 'bridge', mean: e.metrics.bridge_bound, stderr: e.metrics.bridge_bound_stderr ?? Number.NaN, step: e.step };
    }
    if (e.type === 'eval' && e.metrics.nll_bound !== undefined) {
      lastBound = { kind: 'diffflow', mean: e.metrics.nll_bound, stderr: e.metrics.nll_bound_stderr ?? Number.NaN, step: e.step };
    }
    if (e.type === 'eval' && e.metrics.nelbo !== undefined) {
      lastEval = { mean: e.metrics.nelbo, stderr: e.metrics.nelbo_stderr ?? Number.NaN, step: e.step };
    }
    progress(e);
  };

  let trainer: Trainer;
  let ownModel: AnyModel | undefined;
  if (req.resume) {
    trainer = Trainer.resume(dir, {
      data: data.source,
      evalData,
      onEvent,
      handleSignals: true,
      config: {
        steps: settings.steps,
        evalEvery: settings.evalEvery,
        checkpointEvery: settings.checkpointEvery,
        logEvery: settings.logEvery,
      },
    });
  } else {
    let modelConfig = presetConfig(settings.model, {
      dim: data.info.dim,
      hidden: settings.hidden,
      seed: settings.seed,
      standardization: data.standardization,
      obstacle: settings.obstacle,
      pair: data.info.pair,
    });
    if (settings.modelConfig) modelConfig = { ...modelConfig, ...settings.modelConfig } as AnyModelConfig;
    let model: AnyModel;
    try {
      model = createAnyModel(modelConfig);
    } catch (error) {
      throw new CliError(`model config: ${(error as Error).message}`);
    }
    ownModel = model;
    trainer = new Trainer({
      model,
      data: data.source,
      config: tconfig,
      checkpointDir: dir,
      evalData,
      onEvent,
      handleSignals: true,
      overwrite: req.force,
    });
  }
  // Only now, with the model and the trainer config validated: a rejected run leaves no empty --out behind.
  ensureDir(req.out, `--out ${req.out}`);
  checkWritableFolder(req.out, join(req.out, RUN_FILE), `--out ${req.out}`);
  const resumedFrom = req.resume ? trainer.step : undefined;
  const summary: RunSummary = {
    format: RUN_FORMAT,
    status: 'running',
    config: settings,
    data: data.info,
    step: trainer.step,
    modelConfig: describeModel(trainer.model),
    backend: report.backend,
    tfjs: tf.version.tfjs,
    updated: new Date().toISOString(),
  };
  if (resumedFrom !== undefined) summary.resumedFrom = resumedFrom;
  if (stored?.nelbo) summary.nelbo = stored.nelbo;
  if (stored?.otLoss) summary.otLoss = stored.otLoss;
  if (stored?.bound) summary.bound = stored.bound;
  writeJson(join(dir, RUN_FILE), summary);

  out.note(
    `${req.resume ? `resuming at step ${trainer.step}: ` : ''}training ${settings.model} on ${data.info.source}; ` +
      `${settings.steps} steps, batch ${settings.batch}, hidden ${settings.hidden.join(',')}, lr ${settings.lr} (${settings.schedule})`,
  );
  const started = performance.now();
  const modelDir = join(dir, 'model');
  let result: Awaited<ReturnType<Trainer['run']>>;
  try {
    result = await trainer.run();
    trainer.saveModel(modelDir);
  } catch (error) {
    const failure = trainingFailure(error, trainer.step);
    summary.status = 'failed';
    summary.step = trainer.step;
    summary.error = failure.message;
    summary.updated = new Date().toISOString();
    const unsaved = saveRunSummary(dir, summary);
    trainer.dispose();
    ownModel?.dispose();
    evalData?.dispose();
    if (unsaved) failure.message += `; ${RUN_FILE} could not be updated either (${unsaved})`;
    throw failure;
  }
  const seconds = (performance.now() - started) / 1000;
  summary.status = result.reason;
  summary.step = result.step;
  if (Number.isFinite(result.loss)) summary.loss = result.loss;
  if (lastEval) summary.nelbo = { mean: lastEval.mean + logDet, stderr: lastEval.stderr, step: lastEval.step };
  if (lastOT) summary.otLoss = lastOT;
  if (lastBound) summary.bound = { ...lastBound, mean: lastBound.mean + logDet };
  summary.model = 'model';
  summary.seconds = seconds;
  if (msCount > 0) summary.msPerStep = msSum / msCount;
  summary.updated = new Date().toISOString();
  writeMeta(modelDir, {
    format: META_FORMAT,
    model: settings.model,
    data: data.info,
    step: result.step,
    objective: trainer.config.objective,
  });
  writeJson(join(dir, RUN_FILE), summary);
  evalData?.dispose();
  // The trainer owns a resumed model; keep an exported copy for the caller either way.
  trainer.dispose();
  ownModel?.dispose();
  const model = loadAnyModel(modelDir);
  return { summary, model, modelDir, interrupted: result.reason === 'interrupted' };
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

/** Human lines about a finished run. */
export function describeRun(s: RunSummary, out: string): string {
  const lines = [
    `${s.status === 'interrupted' ? 'interrupted' : 'trained'} ${s.config.model} on ${s.data.spec}: step ${s.step}/${s.config.steps}` +
      (s.seconds !== undefined ? ` in ${fmt(s.seconds, 3)} s` : '') +
      (s.msPerStep !== undefined ? ` (${fmt(s.msPerStep, 3)} ms/step, ${s.backend})` : ''),
  ];
  const parts: string[] = [];
  if (s.loss !== undefined) parts.push(`last batch loss ${fmt(s.loss)} (training objective, standardised units; not the NELBO)`);
  if (s.nelbo) parts.push(`held-out NELBO ${fmt(s.nelbo.mean)} ± ${fmt(s.nelbo.stderr, 2)} nats`);
  if (s.otLoss) parts.push(`held-out NFDM-OT loss ${fmt(s.otLoss.mean)} ± ${fmt(s.otLoss.stderr, 2)}`);
  if (s.bound)
    parts.push(
      `held-out ${s.bound.kind === 'bridge' ? 'bound on −log p(target | source)' : 'NLL bound'} ${fmt(s.bound.mean)} ± ${fmt(s.bound.stderr, 2)} nats`,
    );
  if (s.data.entropy !== undefined) parts.push(`entropy floor ${s.data.entropy.toFixed(3)}`);
  if (parts.length > 0) lines.push(`  ${parts.join(', ')}`);
  lines.push(`  model: ${join(out, 'model')}`);
  if (s.status === 'interrupted') lines.push(`  continue with: nfdm train --out ${out} --resume`);
  return lines.join('\n');
}
