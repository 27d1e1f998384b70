/** `nfdm sample`: draw samples (and optionally whole trajectories) from a trained model. */
import { constants } from 'node:buffer';
import { Command, InvalidArgumentError, Option } from '@commander-js/extra-typings';
import { type DataMatrix, FASHION_MNIST_CLASSES } from '@nfdm/datasets';
import type { AnyModelConfig } from '@nfdm/models';
import { classSamplesSvg } from '../class-plots.js';
import type { Context } from '../context.js';
import { bridgeEndData } from '../data.js';
import { CliError, UsageError } from '../errors.js';
import { outputFormat, prepareOutputFile, writeSamples, writeTrajectories } from '../files.js';
import { shapeText } from '../image-sets.js';
import { BACKENDS, examples, need, nonNegativeInt, nonNegativeNumber, positiveInt, positiveNumber } from '../options.js';
import { fmt, Output } from '../output.js';
import { bridgePairsSvg, samplesSvg, writePlot } from '../plotting.js';
import {
  checkDim,
  type Drawn,
  type DrawOptions,
  divergedMessage,
  drawBridge,
  drawSamples,
  locatedCapabilities,
  locatedConfig,
  locateModel,
  type ModelLocation,
  modelCondition,
  type OpenedModel,
  openModel,
  readMeta,
  SAMPLE_CHUNK,
  type SamplerChoice,
  samplerChoice,
  samplerForModel,
  startBackend,
  withDefaultMode,
} from '../runtime.js';
import { numberList, sampleVector } from '../sample-conditions.js';

const FORMATS = ['csv', 'npy', 'json', 'png'] as const;
/** Trajectories are arrays only. */
const TRAJECTORY_FORMATS = ['csv', 'npy', 'json'] as const;

/** Samples drawn without --allow-large. */
export const MAX_SAMPLES = 1_000_000;

/** Bytes as `12 MB`, `3.4 GB`. */
function bytes(b: number): string {
  return b >= 1e9 ? `${fmt(b / 1e9, 3)} GB` : `${fmt(b / 1e6, 3)} MB`;
}

/** --n over the cap needs --allow-large: a typo (1000000000) should not run for days. */
function checkSampleCount(n: number, allowLarge: boolean): void {
  if (n <= MAX_SAMPLES || allowLarge) return;
  throw new UsageError(
    `--n ${n} is over ${MAX_SAMPLES.toLocaleString('en-US')} samples (each batch of ${SAMPLE_CHUNK} runs the whole solver; ` +
      `${Math.ceil(n / SAMPLE_CHUNK)} batches here); pass --allow-large if you mean it — progress and an ETA show on a terminal or with --verbose`,
  );
}

/** What fits in one process: samples (and trajectories) are held in float32 arrays. */
function checkSampleMemory(n: number, dim: number, trajectory: boolean, steps: number): void {
  const need = 4 * n * dim * (trajectory ? Math.max(steps, 100) + 1 : 1);
  if (need > constants.MAX_LENGTH) {
    throw new CliError(
      `--n ${n} × ${dim} values${trajectory ? ' with trajectories' : ''} need about ${bytes(need)} in memory, more than one array can hold (${bytes(constants.MAX_LENGTH)}); use a smaller --n`,
    );
  }
}

/** "100 steps per batch, 3700 function evaluations over 37 batches" — the NFE said per batch and in total. */
function evaluations(drawn: { stats: { nfe: number }; batches: number }): string {
  if (drawn.batches <= 1) return `${drawn.stats.nfe} function evaluations`;
  return `${drawn.stats.nfe} function evaluations in total over ${drawn.batches} batches of ≤ ${SAMPLE_CHUNK} samples`;
}

export function sampleCommand(ctx: Context) {
  return new Command('sample')
    .description(
      'draw samples from a trained model (in data units; bridges: transport source data to targets) and write them to a .csv, .npy or .json file, or a PNG grid of images',
    )
    .option('--model <dir>', 'a training output directory or a model directory (required)')
    .option('--n <N>', 'number of samples (required)', positiveInt)
    .option(
      '--out <file>',
      "output file: .csv (header: the training CSV's column names, else x0,x1,…), .npy (float32 [n, D]), .json, or .png (image models: a grid of up to 100 samples; image bridges: up to 50 sources and their results side by side) (required)",
    )
    .option(
      '--source <spec>',
      "bridges: transport this data instead of the model's own source data (its held-out images): a toy set (moons, moons@-3,0) or an image set of the model's image shape (fashion-mnist-14:label=5, DIR@14x14)",
    )
    .option(
      '--solver <name>',
      'euler_maruyama (default for --sde), stochastic_heun, sra1; dopri5 (default for --ode), tsit5, bosh3, heun, midpoint, rk4, euler, …; ddim: frozen-prediction ODE steps of diffusion models (exact for a frozen x̂, stable where σ falls fast)',
    )
    .option('--ode', 'integrate the probability-flow ODE (deterministic given the seed; the default for nfdm-ot models)')
    .option('--sde', 'integrate the reverse SDE (the default, except for nfdm-ot models)')
    .option('--steps <K>', 'fixed solver steps (default 100; ODE solvers with an error estimate run adaptively without it)', positiveInt)
    .option('--rtol <tol>', 'adaptive ODE: relative tolerance (default 1e-4)', positiveNumber)
    .option('--atol <tol>', 'adaptive ODE: absolute tolerance (default 1e-4)', positiveNumber)
    .option('--seed <S>', 'seed of the prior draws and the Brownian path', nonNegativeInt, 0)
    .option('--label <k>', 'conditional models (trained with --condition label): the class of every sample', nonNegativeInt)
    .option(
      '--labels <k,k,…|all>',
      'conditional models: the classes of the samples, repeated in turn (0,1,2 → 0,1,2,0,1,2,…; all: every class); with --out .png a grid with one row per class (2-D models: a scatter coloured by label)',
      labelList,
    )
    .option(
      '--condition <v1,v2,…>',
      'vector-conditional models (trained with --condition-column): the condition of every sample, one value per condition column, in data units',
      numberList,
    )
    .option(
      '--guidance <w>',
      'conditional models: classifier-free guidance weight w ≥ 0 (default 0, the conditional model; needs --label, --labels or --condition)',
      nonNegativeNumber,
    )
    .option('--trajectories <file>', 'also write every solver step: .npy [T, n, D] (+ .times.npy), .csv (t, particle, x…) or .json')
    .option('--force', 'overwrite existing output files')
    .option('--keep-nonfinite', 'write samples that diverged (NaN/Inf) as NaN rows (.npy; null in .json) instead of dropping them')
    .option('--allow-large', `allow --n above ${MAX_SAMPLES.toLocaleString('en-US')} (all samples are held in memory)`)
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(BACKENDS).default('auto' as const))
    .option('--threads <n>', 'threads of the native kernels (default NFDM_NATIVE_THREADS or 1)', positiveInt)
    .option('--json', 'print a summary as JSON on stdout')
    .option('--verbose', 'notes on stderr even when it is not a terminal')
    .addHelpText(
      'after',
      examples([
        'nfdm sample --model runs/nfdm-8g --n 5000 --out samples.csv',
        'nfdm sample --model runs/nfdm-8g --n 5000 --ode --solver dopri5 --rtol 1e-5 --atol 1e-5 --out samples.npy',
        'nfdm sample --model runs/nfdm-8g --n 200 --steps 50 --seed 3 --out s.json --trajectories paths.npy',
        'nfdm sample --model runs/nfdm-8g-labels --n 1000 --label 3 --guidance 1 --out mode3.csv   # conditional model',
        'nfdm sample --model runs/bridge-to-mode --n 500 --label 2 --guidance 1 --out to-mode2.csv   # conditional bridge',
        'nfdm sample --model runs/houses --n 1000 --condition 3,25 --guidance 1 --out rooms3-age25.csv   # --condition-column model',
        'nfdm sample --model runs/sandals-to-sneakers --n 16 --out pairs.png              # image bridge: sources | results',
        'nfdm sample --model runs/sandals-to-sneakers --source fashion-mnist-14:label=8 --n 16 --out bags.png',
      ]),
    )
    .action(async (opts) => {
      await runSample(ctx, opts);
    });
}

type SampleOptions = ReturnType<ReturnType<typeof sampleCommand>['opts']>;

/** A checked `nfdm sample` request: every flag and output file settled before the backend starts. */
interface SampleRequest {
  n: number;
  file: string;
  format: (typeof FORMATS)[number];
  trajFormat?: (typeof TRAJECTORY_FORMATS)[number];
  location: ModelLocation;
  asked: SamplerChoice;
  dim: number;
  /** Bridges: the sources given with --source. */
  given?: DataMatrix;
  /** Conditional models: the label of every sample (absent: unconditional samples), and the guidance weight. */
  labels?: number[];
  guidance?: number;
  /** Vector-conditional models: the standardised condition of every sample (--condition). */
  vector?: number[];
}

/** `--labels 0,1,2`: comma-separated class labels, or `all` (every class of the model). */
function labelList(value: string): number[] | 'all' {
  if (value.trim().toLowerCase() === 'all') return 'all';
  const parts = value.split(',').map((p) => p.trim());
  if (parts.some((p) => !/^\d+$/.test(p))) throw new InvalidArgumentError('Expected comma-separated class labels, e.g. 0,1,2.');
  return parts.map(Number);
}

/**
 * The labels of n samples from --label / --labels (repeated in turn), checked against the
 * model's condition; --guidance needs them. Unconditional models refuse all three.
 */
function sampleLabels(opts: SampleOptions, config: AnyModelConfig, n: number): number[] | undefined {
  const asked = opts.label !== undefined ? [opts.label] : opts.labels;
  if (opts.label !== undefined && opts.labels !== undefined) throw new UsageError('give --label or --labels, not both');
  const flag = opts.label !== undefined ? '--label' : opts.labels !== undefined ? '--labels' : '--guidance';
  const condition = modelCondition(config);
  if (condition?.kind === 'vector' && !asked) {
    if (opts.condition === undefined && opts.guidance !== undefined && opts.guidance !== 0)
      throw new UsageError('--guidance needs the condition to guide towards: --condition v1,v2,…');
    return undefined;
  }
  if (!condition && (asked || opts.guidance !== undefined))
    throw new UsageError(`${flag} needs a conditional model (trained with --condition label); this model is unconditional`);
  if (condition && condition.kind !== 'label' && (asked || opts.guidance !== undefined))
    throw new UsageError(
      `${flag} applies to models conditioned on class labels; this model is conditioned on vectors of ${condition.dim} values`,
    );
  if (!asked) {
    if (opts.guidance !== undefined && opts.guidance !== 0)
      throw new UsageError('--guidance needs the classes to guide towards: --label K or --labels K,K,…');
    return undefined;
  }
  const classes = (condition as { classes: number }).classes;
  const listed = asked === 'all' ? Array.from({ length: classes }, (_, k) => k) : asked;
  const bad = listed.find((k) => k >= classes);
  if (bad !== undefined) throw new UsageError(`${flag}: ${bad} is not a class of this model (classes 0…${classes - 1})`);
  return Array.from({ length: n }, (_, i) => listed[i % listed.length]);
}

function checkSampleRequest(opts: SampleOptions): SampleRequest {
  const modelDir = need(opts.model, '--model <dir>');
  const n = need(opts.n, '--n <N>');
  const file = need(opts.out, '--out <file>');
  const format = outputFormat(file, FORMATS);
  checkSampleCount(n, Boolean(opts.allowLarge));
  const trajFormat = opts.trajectories ? outputFormat(opts.trajectories, TRAJECTORY_FORMATS, '--trajectories') : undefined;
  if (opts.keepNonfinite && (format === 'csv' || trajFormat === 'csv')) {
    throw new UsageError('--keep-nonfinite writes NaN rows, which CSV files cannot hold; write .npy (NaN) or .json (null)');
  }
  if (opts.keepNonfinite && format === 'png')
    throw new UsageError('--keep-nonfinite writes NaN rows, which a PNG grid cannot show; write .npy or .json');
  const location = locateModel(modelDir);
  const config = locatedConfig(location);
  const labelled = (opts.label !== undefined || opts.labels !== undefined) && modelCondition(config)?.kind === 'label';
  if (format === 'png' && !readMeta(location)?.data?.imageShape && !(labelled && config.dim === 2))
    throw new UsageError(
      `--out ${file}: a PNG grid needs an image model (trained on image data), or a 2-D label-conditional model with --labels; write .csv, .npy or .json`,
    );
  const capabilities = locatedCapabilities(location);
  const asked = samplerChoice(withDefaultMode(opts, capabilities));
  checkSampleMemory(n, config.dim, Boolean(opts.trajectories), asked.steps ?? 0);
  if (opts.source !== undefined && !capabilities.transport)
    throw new UsageError(
      '--source applies to bridge models (nfbm, fixed-bridge), which transport source data; this model samples from its prior',
    );
  const given = opts.source !== undefined ? givenSources(opts.source, location, config.dim, n, opts.seed) : undefined;
  const vector = sampleVector(opts, config, readMeta(location));
  const labels = sampleLabels(opts, config, n);
  prepareOutputFile(file, opts.force);
  if (opts.trajectories) {
    prepareOutputFile(opts.trajectories, opts.force, '--trajectories');
    if (trajFormat === 'npy') prepareOutputFile(opts.trajectories.replace(/\.npy$/i, '.times.npy'), opts.force, '--trajectories');
  }
  return { n, file, format, trajFormat, location, asked, dim: config.dim, given, labels, guidance: opts.guidance, vector };
}

/** `--source SPEC`: n points of SPEC to transport, which must fit the bridge (dimension, image shape). */
function givenSources(spec: string, location: ModelLocation, dim: number, n: number, seed: number): DataMatrix {
  const { data, imageShape } = bridgeEndData(spec, { n, seed: seed + 2_000_003 });
  const trained = readMeta(location)?.data?.imageShape;
  if (trained && imageShape && trained.join('x') !== imageShape.join('x'))
    throw new CliError(`--source ${spec} holds ${shapeText(imageShape)} images, the bridge transports ${shapeText(trained)} images`);
  checkDim(data, { dim }, `--source ${spec}`);
  return data;
}

/** Samples of a generative model; for a bridge, its transported sources (given, or of its data) with the sources kept. */
function draw(
  opened: OpenedModel,
  req: SampleRequest,
  choice: SamplerChoice,
  seed: number,
  trajectory: boolean,
  options: DrawOptions,
): { drawn: Drawn; sources?: Float32Array } {
  if (!opened.capabilities.transport) return { drawn: drawSamples(opened, req.n, choice, seed, trajectory, options) };
  return drawBridge(opened, req.n, choice, seed, trajectory, req.given, options);
}

/** The classes asked for with --label / --labels (all: every class), for messages and the summary. */
function askedLabels(opts: SampleOptions, req: SampleRequest): number[] | undefined {
  if (!req.labels) return undefined;
  if (opts.label !== undefined) return [opts.label];
  return opts.labels === 'all' ? [...new Set(req.labels)] : opts.labels;
}

/** The labels of the samples kept after the diverged ones (indices among the asked) were dropped. */
function keptLabels(labels: number[], diverged: readonly number[]): number[] {
  if (diverged.length === 0) return labels;
  const bad = new Set(diverged);
  return labels.filter((_, i) => !bad.has(i));
}

async function runSample(ctx: Context, opts: SampleOptions): Promise<void> {
  const out = new Output(ctx.io, Boolean(opts.json), Boolean(opts.verbose));
  const req = checkSampleRequest(opts);
  const { n, file } = req;
  await startBackend(opts.backend, out, opts.threads);
  const opened = openModel(req.location);
  const choice = samplerForModel(opened, req.asked, opts.steps !== undefined);
  const verb = opened.capabilities.transport ? 'transporting' : 'sampling';
  const given = opts.label !== undefined ? `label ${opts.label}` : `labels ${askedLabels(opts, req)?.join(',')}`;
  const guided = req.labels
    ? `, ${given}, guidance ${req.guidance ?? 0}`
    : req.vector
      ? `, condition ${opts.condition?.join(',')}, guidance ${req.guidance ?? 0}`
      : '';
  out.note(`${verb} ${n} × ${req.dim} from ${opened.path} (${choice.label}, seed ${opts.seed}${guided})`);
  const started = performance.now();
  const progress = out.progress('sampling', n, 'samples');
  const policy = opts.keepNonfinite ? 'keep' : 'drop';
  const conditioning = { labels: req.labels, vector: req.vector, guidance: req.guidance };
  const { drawn, sources } = draw(opened, req, choice, opts.seed, Boolean(opts.trajectories), {
    diverged: policy,
    progress,
    ...conditioning,
  });
  progress.finish();
  if (sources && drawn.asked < n) out.warn(`transported ${drawn.asked} sources: all the data there is (of ${n} asked)`);
  const seconds = (performance.now() - started) / 1000;
  if (drawn.diverged.length > 0) {
    const hint = policy === 'drop' ? '; --keep-nonfinite writes them as NaN rows instead' : '';
    out.warn(`${divergedMessage(drawn.diverged.length, drawn.asked, choice.label, policy)}${hint}`);
  }
  const meta = {
    model: opened.path,
    mode: choice.mode,
    solver: choice.solver,
    steps: choice.steps ?? null,
    adaptive: choice.adaptive ?? null,
    seed: opts.seed,
    asked: drawn.asked,
    diverged: { count: drawn.diverged.length, policy, rows: drawn.diverged.slice(0, 100) },
    ...(req.labels ? { labels: askedLabels(opts, req), guidance: req.guidance ?? 0 } : {}),
    ...(req.vector ? { condition: opts.condition, guidance: req.guidance ?? 0 } : {}),
  };
  const names = opened.meta?.data?.columns;
  const matrix = { data: drawn.samples, n: drawn.n, dim: drawn.dim };
  if (req.format === 'png' && sources) {
    const from = { data: sources, n: drawn.n, dim: drawn.dim };
    writePlot(file, 'png', bridgePairsSvg(from, matrix, opened.meta?.data, `${Math.min(drawn.n, 50)} sources → results (${choice.label})`));
  } else if (req.format === 'png' && req.labels) {
    const kept = keptLabels(req.labels, drawn.diverged);
    const title = `${drawn.n} samples by class (guidance ${req.guidance ?? 0}; ${choice.label})`;
    const names = opened.meta?.data?.spec.startsWith('fashion-mnist') ? FASHION_MNIST_CLASSES : undefined;
    writePlot(file, 'png', classSamplesSvg(matrix, kept, opened.meta?.data, title, names) as string);
  } else if (req.format === 'png')
    writePlot(file, 'png', samplesSvg(matrix, undefined, opened.meta?.data, `${drawn.n} samples (${choice.label})`));
  else writeSamples(file, req.format, matrix, meta, names);
  const files = [file];
  if (opts.trajectories && req.trajFormat && drawn.trajectory && drawn.times) {
    files.push(...writeTrajectories(opts.trajectories, req.trajFormat, drawn.trajectory, drawn.times, drawn.n, drawn.dim, meta, names));
  }
  opened.model.dispose();
  out.human(
    `wrote ${drawn.n} ${sources ? 'transported sources' : 'samples'} × ${drawn.dim} to ${file} (${choice.label}; ${evaluations(drawn)}; ${fmt(seconds, 3)} s)` +
      (files.length > 1 ? `\n  trajectories (${drawn.times?.length} times): ${files.slice(1).join(', ')}` : ''),
  );
  out.result({
    out: file,
    files,
    n: drawn.n,
    dim: drawn.dim,
    ...meta,
    times: drawn.times?.length ?? null,
    stats: drawn.stats,
    batches: drawn.batches,
    seconds,
  });
}
