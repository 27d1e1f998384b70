/**
 * Experiment 5, the image bridge: Fashion-MNIST class A (source, t = 1) → class B (target, t = 0)
 * in the spirit of the papers' AFHQ dog → cat, NFBM against `fixed-bridge` (the same objective and
 * predictor on a fixed Brownian-bridge process, docs/maths/bridges.md). The held-out class-A
 * test images are transported (reverse SDE) and judged by the harness's classifier: the fraction
 * classified as B, and the squared Fréchet distance of its penultimate features (NOT Inception
 * FID) to the class-B test images; "no transport" (the source images themselves) is the
 * reference. A trajectory strip per model: a few source images, frames from t = 1 to 0.
 */
import { join } from 'node:path';
import {
  bridgeEvaluationData,
  bridgeSpec,
  classifierFrechetDistance,
  drawBridge,
  FRECHET_NOTE,
  type ImageClassifier,
  type OpenedModel,
  sampleAccuracy,
  samplerChoice,
  trajectoriesSvg,
  writeJson,
  writePlot,
} from '@nfdm/cli/lib';
import { type DataMatrix, FASHION_MNIST_CLASSES } from '@nfdm/datasets';
import { IMAGE_BRIDGE_MODELS, type ImageBridgeBudget, type ImageBridgeModel, selectModels } from './budgets.js';
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
import { classifierLine, failures, type MeanErr, netSettings, networkLabel, seconds, sideText } from './images.js';

export interface ImageBridgeEntry extends RunCost {
  model: ImageBridgeModel;
  seed: number;
  /** Fraction of the transported images classified as the target class, mean and s.e. over transports. */
  accuracy: MeanErr | null;
  /** Fréchet distance of the transported images to the target-class test images, mean and s.e. over transports. */
  frechet: MeanErr | null;
  figures: string[];
  errors: string[];
}

export interface ImageBridgeSummary {
  model: ImageBridgeModel;
  accuracy: Stat | null;
  frechet: Stat | null;
  trainSeconds: number;
}

export interface ImageBridgeResult extends ExperimentResultBase {
  experiment: 'image-bridge';
  data: string;
  dim: number;
  network: string;
  steps: number;
  source: { label: number; name: string; spec: string };
  target: { label: number; name: string; spec: string };
  /** Source test images transported, and target test images the Fréchet distance compares with. */
  points: number;
  reference: number;
  repeats: number;
  sampler: string;
  frechetNote: string;
  classifier: ClassifierInfo;
  /** No transport: the source images themselves, judged like the transported ones; and the target test images (the classifier's ceiling). */
  noTransport: { accuracy: number; frechet: number };
  targetAccuracy: number;
  seeds: number;
  entries: ImageBridgeEntry[];
  summary: ImageBridgeSummary[];
}

/** What every bridge is evaluated with. */
interface BridgeJudge {
  sources: DataMatrix;
  reference: DataMatrix;
  classifier: ImageClassifier;
  sampler: ReturnType<typeof samplerChoice>;
  imageShape: [number, number, number];
}

const classSpec = (data: string, label: number) => `${data}:label=${label}`;
const asTarget = (b: ImageBridgeBudget, n: number) => new Uint8Array(n).fill(b.target);

/** The fraction of `images` the classifier assigns to the target class. */
function targetFraction(judge: BridgeJudge, b: ImageBridgeBudget, images: DataMatrix): number {
  return sampleAccuracy(judge.classifier, images, asTarget(b, images.n)).overall;
}

/** `frames` indices spread evenly over T saved times (first and last included). */
function frameIndices(T: number, frames: number): number[] {
  const k = Math.max(2, Math.min(frames, T));
  return Array.from(new Set(Array.from({ length: k }, (_, i) => Math.round((i * (T - 1)) / (k - 1)))));
}

/** The trajectory strip of one bridge (seed 0): rows the first source images, columns frames from t = 1 to 0. */
function writeStrip(ctx: SuiteContext, judge: BridgeJudge, opened: OpenedModel, model: ImageBridgeModel): string {
  const b = ctx.budget.imageBridge;
  const D = judge.sources.dim;
  const n = Math.min(b.stripImages, judge.sources.n);
  const few = { data: judge.sources.data.subarray(0, n * D), n, dim: D };
  const t = drawBridge(opened, n, judge.sampler, 7, true, few);
  const times = t.drawn.times ?? [];
  const paths = t.drawn.trajectory as Float32Array;
  const picks = frameIndices(times.length, b.stripFrames);
  const strip = new Float32Array(picks.length * n * D);
  picks.forEach((s, k) => {
    strip.set(paths.subarray(s * n * D, (s + 1) * n * D), k * n * D);
  });
  const fig = `figures/image-bridge-${model}.png`;
  const title = `${MODEL_LABELS[model] ?? model}: ${FASHION_MNIST_CLASSES[b.source]} → ${FASHION_MNIST_CLASSES[b.target]}`;
  writePlot(
    join(ctx.out, fig),
    'png',
    trajectoriesSvg(
      strip,
      picks.map((s) => times[s]),
      n,
      D,
      title,
      { imageShape: judge.imageShape },
    ),
  );
  return fig;
}

/** Transport the source images `repeats` times: the fraction classified as the target and the Fréchet distance to it. */
function judgeTransports(ctx: SuiteContext, judge: BridgeJudge, opened: OpenedModel, model: ImageBridgeModel, seed: number) {
  const b = ctx.budget.imageBridge;
  const errors: string[] = [];
  const acc: number[] = [];
  const fr: number[] = [];
  for (let r = 0; r < b.repeats; r++) {
    const t = attempt('transport', errors, () => drawBridge(opened, judge.sources.n, judge.sampler, 1000 * seed + r, false, judge.sources));
    if (!t) continue;
    const ends = { data: t.drawn.samples, n: t.drawn.n, dim: t.drawn.dim };
    const a = attempt('accuracy', errors, () => targetFraction(judge, b, ends));
    if (a !== null) acc.push(a);
    const f = attempt('Fréchet', errors, () => classifierFrechetDistance(judge.classifier, ends, judge.reference));
    if (f !== null) fr.push(f);
  }
  const figures = seed === 0 ? (attempt('strip', errors, () => [writeStrip(ctx, judge, opened, model)]) ?? []) : [];
  return {
    accuracy: acc.length > 0 ? meanSe(acc) : null,
    frechet: fr.length > 0 ? meanSe(fr) : null,
    figures,
    errors,
  };
}

/** Train one bridge and judge its transports (cached in its run folder). */
async function imageBridgeRun(ctx: SuiteContext, judge: BridgeJudge, model: ImageBridgeModel, seed: number): Promise<ImageBridgeEntry> {
  const b = ctx.budget.imageBridge;
  const rel = join('runs', 'image-bridge', model, `seed-${seed}`);
  ctx.note(`[image-bridge] ${MODEL_LABELS[model] ?? model} seed ${seed}: training ${b.train.steps} steps…`);
  const settings = runSettings(b.train, {
    model,
    source: classSpec(b.data, b.source),
    target: classSpec(b.data, b.target),
    seed,
    ...netSettings(b.net),
  });
  const { points, repeats, sampleSteps, stripImages, stripFrames } = b;
  const measured = await trainAndMeasure(
    ctx,
    rel,
    settings,
    { points, repeats, sampleSteps, stripImages, stripFrames, judge: ctx.budget.classifier },
    (opened) => judgeTransports(ctx, judge, opened, model, seed),
    `[image-bridge] ${MODEL_LABELS[model] ?? model} seed ${seed}: transporting ${judge.sources.n} images × ${b.repeats}…`,
  );
  return { model, seed, ...measured };
}

function imageBridgeSummary(model: ImageBridgeModel, entries: ImageBridgeEntry[]): ImageBridgeSummary {
  const es = entries.filter((e) => e.model === model);
  const none = { mean: Number.NaN, stderr: Number.NaN };
  return {
    model,
    accuracy: overSeeds(
      es.map((e) => e.accuracy ?? none),
      'draws',
    ),
    frechet: overSeeds(
      es.map((e) => e.frechet ?? none),
      'draws',
    ),
    trainSeconds: meanSe(es.map((e) => e.trainSeconds)).mean,
  };
}

export async function runImageBridge(ctx: SuiteContext): Promise<ImageBridgeResult> {
  const b = ctx.budget.imageBridge;
  const started = performance.now();
  const info = ensureClassifier(ctx, b.data);
  const source = { label: b.source, name: FASHION_MNIST_CLASSES[b.source], spec: classSpec(b.data, b.source) };
  const target = { label: b.target, name: FASHION_MNIST_CLASSES[b.target], spec: classSpec(b.data, b.target) };
  const set = bridgeEvaluationData(bridgeSpec(source.spec, target.spec), { n: b.points, seed: 0 });
  const judge: BridgeJudge = {
    sources: set.sources,
    reference: frechetReference(target.spec),
    classifier: openJudge(ctx, info),
    sampler: samplerChoice({ sde: true, steps: b.sampleSteps }),
    imageShape: set.imageShape as [number, number, number],
  };
  const models = selectModels(IMAGE_BRIDGE_MODELS, ctx.models);
  const entries: ImageBridgeEntry[] = [];
  let noTransport: ImageBridgeResult['noTransport'];
  let targetAccuracy: number;
  try {
    noTransport = {
      accuracy: targetFraction(judge, b, judge.sources),
      frechet: classifierFrechetDistance(judge.classifier, judge.sources, judge.reference),
    };
    targetAccuracy = targetFraction(judge, b, judge.reference);
    for (const model of models) for (let seed = 0; seed < b.seeds; seed++) entries.push(await imageBridgeRun(ctx, judge, model, seed));
  } finally {
    judge.classifier.dispose();
  }
  const config = 'configs/image-bridge.json';
  writeJson(join(ctx.out, config), {
    experiment: 'image-bridge',
    budget: ctx.budget.name,
    ...b,
    classifier: { ...ctx.budget.classifier, run: info.run },
    sampler: judge.sampler.label,
    frechetNote: FRECHET_NOTE,
    runs: entries.map((e) => `${e.run}/run.json`),
  });
  return {
    ...resultBase(
      ctx,
      'image-bridge',
      started,
      entries.flatMap((e) => e.figures),
      config,
    ),
    data: b.data,
    dim: judge.sources.dim,
    network: networkLabel(b.net, b.train),
    steps: b.train.steps,
    source,
    target,
    points: judge.sources.n,
    reference: judge.reference.n,
    repeats: b.repeats,
    sampler: judge.sampler.label,
    frechetNote: FRECHET_NOTE,
    classifier: info,
    noTransport,
    targetAccuracy,
    seeds: b.seeds,
    entries,
    summary: models.map((m) => imageBridgeSummary(m, entries)),
  };
}

export function imageBridgeSection(r: ImageBridgeResult): string {
  const spread =
    r.seeds > 1 ? `mean ± s.e. over ${r.seeds} seeds` : `one seed: mean ± s.e. over ${r.repeats} transports of the same images`;
  const fixed = (v: number) => pm({ mean: v, se: Number.NaN, n: 1, over: 'points' });
  const lines = [
    `## 5. Image bridge (Fashion-MNIST ${sideText(r.dim)}: ${r.source.name} → ${r.target.name})`,
    '',
    `NFBM and the fixed-process baseline \`fixed-bridge\` (the same objective and predictor on a fixed Brownian-bridge process, docs/maths/bridges.md) ` +
      `transport class ${r.source.label} (${r.source.name}, t = 1) to class ${r.target.label} (${r.target.name}, t = 0) of ${r.data}; both with the same ${r.network} and ${r.steps} updates. ` +
      `Transported: the ${r.points} held-out ${r.source.name} images of the test split (${r.sampler}); ${spread}. ` +
      `Judged by the classifier: the fraction classified as ${r.target.name} (higher is better) and the ${FRECHET_NOTE} to the ${r.reference} ${r.target.name} test images (lower is better).`,
    '',
    classifierLine(r.classifier),
    '',
    mdTable([
      ['bridge', `classified as ${r.target.name}`, `Fréchet distance to ${r.target.name}`, 'training (s)'],
      ...r.summary.map((s) => [MODEL_LABELS[s.model] ?? s.model, pm(s.accuracy), pm(s.frechet), seconds(s.trainSeconds)]),
      [
        `reference: the ${r.source.name} images themselves (no transport)`,
        fixed(r.noTransport.accuracy),
        fixed(r.noTransport.frechet),
        '–',
      ],
      [`reference: ${r.target.name} test images (the classifier's ceiling)`, fixed(r.targetAccuracy), '0', '–'],
    ]),
    '',
  ];
  lines.push(...figureLinks(r.figures));
  lines.push(...failures(r.entries.map((e) => ({ what: `${MODEL_LABELS[e.model] ?? e.model} seed ${e.seed}`, errors: e.errors }))));
  return lines.join('\n');
}
