/**
 * Experiment 1, density estimation on 2-D toys: NFDM, NDM, VP, sub-VP, FM-OT, CFM, OT-CFM and
 * DiffFlow (or the budget's subset), each trained on every data set and seed; exact test NLL
 * (probability-flow ODE; DiffFlow its PF-ODE), NELBO (DiffFlow: its NLL bound; the
 * flow-matching models have none: n/a) and the sliced-W distance of samples to test points,
 * next to the entropy floors.
 */
import { join } from 'node:path';
import { type Bounds, panelsSvg } from '@nfdm/cli';
import {
  drawSamples,
  logProbChoice,
  nelboMetric,
  nllMetric,
  presetCapabilities,
  type SamplerChoice,
  sampleMetrics,
  samplerChoice,
  samplesSvg,
  squareBounds,
  writeJson,
  writePlot,
} from '@nfdm/cli/lib';
import { type DataMatrix, sampleToy, TOY_DATASETS, type ToyName } from '@nfdm/datasets';
import { DENSITY_MODELS, type DensityBudget, type DensityModel, ownChain, selectModels } from './budgets.js';
import {
  attempt,
  type ExperimentResultBase,
  MODEL_LABELS,
  mdTable,
  meanSe,
  overSeeds,
  pm,
  type RunCost,
  resultBase,
  runSettings,
  type Stat,
  type SuiteContext,
  trainAndMeasure,
} from './common.js';

export interface DensityEntry extends RunCost {
  dataset: ToyName;
  model: DensityModel;
  seed: number;
  nll: { mean: number; stderr: number; nfe: number } | null;
  nelbo: { mean: number; stderr: number } | null;
  swd: number | null;
  errors: string[];
}

export interface DensitySummary {
  dataset: ToyName;
  model: DensityModel;
  nll: Stat | null;
  nelbo: Stat | null;
  /** Sliced W2 over sample draws of each seed; s.e. over seeds (one seed: none). */
  swd: Stat | null;
}

export interface DensityResult extends ExperimentResultBase {
  experiment: 'density';
  datasets: ToyName[];
  models: DensityModel[];
  /** Data sets DiffFlow was trained on. */
  diffflowDatasets: ToyName[];
  seeds: number;
  floors: Record<string, number>;
  nllSolver: string;
  sampler: { diffusion: string; diffflow: string; ode?: string };
  entries: DensityEntry[];
  summary: DensitySummary[];
}

const TEST_SEED = 7_000_001;

/**
 * The samplers of the density experiment: the reverse SDE, the ODE of the models without one
 * (flow matching), and the own chain of DiffFlow (models with `solvers: false`).
 */
interface DensitySamplers {
  nll: ReturnType<typeof logProbChoice>;
  sde: SamplerChoice;
  ode: SamplerChoice;
  chain: SamplerChoice;
}

/** Whether a model has a variational bound to report in the NELBO table (the NELBO, or DiffFlow's NLL bound). */
export function hasNelbo(model: DensityModel): boolean {
  const caps = presetCapabilities(model);
  return caps.nelbo || caps.bound;
}

/** The sampler of one model: its own chain, the reverse SDE, or (no SDE) the ODE. */
function samplerOf(samplers: DensitySamplers, model: DensityModel): SamplerChoice {
  if (ownChain(model)) return samplers.chain;
  return presetCapabilities(model).sde ? samplers.sde : samplers.ode;
}

function densitySamplers(b: DensityBudget): DensitySamplers {
  return {
    nll: logProbChoice({ solver: 'dopri5', rtol: b.nllTol, atol: b.nllTol }, b.nllTol),
    sde: samplerChoice({ sde: true, steps: b.sampleSteps }),
    ode: samplerChoice({ ode: true, solver: 'rk4', steps: b.sampleSteps }),
    // DiffFlow samples with its own discrete chain on its training grid (steps undefined).
    chain: { mode: 'sde', solver: 'euler_maruyama', label: 'DiffFlow backward chain (its own grid)' },
  };
}

/** Train one model on one data set and seed; its NLL, NELBO and sliced W2 against the test points, and its sample panel (seed 0). */
async function densityRun(
  ctx: SuiteContext,
  samplers: DensitySamplers,
  test: DataMatrix,
  bounds: Bounds,
  run: { dataset: ToyName; model: DensityModel; seed: number },
): Promise<{ entry: DensityEntry; panel?: string }> {
  const b = ctx.budget.density;
  const { dataset, model, seed } = run;
  const train = ownChain(model) ? b.diffflow : b.train;
  const rel = join('runs', 'density', dataset, model, `seed-${seed}`);
  ctx.note(`[density] ${dataset} ${MODEL_LABELS[model]} seed ${seed}: training ${train.steps} steps…`);
  const evaluation = { nll: samplers.nll, sampler: samplerOf(samplers, model), testPoints: test.n, nelboDraws: b.nelboDraws };
  const { panel, ...measured } = await trainAndMeasure(
    ctx,
    rel,
    runSettings(train, { model, data: dataset, seed }),
    evaluation,
    (opened) => {
      const errors: string[] = [];
      const nll = attempt('nll', errors, () => {
        const r = nllMetric(opened, test, { ...samplers.nll, bitsOffset: 0 });
        return { mean: r.mean, stderr: r.stderr, nfe: r.nfe };
      });
      const nelbo = !hasNelbo(model)
        ? null
        : attempt('nelbo', errors, () => {
            const r = nelboMetric(opened, test, { draws: b.nelboDraws, seed, bitsOffset: 0 });
            return { mean: r.mean, stderr: r.stderr };
          });
      const drawn = attempt('samples', errors, () => drawSamples(opened, test.n, samplerOf(samplers, model), seed + 11));
      const swd = drawn
        ? (attempt('swd', errors, () => sampleMetrics({ data: drawn.samples, n: drawn.n, dim: 2 }, test, ['swd'], seed).swd ?? null) ??
          null)
        : null;
      const panel =
        seed === 0 && drawn
          ? samplesSvg({ data: drawn.samples, n: drawn.n, dim: 2 }, test, undefined, `${MODEL_LABELS[model]} · ${dataset}`, bounds)
          : undefined;
      return { nll, nelbo, swd, errors, panel };
    },
    `[density] ${dataset} ${MODEL_LABELS[model]} seed ${seed}: NLL, NELBO and samples of ${test.n} points…`,
  );
  const entry: DensityEntry = { dataset, model, seed, ...measured };
  return { entry, panel };
}

/** Every model and seed on one data set: the entries and the row of sample panels. */
async function densityDataset(
  ctx: SuiteContext,
  samplers: DensitySamplers,
  dataset: ToyName,
  models: DensityModel[],
): Promise<{ entries: DensityEntry[]; panels: string[] }> {
  const b = ctx.budget.density;
  const test = sampleToy(dataset, b.testPoints, TEST_SEED);
  const bounds = squareBounds(test.data, 0.1);
  const entries: DensityEntry[] = [];
  const panels: string[] = [];
  for (const model of models) {
    if (ownChain(model) && b.diffflowDatasets && !b.diffflowDatasets.includes(dataset)) continue;
    for (let seed = 0; seed < b.seeds; seed++) {
      const { entry, panel } = await densityRun(ctx, samplers, test, bounds, { dataset, model, seed });
      if (panel) panels.push(panel);
      entries.push(entry);
    }
  }
  return { entries, panels };
}

/** Mean ± s.e. per data set and model. */
function densitySummary(datasets: ToyName[], models: DensityModel[], entries: DensityEntry[]): DensitySummary[] {
  const summary: DensitySummary[] = [];
  for (const dataset of datasets) {
    for (const model of models) {
      const es = entries.filter((e) => e.dataset === dataset && e.model === model);
      const nll = overSeeds(
        es.map((e) => e.nll ?? { mean: Number.NaN, stderr: Number.NaN }),
        'points',
      );
      const nelbo = overSeeds(
        es.map((e) => e.nelbo ?? { mean: Number.NaN, stderr: Number.NaN }),
        'points',
      );
      const sw = meanSe(es.map((e) => e.swd ?? Number.NaN));
      const swd: Stat | null = Number.isFinite(sw.mean)
        ? { mean: sw.mean, se: es.length > 1 ? sw.stderr : Number.NaN, n: es.length, over: 'seeds' }
        : null;
      summary.push({ dataset, model, nll, nelbo, swd });
    }
  }
  return summary;
}

/** The figure of sample panels, one row per data set (none without panels). */
function writeDensityFigure(ctx: SuiteContext, rows: string[]): string[] {
  if (rows.length === 0) return [];
  const fig = 'figures/density-samples.png';
  writePlot(join(ctx.out, fig), 'png', panelsSvg(rows, { direction: 'column', gap: 6, title: 'Samples (seed 0) over test data' }), 1800);
  return [fig];
}

export async function runDensity(ctx: SuiteContext): Promise<DensityResult> {
  const b = ctx.budget.density;
  const started = performance.now();
  const models = selectModels(b.models ?? DENSITY_MODELS, ctx.models);
  const samplers = densitySamplers(b);
  const entries: DensityEntry[] = [];
  const rows: string[] = [];
  for (const dataset of b.datasets) {
    const done = await densityDataset(ctx, samplers, dataset, models);
    entries.push(...done.entries);
    if (done.panels.length > 0) rows.push(panelsSvg(done.panels, { gap: 6 }));
  }
  const figures = writeDensityFigure(ctx, rows);
  const summary = densitySummary(b.datasets, models, entries);
  const sampler = { diffusion: samplers.sde.label, diffflow: samplers.chain.label, ode: samplers.ode.label };
  const config = 'configs/density.json';
  writeJson(join(ctx.out, config), {
    experiment: 'density',
    budget: ctx.budget.name,
    ...b,
    models,
    nllSolver: samplers.nll.label,
    sampler,
    testSeed: TEST_SEED,
    runs: entries.map((e) => `${e.run}/run.json`),
  });
  return {
    ...resultBase(ctx, 'density', started, figures, config),
    datasets: [...b.datasets],
    models,
    diffflowDatasets: [...(b.diffflowDatasets ?? b.datasets)],
    seeds: b.seeds,
    floors: Object.fromEntries(b.datasets.map((d) => [d, TOY_DATASETS[d].entropy])),
    nllSolver: samplers.nll.label,
    sampler,
    entries,
    summary,
  };
}

/** The markdown section of the density experiment. */
export function densitySection(r: DensityResult): string {
  const get = (d: string, m: string) => r.summary.find((s) => s.dataset === d && s.model === m);
  // The flow-matching models have no NELBO: 'n/a' (not '–', which marks a missing or failed value).
  const cell = (d: string, m: DensityModel, key: 'nll' | 'nelbo', digits: number) =>
    key === 'nelbo' && !hasNelbo(m) ? 'n/a' : pm(get(d, m)?.[key], digits);
  const table = (key: 'nll' | 'nelbo' | 'swd', digits: number) =>
    key === 'swd'
      ? mdTable([
          ['dataset', ...r.models.map((m) => MODEL_LABELS[m])],
          ...r.datasets.map((d) => [d, ...r.models.map((m) => pm(get(d, m)?.swd, digits))]),
        ])
      : mdTable([
          ['dataset', 'entropy floor', ...r.models.map((m) => MODEL_LABELS[m])],
          ...r.datasets.map((d) => [d, r.floors[d].toFixed(3), ...r.models.map((m) => cell(d, m, key, digits))]),
        ]);
  const seeds = r.seeds > 1 ? `mean ± s.e. over ${r.seeds} seeds` : 'one seed: mean ± s.e. over the test points';
  const errors = r.entries.filter((e) => e.errors.length > 0);
  const lines = [
    '## 1. Density estimation (2-D toys)',
    '',
    `Trained ${r.models.map((m) => MODEL_LABELS[m]).join(', ')} on ${r.datasets.join(', ')} (${r.seeds} seed${r.seeds > 1 ? 's' : ''} each). ` +
      `${r.entries[0] ? 'Test points: fresh samples from a fixed seed, never seen in training. ' : ''}Units: nats per sample; ${seeds}. ` +
      'The entropy floor is the data entropy H(p): no model can have an expected NLL below it.' +
      (r.models.some(ownChain) && r.diffflowDatasets.length < r.datasets.length
        ? ` DiffFlow was trained on ${r.diffflowDatasets.join(', ')} only (budget cut; '–' elsewhere).`
        : ''),
    '',
    `**Exact test NLL** (${r.nllSolver}; DiffFlow: the probability-flow ODE of its learned SDE):`,
    '',
    table('nll', 3),
    '',
    '**NELBO** (Monte Carlo variational bound; DiffFlow: the NLL bound of its discrete chain, docs/maths/diffflow.md#path-kl-loss; ' +
      'n/a: the flow-matching models regress a velocity and have no variational bound):',
    '',
    table('nelbo', 3),
    '',
    `**Sliced W2 of samples to the test points** (${r.sampler.diffusion}; ${r.sampler.ode ? `models without an SDE: ${r.sampler.ode}; ` : ''}DiffFlow: ${r.sampler.diffflow}; lower is better):`,
    '',
    table('swd', 3),
    '',
  ];
  if (r.figures.length > 0) lines.push(`![density samples](${r.figures[0]})`, '');
  if (errors.length > 0) {
    lines.push('Failed evaluations (recorded, not hidden):', '');
    for (const e of errors) lines.push(`- ${e.dataset} ${MODEL_LABELS[e.model]} seed ${e.seed}: ${e.errors.join('; ')}`);
    lines.push('');
  }
  return lines.join('\n');
}
