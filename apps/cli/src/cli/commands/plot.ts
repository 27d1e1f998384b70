/** `nfdm plot samples | trajectories | density | forward`: figures as .svg or .png. */
import { Command, Option } from '@commander-js/extra-typings';
import type { Context } from '../context.js';
import { type DataInfo, evaluationData, firstRows } from '../data.js';
import { CliError, UsageError } from '../errors.js';
import { outputFormat, prepareOutputFile } from '../files.js';
import { BACKENDS, examples, need, nonNegativeInt, bounds as parseBounds, positiveInt, positiveNumber } from '../options.js';
import { fmt, Output } from '../output.js';
import {
  bridgeTargets,
  densitySvg,
  forwardTrajectories,
  imageShapeOf,
  obstacleOf,
  samplesSvg,
  squareBounds,
  type TrajectoryPlotOptions,
  trajectoriesSvg,
  writePlot,
} from '../plotting.js';
import {
  checkDim,
  dataSpecFor,
  divergedMessage,
  drawSamples,
  locatedCapabilities,
  locatedConfig,
  locateModel,
  logProbChoice,
  type ModelLocation,
  type OpenedModel,
  openModel,
  readMeta,
  type SamplerChoice,
  samplerChoice,
  samplerForModel,
  startBackend,
  withDefaultMode,
} from '../runtime.js';

const FORMATS = ['svg', 'png'] as const;

interface CommonOptions {
  model?: string;
  out?: string;
  force?: true;
  backend: (typeof BACKENDS)[number];
  json?: true;
  verbose?: true;
  width?: number;
}

/** Checks, backend and model shared by every plot; `render` makes the SVG. */
async function plot(
  ctx: Context,
  kind: string,
  opts: CommonOptions,
  prepare: (loc: ModelLocation, config: ReturnType<typeof locatedConfig>) => void,
  render: (opened: OpenedModel, out: Output) => { svg: string; details: Record<string, unknown>; summary: string },
): Promise<void> {
  const out = new Output(ctx.io, Boolean(opts.json), Boolean(opts.verbose));
  const modelDir = need(opts.model, '--model <dir>');
  const file = need(opts.out, '--out <file>');
  const format = outputFormat(file, FORMATS);
  const location = locateModel(modelDir);
  const config = locatedConfig(location);
  prepare(location, config);
  prepareOutputFile(file, opts.force);
  await startBackend(opts.backend, out);
  const opened = openModel(location);
  const started = performance.now();
  const { svg, details, summary } = render(opened, out);
  writePlot(file, format, svg, opts.width);
  opened.model.dispose();
  const seconds = (performance.now() - started) / 1000;
  out.human(`wrote ${kind} plot ${file} (${summary}, ${fmt(seconds, 3)} s)`);
  out.result({ plot: kind, out: file, format, model: opened.path, ...details, seconds });
}

function base(name: string, description: string) {
  return new Command(name)
    .description(description)
    .option('--model <dir>', 'a training output directory or a model directory (required)')
    .option('--out <file>', 'output file: .svg or .png (required)')
    .option('--width <px>', 'PNG width in pixels (default: the SVG size)', positiveInt)
    .option('--force', 'overwrite an existing --out file')
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(BACKENDS).default('auto' as const))
    .option('--json', 'print a summary as JSON on stdout')
    .option('--verbose', 'notes on stderr even when it is not a terminal');
}

/**
 * How trajectories of the opened model are drawn: images as frame strips (image bridges too:
 * from the source at t = 1 to the target at t = 0); 2-D bridges with their obstacle and target
 * data; generative paths from noise.
 */
function trajectoryLook(opened: OpenedModel, n: number, seed: number, generative: boolean): TrajectoryPlotOptions {
  const imageShape = imageShapeOf(readMeta(opened.location)?.data);
  if (!opened.capabilities.transport) return { imageShape, ends: generative ? ['noise', 'sample'] : ['data', 'noise'] };
  if (imageShape) return { imageShape, ends: generative ? ['source', 'target'] : ['target', 'source'] };
  const targets = bridgeTargets(opened, n, seed);
  const background = targets ? [{ points: targets.data, color: '#555555', label: 'target data', opacity: 0.5, radius: 1.5 }] : [];
  return { imageShape, disc: obstacleOf(opened.config), background, ends: generative ? ['source', 'target'] : ['target', 'source'] };
}

/** Samples (or paths) for a figure, with progress; diverged samples are left out with a warning. */
function drawForPlot(opened: OpenedModel, out: Output, n: number, choice: SamplerChoice, seed: number, trajectory: boolean) {
  const progress = out.progress(trajectory ? 'trajectories' : 'sampling', n, trajectory ? 'paths' : 'samples');
  const drawn = drawSamples(opened, n, choice, seed, trajectory, { diverged: 'drop', progress });
  progress.finish();
  if (drawn.diverged.length > 0) out.warn(divergedMessage(drawn.diverged.length, drawn.asked, choice.label, 'drop'));
  return drawn;
}

function dataFor(loc: ModelLocation, given: string | undefined, n: number, seed: number, dim: number, required: boolean) {
  const meta = readMeta(loc);
  if (!given && !meta?.data?.spec) {
    if (required) dataSpecFor(undefined, meta, 'this plot');
    return { data: undefined, info: undefined as DataInfo | undefined };
  }
  const spec = dataSpecFor(given, meta, 'this plot');
  const { data, info } = evaluationData(spec, { n, seed: seed + 2_000_003, modelData: meta?.data });
  checkDim(data, { dim }, spec);
  return { data, info };
}

export function plotCommand(ctx: Context) {
  const cmd = new Command('plot')
    .description('figures of a trained model: samples, trajectories, density, forward')
    .addHelpText(
      'after',
      examples([
        'nfdm plot samples --model runs/nfdm-8g --out samples.png',
        'nfdm plot trajectories --model runs/nfdm-8g --n 100 --out trajectories.svg',
        'nfdm plot density --model runs/nfdm-8g --grid 80 --out density.png',
        'nfdm plot forward --model runs/nfdm-8g --out forward.png',
      ]),
    );
  for (const sub of [samplesPlotCommand, trajectoriesPlotCommand, densityPlotCommand, forwardPlotCommand]) cmd.addCommand(sub(ctx));
  return cmd;
}

/** `nfdm plot samples`: model samples over the data (2-D scatter), an image grid for image data. */
function samplesPlotCommand(ctx: Context) {
  return base('samples', 'model samples over the data (2-D scatter), an image grid for image data')
    .option('--data <spec>', 'data to show under the samples (default: the training data)')
    .option('--n <N>', 'number of samples (and data points) (images: up to 100 shown)', positiveInt, 2000)
    .option('--seed <S>', 'seed', nonNegativeInt, 0)
    .option('--solver <name>', 'sampler (default euler_maruyama; ODE solvers such as dopri5 imply --ode)')
    .option('--steps <K>', 'sampler steps (default 100)', positiveInt)
    .option('--ode', 'sample with the probability-flow ODE (default for nfdm-ot models)')
    .option('--sde', 'sample with the reverse SDE (default, except for nfdm-ot models)')
    .option('--bounds <box>', 'plot range xMin,xMax,yMin,yMax (default: fitted)', parseBounds)
    .addHelpText(
      'after',
      examples([
        'nfdm plot samples --model runs/nfdm-8g --out samples.png',
        'nfdm plot samples --model runs/fm-fashion --n 64 --ode --out grid.png',
      ]),
    )
    .action(async (opts) => {
      // Validate the flags now; an NFDM-OT model switches to the ODE once its metadata is read.
      let choice = samplerChoice(opts);
      let data: ReturnType<typeof dataFor>;
      await plot(
        ctx,
        'samples',
        opts,
        (loc, config) => {
          choice = samplerChoice(withDefaultMode(opts, locatedCapabilities(loc)));
          data = dataFor(loc, opts.data, opts.n, opts.seed, config.dim, false);
        },
        (opened, out) => {
          choice = samplerForModel(opened, choice, opts.steps !== undefined);
          out.note(`sampling ${opts.n} points (${choice.label})…`);
          const drawn = drawForPlot(opened, out, opts.n, choice, opts.seed, false);
          const info = data.info ?? readMeta(opened.location)?.data;
          const svg = samplesSvg(
            { data: drawn.samples, n: drawn.n, dim: drawn.dim },
            data.data,
            info,
            `${opened.meta?.model ?? 'model'} samples (${choice.mode.toUpperCase()})`,
            opts.bounds,
          );
          return {
            svg,
            details: { n: drawn.n, sampler: choice.label, nfe: drawn.stats.nfe },
            summary: `${drawn.n} samples, ${choice.label}`,
          };
        },
      );
    });
}

/** `nfdm plot trajectories`: generative (or transport) paths and a coordinate over time; image frames z_t. */
function trajectoriesPlotCommand(ctx: Context) {
  return base(
    'trajectories',
    'generative trajectories from the prior (t = 1) to data (t = 0), bridges from source to target: paths and a coordinate over time (images: frames z_t)',
  )
    .option('--n <N>', 'number of trajectories', positiveInt, 200)
    .option('--seed <S>', 'seed', nonNegativeInt, 0)
    .option('--solver <name>', 'solver (default: ODE with rk4; SDE solvers imply --sde)')
    .option('--steps <K>', 'solver steps (default 50)', positiveInt)
    .option('--ode', 'probability-flow ODE paths (default)')
    .option('--sde', 'reverse SDE paths')
    .addHelpText(
      'after',
      examples([
        'nfdm plot trajectories --model runs/nfdm-8g --out traj.png',
        'nfdm plot trajectories --model runs/nfdm-8g --sde --steps 200 --out traj-sde.svg',
      ]),
    )
    .action(async (opts) => {
      const sde = opts.sde || (opts.solver !== undefined && samplerChoice({ solver: opts.solver }).mode === 'sde');
      // Default: smooth ODE paths, rk4 × 50; a named solver keeps its own defaults.
      const odeFlags =
        opts.solver === undefined
          ? { ...opts, ode: true as const, solver: 'rk4', steps: opts.steps ?? 50 }
          : { ...opts, ode: true as const };
      const asked = samplerChoice(sde ? opts : odeFlags);
      await plot(
        ctx,
        'trajectories',
        opts,
        () => {},
        (opened, out) => {
          const choice = samplerForModel(opened, asked, opts.steps !== undefined);
          out.note(`integrating ${opts.n} trajectories (${choice.label})…`);
          const drawn = drawForPlot(opened, out, opts.n, choice, opts.seed, true);
          if (!drawn.trajectory || !drawn.times) throw new CliError('the solver returned no trajectory');
          const what = opened.capabilities.transport ? 'transport source → target' : 'generative';
          const look = trajectoryLook(opened, opts.n, opts.seed, true);
          const svg = trajectoriesSvg(drawn.trajectory, drawn.times, drawn.n, drawn.dim, `${what} (${choice.mode.toUpperCase()})`, look);
          return {
            svg,
            details: { n: drawn.n, times: drawn.times.length, sampler: choice.label },
            summary: `${drawn.n} paths × ${drawn.times.length} times, ${choice.label}`,
          };
        },
      );
    });
}

/** `nfdm plot density`: heat map of the exact model density on a grid (2-D models). */
function densityPlotCommand(ctx: Context) {
  return base('density', 'heat map of the exact model density on a grid (2-D models)')
    .option('--grid <N>', 'grid cells per side', positiveInt, 60)
    .option('--bounds <box>', 'xMin,xMax,yMin,yMax (default: a square around the training data)', parseBounds)
    .option('--log', 'colour by log p instead of p (colours cover the top --log-span nats)')
    .option('--log-span <nats>', 'with --log: colours span at most this many nats below the peak (default 10)', positiveNumber)
    .option('--solver <name>', 'ODE solver (default dopri5, adaptive)')
    .option('--steps <K>', 'fixed solver steps instead of adaptive stepping', positiveInt)
    .option('--rtol <tol>', 'relative tolerance (default 1e-4)', positiveNumber)
    .option('--atol <tol>', 'absolute tolerance (default 1e-4)', positiveNumber)
    .option('--data <spec>', 'data that set the default bounds (default: the training data)')
    .addHelpText(
      'after',
      examples([
        'nfdm plot density --model runs/nfdm-8g --out density.png',
        'nfdm plot density --model runs/nfdm-8g --grid 100 --log --bounds -4,4,-4,4 --out logp.svg',
      ]),
    )
    .action(async (opts) => {
      if (opts.logSpan !== undefined && !opts.log) throw new UsageError('--log-span applies to --log plots only');
      const solver = logProbChoice(opts, 1e-4);
      let box = opts.bounds;
      await plot(
        ctx,
        'density',
        opts,
        (loc, config) => {
          if (config.dim !== 2) throw new CliError(`density plots need a 2-D model; this one has D = ${config.dim}`);
          if (!box) {
            const d = dataFor(loc, opts.data, 2000, 0, 2, false);
            box = d.data ? squareBounds(d.data.data) : { xMin: -4, xMax: 4, yMin: -4, yMax: 4 };
          }
        },
        (opened, out) => {
          out.note(`exact log-density on a ${opts.grid}×${opts.grid} grid (${solver.label})…`);
          const progress = out.progress('density', opts.grid * opts.grid, 'grid points');
          const r = densitySvg(opened, box as NonNullable<typeof box>, opts.grid, solver, {
            log: opts.log,
            logSpan: opts.logSpan,
            title: opts.log ? 'model log-density log p(x)' : 'model density p(x)',
            axes: opened.meta?.data?.columns,
            progress,
          });
          progress.finish();
          return {
            svg: r.svg,
            details: { grid: opts.grid, bounds: box, solver: solver.label, nfe: r.nfe, colours: r.range },
            summary: `${opts.grid}×${opts.grid} grid, ${solver.label}`,
          };
        },
      );
    });
}

/** `nfdm plot forward`: forward trajectories of data points from t = 0 to 1. */
function forwardPlotCommand(ctx: Context) {
  return base('forward', 'forward trajectories z_t = μ(x, t) + σ(x, t) ε of data points from t = 0 to 1 (learned for NFDM and NDM)')
    .option('--data <spec>', 'data to start from (default: the training data)')
    .option('--n <N>', 'number of trajectories', positiveInt, 200)
    .option('--times <T>', 'time points from 0 to 1', positiveInt, 60)
    .option('--seed <S>', 'seed of the data draw and of ε', nonNegativeInt, 0)
    .addHelpText('after', examples(['nfdm plot forward --model runs/nfdm-8g --out forward.png']))
    .action(async (opts) => {
      if (opts.times < 2) throw new CliError('--times must be at least 2');
      let x: ReturnType<typeof dataFor>;
      await plot(
        ctx,
        'forward',
        opts,
        (loc, config) => {
          x = dataFor(loc, opts.data, opts.n, opts.seed, config.dim, true);
        },
        (opened, out) => {
          const data = firstRows(x.data as NonNullable<typeof x.data>, opts.n);
          out.note(`forward process of ${data.n} points at ${opts.times} times…`);
          const { paths, times } = forwardTrajectories(opened, data, opts.times, opts.seed);
          const svg = trajectoriesSvg(
            paths,
            times,
            data.n,
            data.dim,
            `forward (${'forward' in opened.model ? opened.model.forward.kind : opened.family})`,
            trajectoryLook(opened, data.n, opts.seed, false),
          );
          return { svg, details: { n: data.n, times: times.length }, summary: `${data.n} paths × ${times.length} times` };
        },
      );
    });
}
