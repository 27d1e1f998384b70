/**
 * `nfdm eval --metrics sample-accuracy,frechet --classifier DIR`: the sample quality of an image
 * model judged by the in-repo classifier (`nfdm classifier train`):
 *
 * - `sample-accuracy` (label-conditional models): `--n-per-class` samples of every class (with
 *   `--guidance w`), the fraction of each class's samples the classifier assigns to that class,
 *   and the mean over the classes;
 * - `frechet`: the squared Fréchet distance between Gaussian fits of the classifier's
 *   penultimate features on the samples and on the test images of the model's data (up to
 *   10,000). This is NOT Inception FID: the features are those of our small classifier, so the
 *   values compare runs measured with the same classifier only.
 *
 * {@link planSampleQuality} checks every flag before the backend starts; {@link measureSampleQuality}
 * draws the samples and measures; {@link sampleQualityRows} describes the result for humans.
 */
import type { DataMatrix } from '@nfdm/datasets';
import { type AnyModelConfig, capabilitiesOf, familyOfConfig } from '@nfdm/models';
import { type ClassifierConfig, classifierFrechetDistance, type SampleAccuracy, sampleAccuracy } from '@nfdm/training';
import { checkClassifierFits, classifierConfigAt, openClassifier, readClassifierRun } from './classifiers.js';
import { UsageError } from './errors.js';
import { evaluationImages } from './image-sets.js';
import { fmt, type Output, table } from './output.js';
import { drawSamples, type ModelMeta, modelCondition, type OpenedModel, objectiveOf, type SamplerChoice } from './runtime.js';

export const CLASSIFIER_METRICS = ['sample-accuracy', 'frechet'] as const;
export type ClassifierMetricName = (typeof CLASSIFIER_METRICS)[number];

/** Said wherever the Fréchet distance is reported. */
export const FRECHET_NOTE = "squared Fréchet distance of the in-repo classifier's penultimate features (NOT Inception FID)";

/** Test images the Fréchet distance compares with (at most). */
export const FRECHET_REFERENCE = 10_000;

export interface SampleQualityFlags {
  classifier?: string;
  guidance?: number;
  nPerClass?: number;
  n: number;
}

export interface SampleQualityPlan {
  metrics: ClassifierMetricName[];
  dir: string;
  config: ClassifierConfig;
  /** The label of every sample (label-conditional models), else undefined (unconditional samples). */
  labels?: number[];
  n: number;
  guidance?: number;
  /** The test images of the model's data, for the Fréchet distance. */
  reference?: DataMatrix;
  referenceSource?: string;
}

/** Whether a metric name is one of the classifier's. */
export const isClassifierMetric = (m: string): m is ClassifierMetricName => (CLASSIFIER_METRICS as readonly string[]).includes(m);

/** Refuse the flags of these metrics when none of them is asked for. */
function checkUnused(flags: SampleQualityFlags): void {
  for (const [flag, v] of [
    ['--classifier', flags.classifier],
    ['--guidance', flags.guidance],
    ['--n-per-class', flags.nPerClass],
  ] as const)
    if (v !== undefined) throw new UsageError(`${flag} applies to --metrics sample-accuracy or frechet`);
}

/** The labels of the samples: `perClass` of each class 0…K−1, in turn (0, 1, …, K−1, 0, 1, …). */
function classLabels(classes: number, perClass: number): number[] {
  return Array.from({ length: classes * perClass }, (_, i) => i % classes);
}

/**
 * Check the flags and the fit of model and classifier, and load the reference images (see the
 * module doc). Undefined when no classifier metric is asked for.
 */
export function planSampleQuality(
  asked: readonly string[],
  flags: SampleQualityFlags,
  config: AnyModelConfig,
  meta: ModelMeta | undefined,
  modelPath: string,
): SampleQualityPlan | undefined {
  const metrics = asked.filter(isClassifierMetric);
  if (metrics.length === 0) {
    checkUnused(flags);
    return undefined;
  }
  const names = metrics.join(',');
  if (flags.classifier === undefined)
    throw new UsageError(`--metrics ${names} needs --classifier DIR (train one with nfdm classifier train --data … --out DIR)`);
  const image = meta?.data?.imageShape;
  if (!image)
    throw new UsageError(
      `--metrics ${names} judges images; ${modelPath} was not trained on images (data: ${meta?.data?.spec ?? 'unknown'})`,
    );
  if (capabilitiesOf(familyOfConfig(config), objectiveOf(meta)).transport)
    throw new UsageError(`--metrics ${names} applies to generative image models, not to bridges (nfbm)`);
  const condition = modelCondition(config);
  if (condition && condition.kind !== 'label')
    throw new UsageError(`--metrics ${names}: the model is conditioned on vectors, not class labels`);
  const classes = condition?.kind === 'label' ? condition.classes : undefined;
  if (metrics.includes('sample-accuracy') && classes === undefined)
    throw new UsageError(
      'sample-accuracy needs a label-conditional model (trained with --condition label); this model is unconditional (frechet applies to it)',
    );
  if (classes === undefined && flags.guidance !== undefined)
    throw new UsageError('--guidance needs a label-conditional model (trained with --condition label); this model is unconditional');
  if (classes === undefined && flags.nPerClass !== undefined)
    throw new UsageError('--n-per-class needs a label-conditional model; give the number of samples with --n');
  const dir = flags.classifier;
  const cfg = classifierConfigAt(dir);
  checkClassifierFits(cfg, image, `the model ${modelPath} makes`, dir);
  if (classes !== undefined && classes !== cfg.classes)
    throw new UsageError(`the model knows ${classes} classes, the classifier ${dir} ${cfg.classes}`);
  const labels = classes !== undefined ? classLabels(classes, flags.nPerClass ?? 100) : undefined;
  const plan: SampleQualityPlan = { metrics, dir, config: cfg, labels, n: labels?.length ?? flags.n, guidance: flags.guidance };
  if (metrics.includes('frechet')) {
    const spec = meta?.data?.spec as string;
    const ref = evaluationImages(spec, FRECHET_REFERENCE);
    plan.reference = ref.data;
    plan.referenceSource = `${ref.data.n} ${ref.heldOut ? 'test' : ''} images of ${spec}`.replace('  ', ' ');
  }
  return plan;
}

export interface SampleQualityResult {
  'sample-accuracy'?: SampleAccuracy & { guidance: number; classifier: string; trainedTestAccuracy: number | null };
  frechet?: {
    value: number;
    samples: number;
    reference: number;
    referenceSource: string;
    features: number;
    guidance: number;
    classifier: string;
    note: string;
  };
  /** Samples that diverged and were left out. */
  diverged?: { count: number; of: number };
}

/** Draw the plan's samples and measure the asked metrics (progress on `out`). */
export function measureSampleQuality(
  plan: SampleQualityPlan,
  opened: OpenedModel,
  sampling: SamplerChoice,
  seed: number,
  out: Output,
): SampleQualityResult {
  const guidance = plan.guidance ?? 0;
  const what = plan.labels ? `${plan.n / plan.config.classes} per class, guidance ${guidance}` : 'unconditional';
  out.note(`drawing ${plan.n} samples (${what}; ${sampling.label}) for ${plan.metrics.join(', ')}…`);
  const progress = out.progress('sampling', plan.n, 'samples');
  const drawn = drawSamples(opened, plan.n, sampling, seed, false, {
    diverged: 'drop',
    progress,
    labels: plan.labels,
    guidance: plan.guidance,
  });
  progress.finish();
  const result: SampleQualityResult = {};
  if (drawn.diverged.length > 0) {
    out.warn(
      `${drawn.diverged.length} of ${drawn.asked} samples diverged (NaN/Inf) with ${sampling.label}: left out of ${plan.metrics.join(', ')}`,
    );
    result.diverged = { count: drawn.diverged.length, of: drawn.asked };
  }
  const bad = new Set(drawn.diverged);
  const samples = { data: drawn.samples, n: drawn.n, dim: drawn.dim };
  const classifier = openClassifier(plan.dir);
  try {
    if (plan.metrics.includes('sample-accuracy') && plan.labels) {
      const kept = plan.labels.filter((_, i) => !bad.has(i));
      const trained = readClassifierRun(plan.dir)?.test.accuracy ?? null;
      result['sample-accuracy'] = {
        ...sampleAccuracy(classifier, samples, kept),
        guidance,
        classifier: plan.dir,
        trainedTestAccuracy: trained,
      };
    }
    if (plan.metrics.includes('frechet') && plan.reference) {
      out.note(`Fréchet distance of classifier features: ${samples.n} samples vs ${plan.referenceSource}…`);
      const value = classifierFrechetDistance(classifier, samples, plan.reference);
      result.frechet = {
        value,
        samples: samples.n,
        reference: plan.reference.n,
        referenceSource: plan.referenceSource ?? '',
        features: plan.config.features,
        guidance,
        classifier: plan.dir,
        note: FRECHET_NOTE,
      };
    }
  } finally {
    classifier.dispose();
  }
  return result;
}

/** Rows of the eval table for a classifier metric (name, value, description). */
export function sampleQualityRow(m: ClassifierMetricName, result: SampleQualityResult): string[] | undefined {
  const acc = result['sample-accuracy'];
  if (m === 'sample-accuracy' && acc)
    return [
      m,
      fmt(acc.mean),
      `mean over classes of the fraction of class-k samples classified as k (${acc.n} samples, guidance ${acc.guidance}; classifier ${acc.classifier})`,
    ];
  const f = result.frechet;
  if (m === 'frechet' && f) return [m, fmt(f.value), `${FRECHET_NOTE}; ${f.samples} samples vs ${f.referenceSource}`];
  return undefined;
}

/** The per-class accuracy table under the eval table (empty without sample-accuracy). */
export function perClassAccuracyText(result: SampleQualityResult, classNames?: readonly string[]): string {
  const acc = result['sample-accuracy'];
  if (!acc) return '';
  const rows = [['class', 'samples', 'accuracy', '']];
  acc.perClass.forEach((a, k) => {
    if (a !== null) rows.push([String(k), String(acc.counts[k]), fmt(a), classNames?.[k] ?? '']);
  });
  const trained = acc.trainedTestAccuracy !== null ? `; the classifier's own test accuracy: ${fmt(acc.trainedTestAccuracy)}` : '';
  return `\n\nsample accuracy by class (guidance ${acc.guidance}; mean ${fmt(acc.mean)}, overall ${fmt(acc.overall)}${trained}):\n${table(rows)}`;
}
