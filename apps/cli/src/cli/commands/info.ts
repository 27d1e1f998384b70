/**
 * `nfdm info`: what a model folder holds — family, config, parameter count, the data and its
 * standardisation, and the training summary — without sampling or evaluating anything.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from '@commander-js/extra-typings';
import type { AnyModelConfig } from '@nfdm/models';
import { readCheckpoint } from '@nfdm/training';
import type { Context } from '../context.js';
import { columnNames } from '../files.js';
import { BACKENDS, examples, need } from '../options.js';
import { fmt, Output, table } from '../output.js';
import {
  locatedConfig,
  locateModel,
  type ModelLocation,
  type ModelMeta,
  type OpenedModel,
  openModel,
  RUN_FILE,
  readMeta,
  standardizationOf,
  startBackend,
} from '../runtime.js';
import { describeRun, RUN_FORMAT, type RunSummary } from '../training.js';

/** Parameter counts: the total and per top-level module (forward, predictor, volatility, …). */
export function countParameters(params: Map<string, { size: number }>): { total: number; byModule: Record<string, number> } {
  const byModule: Record<string, number> = {};
  let total = 0;
  for (const [name, v] of params) {
    const module = name.split('.')[0];
    byModule[module] = (byModule[module] ?? 0) + v.size;
    total += v.size;
  }
  return { total, byModule };
}

/** The run summary next to a model (run.json of its run folder), if there is a readable one. */
function runSummaryOf(loc: ModelLocation): RunSummary | undefined {
  if (!loc.runDir) return undefined;
  const path = join(loc.runDir, RUN_FILE);
  if (!existsSync(path)) return undefined;
  try {
    const raw = JSON.parse(readFileSync(path, 'utf8'));
    return raw?.format === RUN_FORMAT ? (raw as RunSummary) : undefined;
  } catch {
    return undefined;
  }
}

const compact = (v: unknown): string => JSON.stringify(v);

export function infoCommand(ctx: Context) {
  return new Command('info')
    .description("describe a trained model: family, config, parameter count, the data's standardisation and the training summary")
    .option('--model <dir>', 'a training output directory, a model directory or a checkpoint (required)')
    .addOption(new Option('--backend <name>', 'tfjs backend used to read the weights').choices(BACKENDS).default('auto' as const))
    .option('--json', 'print everything as JSON on stdout')
    .option('--verbose', 'notes on stderr even when it is not a terminal')
    .addHelpText('after', examples(['nfdm info --model runs/moons', 'nfdm info --model runs/moons/ckpt-2000 --json']))
    .action(async (opts) => {
      await runInfo(ctx, opts);
    });
}

type InfoOptions = ReturnType<ReturnType<typeof infoCommand>['opts']>;

/** Everything `nfdm info` reports about a model. */
interface ModelFacts {
  location: ModelLocation;
  opened: OpenedModel;
  config: AnyModelConfig;
  meta?: ModelMeta;
  run?: RunSummary;
  step?: number;
  parameters: ReturnType<typeof countParameters>;
  standardization: { method: string; columns: Array<{ name: string; mean: number; std: number }> } | null;
}

async function runInfo(ctx: Context, opts: InfoOptions): Promise<void> {
  const out = new Output(ctx.io, Boolean(opts.json), Boolean(opts.verbose));
  const location = locateModel(need(opts.model, '--model <dir>'));
  const config = locatedConfig(location);
  const meta = readMeta(location);
  const run = runSummaryOf(location);
  await startBackend(opts.backend, out);
  const opened = openModel(location);
  const parameters = countParameters(opened.model.parameters());
  opened.model.dispose();
  const step = location.checkpoint ? readCheckpoint(location.checkpoint).step : (meta?.step ?? run?.step);
  const std = standardizationOf(config);
  const names = columnNames(config.dim, meta?.data?.columns);
  const standardization = std
    ? { method: meta?.data?.standardize ?? 'mean-std', columns: names.map((name, j) => ({ name, mean: std.mean[j], std: std.std[j] })) }
    : null;
  const facts: ModelFacts = { location, opened, config, meta, run, step, parameters, standardization };
  out.human(describeModel(facts).join('\n'));
  out.result(infoResult(facts));
}

/** The human description: family, parameters, config sections, data, standardisation, training. */
function describeModel(f: ModelFacts): string[] {
  const { location, opened, config, meta, run, step, parameters, standardization } = f;
  const { standardization: _omit, ...sections } = config as unknown as Record<string, unknown>;
  const kind = location.checkpoint ? 'checkpoint (EMA weights when the run keeps an EMA)' : 'model (EMA weights)';
  const lines = [
    `${opened.path}: ${opened.family} model${meta?.model ? ` '${meta.model}'` : ''}, D = ${config.dim}; ${kind}${step !== undefined ? ` after ${step} updates` : ''}`,
    `parameters: ${parameters.total.toLocaleString('en-US')} (${Object.entries(parameters.byModule)
      .map(([m, c]) => `${m} ${c.toLocaleString('en-US')}`)
      .join(', ')})`,
    'config:',
    ...Object.entries(sections)
      .filter(([k]) => k !== 'format' && k !== 'dim')
      .map(([k, v]) => `  ${k}: ${compact(v)}`),
  ];
  if (meta?.data) {
    const d = meta.data;
    lines.push(`data: ${d.source}`);
    if (d.rows) {
      lines.push(
        `  ${d.rows.train} training rows, ${d.rows.heldOut} held out${d.split ? ` (seed ${d.split.seed}; nfdm eval uses them)` : ''}`,
      );
    }
    if (d.outliers) lines.push(`  ${d.outliers.count} rows with extreme values: ${d.outliers.policy === 'drop' ? 'dropped' : 'kept'}`);
  }
  if (standardization) {
    lines.push(`standardisation (${standardization.method}), stored with the model: x' = (x − mean) / std`);
    lines.push(
      table([['column', 'mean', 'std'], ...standardization.columns.map((c) => [c.name, fmt(c.mean), fmt(c.std)])])
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n'),
    );
  } else lines.push('standardisation: none (the model works in data units)');
  if (run)
    lines.push(
      `training (${RUN_FILE}, ${run.status}):`,
      ...describeRun(run, location.runDir as string)
        .split('\n')
        .map((l) => `  ${l.trim()}`),
    );
  else lines.push(`training: no ${RUN_FILE} next to this model`);
  return lines;
}

/** The JSON result of `nfdm info`. */
function infoResult(f: ModelFacts) {
  const { location, opened, config, meta, run, step, parameters, standardization } = f;
  return {
    model: opened.path,
    kind: location.checkpoint ? 'checkpoint' : 'model',
    family: opened.family,
    name: meta?.model ?? null,
    step: step ?? null,
    dim: config.dim,
    parameters,
    config,
    data: meta?.data ?? null,
    standardization,
    training: run
      ? {
          status: run.status,
          step: run.step,
          steps: run.config.steps,
          settings: run.config,
          loss: run.loss ?? null,
          nelbo: run.nelbo ?? null,
          otLoss: run.otLoss ?? null,
          bound: run.bound ?? null,
          seconds: run.seconds ?? null,
          msPerStep: run.msPerStep ?? null,
          backend: run.backend,
          error: run.error ?? null,
          updated: run.updated,
        }
      : null,
  };
}
