/**
 * Sample-quality metrics of image models measured with an in-repo {@link ImageClassifier}
 * (trained here, without the internet or pretrained weights; these are NOT Inception scores).
 *
 * - **Classifier accuracy of class-conditional samples**: for samples drawn given labels y_i,
 *   the fraction classified as their label, acc_k = #{i : y_i = k, argmax p(· | x_i) = k} /
 *   #{i : y_i = k} per class, and their mean over the classes asked for.
 * - **Fréchet distance of classifier features**: Gaussian fits N(μ_s, Σ_s), N(μ_r, Σ_r) of the
 *   penultimate features φ(x) [n, F] of samples and of reference (test) images, and
 *
 *     d² = ‖μ_s − μ_r‖² + tr(Σ_s + Σ_r − 2 (Σ_r^{1/2} Σ_s Σ_r^{1/2})^{1/2}),
 *
 *   the squared 2-Wasserstein (Fréchet) distance between the two Gaussians, the quantity FID
 *   reports for Inception-v3 features. Here the features are those of our small classifier, so
 *   values are comparable only between runs that use the same classifier — not with published
 *   FIDs. Moments use 1/n covariances in float64; the matrix square roots come from a Jacobi
 *   eigendecomposition in float64 (metrics/linalg.ts), negative rounding eigenvalues clipped to 0.
 */
import { gaussianW2Squared, moments } from '../metrics/linalg.js';
import type { Points } from '../metrics/points.js';
import { argmaxRows, classifyRows, featureRows, type ImageClassifier, type ImageRows } from './network.js';

/**
 * The squared Fréchet distance between Gaussian fits of two point sets a [n_a, F], b [n_b, F]
 * (see the module doc). Symmetric; 0 for identical sets (up to rounding).
 */
export function frechetDistance(a: Points, b: Points): number {
  const ma = moments(a);
  const mb = moments(b);
  if (ma.d !== mb.d) throw new RangeError(`frechetDistance: feature widths differ (${ma.d} vs ${mb.d})`);
  return gaussianW2Squared(ma.mean, ma.cov, mb.mean, mb.cov);
}

/** {@link frechetDistance} of the classifier's penultimate features of `samples` and `reference`. */
export function classifierFrechetDistance(classifier: ImageClassifier, samples: ImageRows, reference: ImageRows): number {
  const f = classifier.config.features;
  const fs = featureRows(classifier, samples);
  const fr = featureRows(classifier, reference);
  return frechetDistance({ data: fs, n: samples.n, d: f }, { data: fr, n: reference.n, d: f });
}

export interface SampleAccuracy {
  /** Per class k = 0…K−1: the fraction of samples asked with label k classified as k (null when none was asked). */
  perClass: (number | null)[];
  /** Samples asked per class. */
  counts: number[];
  /** Mean of the per-class accuracies over the classes asked for. */
  mean: number;
  /** Fraction of all samples classified as their label. */
  overall: number;
  n: number;
}

/** Classifier accuracy of class-conditional samples (see the module doc). `labels[i]` is the label sample i was drawn with. */
export function sampleAccuracy(classifier: ImageClassifier, samples: ImageRows, labels: ArrayLike<number>): SampleAccuracy {
  const K = classifier.config.classes;
  if (labels.length !== samples.n) throw new RangeError(`sampleAccuracy: ${samples.n} samples but ${labels.length} labels`);
  const predicted = argmaxRows(classifyRows(classifier, samples), K);
  const counts = new Array<number>(K).fill(0);
  const hits = new Array<number>(K).fill(0);
  for (let i = 0; i < samples.n; i++) {
    const y = labels[i];
    if (!Number.isInteger(y) || y < 0 || y >= K) throw new RangeError(`sampleAccuracy: label ${y} is not a class 0…${K - 1}`);
    counts[y]++;
    if (predicted[i] === y) hits[y]++;
  }
  const perClass = counts.map((c, k) => (c > 0 ? hits[k] / c : null));
  const asked = perClass.filter((a): a is number => a !== null);
  const total = hits.reduce((s, h) => s + h, 0);
  return {
    perClass,
    counts,
    mean: asked.length > 0 ? asked.reduce((s, a) => s + a, 0) / asked.length : 0,
    overall: samples.n > 0 ? total / samples.n : 0,
    n: samples.n,
  };
}
