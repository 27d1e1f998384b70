/**
 * The `nfdm reproduce` suite: output-directory safety, the experiments in order (skipping those
 * whose result already exists with --resume), result JSON per experiment, REPORT.md and the
 * claims.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import type { BackendChoice, Output } from '@nfdm/cli/lib';
import { CliError, EXIT_INTERRUPTED, ensureDir, startBackend, UsageError, writeJson, writeText } from '@nfdm/cli/lib';
import { runBridges } from './bridges.js';
import { type Budget, EXPERIMENT_NAMES, type ExperimentName, experimentModels, selectModels } from './budgets.js';
import { type Claim, decideClaims } from './claims.js';
import { type ExperimentResultBase, quietOutput, readResult, resultPath, type SuiteContext, writeResult } from './common.js';
import { runDensity } from './density.js';
import { runFewstep } from './fewstep.js';
import { runImageBridge } from './image-bridge.js';
import { runImages } from './images.js';
import { type Machine, renderReport, type SuiteResults } from './report.js';

export const MANIFEST = 'reproduce.json';
export const MANIFEST_FORMAT = 'nfdm-reproduce/1';
export const REPORT = 'REPORT.md';

export interface SuiteOptions {
  out: string;
  budget: Budget;
  only?: ExperimentName[];
  /** Train only these models in each selected experiment (see selectModels); experiments training none of them are skipped. */
  models?: string[];
  force?: boolean;
  resume?: boolean;
  backend?: BackendChoice;
  command: string;
}

export interface SuiteOutcome {
  out: string;
  report: string;
  seconds: number;
  machine: Machine;
  ran: ExperimentName[];
  reused: ExperimentName[];
  failed: Partial<Record<ExperimentName, string>>;
  results: Partial<Record<ExperimentName, ExperimentResultBase>>;
  claims: Claim[];
}

const RUNNERS: Record<ExperimentName, (ctx: SuiteContext) => Promise<ExperimentResultBase>> = {
  density: runDensity,
  fewstep: runFewstep,
  bridges: runBridges,
  images: runImages,
  'image-bridge': runImageBridge,
};

/** Refuse a non-empty --out unless --force (overwrite) or --resume (a reproduce run of the same budget). */
function guard(dir: string, options: SuiteOptions): void {
  if (options.force && options.resume) throw new UsageError('--resume and --force exclude each other');
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory()) throw new CliError(`--out ${options.out} is a file; give a directory`);
  const entries = readdirSync(dir);
  if (entries.length === 0 || options.force) return;
  const manifest = join(dir, MANIFEST);
  if (options.resume) {
    if (!existsSync(manifest))
      throw new CliError(`${options.out} holds no reproduce run to resume (no ${MANIFEST}); use an empty --out or --force`);
    let budget: unknown;
    try {
      budget = JSON.parse(readFileSync(manifest, 'utf8')).budget;
    } catch (error) {
      throw new CliError(`${manifest}: cannot read it (${(error as Error).message})`);
    }
    if (budget !== options.budget.name)
      throw new CliError(
        `${options.out} holds a reproduce run with budget ${String(budget)}, not ${options.budget.name}; use another --out or --force`,
      );
    return;
  }
  throw new CliError(
    `${options.out} is not empty (${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}); pass --force to overwrite the experiments there, --resume to continue a reproduce run, or choose an empty --out`,
  );
}

/** Remove what an experiment owns in DIR before running it again (--force). */
function clearExperiment(dir: string, name: ExperimentName): void {
  rmSync(join(dir, 'runs', name), { recursive: true, force: true });
  rmSync(resultPath(dir, name), { force: true });
  const figures = join(dir, 'figures');
  if (existsSync(figures)) for (const f of readdirSync(figures)) if (f.startsWith(`${name}-`)) rmSync(join(figures, f), { force: true });
}

/** The machine of this invocation, for the manifest and the report. */
function describeMachine(report: Awaited<ReturnType<typeof startBackend>>): Machine {
  const machine: Machine = {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpu: cpus()[0]?.model?.trim() ?? 'unknown CPU',
    cores: cpus().length,
    backend: report.backend,
    tfjs: report.tfjsVersion,
    ...(report.wasm ? { wasm: report.wasm } : {}),
  };
  const native = report.nativeKernels as { enabled?: boolean; reason?: string | null } | undefined;
  if (native)
    machine.nativeKernels = native.enabled
      ? 'native MLP kernels on'
      : `native MLP kernels off${native.reason ? ` (${native.reason})` : ''}`;
  return machine;
}

/** What this invocation did with each selected experiment. */
interface Progress {
  selected: ExperimentName[];
  ran: ExperimentName[];
  reused: ExperimentName[];
  failed: Partial<Record<ExperimentName, string>>;
}

/** Refuse an --only naming an experiment the budget defines no run for (before anything is written). */
function checkOnly(options: SuiteOptions): void {
  const defined = options.budget.experiments ?? EXPERIMENT_NAMES;
  const outside = (options.only ?? []).filter((n) => !defined.includes(n));
  if (outside.length > 0)
    throw new UsageError(`the ${options.budget.name} budget runs ${defined.join(', ')} only, not ${outside.join(', ')}`);
}

/** The selected experiments of this invocation, in order (--only, else all the budget defines). */
function selectedExperiments(options: SuiteOptions): ExperimentName[] {
  const defined = options.budget.experiments ?? EXPERIMENT_NAMES;
  return options.only && options.only.length > 0 ? defined.filter((n) => options.only?.includes(n)) : [...defined];
}

/** Refuse a --models naming no model of the selected experiments, or with --force (it would delete the other models' runs). */
function checkModels(options: SuiteOptions): void {
  if (!options.models) return;
  if (options.force) throw new UsageError("--models and --force exclude each other (--force would delete the other models' runs)");
  const known = new Set(selectedExperiments(options).flatMap((n) => experimentModels(options.budget, n)));
  const unknown = options.models.filter((m) => !known.has(m));
  if (unknown.length > 0)
    throw new UsageError(`--models: ${unknown.join(', ')} not trained by the selected experiments (they train ${[...known].join(', ')})`);
}

/**
 * Whether a stored result answers this invocation (--resume skips its experiment): it exists and
 * was written for the same --models (a result of a model selection is rerun by an invocation
 * with another or none; its finished runs are reused).
 */
function complete(result: ExperimentResultBase | undefined, models: string[] | undefined): boolean {
  if (!result) return false;
  return (result.modelSelection ?? []).join(',') === (models ?? []).join(',');
}

/** Run the selected experiments in order (skipping finished ones with --resume), writing each result. */
async function runExperiments(ctx: SuiteContext, options: SuiteOptions, out: Output): Promise<Progress> {
  const dir = ctx.out;
  const selected = selectedExperiments(options);
  const progress: Progress = { selected, ran: [], reused: [], failed: {} };
  for (const name of selected) {
    if (options.models && selectModels(experimentModels(options.budget, name), options.models).length === 0) {
      out.note(`[${name}] none of --models ${options.models.join(',')}: skipped`);
      continue;
    }
    if (options.resume && complete(readResult(dir, name, options.budget.name), options.models)) {
      out.note(`[${name}] result exists (results/${name}.json): skipped (--resume)`);
      progress.reused.push(name);
      continue;
    }
    if (options.force) clearExperiment(dir, name);
    out.note(`[${name}] starting (budget ${options.budget.name})…`);
    try {
      const result = await RUNNERS[name](ctx);
      writeResult(dir, options.models ? { ...result, modelSelection: options.models } : result);
      progress.ran.push(name);
      out.note(`[${name}] done in ${result.seconds.toFixed(1)} s`);
    } catch (error) {
      if (error instanceof CliError && error.exitCode === EXIT_INTERRUPTED) throw error;
      progress.failed[name] = (error as Error).message.split('\n')[0];
      out.note(`[${name}] failed: ${progress.failed[name]}`);
    }
  }
  return progress;
}

/** Every experiment with a result of this budget in DIR (earlier invocations too); those not run now count as reused. */
function collectResults(dir: string, budget: string, progress: Progress): SuiteOutcome['results'] {
  const { ran, reused, failed } = progress;
  const results: SuiteOutcome['results'] = {};
  for (const name of EXPERIMENT_NAMES) {
    const r = readResult(dir, name, budget);
    if (r && !failed[name]) results[name] = r;
  }
  for (const name of EXPERIMENT_NAMES) if (results[name] && !ran.includes(name) && !reused.includes(name)) reused.push(name);
  return results;
}

export async function runSuite(options: SuiteOptions, out: Output): Promise<SuiteOutcome> {
  const dir = resolve(options.out);
  checkOnly(options);
  checkModels(options);
  guard(dir, options);
  const started = performance.now();
  const machine = describeMachine(await startBackend(options.backend, out));
  for (const sub of ['runs', 'results', 'figures', 'configs']) ensureDir(join(dir, sub), `--out ${options.out}`);
  writeJson(join(dir, MANIFEST), { format: MANIFEST_FORMAT, budget: options.budget.name, command: options.command, machine });

  const ctx: SuiteContext = {
    out: dir,
    budget: options.budget,
    backend: options.backend ?? 'auto',
    note: (text) => out.note(text),
    quiet: quietOutput(out.io, out.verbose),
    resume: options.resume ?? false,
    ...(options.models ? { models: options.models } : {}),
  };
  const progress = await runExperiments(ctx, options, out);
  const { selected, ran, reused, failed } = progress;
  const results = collectResults(dir, options.budget.name, progress);
  const typed = results as SuiteResults;
  const claims = decideClaims(typed);
  const seconds = (performance.now() - started) / 1000;
  const path = join(dir, REPORT);
  writeText(
    path,
    renderReport({
      budget: options.budget,
      machine,
      command: options.command,
      seconds,
      selected,
      results: typed,
      failed,
      ran,
      reused,
      claims,
    }),
  );
  writeJson(join(dir, 'results', 'claims.json'), { budget: options.budget.name, claims });
  return { out: dir, report: path, seconds, machine, ran, reused, failed, results, claims };
}
