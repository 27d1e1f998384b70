/**
 * What the experiments of `nfdm reproduce` share: the suite context, training one model into
 * DIR/runs/… through the CLI's own `runTraining` (so every run has its run.json, model/ and
 * checkpoint like `nfdm train`), statistics over seeds, and markdown helpers.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Writable } from 'node:stream';
import type { BackendChoice, RunSettings } from '@nfdm/cli/lib';
import {
  CliError,
  EXIT_INTERRUPTED,
  ensureDir,
  fmt,
  type Io,
  latestCheckpoint,
  type OpenedModel,
  Output,
  openedModel,
  openModel,
  type RunSummary,
  readMeta,
  readRunSummary,
  runTraining,
  writeJson,
} from '@nfdm/cli/lib';
import { estimate } from '@nfdm/models';
import type { Budget, ExperimentName, TrainBudget } from './budgets.js';

export interface SuiteContext {
  /** Absolute output directory. */
  out: string;
  budget: Budget;
  backend: BackendChoice;
  /** A progress note on stderr (terminal or --verbose). */
  note: (text: string) => void;
  /** Quiet output handed to runTraining (its per-run notes would drown the suite's). */
  quiet: Output;
  /**
   * --resume: reuse every run whose training finished with the same settings (and its cached
   * evaluation), continue a run from its latest checkpoint, train the rest (default false).
   */
  resume?: boolean;
  /** --models: train only these models in each experiment (default: all; see selectModels). */
  models?: readonly string[];
}

/** Output whose notes go nowhere (for the runs inside the suite); progress still shows on `io` (terminal or `verbose`). */
export function quietOutput(io: Io, verbose = false): Output {
  const sink = new Writable({ write: (_chunk, _enc, done) => done() });
  return new Output({ stdout: io.stdout, stderr: sink as unknown as Io['stderr'] }, true, false, { io, verbose });
}

export interface TrainedModel {
  opened: OpenedModel;
  summary: RunSummary;
  /** Run directory relative to DIR. */
  run: string;
  seconds: number;
}

/** Settings of a run from a training budget. */
export function runSettings(train: TrainBudget, extra: Partial<RunSettings>): Partial<RunSettings> {
  return {
    steps: train.steps,
    hidden: [...train.hidden],
    batch: train.batch,
    lr: train.lr,
    ema: train.ema,
    clip: train.clip,
    schedule: 'cosine',
    evalEvery: 0,
    checkpointEvery: train.checkpointEvery ?? 0,
    logEvery: 50,
    ...extra,
  };
}

/** Written into a run folder by the suite: the settings it was trained with, and, once finished, its wall time. */
const RUN_RECORD = 'reproduce-run.json';

interface RunRecord {
  format: 'nfdm-reproduce-run/1';
  /** JSON of the run's settings (what a resumed suite compares). */
  settings: string;
  finished: boolean;
  /** Training wall time, seconds (finished runs). */
  seconds?: number;
}

/**
 * A JSON file the suite wrote, when it exists, parses and `accept`s it; else undefined (a missing
 * or torn file is work to do again, never an error).
 */
function readSuiteFile<T>(path: string, accept: (raw: Record<string, unknown>) => boolean): T | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const raw = JSON.parse(readFileSync(path, 'utf8'));
    return raw && typeof raw === 'object' && accept(raw) ? (raw as T) : undefined;
  } catch {
    return undefined;
  }
}

function readRunRecord(dir: string): RunRecord | undefined {
  return readSuiteFile(join(dir, RUN_RECORD), (raw) => raw.format === 'nfdm-reproduce-run/1' && typeof raw.settings === 'string');
}

/** A finished run of the same settings, opened from disk (--resume), or undefined. */
function reuseFinishedRun(ctx: SuiteContext, rel: string, key: string): TrainedModel | undefined {
  const dir = join(ctx.out, rel);
  const record = readRunRecord(dir);
  if (!record?.finished || record.settings !== key) return undefined;
  const summary = readRunSummary(dir);
  if (summary?.status !== 'completed') return undefined;
  const opened = openModel({ modelDir: join(dir, 'model'), runDir: dir });
  return { opened, summary, run: rel, seconds: record.seconds ?? Number.NaN };
}

/**
 * The wall time of a run's updates from its metrics.jsonl, summed over the invocations that
 * trained it: each `train` line holds the mean time per update since the line before, so
 * Σ ms_per_step · (step − previous step) / 1000; a step logged twice (updates after the last
 * checkpoint of an interrupted invocation, trained again) counts once, at its latest line. The
 * run's held-out evaluations and export are not included. Undefined without such lines.
 */
export function loggedTrainingSeconds(dir: string): number | undefined {
  const path = join(dir, 'metrics.jsonl');
  if (!existsSync(path)) return undefined;
  const msPerStep = new Map<number, number>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    try {
      const r = JSON.parse(line);
      if (r?.type === 'train' && Number.isFinite(r.step) && Number.isFinite(r.ms_per_step)) msPerStep.set(r.step, r.ms_per_step);
    } catch {
      // a torn last line of an interrupted invocation
    }
  }
  if (msPerStep.size === 0) return undefined;
  const steps = [...msPerStep.keys()].sort((a, b) => a - b);
  return steps.reduce((sum, step, i) => sum + ((msPerStep.get(step) ?? 0) * (step - (i === 0 ? 0 : steps[i - 1]))) / 1000, 0);
}

/**
 * Train one model into DIR/<rel> and open the exported model. Without --resume whatever is there
 * is replaced; with it, a finished run of the same settings is reused and a started one (same
 * settings, a checkpoint) continues from its latest checkpoint. The wall time of a continued run
 * is the time its updates took over all invocations (see loggedTrainingSeconds).
 */
export async function trainModel(ctx: SuiteContext, rel: string, settings: Partial<RunSettings>): Promise<TrainedModel> {
  const dir = join(ctx.out, rel);
  const key = JSON.stringify(settings);
  if (ctx.resume) {
    const reused = reuseFinishedRun(ctx, rel, key);
    if (reused) return reused;
  }
  const continuing = ctx.resume === true && readRunRecord(dir)?.settings === key && latestCheckpoint(dir) !== undefined;
  if (!continuing) {
    rmSync(dir, { recursive: true, force: true }); // no checkpoint of another run may be continued later
    ensureDir(dir);
    writeJson(join(dir, RUN_RECORD), { format: 'nfdm-reproduce-run/1', settings: key, finished: false } satisfies RunRecord);
  }
  const started = performance.now();
  const outcome = await runTraining(
    {
      out: dir,
      cli: settings,
      force: !continuing,
      resume: continuing,
      backend: ctx.backend,
      progressLabel: `training ${rel}: step`,
    },
    ctx.quiet,
  );
  if (outcome.interrupted) {
    outcome.model.dispose();
    throw new CliError(`interrupted while training ${rel}; rerun with --resume to continue where it stopped`, EXIT_INTERRUPTED);
  }
  const elapsed = (performance.now() - started) / 1000;
  const seconds = continuing ? (loggedTrainingSeconds(dir) ?? elapsed) : elapsed;
  writeJson(join(dir, RUN_RECORD), { format: 'nfdm-reproduce-run/1', settings: key, finished: true, seconds } satisfies RunRecord);
  const loc = { modelDir: outcome.modelDir, runDir: dir };
  const opened = openedModel(outcome.model, outcome.summary.modelConfig, readMeta(loc), loc, outcome.modelDir);
  return { opened, summary: outcome.summary, run: relative(ctx.out, dir), seconds };
}

/** A cached evaluation: its value and the wall time it took (undefined for caches written before it was recorded). */
export interface CachedEvaluation<T> {
  value: T;
  seconds?: number;
}

/**
 * The evaluation of one run, cached in DIR/<rel>/<name>.json with its wall time and the settings
 * it was measured with (`evaluation`, plain JSON: test sizes, solvers, draws…): with --resume a
 * cached value of the same settings is returned as it is (the run was reused, so its evaluation
 * would repeat); otherwise — no cache, other settings, or a cache that recorded none — `compute`
 * runs and its value is written. Values must be plain JSON.
 */
export async function cachedEvaluation<T>(
  ctx: SuiteContext,
  rel: string,
  name: string,
  evaluation: object,
  compute: () => T | Promise<T>,
): Promise<CachedEvaluation<T>> {
  const path = join(ctx.out, rel, `${name}.json`);
  const key = JSON.stringify(evaluation);
  const cached = ctx.resume
    ? readSuiteFile<{ value: T; seconds?: number }>(path, (raw) => raw.format === 'nfdm-reproduce-evaluation/1' && raw.settings === key)
    : undefined;
  if (cached) return { value: cached.value, seconds: cached.seconds };
  const started = performance.now();
  const value = await compute();
  const seconds = (performance.now() - started) / 1000;
  writeJson(path, { format: 'nfdm-reproduce-evaluation/1', settings: key, value, seconds });
  return { value, seconds };
}

/** What an experiment's entry records of its run: where it is, its updates and what they cost. */
export interface RunCost {
  run: string;
  steps: number;
  trainSeconds: number;
  /** Wall time of its (cached) evaluation, seconds; absent for caches written before it was recorded. */
  evalSeconds?: number;
}

/**
 * Train one run (see trainModel) and measure the opened model once, the measurement cached in
 * DIR/<rel>/evaluation.json under its `evaluation` settings (see cachedEvaluation); the model is
 * disposed afterwards. The entry carries the run's cost (a reused run: the times it recorded).
 */
export async function trainAndMeasure<T extends object>(
  ctx: SuiteContext,
  rel: string,
  settings: Partial<RunSettings>,
  evaluation: object,
  measure: (opened: OpenedModel) => T | Promise<T>,
  note?: string,
): Promise<T & RunCost> {
  const trained = await trainModel(ctx, rel, settings);
  if (note) ctx.note(note);
  try {
    const measured = await cachedEvaluation(ctx, rel, 'evaluation', evaluation, () => measure(trained.opened));
    const cost = { run: trained.run, steps: trained.summary.step, trainSeconds: trained.seconds, evalSeconds: measured.seconds };
    return { ...measured.value, ...cost };
  } finally {
    trained.opened.model.dispose();
  }
}

/** Markdown image links of an experiment's figures, each named by its file. */
export function figureLinks(figures: string[]): string[] {
  return figures.flatMap((f) => [`![${f.replace(/^figures\//, '').replace(/\.png$/, '')}](${f})`, '']);
}

/** A mean with its standard error and where the error comes from. */
export interface Stat {
  mean: number;
  se: number;
  /** Number of values behind the mean (seeds, or draws/points with one seed). */
  n: number;
  over: 'seeds' | 'draws' | 'points' | 'trajectories';
}

/**
 * Mean ± s.e. over seeds when there are ≥ 2 seeds; with one seed, that seed's own
 * standard error (over test points, sample draws, …).
 */
export function overSeeds(perSeed: Array<{ mean: number; stderr: number }>, within: Stat['over']): Stat | null {
  const ok = perSeed.filter((v) => Number.isFinite(v.mean));
  if (ok.length === 0) return null;
  if (ok.length === 1) return { mean: ok[0].mean, se: ok[0].stderr, n: 1, over: within };
  const e = estimate(ok.map((v) => v.mean));
  return { mean: e.mean, se: e.stderr, n: e.n, over: 'seeds' };
}

/** Mean and s.e. of plain values (NaN s.e. for one value). */
export function meanSe(values: number[]): { mean: number; stderr: number } {
  const ok = values.filter(Number.isFinite);
  if (ok.length === 0) return { mean: Number.NaN, stderr: Number.NaN };
  const e = estimate(ok);
  return { mean: e.mean, stderr: ok.length > 1 ? e.stderr : 0 };
}

/**
 * The comparison rule of the Claims section: a is better (lower) than b when
 * b − a > 2·sqrt(se_a² + se_b²), worse when a − b > that, else a tie (also when an s.e. is unknown).
 */
export function compareLower(a: Stat | null, b: Stat | null): 'better' | 'worse' | 'tie' | 'missing' {
  if (!a || !b || !Number.isFinite(a.mean) || !Number.isFinite(b.mean)) return 'missing';
  // Without a standard error (one seed of a metric that has none) no difference is significant.
  if (!Number.isFinite(a.se) || !Number.isFinite(b.se)) return 'tie';
  const se = Math.sqrt(a.se ** 2 + b.se ** 2);
  if (b.mean - a.mean > 2 * se) return 'better';
  if (a.mean - b.mean > 2 * se) return 'worse';
  return 'tie';
}

/** `1.234 ± 0.056` (or `–` for missing). */
export function pm(s: Stat | null | undefined, digits = 3): string {
  if (!s || !Number.isFinite(s.mean)) return '–';
  if (!Number.isFinite(s.se)) return fmt(s.mean, digits + 1);
  return `${fmt(s.mean, digits + 1)} ± ${fmt(s.se, 2)}`;
}

/** A markdown table (first row: header). */
export function mdTable(rows: string[][]): string {
  const [head, ...body] = rows;
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...body.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** Where the result JSON of an experiment lives. */
export function resultPath(out: string, name: ExperimentName): string {
  return join(out, 'results', `${name}.json`);
}

export const RESULT_FORMAT = 'nfdm-reproduce-result/1';

export interface ExperimentResultBase {
  format: typeof RESULT_FORMAT;
  experiment: ExperimentName;
  budget: string;
  /** Wall time of the experiment, seconds. */
  seconds: number;
  finished: string;
  /** Figures relative to DIR. */
  figures: string[];
  /** Configs file relative to DIR. */
  config: string;
  /**
   * --models of the invocation that wrote it: the result holds those models only (absent: every
   * model). Not `models`: the density and few-step results list their models under that name.
   */
  modelSelection?: string[];
}

/** The common part of an experiment's result, stamped now (`started` is its performance.now() at start). */
export function resultBase<E extends ExperimentName>(
  ctx: SuiteContext,
  experiment: E,
  started: number,
  figures: string[],
  config: string,
): ExperimentResultBase & { experiment: E } {
  return {
    format: RESULT_FORMAT,
    experiment,
    budget: ctx.budget.name,
    seconds: (performance.now() - started) / 1000,
    finished: new Date().toISOString(),
    figures,
    config,
  };
}

export function writeResult(out: string, result: ExperimentResultBase): void {
  writeJson(resultPath(out, result.experiment), result);
}

/** A stored result of this budget, or undefined. */
export function readResult<T extends ExperimentResultBase>(out: string, name: ExperimentName, budget: string): T | undefined {
  return readSuiteFile<T>(resultPath(out, name), (raw) => raw.format === RESULT_FORMAT && raw.experiment === name && raw.budget === budget);
}

/** Run `f`, turning a failure into a recorded error message (one failed metric must not sink a long suite). */
export function attempt<T>(what: string, errors: string[], f: () => T): T | null {
  try {
    return f();
  } catch (error) {
    if (error instanceof CliError && error.exitCode === EXIT_INTERRUPTED) throw error;
    errors.push(`${what}: ${(error as Error).message.split('\n')[0]}`);
    return null;
  }
}

/** Labels of the models in tables. */
export const MODEL_LABELS: Record<string, string> = {
  nfdm: 'NFDM',
  ndm: 'NDM',
  vp: 'VP',
  subvp: 'sub-VP',
  fm: 'FM-OT',
  diffflow: 'DiffFlow',
  'nfdm-ot': 'NFDM-OT',
  cfm: 'CFM',
  'ot-cfm': 'OT-CFM',
  'rectified-flow': 'rectified flow',
  nfbm: 'NFBM',
  'fixed-bridge': 'fixed bridge',
};

export const MODEL_COLORS: Record<string, string> = {
  nfdm: '#1f77b4',
  ndm: '#9467bd',
  vp: '#d62728',
  subvp: '#8c564b',
  fm: '#2ca02c',
  diffflow: '#ff7f0e',
  'nfdm-ot': '#17becf',
  cfm: '#bcbd22',
  'ot-cfm': '#e377c2',
  'rectified-flow': '#7f7f7f',
};
