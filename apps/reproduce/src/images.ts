/**
 * Experiment 4, images: NFDM and VP on Fashion-MNIST at 14×14 (D = 196) under one training
 * budget; bits/dim of the NELBO and of the exact probability-flow NLL (Hutchinson divergence,
 * chosen automatically for D > 16) on the first test images, and a sample grid per model.
 */
import { join } from 'node:path';
import {
  drawSamples,
  evaluationData,
  logProbChoice,
  nelboMetric,
  nllMetric,
  type OpenedModel,
  type SamplerChoice,
  samplerChoice,
  samplesSvg,
  writeJson,
  writePlot,
} from '@nfdm/cli/lib';
import type { DataMatrix } from '@nfdm/datasets';
import { bitsPerDim } from '@nfdm/models';
import { IMAGE_MODELS, type ImageBudget, type ImageModel } from './budgets.js';
import {
  attempt,
  type ExperimentResultBase,
  MODEL_LABELS,
  mdTable,
  overSeeds,
  pm,
  resultBase,
  runSettings,
  type Stat,
  type SuiteContext,
  trainModel,
} from './common.js';

const DATA = 'fashion-mnist-14';

export interface ImageEntry {
  model: string;
  seed: number;
  run: string;
  trainSeconds: number;
  /** Bits per dimension (dequantisation offset included), mean and s.e. over test images. */
  nelbo: { mean: number; stderr: number } | null;
  nll: { mean: number; stderr: number; nfe: number } | null;
  errors: string[];
}

export interface ImageResult extends ExperimentResultBase {
  experiment: 'images';
  data: string;
  dim: number;
  testImages: number;
  nllSolver: string;
  sampler: string;
  models: string[];
  seeds: number;
  entries: ImageEntry[];
  summary: Array<{ model: string; nelbo: Stat | null; nll: Stat | null }>;
}

/** The exact-NLL solver of the budget: fixed rk4 steps or adaptive dopri5. */
function imageNllSolver(b: ImageBudget) {
  return b.nll.solver === 'rk4'
    ? logProbChoice({ solver: 'rk4', steps: b.nll.steps }, 1e-3)
    : logProbChoice({ solver: 'dopri5', rtol: b.nll.tol, atol: b.nll.tol }, b.nll.tol);
}

/** What every image model is evaluated with: the test images, the NLL solver, the sampler of the grids. */
interface ImageEvaluation {
  test: DataMatrix;
  info: ReturnType<typeof evaluationData>['info'];
  nllSolver: ReturnType<typeof imageNllSolver>;
  sampler: SamplerChoice;
}

/** The sample grid of one model (seed 0): its path, or none when sampling failed. */
function writeSampleGrid(ctx: SuiteContext, ev: ImageEvaluation, opened: OpenedModel, model: string, errors: string[]): string[] {
  const drawn = attempt('samples', errors, () => drawSamples(opened, ctx.budget.images.gridImages, ev.sampler, 5));
  if (!drawn) return [];
  const fig = `figures/images-${model}.png`;
  writePlot(
    join(ctx.out, fig),
    'png',
    samplesSvg(
      { data: drawn.samples, n: drawn.n, dim: drawn.dim },
      undefined,
      ev.info,
      `${MODEL_LABELS[model]} samples (${ev.sampler.label})`,
    ),
  );
  return [fig];
}

/** Train one model and seed; bits/dim of its NELBO and exact NLL on the test images, and its sample grid (seed 0). */
async function imageRun(
  ctx: SuiteContext,
  ev: ImageEvaluation,
  model: ImageModel,
  seed: number,
): Promise<{ entry: ImageEntry; figures: string[] }> {
  const b = ctx.budget.images;
  const { test, info, nllSolver } = ev;
  const bits = (nats: { mean: number; stderr: number }) => ({
    mean: bitsPerDim(nats.mean, test.dim, info.bitsOffset),
    stderr: nats.stderr / (test.dim * Math.LN2),
  });
  const rel = join('runs', 'images', model, `seed-${seed}`);
  ctx.note(`[images] ${DATA} ${MODEL_LABELS[model]} seed ${seed}: training ${b.train.steps} steps…`);
  const trained = await trainModel(ctx, rel, runSettings(b.train, { model, data: DATA, seed }));
  const { opened } = trained;
  const errors: string[] = [];
  ctx.note(`[images] ${MODEL_LABELS[model]} seed ${seed}: NELBO and exact NLL of ${test.n} test images (${nllSolver.label})…`);
  const nelbo = attempt('nelbo', errors, () => bits(nelboMetric(opened, test, { draws: b.nelboDraws, seed, bitsOffset: 0 })));
  const nll = attempt('nll', errors, () => {
    const r = nllMetric(opened, test, { ...nllSolver, bitsOffset: 0 });
    return { ...bits(r), nfe: r.nfe };
  });
  const figures = seed === 0 ? writeSampleGrid(ctx, ev, opened, model, errors) : [];
  opened.model.dispose();
  return { entry: { model, seed, run: trained.run, trainSeconds: trained.seconds, nelbo, nll, errors }, figures };
}

/** Mean ± s.e. over seeds of one model. */
function imageSummary(model: string, entries: ImageEntry[]): ImageResult['summary'][number] {
  const es = entries.filter((e) => e.model === model);
  const none = { mean: Number.NaN, stderr: Number.NaN };
  return {
    model,
    nelbo: overSeeds(
      es.map((e) => e.nelbo ?? none),
      'points',
    ),
    nll: overSeeds(
      es.map((e) => e.nll ?? none),
      'points',
    ),
  };
}

export async function runImages(ctx: SuiteContext): Promise<ImageResult> {
  const b = ctx.budget.images;
  const started = performance.now();
  const { data: test, info } = evaluationData(DATA, { n: b.testImages });
  const ev: ImageEvaluation = { test, info, nllSolver: imageNllSolver(b), sampler: samplerChoice({ sde: true, steps: b.sampleSteps }) };
  const entries: ImageEntry[] = [];
  const figures: string[] = [];
  for (const model of IMAGE_MODELS) {
    for (let seed = 0; seed < b.seeds; seed++) {
      const done = await imageRun(ctx, ev, model, seed);
      entries.push(done.entry);
      figures.push(...done.figures);
    }
  }
  const summary = IMAGE_MODELS.map((model) => imageSummary(model, entries));
  const config = 'configs/images.json';
  writeJson(join(ctx.out, config), {
    experiment: 'images',
    budget: ctx.budget.name,
    data: DATA,
    ...b,
    nllSolver: ev.nllSolver.label,
    sampler: ev.sampler.label,
    runs: entries.map((e) => `${e.run}/run.json`),
  });
  return {
    ...resultBase(ctx, 'images', started, figures, config),
    data: DATA,
    dim: test.dim,
    testImages: test.n,
    nllSolver: ev.nllSolver.label,
    sampler: ev.sampler.label,
    models: [...IMAGE_MODELS],
    seeds: b.seeds,
    entries,
    summary,
  };
}

export function imagesSection(r: ImageResult): string {
  const seeds = r.seeds > 1 ? `mean ± s.e. over ${r.seeds} seeds` : `one seed: mean ± s.e. over the ${r.testImages} test images`;
  const steps = r.entries.map((e) => e.run).join(', ');
  const lines = [
    '## 4. Images (Fashion-MNIST 14×14)',
    '',
    `NFDM and VP trained under the same budget on ${r.data} (D = ${r.dim}, pixels dequantised to [−1, 1]); bits/dim on the first ${r.testImages} test images ` +
      `(dequantisation offset of 7 bits included), ${seeds}. Exact NLL: ${r.nllSolver}, Hutchinson divergence (D > 16). Runs: ${steps}.`,
    '',
    mdTable([
      ['model', 'NELBO (bits/dim)', 'exact NLL (bits/dim)'],
      ...r.summary.map((s) => [MODEL_LABELS[s.model] ?? s.model, pm(s.nelbo), pm(s.nll)]),
    ]),
    '',
  ];
  for (const f of r.figures) lines.push(`![${f.replace(/^figures\//, '').replace(/\.png$/, '')}](${f})`, '');
  const errors = r.entries.filter((e) => e.errors.length > 0);
  if (errors.length > 0) {
    lines.push('Failed evaluations (recorded, not hidden):', '');
    for (const e of errors) lines.push(`- ${MODEL_LABELS[e.model]} seed ${e.seed}: ${e.errors.join('; ')}`);
    lines.push('');
  }
  return lines.join('\n');
}
