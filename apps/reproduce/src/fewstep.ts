/**
 * Experiment 2, few-step sampling: NFDM-OT, FM-OT, VP (probability-flow ODE), NFDM and the
 * velocity flow-matching baselines (CFM, OT-CFM, rectified flow after one reflow round on the
 * CFM run's ODE pairs) sampled with 1, 2, 4, … Euler ODE steps; sliced W2, MMD² and energy
 * distance to held-out points, and the curvature of the generative ODE paths.
 */
import { join } from 'node:path';
import { panelsSvg } from '@nfdm/cli';
import {
  drawSamples,
  type OpenedModel,
  presetCapabilities,
  type RunSettings,
  sampleMetrics,
  samplerChoice,
  samplesSvg,
  squareBounds,
  writeJson,
  writePlot,
} from '@nfdm/cli/lib';
import { type DataMatrix, sampleToy, type ToyName } from '@nfdm/datasets';
import { CFMModel, curvatureMetric, type DiffusionModel, estimate, type ODEModel } from '@nfdm/models';
import { FEWSTEP_MODELS, type FewstepBudget, type FewstepModel, REFLOW_TEACHER, selectModels } from './budgets.js';
import { lineChartSvg } from './charts.js';
import {
  attempt,
  type ExperimentResultBase,
  figureLinks,
  MODEL_COLORS,
  MODEL_LABELS,
  mdTable,
  meanSe,
  overSeeds,
  pm,
  resultBase,
  runSettings,
  type Stat,
  type SuiteContext,
  trainModel,
} from './common.js';

const METRICS = ['swd', 'mmd', 'energy'] as const;
type SampleMetric = (typeof METRICS)[number];

export interface FewstepEntry {
  dataset: ToyName;
  model: FewstepModel;
  seed: number;
  run: string;
  trainSeconds: number;
  /** Per NFE: each metric's mean and s.e. over the sample draws. */
  nfe: Array<{ nfe: number } & Record<SampleMetric, { mean: number; stderr: number } | null>>;
  curvature: { mean: number; stderr: number } | null;
  errors: string[];
}

export interface FewstepSummary {
  dataset: ToyName;
  model: FewstepModel;
  nfe: Array<{ nfe: number } & Record<SampleMetric, Stat | null>>;
  curvature: Stat | null;
}

export interface FewstepResult extends ExperimentResultBase {
  experiment: 'fewstep';
  datasets: ToyName[];
  models: FewstepModel[];
  seeds: number;
  nfe: number[];
  entries: FewstepEntry[];
  summary: FewstepSummary[];
}

const HELD_SEED = 8_000_001;

/** Per NFE: the sample metrics of `repeats` draws against the held-out sets; the NFE-2 panel of seed 0. */
function fewstepNfe(
  opened: OpenedModel,
  b: FewstepBudget,
  held: DataMatrix[],
  run: { model: FewstepModel; seed: number; errors: string[] },
  onPanel: (sample: DataMatrix, held: DataMatrix, title: string) => void,
): FewstepEntry['nfe'] {
  const { model, seed, errors } = run;
  const perNfe: FewstepEntry['nfe'] = [];
  for (const nfe of b.nfe) {
    const values: Record<SampleMetric, number[]> = { swd: [], mmd: [], energy: [] };
    for (let r = 0; r < b.repeats; r++) {
      const drawn = attempt(`NFE ${nfe} samples`, errors, () =>
        drawSamples(opened, b.points, samplerChoice({ ode: true, solver: 'euler', steps: nfe }), 1000 * seed + r),
      );
      if (!drawn) continue;
      const sample = { data: drawn.samples, n: drawn.n, dim: 2 };
      const m = attempt(`NFE ${nfe} metrics`, errors, () => sampleMetrics(sample, held[r], [...METRICS], r));
      if (m) for (const k of METRICS) values[k].push(m[k] ?? Number.NaN);
      if (nfe === 2 && seed === 0 && r === 0) onPanel(sample, held[0], `${MODEL_LABELS[model]}, NFE 2 (Euler ODE)`);
    }
    const row = { nfe } as FewstepEntry['nfe'][number];
    for (const k of METRICS) row[k] = values[k].length > 0 ? meanSe(values[k]) : null;
    perNfe.push(row);
  }
  return perNfe;
}

/**
 * The generative ODE whose paths the curvature metric integrates: a diffusion model itself; a
 * flow-matching model as its velocity field from N(0, I) at t = 1 down to t = 0 (as its family does).
 */
function curvatureModel(model: OpenedModel['model']): ODEModel {
  if (!(model instanceof CFMModel)) return model as DiffusionModel;
  return {
    dim: model.dim,
    forward: { priorStd: 1, start: { t: 0 } },
    velocity: (z, t) => model.velocity(z as Parameters<CFMModel['velocity']>[0], t),
  };
}

/** The run directory (relative to DIR) of one few-step model on one data set and seed. */
function fewstepRel(dataset: ToyName, model: FewstepModel, seed: number): string {
  return join('runs', 'fewstep', dataset, model, `seed-${seed}`);
}

/** Model-specific settings: λ of the few-step objective, or the reflow teacher's run (trained earlier in the same experiment). */
function fewstepExtra(ctx: SuiteContext, run: { dataset: ToyName; model: FewstepModel; seed: number }): Partial<RunSettings> {
  const b = ctx.budget.fewstep;
  if (presetCapabilities(run.model).fewStep) return { curvatureWeight: b.curvatureWeight };
  const teacher = REFLOW_TEACHER[run.model];
  if (!teacher) return {};
  return { reflowFrom: join(ctx.out, fewstepRel(run.dataset, teacher, run.seed)), reflowPairs: b.reflowPairs };
}

/** Train one model on one data set and seed; its metrics per NFE and the curvature of its ODE paths. */
async function fewstepRun(
  ctx: SuiteContext,
  held: DataMatrix[],
  run: { dataset: ToyName; model: FewstepModel; seed: number },
  onPanel: (sample: DataMatrix, held: DataMatrix, title: string) => void,
): Promise<FewstepEntry> {
  const b = ctx.budget.fewstep;
  const { dataset, model, seed } = run;
  const rel = fewstepRel(dataset, model, seed);
  ctx.note(`[fewstep] ${dataset} ${MODEL_LABELS[model]} seed ${seed}: training ${b.train.steps} steps…`);
  const trained = await trainModel(ctx, rel, runSettings(b.train, { model, data: dataset, seed, ...fewstepExtra(ctx, run) }));
  const { opened } = trained;
  const errors: string[] = [];
  ctx.note(`[fewstep] ${dataset} ${MODEL_LABELS[model]} seed ${seed}: NFE ${b.nfe.join(', ')} × ${b.repeats} draws, curvature…`);
  const nfe = fewstepNfe(opened, b, held, { model, seed, errors }, onPanel);
  const curvature = attempt('curvature', errors, () => {
    const c = curvatureMetric(curvatureModel(opened.model), { n: b.curvaturePaths, steps: b.curvatureSteps, seed });
    const e = estimate(c.perTrajectory);
    return { mean: c.mean, stderr: e.stderr };
  });
  opened.model.dispose();
  return { dataset, model, seed, run: trained.run, trainSeconds: trained.seconds, nfe, curvature, errors };
}

/** Every model and seed on one data set; the figure of their samples at NFE 2 (none without samples). */
async function fewstepDataset(
  ctx: SuiteContext,
  dataset: ToyName,
  models: FewstepModel[],
): Promise<{ entries: FewstepEntry[]; figures: string[] }> {
  const b = ctx.budget.fewstep;
  const held = Array.from({ length: b.repeats }, (_, r) => sampleToy(dataset, b.points, HELD_SEED + r));
  const bounds = squareBounds(held[0].data, 0.1);
  const nfe2: string[] = [];
  const onPanel = (sample: DataMatrix, ref: DataMatrix, title: string) => nfe2.push(samplesSvg(sample, ref, undefined, title, bounds));
  const entries: FewstepEntry[] = [];
  for (const model of models) {
    for (let seed = 0; seed < b.seeds; seed++) entries.push(await fewstepRun(ctx, held, { dataset, model, seed }, onPanel));
  }
  if (nfe2.length === 0) return { entries, figures: [] };
  const fig = `figures/fewstep-nfe2-${dataset}.png`;
  writePlot(join(ctx.out, fig), 'png', panelsSvg(nfe2, { gap: 6, title: `${dataset}: samples with 2 Euler steps (seed 0)` }), 1600);
  return { entries, figures: [fig] };
}

/** Mean ± s.e. per NFE and of the curvature, for one data set and model. */
function fewstepSummary(b: FewstepBudget, dataset: ToyName, model: FewstepModel, entries: FewstepEntry[]): FewstepSummary {
  const es = entries.filter((e) => e.dataset === dataset && e.model === model);
  const nfe = b.nfe.map((n, i) => {
    const row = { nfe: n } as FewstepSummary['nfe'][number];
    for (const k of METRICS)
      row[k] = overSeeds(
        es.map((e) => e.nfe[i]?.[k] ?? { mean: Number.NaN, stderr: Number.NaN }),
        'draws',
      );
    return row;
  });
  const curvature = overSeeds(
    es.map((e) => e.curvature ?? { mean: Number.NaN, stderr: Number.NaN }),
    'trajectories',
  );
  return { dataset, model, nfe, curvature };
}

/** The chart of sliced W2 against NFE on one data set; returns its path. */
function writeSwdChart(ctx: SuiteContext, dataset: ToyName, models: FewstepModel[], summary: FewstepSummary[]): string {
  const fig = `figures/fewstep-swd-${dataset}.png`;
  const svg = lineChartSvg(
    models.map((m) => ({
      label: MODEL_LABELS[m],
      color: MODEL_COLORS[m],
      points: (summary.find((s) => s.dataset === dataset && s.model === m)?.nfe ?? []).map((p) => ({
        x: p.nfe,
        y: p.swd?.mean ?? Number.NaN,
        err: p.swd?.se,
      })),
    })),
    {
      title: `${dataset}: sliced W2 to held-out data vs NFE (Euler ODE)`,
      xLabel: 'NFE (Euler steps)',
      yLabel: 'sliced W2',
      logX: true,
      logY: true,
    },
  );
  writePlot(join(ctx.out, fig), 'png', svg);
  return fig;
}

export async function runFewstep(ctx: SuiteContext): Promise<FewstepResult> {
  const b = ctx.budget.fewstep;
  const started = performance.now();
  const models = selectModels(FEWSTEP_MODELS, ctx.models);
  const entries: FewstepEntry[] = [];
  const figures: string[] = [];
  for (const dataset of b.datasets) {
    const done = await fewstepDataset(ctx, dataset, models);
    entries.push(...done.entries);
    figures.push(...done.figures);
  }
  const summary: FewstepSummary[] = [];
  for (const dataset of b.datasets) {
    for (const model of models) summary.push(fewstepSummary(b, dataset, model, entries));
    figures.unshift(writeSwdChart(ctx, dataset, models, summary));
  }
  const config = 'configs/fewstep.json';
  writeJson(join(ctx.out, config), {
    experiment: 'fewstep',
    budget: ctx.budget.name,
    ...b,
    models,
    sampler: 'probability-flow ODE, Euler, NFE = steps',
    heldOutSeed: HELD_SEED,
    runs: entries.map((e) => `${e.run}/run.json`),
  });
  return {
    ...resultBase(ctx, 'fewstep', started, figures, config),
    datasets: [...b.datasets],
    models,
    seeds: b.seeds,
    nfe: [...b.nfe],
    entries,
    summary,
  };
}

export function fewstepSection(r: FewstepResult): string {
  const seeds =
    r.seeds > 1 ? `mean ± s.e. over ${r.seeds} seeds` : 'one seed: mean ± s.e. over independent sample draws (fresh held-out points each)';
  const lines = [
    '## 2. Few-step sampling',
    '',
    `Each model samples with the probability-flow ODE and N Euler steps (NFE = N); metrics against held-out points; ${seeds}. ` +
      'CFM, OT-CFM and rectified flow regress the velocity directly (independent, mini-batch OT and reflow couplings); ' +
      'rectified flow is one reflow round on the ODE pairs of the CFM run of the same data set and seed (its training updates exclude the CFM run). ' +
      'Curvature: mean ‖d²z/dt²‖ along generated ODE paths (100-step Euler, model units; 0 = straight).',
    '',
  ];
  for (const dataset of r.datasets) {
    const get = (m: string) => r.summary.find((s) => s.dataset === dataset && s.model === m);
    for (const [key, label] of [
      ['swd', 'sliced W2'],
      ['mmd', 'MMD² (RBF)'],
      ['energy', 'energy distance'],
    ] as const) {
      lines.push(`**${dataset}: ${label} vs NFE**`, '');
      lines.push(
        mdTable([
          ['model', ...r.nfe.map((n) => `NFE ${n}`)],
          ...r.models.map((m) => [MODEL_LABELS[m], ...r.nfe.map((_, i) => pm(get(m)?.nfe[i]?.[key], 3))]),
        ]),
        '',
      );
    }
    lines.push(`**${dataset}: curvature of the ODE paths**`, '');
    lines.push(mdTable([['model', 'curvature'], ...r.models.map((m) => [MODEL_LABELS[m], pm(get(m)?.curvature, 3)])]), '');
  }
  lines.push(...figureLinks(r.figures));
  const errors = r.entries.filter((e) => e.errors.length > 0);
  if (errors.length > 0) {
    lines.push('Failed evaluations (recorded, not hidden):', '');
    for (const e of errors) lines.push(`- ${e.dataset} ${MODEL_LABELS[e.model]} seed ${e.seed}: ${e.errors.join('; ')}`);
    lines.push('');
  }
  return lines.join('\n');
}
