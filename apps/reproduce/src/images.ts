/**
 * Experiment 4, images: on Fashion-MNIST (28×28 or 14×14) with one network (U-Net or MLP) and one
 * training budget, every image model is trained once per seed — NFDM, NDM, VP and CFM for
 * bits/dim (NELBO, CFM: n/a; exact probability-flow NLL, Hutchinson divergence), NFDM-OT, CFM,
 * OT-CFM, rectified flow (one reflow round on the CFM run's ODE pairs) and VP for few-step
 * sampling (probability-flow ODE, NFE 1, 2, 4, 8: Euler; VP with DDIM steps). Sample quality: the squared Fréchet
 * distance of the penultimate features of a classifier the harness trains itself (NOT Inception
 * FID), between samples and the test images. A sample grid per model.
 */
import { join } from 'node:path';
import {
  classifierFrechetDistance,
  drawSamples,
  evaluationData,
  FRECHET_NOTE,
  type ImageClassifier,
  logProbChoice,
  nelboMetric,
  nllMetric,
  type OpenedModel,
  type RunSettings,
  type SamplerChoice,
  samplerChoice,
  samplesSvg,
  writeJson,
  writePlot,
} from '@nfdm/cli/lib';
import type { DataMatrix } from '@nfdm/datasets';
import { bitsPerDim } from '@nfdm/models';
import {
  type FewstepModel,
  IMAGE_DENSITY_MODELS,
  IMAGE_FEWSTEP_MODELS,
  IMAGE_MODELS,
  type ImageBudget,
  type ImageModel,
  type ImageNet,
  REFLOW_TEACHER,
  selectModels,
  type TrainBudget,
} from './budgets.js';
import { type ClassifierInfo, ensureClassifier, frechetReference, openJudge } from './classifier.js';
import {
  attempt,
  type ExperimentResultBase,
  figureLinks,
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
import { hasNelbo } from './density.js';

/** A mean with its standard error (over test images, draws or transports). */
export type MeanErr = { mean: number; stderr: number };

export interface ImageEntry extends RunCost {
  model: ImageModel;
  seed: number;
  /** Bits per dimension (dequantisation offset included), mean and s.e. over test images (density models). */
  nelbo: MeanErr | null;
  nll: (MeanErr & { nfe: number }) | null;
  /** Fréchet distance of samples of the fixed sampler (density models). */
  frechet: number | null;
  /** Per NFE: the Fréchet distance, mean and s.e. over sample draws (few-step models). */
  fewstep: Array<{ nfe: number; frechet: MeanErr | null }>;
  /** Samples that diverged (NaN/Inf) and were left out of the Fréchet distances. */
  diverged: number;
  figures: string[];
  errors: string[];
}

export interface ImageSummary {
  model: ImageModel;
  nelbo: Stat | null;
  nll: Stat | null;
  frechet: Stat | null;
  fewstep: Array<{ nfe: number; frechet: Stat | null }>;
  /** Training wall time, seconds (mean over seeds). */
  trainSeconds: number;
}

export interface ImageResult extends ExperimentResultBase {
  experiment: 'images';
  data: string;
  dim: number;
  /** The network, in words. */
  network: string;
  steps: number;
  testImages: number;
  nllSolver: string;
  /** The fixed sampler of the density models' Fréchet distance and of the grids. */
  sampler: string;
  fewstepSampler: string;
  nfe: number[];
  frechetSamples: number;
  frechetReference: number;
  frechetNote: string;
  repeats: number;
  classifier: ClassifierInfo;
  models: ImageModel[];
  densityModels: ImageModel[];
  fewstepModels: ImageModel[];
  seeds: number;
  entries: ImageEntry[];
  summary: ImageSummary[];
}

/** The network settings of an image run: the U-Net, or the MLP of the training budget. */
export function netSettings(net: ImageNet | undefined): Partial<RunSettings> {
  return net ? { arch: net.arch, base: net.base } : {};
}

/** The network in words. */
export function networkLabel(net: ImageNet | undefined, train: TrainBudget): string {
  return net ? `U-Net (base ${net.base})` : `MLP ${train.hidden.join('×')}`;
}

/** The exact-NLL solver of the budget: fixed rk4 steps or adaptive dopri5. */
function imageNllSolver(b: ImageBudget) {
  return b.nll.solver === 'rk4'
    ? logProbChoice({ solver: 'rk4', steps: b.nll.steps }, 1e-3)
    : logProbChoice({ solver: 'dopri5', rtol: b.nll.tol, atol: b.nll.tol }, b.nll.tol);
}

/** What every image model is evaluated with. */
interface ImageEvaluation {
  test: DataMatrix;
  info: ReturnType<typeof evaluationData>['info'];
  nllSolver: ReturnType<typeof imageNllSolver>;
  reference: DataMatrix;
  classifier: ImageClassifier;
}

const isDensity = (m: ImageModel) => (IMAGE_DENSITY_MODELS as readonly string[]).includes(m);
const isFewstep = (m: ImageModel) => (IMAGE_FEWSTEP_MODELS as readonly string[]).includes(m);
const imageRel = (model: ImageModel, seed: number) => join('runs', 'images', model, `seed-${seed}`);

/** Model-specific settings: λ of NFDM-OT, or the reflow teacher's run (trained earlier in this experiment). */
function imageExtra(ctx: SuiteContext, model: ImageModel, seed: number): Partial<RunSettings> {
  const b = ctx.budget.images;
  if (model === 'nfdm-ot') return { curvatureWeight: b.curvatureWeight };
  const teacher = REFLOW_TEACHER[model as FewstepModel];
  return teacher ? { reflowFrom: join(ctx.out, imageRel(teacher as ImageModel, seed)), reflowPairs: b.reflowPairs } : {};
}

/** Draw `n` samples (diverged ones dropped) and their Fréchet distance to the test images. */
function frechetOf(
  ev: ImageEvaluation,
  opened: OpenedModel,
  n: number,
  sampler: SamplerChoice,
  seed: number,
): { value: number; drawn: DataMatrix; diverged: number } {
  const d = drawSamples(opened, n, sampler, seed, false, { diverged: 'drop' });
  const drawn = { data: d.samples, n: d.n, dim: d.dim };
  return { value: classifierFrechetDistance(ev.classifier, drawn, ev.reference), drawn, diverged: d.diverged.length };
}

/** The sample grid of one model (seed 0). */
function writeGrid(ctx: SuiteContext, ev: ImageEvaluation, model: ImageModel, drawn: DataMatrix, sampler: SamplerChoice): string {
  const fig = `figures/images-${model}.png`;
  const grid = { data: drawn.data.subarray(0, Math.min(drawn.n, ctx.budget.images.gridImages) * drawn.dim), n: 0, dim: drawn.dim };
  grid.n = grid.data.length / drawn.dim;
  writePlot(join(ctx.out, fig), 'png', samplesSvg(grid, undefined, ev.info, `${MODEL_LABELS[model]} samples (${sampler.label})`));
  return fig;
}

/** Bits/dim of the NELBO (density models with a bound) and of the exact NLL. */
function bitsOf(opened: OpenedModel, ev: ImageEvaluation, b: ImageBudget, run: { model: ImageModel; seed: number; errors: string[] }) {
  const { test, info } = ev;
  const bits = (nats: MeanErr) => ({
    mean: bitsPerDim(nats.mean, test.dim, info.bitsOffset),
    stderr: nats.stderr / (test.dim * Math.LN2),
  });
  const nelbo = hasNelbo(run.model)
    ? attempt('nelbo', run.errors, () => bits(nelboMetric(opened, test, { draws: b.nelboDraws, seed: run.seed, bitsOffset: 0 })))
    : null;
  const nll = attempt('nll', run.errors, () => {
    const r = nllMetric(opened, test, { ...ev.nllSolver, bitsOffset: 0 });
    return { ...bits(r), nfe: r.nfe };
  });
  return { nelbo, nll };
}

/**
 * The diffusion models with a data predictor (NFDM, NDM, VP) draw their fixed-sampler samples
 * with frozen-prediction steps (`ddim`: exact for the step's x̂, DDIM for VP; Euler overshoots
 * where a learned σ falls fast near t = 0, docs/maths/sampling.md#frozen-prediction-steps); the
 * velocity models (CFM) with Euler.
 */
const FROZEN_STEP_MODELS: readonly ImageModel[] = ['nfdm', 'ndm', 'vp'];

/** The density models' sampler at `steps` steps (see FROZEN_STEP_MODELS). */
function fixedSampler(model: ImageModel, steps: number): SamplerChoice {
  return samplerChoice({ ode: true, solver: FROZEN_STEP_MODELS.includes(model) ? 'ddim' : 'euler', steps });
}

/** Few-step sampling: Euler ODE with NFE = steps, except VP with DDIM steps (how VP is sampled in few steps). */
function fewstepSampler(model: ImageModel, nfe: number): SamplerChoice {
  return samplerChoice({ ode: true, solver: model === 'vp' ? 'ddim' : 'euler', steps: nfe });
}

/** Said in the report next to the density models' Fréchet distances and grids. */
export const IMAGE_SAMPLER_NOTE =
  'probability-flow ODE: frozen-prediction (DDIM) steps for NFDM, NDM and VP, Euler for the velocity models';

/** Per NFE: the Fréchet distance of `repeats` draws (fewstepSampler). */
function fewstepFrechet(opened: OpenedModel, ev: ImageEvaluation, b: ImageBudget, model: ImageModel, seed: number, errors: string[]) {
  let diverged = 0;
  const rows = b.nfe.map((nfe) => {
    const values: number[] = [];
    for (let r = 0; r < b.repeats; r++) {
      const sampler = fewstepSampler(model, nfe);
      const f = attempt(`NFE ${nfe} Fréchet`, errors, () => frechetOf(ev, opened, b.frechetSamples, sampler, 1000 * seed + 100 * nfe + r));
      if (!f) continue;
      values.push(f.value);
      diverged += f.diverged;
    }
    return { nfe, frechet: values.length > 0 ? meanSe(values) : null };
  });
  return { rows, diverged };
}

/** Everything measured on one trained image model (cached in its run folder). */
function measureImageModel(ctx: SuiteContext, ev: ImageEvaluation, opened: OpenedModel, model: ImageModel, seed: number) {
  const b = ctx.budget.images;
  const errors: string[] = [];
  const density = isDensity(model);
  const { nelbo, nll } = density ? bitsOf(opened, ev, b, { model, seed, errors }) : { nelbo: null, nll: null };
  // The fixed sampler: the density models' Fréchet distance; a grid's worth for the others.
  const sampler = fixedSampler(model, b.sampleSteps);
  const fixed = attempt('samples', errors, () => frechetOf(ev, opened, density ? b.frechetSamples : b.gridImages, sampler, seed + 11));
  const few = isFewstep(model) ? fewstepFrechet(opened, ev, b, model, seed, errors) : { rows: [], diverged: 0 };
  const figures = seed === 0 && fixed ? [writeGrid(ctx, ev, model, fixed.drawn, sampler)] : [];
  return {
    nelbo,
    nll,
    frechet: density && fixed ? fixed.value : null,
    fewstep: few.rows,
    diverged: (fixed?.diverged ?? 0) + few.diverged,
    figures,
    errors,
  };
}

/** What an image model's measurement depends on besides its run (a cached one is reused only for the same). */
function imageEvaluationSettings(ctx: SuiteContext, ev: ImageEvaluation) {
  const { nelboDraws, gridImages, sampleSteps, nfe, frechetSamples, repeats } = ctx.budget.images;
  const judge = ctx.budget.classifier;
  return { testImages: ev.test.n, nll: ev.nllSolver, nelboDraws, gridImages, sampleSteps, nfe, frechetSamples, repeats, judge };
}

/** Train one model and seed, and measure it (see measureImageModel). */
async function imageRun(ctx: SuiteContext, ev: ImageEvaluation, model: ImageModel, seed: number): Promise<ImageEntry> {
  const b = ctx.budget.images;
  const rel = imageRel(model, seed);
  ctx.note(`[images] ${b.data} ${MODEL_LABELS[model]} seed ${seed}: training ${b.train.steps} steps…`);
  const settings = runSettings(b.train, { model, data: b.data, seed, ...netSettings(b.net), ...imageExtra(ctx, model, seed) });
  const measured = await trainAndMeasure(
    ctx,
    rel,
    settings,
    imageEvaluationSettings(ctx, ev),
    (opened) => measureImageModel(ctx, ev, opened, model, seed),
    `[images] ${MODEL_LABELS[model]} seed ${seed}: bits/dim and Fréchet distances…`,
  );
  return { model, seed, ...measured };
}

/** Mean ± s.e. over seeds of one model. */
function imageSummary(b: ImageBudget, model: ImageModel, entries: ImageEntry[]): ImageSummary {
  const es = entries.filter((e) => e.model === model);
  const none = { mean: Number.NaN, stderr: Number.NaN };
  const fr = meanSe(es.map((e) => e.frechet ?? Number.NaN));
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
    frechet: Number.isFinite(fr.mean) ? { mean: fr.mean, se: es.length > 1 ? fr.stderr : Number.NaN, n: es.length, over: 'seeds' } : null,
    fewstep: isFewstep(model)
      ? b.nfe.map((nfe, i) => ({
          nfe,
          frechet: overSeeds(
            es.map((e) => e.fewstep[i]?.frechet ?? none),
            'draws',
          ),
        }))
      : [],
    trainSeconds: meanSe(es.map((e) => e.trainSeconds)).mean,
  };
}

/** The evaluation set-up: test images, solvers, the classifier (trained or reused) and its reference images. */
function imageEvaluation(ctx: SuiteContext, classifier: ClassifierInfo): ImageEvaluation {
  const b = ctx.budget.images;
  const { data: test, info } = evaluationData(b.data, { n: b.testImages });
  return {
    test,
    info,
    nllSolver: imageNllSolver(b),
    reference: frechetReference(b.data),
    classifier: openJudge(ctx, classifier),
  };
}

export async function runImages(ctx: SuiteContext): Promise<ImageResult> {
  const b = ctx.budget.images;
  const started = performance.now();
  const classifier = ensureClassifier(ctx, b.data);
  ctx.note(`[images] classifier ${classifier.run}: test accuracy ${classifier.accuracy.toFixed(4)}`);
  const ev = imageEvaluation(ctx, classifier);
  const models = selectModels(IMAGE_MODELS, ctx.models);
  const entries: ImageEntry[] = [];
  try {
    for (const model of models) for (let seed = 0; seed < b.seeds; seed++) entries.push(await imageRun(ctx, ev, model, seed));
  } finally {
    ev.classifier.dispose();
  }
  const summary = models.map((model) => imageSummary(b, model, entries));
  const fewstepSampler = 'probability-flow ODE, NFE = steps: Euler, VP with DDIM (frozen-prediction) steps';
  const sampler = `${IMAGE_SAMPLER_NOTE}, ${b.sampleSteps} steps`;
  const config = 'configs/images.json';
  writeJson(join(ctx.out, config), {
    experiment: 'images',
    budget: ctx.budget.name,
    ...b,
    classifier: { ...ctx.budget.classifier, run: classifier.run },
    nllSolver: ev.nllSolver.label,
    sampler,
    fewstepSampler,
    frechetNote: FRECHET_NOTE,
    runs: entries.map((e) => `${e.run}/run.json`),
  });
  return {
    ...resultBase(
      ctx,
      'images',
      started,
      entries.flatMap((e) => e.figures),
      config,
    ),
    data: b.data,
    dim: ev.test.dim,
    network: networkLabel(b.net, b.train),
    steps: b.train.steps,
    testImages: ev.test.n,
    nllSolver: ev.nllSolver.label,
    sampler,
    fewstepSampler,
    nfe: [...b.nfe],
    frechetSamples: b.frechetSamples,
    frechetReference: ev.reference.n,
    frechetNote: FRECHET_NOTE,
    repeats: b.repeats,
    classifier,
    models,
    densityModels: IMAGE_DENSITY_MODELS.filter((m) => models.includes(m)),
    fewstepModels: IMAGE_FEWSTEP_MODELS.filter((m) => models.includes(m)),
    seeds: b.seeds,
    entries,
    summary,
  };
}

/** `28×28` from the data dimension of a grey image set. */
export function sideText(dim: number): string {
  const side = Math.round(Math.sqrt(dim));
  return `${side}×${side}`;
}

/** The classifier line of the image sections. */
export function classifierLine(c: ClassifierInfo): string {
  return (
    `Judge: the in-repo classifier trained by this harness (\`nfdm classifier train\`'s code) on the ${c.trainImages} train images of ${c.data} ` +
    `(${c.steps} updates of ${c.batch}, lr ${c.lr}, ${c.seconds.toFixed(1)} s; ${c.run}): **test accuracy ${c.accuracy.toFixed(4)}** on ${c.testImages} test images.`
  );
}

export function imagesSection(r: ImageResult): string {
  const get = (m: string) => r.summary.find((s) => s.model === m);
  const seeds = r.seeds > 1 ? `mean ± s.e. over ${r.seeds} seeds` : `one seed: bits/dim ± s.e. over the ${r.testImages} test images`;
  const cell = (m: ImageModel, key: 'nelbo' | 'nll') => (key === 'nelbo' && !hasNelbo(m) ? 'n/a' : pm(get(m)?.[key]));
  const lines = [
    `## 4. Images (Fashion-MNIST ${sideText(r.dim)}, ${r.network})`,
    '',
    `Every model trained once per seed on ${r.data} (D = ${r.dim}, pixels dequantised to [−1, 1]) with the same ${r.network} and budget (${r.steps} updates). ` +
      `Bits/dim on the first ${r.testImages} test images (dequantisation offset of 7 bits included), ${seeds}. Exact NLL: ${r.nllSolver}, Hutchinson divergence. ` +
      `Fréchet distance: the ${FRECHET_NOTE} between ${r.frechetSamples} samples and ${r.frechetReference} test images; lower is better; it is comparable only between models judged by the same classifier.`,
    '',
    classifierLine(r.classifier),
    '',
    `**Bits/dim and Fréchet distance** (density models; samples for the Fréchet distance and the grids: ${r.sampler}; n/a: CFM regresses a velocity and has no variational bound):`,
    '',
    mdTable([
      ['model', 'NELBO (bits/dim)', 'exact NLL (bits/dim)', 'Fréchet distance', 'training (s)'],
      ...r.densityModels.map((m) => [
        MODEL_LABELS[m],
        cell(m, 'nelbo'),
        cell(m, 'nll'),
        pm(get(m)?.frechet),
        seconds(get(m)?.trainSeconds),
      ]),
    ]),
    '',
    `**Few-step sampling: Fréchet distance vs NFE** (${r.fewstepSampler}; ` +
      `${r.seeds > 1 ? `mean ± s.e. over ${r.seeds} seeds` : `mean ± s.e. over ${r.repeats} independent draws`}; rectified flow: one reflow round on the CFM run's ODE pairs):`,
    '',
    mdTable([
      ['model', ...r.nfe.map((n) => `NFE ${n}`), 'training (s)'],
      ...r.fewstepModels.map((m) => [
        MODEL_LABELS[m],
        ...r.nfe.map((_, i) => pm(get(m)?.fewstep[i]?.frechet)),
        seconds(get(m)?.trainSeconds),
      ]),
    ]),
    '',
  ];
  lines.push(...figureLinks(r.figures));
  lines.push(
    ...failures(r.entries.map((e) => ({ what: `${MODEL_LABELS[e.model]} seed ${e.seed}`, errors: e.errors, diverged: e.diverged }))),
  );
  return lines.join('\n');
}

/** Training seconds in a table cell. */
export function seconds(s: number | undefined): string {
  if (s === undefined || !Number.isFinite(s)) return '–';
  return s < 10 ? s.toFixed(1) : s.toFixed(0);
}

/** The "failed evaluations" and diverged-samples lines of an image section (none when all went well). */
export function failures(runs: Array<{ what: string; errors: string[]; diverged?: number }>): string[] {
  const lines: string[] = [];
  const failed = runs.filter((r) => r.errors.length > 0);
  if (failed.length > 0) {
    lines.push('Failed evaluations (recorded, not hidden):', '');
    for (const r of failed) lines.push(`- ${r.what}: ${r.errors.join('; ')}`);
    lines.push('');
  }
  const diverged = runs.filter((r) => (r.diverged ?? 0) > 0);
  if (diverged.length > 0)
    lines.push(
      `Diverged samples (NaN/Inf, left out of the Fréchet distances): ${diverged.map((r) => `${r.what} ${r.diverged}`).join(', ')}.`,
      '',
    );
  return lines;
}
