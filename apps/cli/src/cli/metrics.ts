/** Likelihood and sample-quality metrics in data units, shared by `nfdm eval` and `nfdm demo`. */
import type { DataMatrix } from '@nfdm/datasets';
import { standardizationLogDet as logStdSum } from '@nfdm/datasets';
import { bitsPerDim, type DiffusionModel, estimate, fractionInside, heldOutRole, impliedClassifier, standardize } from '@nfdm/models';
import { EXACT_WASSERSTEIN_MAX_N, energyDistance, exactWasserstein, pointSet, rbfMmd2, slicedWasserstein } from '@nfdm/training';
import * as tf from '@tensorflow/tfjs';
import { CliError } from './errors.js';
import type { Progress } from './progress.js';
import { logDensity, notCapable, type OpenedModel, objectiveOf, operationsOf, standardizationOf } from './runtime.js';

export const METRIC_NAMES = [
  'nll',
  'nelbo',
  'bound',
  'classifier',
  'mmd',
  'energy',
  'swd',
  'w2',
  'curvature',
  'inside',
  'sample-accuracy',
  'frechet',
] as const;
/** Metrics comparing model samples (bridges: transported endpoints) with data. */
export const SAMPLE_METRICS = ['mmd', 'energy', 'swd', 'w2'] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

export interface LikelihoodMetric {
  /** Nats per sample, data units. */
  mean: number;
  stderr: number;
  n: number;
  bitsPerDim: number;
}

/**
 * Exact NLL by the probability-flow ODE (nats per sample, data units); with the rows' `labels`
 * (label-conditional models) the conditional −log p(x | y).
 */
export function nllMetric(
  opened: OpenedModel,
  x: DataMatrix,
  options: { solver: string; steps?: number; rtol: number; atol: number; bitsOffset: number; progress?: Progress; labels?: Float32Array },
): LikelihoodMetric & { nfe: number } {
  const { logp, stats } = logDensity(opened, x, options);
  const bad = logp.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0)
    throw new CliError(
      `the likelihood of row ${bad + 1} is not finite (diverged ODE solve?); try a tighter --rtol/--atol or fixed --nll-steps`,
    );
  const e = estimate(logp.map((v) => -v));
  return { mean: e.mean, stderr: e.stderr, n: e.n, bitsPerDim: bitsPerDim(e.mean, x.dim, options.bitsOffset), nfe: stats.nfe };
}

/**
 * Monte Carlo NELBO (nats per sample, data units): an upper bound on the NLL — for a family whose
 * bound is not the NELBO (DiffFlow: the NLL bound of its discrete chain, docs/maths/diffflow.md),
 * that bound, through the family's `nllBound` operation. With the rows' `labels` (label-conditional
 * models) the conditional NELBO, a bound on −log p(x | y).
 */
export function nelboMetric(
  opened: OpenedModel,
  x: DataMatrix,
  options: { draws: number; seed: number; bitsOffset: number; labels?: Float32Array },
): LikelihoodMetric {
  const nllBound = operationsOf(opened).nllBound;
  if (!nllBound) throw new CliError(notCapable(opened, 'logProb'));
  const std = standardizationOf(opened.config);
  const raw = tf.tensor2d(x.data, [x.n, x.dim]);
  const y = std ? standardize(raw, std) : raw;
  const condition = options.labels ? tf.tensor2d(options.labels, [x.n, 1]) : undefined;
  try {
    const b = nllBound(opened.model, y as tf.Tensor2D, { draws: options.draws, seed: options.seed, condition });
    const mean = b.mean + (std ? logStdSum(std) : 0);
    return { mean, stderr: b.stderr, n: b.n, bitsPerDim: bitsPerDim(mean, x.dim, options.bitsOffset) };
  } finally {
    condition?.dispose();
    raw.dispose();
    if (y !== raw) y.dispose();
  }
}

/**
 * The held-out bound of a family that reports one besides the NELBO, as in training (its task's
 * held-out metric of role `bound`; bridges: the bound on −log p(target | source)) on data rows
 * (bridges: pairs [target | source]), nats per row; bits/dim over the `dim` values of one end.
 * The standard error is over the `draws` Monte Carlo draws.
 */
export function boundMetric(
  opened: OpenedModel,
  rows: DataMatrix,
  options: { draws: number; seed: number; dim: number; bitsOffset: number; labels?: Float32Array },
): LikelihoodMetric {
  const task = opened.descriptor.trainingTask(opened.model, objectiveOf(opened.meta));
  const metric = task.heldOutMetrics.find((m) => heldOutRole(m) === 'bound');
  if (!metric) throw new CliError(`a ${opened.descriptor.title} reports no bound besides the NELBO; use nelbo`);
  const x = tf.tensor2d(rows.data, [rows.n, rows.dim]);
  // A conditional bridge: the bound on −log p(target | source, y) at the targets' labels.
  const y = options.labels ? tf.tensor2d(options.labels.subarray(0, rows.n), [rows.n, 1]) : undefined;
  try {
    const r = task.heldOut(x, options.draws, options.seed, y);
    const mean = r[metric.key];
    const stderr = metric.stderrKey ? r[metric.stderrKey] : Number.NaN;
    return { mean, stderr, n: rows.n, bitsPerDim: bitsPerDim(mean, options.dim, options.bitsOffset) };
  } finally {
    x.dispose();
    y?.dispose();
  }
}

/** Sample metrics between model samples and data (same n), in data units. */
export function sampleMetrics(
  samples: DataMatrix,
  data: DataMatrix,
  which: MetricName[],
  seed: number,
): Partial<Record<MetricName, number>> {
  const a = pointSet(samples.data, samples.n, samples.dim);
  const b = pointSet(data.data, data.n, data.dim);
  const out: Partial<Record<MetricName, number>> = {};
  if (which.includes('mmd')) out.mmd = rbfMmd2(a, b);
  if (which.includes('energy')) out.energy = energyDistance(a, b);
  if (which.includes('swd')) out.swd = slicedWasserstein(a, b, { seed });
  if (which.includes('w2')) {
    if (a.n > EXACT_WASSERSTEIN_MAX_N) {
      throw new CliError(
        `w2 is exact optimal transport, limited to n ≤ ${EXACT_WASSERSTEIN_MAX_N} (O(n³)); use --n ${EXACT_WASSERSTEIN_MAX_N} or drop w2 (swd works for any n)`,
      );
    }
    out.w2 = exactWasserstein(a, b).distance;
  }
  return out;
}

/**
 * Mean ‖d²z/dt²‖ along `n` generated probability-flow trajectories (Euler, `steps` steps), in
 * model units — families with the `curvature` capability (NFDM-OT's straightness measure; 0 for
 * straight paths).
 */
export function curvatureOfModel(opened: OpenedModel, options: { n: number; steps: number; seed: number }): number {
  const curvature = operationsOf(opened).curvature;
  if (!opened.capabilities.curvature || !curvature)
    throw new CliError(`curvature applies to diffusion models (nfdm-ot, nfdm, fm, …), not to a ${opened.family} model`);
  return curvature(opened.model, options);
}

/** Fraction of the points of bridge trajectories [T, n, D] inside `disc`, else the model's obstacle (undefined: neither). */
export function insideFraction(
  opened: OpenedModel,
  trajectory: Float32Array,
  dim: number,
  disc?: { center: number[]; radius: number },
): number | undefined {
  const config = opened.config as { penalties?: Array<{ kind: string; center: number[]; radius: number }> };
  const obstacle = disc ?? config.penalties?.find((p) => p.kind === 'obstacle');
  if (!obstacle) return undefined;
  const points = tf.tensor2d(trajectory, [trajectory.length / dim, dim]);
  try {
    return fractionInside(points, obstacle);
  } finally {
    points.dispose();
  }
}

/** What each metric means, for humans. */
export const METRIC_LABELS: Record<MetricName, string> = {
  curvature: 'mean ‖d²z/dt²‖ along ODE paths (model units)',
  inside: 'fraction of trajectory points inside the obstacle',
  nll: 'exact NLL (nats/sample)',
  nelbo: 'NELBO (nats/sample)',
  bound: 'bridges: bound on −log p(target | source) of held-out pairs (nats/pair)',
  classifier: 'accuracy of the implied classifier argmax_y log p(x | y) (uniform prior)',
  mmd: 'MMD² (RBF, σ ∈ {0.01…100})',
  energy: 'energy distance',
  swd: 'sliced W2 (500 directions)',
  w2: 'exact W2',
  'sample-accuracy': 'images: accuracy of the in-repo classifier (--classifier) on class-conditional samples, mean over classes',
  frechet: "images: squared Fréchet distance of the in-repo classifier's features, samples vs test images (not Inception FID)",
};

/** The implied classifier's result on labelled rows: accuracy, chance level and the solver's NFE. */
export interface ClassifierMetric {
  accuracy: number;
  /** 1/K, the accuracy of a uniform guess. */
  chance: number;
  n: number;
  classes: number;
  nfe: number;
}

/**
 * Accuracy of the classifier implied by a label-conditional diffusion model, ŷ(x) = argmax_y
 * log p(x | y) + log p(y) with a uniform prior (models.impliedClassifier: one exact-likelihood ODE
 * solve per class), on rows x with their labels. Standardisation shifts every log p(x | y) by the
 * same constant, so it is applied and its log-determinant ignored.
 */
export function classifierMetric(
  opened: OpenedModel,
  x: DataMatrix,
  labels: Float32Array,
  options: { solver: string; steps?: number; rtol: number; atol: number; seed: number },
): ClassifierMetric {
  const model = opened.model as DiffusionModel;
  const classes = model.condition?.spec.kind === 'label' ? model.condition.spec.classes : 0;
  if (classes === 0) throw new CliError('the classifier metric needs a label-conditional model');
  const std = standardizationOf(opened.config);
  const raw = tf.tensor2d(x.data, [x.n, x.dim]);
  const y = std ? standardize(raw, std) : raw;
  try {
    const r = impliedClassifier(model, y, { ...options, labels });
    return { accuracy: r.accuracy ?? 0, chance: 1 / classes, n: x.n, classes, nfe: r.stats.nfe };
  } finally {
    raw.dispose();
    if (y !== raw) y.dispose();
  }
}
