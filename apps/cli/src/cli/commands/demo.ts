/**
 * `nfdm demo`: train NFDM on 8gaussians with the embedded backend, then write samples.png,
 * trajectories.png, density.png and metrics.json (NELBO and exact NLL in nats next to the
 * entropy floor) into --out. Defaults are sized to finish in about two minutes on two cores.
 */
import { join, resolve } from 'node:path';
import { Command, Option } from '@commander-js/extra-typings';
import { type DataMatrix, sampleToy, TOY_DATASETS } from '@nfdm/datasets';
import { panelsSvg } from '../../plot/compose.js';
import type { Bounds } from '../../plot/svg.js';
import type { Context } from '../context.js';
import { HELDOUT_SEED, TEST_SEED } from '../data.js';
import { EXIT_INTERRUPTED } from '../errors.js';
import { writeJson } from '../files.js';
import { type LikelihoodMetric, nelboMetric, nllMetric } from '../metrics.js';
import { BACKENDS, examples, nonNegativeInt, positiveInt, positiveNumber, widths } from '../options.js';
import { fmt, Output } from '../output.js';
import { densitySvg, forwardTrajectories, samplesSvg, squareBounds, trajectoriesSvg, writePlot } from '../plotting.js';
import { drawSamples, logProbChoice, type OpenedModel, openedModel, readMeta, samplerChoice } from '../runtime.js';
import { describeRun, runTraining, type TrainOutcome } from '../training.js';

export const DEMO_DEFAULTS = { steps: 2500, hidden: [64, 64, 64], batch: 512, lr: 5e-3, clip: 1, ema: 0.995, points: 1000, grid: 60 };
const DATASET = '8gaussians';
const FILES = ['samples.png', 'trajectories.png', 'density.png', 'metrics.json'];

export function demoCommand(ctx: Context) {
  return new Command('demo')
    .description(`train NFDM on ${DATASET} and write samples.png, trajectories.png, density.png and metrics.json`)
    .option('--out <dir>', 'output directory', 'demo-out')
    .option('--steps <N>', `training updates`, positiveInt, DEMO_DEFAULTS.steps)
    .option('--hidden <widths>', 'hidden widths of every network', widths, DEMO_DEFAULTS.hidden)
    .option('--batch <B>', 'batch size', positiveInt, DEMO_DEFAULTS.batch)
    .option('--lr <rate>', 'peak learning rate, cosine decay', positiveNumber, DEMO_DEFAULTS.lr)
    .option('--clip <norm>', 'gradient clipping by global norm', positiveNumber, DEMO_DEFAULTS.clip)
    .option('--points <N>', 'test points for the NELBO and the exact NLL', positiveInt, DEMO_DEFAULTS.points)
    .option('--grid <N>', 'density grid cells per side', positiveInt, DEMO_DEFAULTS.grid)
    .option('--seed <S>', 'seed', nonNegativeInt, 0)
    .option('--force', 'replace an earlier demo in --out')
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(BACKENDS).default('auto' as const))
    .option('--json', 'print metrics.json on stdout too')
    .option('--verbose', 'notes on stderr even when it is not a terminal')
    .addHelpText(
      'after',
      examples([
        'nfdm demo',
        'nfdm demo --out /tmp/demo --force',
        'nfdm demo --steps 200 --hidden 32,32 --points 200 --grid 30   # a quick look',
      ]),
    )
    .action(async (opts) => {
      const out = new Output(ctx.io, Boolean(opts.json), Boolean(opts.verbose));
      const started = performance.now();
      const outcome = await trainDemo(opts, out);
      const trainSeconds = (performance.now() - started) / 1000;
      if (outcome.interrupted) {
        out.human(describeRun(outcome.summary, opts.out));
        ctx.exitCode = EXIT_INTERRUPTED;
        outcome.model.dispose();
        return;
      }
      const dir = resolve(opts.out);
      const loc = { modelDir: outcome.modelDir, runDir: dir };
      const opened = openedModel(outcome.model, outcome.summary.modelConfig, readMeta(loc), loc, outcome.modelDir);
      const timings: Record<string, number> = { train: trainSeconds };
      const time = <T>(key: string, f: () => T): T => {
        const t = performance.now();
        const r = f();
        timings[key] = (performance.now() - t) / 1000;
        return r;
      };
      const test = sampleToy(DATASET, opts.points, TEST_SEED + opts.seed);
      const likelihoods = measureLikelihoods(opened, test, opts.seed, out, time);
      const data = writeSamplesPlot(opened, dir, opts, out, time);
      const bounds = squareBounds(data.data, 0.15);
      writeTrajectoriesPlot(opened, dir, data, opts.seed, out, time);
      writeDensityPlot(opened, dir, bounds, opts.grid, out, time);
      outcome.model.dispose();
      const total = (performance.now() - started) / 1000;
      const metrics = demoMetrics(outcome, likelihoods, opts, dir, { ...timings, total });
      writeJson(join(dir, 'metrics.json'), metrics);
      out.human(describeDemo(outcome, likelihoods, opts, dir, test.n, trainSeconds, total));
      out.result(metrics);
    });
}

interface DemoOptions {
  out: string;
  steps: number;
  hidden: number[];
  batch: number;
  lr: number;
  clip: number;
  points: number;
  grid: number;
  seed: number;
  force?: boolean;
  backend: (typeof BACKENDS)[number];
}

type Timer = <T>(key: string, f: () => T) => T;

interface Likelihoods {
  nelbo: LikelihoodMetric;
  nll: LikelihoodMetric & { nfe: number };
  solver: string;
}

const NLL_SOLVER = logProbChoice({ solver: 'dopri5', rtol: 1e-4, atol: 1e-4 }, 1e-4);

/** Train the demo's NFDM into --out (cosine schedule with warm-up, EMA, no evaluations or checkpoints). */
function trainDemo(opts: DemoOptions, out: Output): Promise<TrainOutcome> {
  return runTraining(
    {
      out: opts.out,
      cli: {
        model: 'nfdm',
        data: DATASET,
        steps: opts.steps,
        batch: opts.batch,
        seed: opts.seed,
        hidden: opts.hidden,
        lr: opts.lr,
        schedule: 'cosine',
        warmup: Math.min(100, Math.floor(opts.steps / 20)),
        ema: DEMO_DEFAULTS.ema,
        clip: opts.clip,
        evalEvery: 0,
        checkpointEvery: 0,
        logEvery: 10,
      },
      force: opts.force,
      backend: opts.backend,
      guardFiles: FILES,
    },
    out,
  );
}

/** The NELBO (10 draws) and the exact NLL (adaptive dopri5) of the test points. */
function measureLikelihoods(opened: OpenedModel, test: DataMatrix, seed: number, out: Output, time: Timer): Likelihoods {
  out.note(`NELBO of ${test.n} test points…`);
  const nelbo = time('nelbo', () => nelboMetric(opened, test, { draws: 10, seed, bitsOffset: 0 }));
  out.note(`exact NLL of ${test.n} test points (${NLL_SOLVER.label})…`);
  const progress = out.progress('exact NLL', test.n, 'points');
  const nll = time('nll', () => nllMetric(opened, test, { ...NLL_SOLVER, bitsOffset: 0, progress }));
  progress.finish();
  return { nelbo, nll, solver: NLL_SOLVER.label };
}

/** samples.png: reverse-SDE samples over the data; returns the data drawn for the comparison. */
function writeSamplesPlot(opened: OpenedModel, dir: string, opts: DemoOptions, out: Output, time: Timer): DataMatrix {
  out.note('samples.png…');
  const sampler = samplerChoice({ sde: true, steps: 100 });
  const nShow = Math.max(opts.points, 1000);
  const sampling = out.progress('sampling', nShow, 'samples');
  const drawn = time('samples', () => drawSamples(opened, nShow, sampler, opts.seed, false, { progress: sampling }));
  sampling.finish();
  const data = sampleToy(DATASET, nShow, HELDOUT_SEED + 1);
  const title = `NFDM samples (reverse SDE, 100 steps) over ${DATASET}`;
  const svg = samplesSvg({ data: drawn.samples, n: drawn.n, dim: 2 }, data, undefined, title, squareBounds(data.data, 0.15));
  writePlot(join(dir, 'samples.png'), 'png', svg);
  return data;
}

/** trajectories.png: generative ODE paths above the learned forward paths of 150 data points. */
function writeTrajectoriesPlot(opened: OpenedModel, dir: string, data: DataMatrix, seed: number, out: Output, time: Timer): void {
  out.note('trajectories.png…');
  time('trajectories', () => {
    const ode = samplerChoice({ ode: true, solver: 'rk4', steps: 50 });
    const gen = drawSamples(opened, 150, ode, seed + 1, true);
    const fwd = forwardTrajectories(opened, { data: data.data.subarray(0, 300), n: 150, dim: 2 }, 60, seed);
    const svg = panelsSvg(
      [
        trajectoriesSvg(gen.trajectory as Float32Array, gen.times as number[], gen.n, 2, 'generative ODE, t 1 → 0'),
        trajectoriesSvg(fwd.paths, fwd.times, 150, 2, 'learned forward, t 0 → 1'),
      ],
      { direction: 'column', gap: 12 },
    );
    writePlot(join(dir, 'trajectories.png'), 'png', svg);
  });
}

/** density.png: the exact log-density on a grid × grid lattice over `bounds`. */
function writeDensityPlot(opened: OpenedModel, dir: string, bounds: Bounds, grid: number, out: Output, time: Timer): void {
  out.note(`density.png: exact log-density on a ${grid}×${grid} grid…`);
  const progress = out.progress('density', grid * grid, 'grid points');
  const density = time('density', () =>
    densitySvg(opened, bounds, grid, NLL_SOLVER, { title: `NFDM density on ${DATASET} (exact, ${NLL_SOLVER.solver})`, progress }),
  );
  progress.finish();
  writePlot(join(dir, 'density.png'), 'png', density.svg);
}

/** metrics.json of the demo. */
function demoMetrics(outcome: TrainOutcome, l: Likelihoods, opts: DemoOptions, dir: string, seconds: Record<string, number>) {
  const floor = TOY_DATASETS[DATASET].entropy;
  return {
    dataset: DATASET,
    units: 'nats per sample',
    entropyFloor: floor,
    nelbo: { ...l.nelbo, draws: 10 },
    nll: { ...l.nll, solver: l.solver },
    gapToFloor: { nelbo: l.nelbo.mean - floor, nll: l.nll.mean - floor },
    training: {
      model: 'nfdm',
      steps: outcome.summary.step,
      batch: opts.batch,
      hidden: opts.hidden,
      lr: opts.lr,
      ema: DEMO_DEFAULTS.ema,
      clip: opts.clip,
      finalLoss: outcome.summary.loss ?? null,
      msPerStep: outcome.summary.msPerStep ?? null,
      backend: outcome.summary.backend,
    },
    seconds,
    files: Object.fromEntries(FILES.map((f) => [f, join(dir, f)])),
    model: outcome.modelDir,
  };
}

/** Human lines about a finished demo. */
function describeDemo(
  outcome: TrainOutcome,
  l: Likelihoods,
  opts: DemoOptions,
  dir: string,
  points: number,
  trainSeconds: number,
  total: number,
): string {
  const floor = TOY_DATASETS[DATASET].entropy;
  return [
    `NFDM on ${DATASET}: ${outcome.summary.step} steps in ${fmt(trainSeconds, 3)} s on ${outcome.summary.backend}; whole demo ${fmt(total, 3)} s`,
    `  exact NLL ${l.nll.mean.toFixed(3)} ± ${l.nll.stderr.toFixed(3)} nats, NELBO ${l.nelbo.mean.toFixed(3)} ± ${l.nelbo.stderr.toFixed(3)} nats (entropy floor ${floor.toFixed(3)}; ${points} test points)`,
    ...FILES.map((f) => `  ${join(dir, f)}`),
    `  the model: ${outcome.modelDir} (try: nfdm sample --model ${opts.out} --n 1000 --out samples.csv)`,
  ].join('\n');
}
