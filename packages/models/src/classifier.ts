/**
 * The classifier implied by a class-conditional diffusion model (labels y ∈ {0, …, K−1}): by Bayes'
 * rule with the exact conditional likelihoods of the probability-flow ODE ({@link DiffusionModel.logProb}),
 *
 *   p(y | x) ∝ p(x | y) p(y),     ŷ(x) = argmax_y [ log p(x | y) + log p(y) ],
 *
 * with a uniform prior p(y) = 1/K unless class log-priors are given. Each class costs one ODE
 * solve of all rows (K solves in all, the same Hutchinson probes for every class, so the
 * comparison between classes uses common random numbers). When the model's p(x | y) is the data's,
 * ŷ is the Bayes classifier.
 */
import type { SolveStats } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import type { DiffusionModel, LogProbOptions } from './model.js';

/** Options of {@link impliedClassifier}: the ODE solve of each class, the prior and the true labels. */
export interface ImpliedClassifierOptions extends Omit<LogProbOptions, 'condition'> {
  /** log p(y) for y = 0…K−1 (unnormalised is fine); default uniform. */
  logPrior?: ArrayLike<number>;
  /** The rows' true labels [n], for the accuracy. */
  labels?: ArrayLike<number>;
}

export interface ImpliedClassifierResult {
  /** ŷ per row [n]. */
  predicted: Int32Array;
  /** log p(x | y) per row and class, row-major [n, K] (nats, model units). */
  logLikelihoods: Float64Array;
  /** log p(y | x) per row and class, row-major [n, K]. */
  logPosterior: Float64Array;
  /** Fraction of rows with ŷ = the given label (when `labels` are given). */
  accuracy?: number;
  /** Summed solver counters of the K solves. */
  stats: SolveStats;
}

/**
 * ŷ(x) = argmax_y log p(x | y) + log p(y) for each row of x [n, D] (model units) under a label-
 * conditional model, with the posterior p(y | x) and, given the true labels, the accuracy.
 */
export function impliedClassifier(model: DiffusionModel, x: tf.Tensor, options: ImpliedClassifierOptions = {}): ImpliedClassifierResult {
  const spec = model.condition?.spec;
  if (spec?.kind !== 'label') throw new RangeError('the implied classifier needs a label-conditional model (condition kind "label")');
  const K = spec.classes;
  const n = x.shape[0] as number;
  const { logPrior: priorIn, labels, ...solve } = options;
  if (priorIn && priorIn.length !== K) throw new RangeError(`logPrior needs ${K} values (one per class), got ${priorIn.length}`);
  if (labels && labels.length !== n) throw new RangeError(`labels needs ${n} values (one per row), got ${labels.length}`);
  const logPrior = priorIn ? Array.from(priorIn) : new Array<number>(K).fill(-Math.log(K));
  const ll = new Float64Array(n * K);
  const stats: SolveStats = { nfe: 0, diffusionEvals: 0, steps: 0, acceptedSteps: 0, rejectedSteps: 0, initialStep: 0 };
  for (let k = 0; k < K; k++) {
    const y = tf.fill([n, 1], k);
    try {
      const r = model.logProb(x, { ...solve, condition: y });
      for (let i = 0; i < n; i++) ll[i * K + k] = r.logp[i];
      addStats(stats, r.stats, k === 0);
    } finally {
      y.dispose();
    }
  }
  const predicted = new Int32Array(n);
  const post = new Float64Array(n * K);
  let correct = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    let top = -Infinity;
    for (let k = 0; k < K; k++) {
      const s = ll[i * K + k] + logPrior[k];
      post[i * K + k] = s;
      if (s > top) {
        top = s;
        best = k;
      }
    }
    let total = 0;
    for (let k = 0; k < K; k++) total += Math.exp(post[i * K + k] - top);
    const logZ = top + Math.log(total);
    for (let k = 0; k < K; k++) post[i * K + k] -= logZ;
    predicted[i] = best;
    if (labels && labels[i] === best) correct++;
  }
  return { predicted, logLikelihoods: ll, logPosterior: post, ...(labels ? { accuracy: n > 0 ? correct / n : 0 } : {}), stats };
}

const STAT_KEYS = ['nfe', 'diffusionEvals', 'steps', 'acceptedSteps', 'rejectedSteps'] as const;

/** Add one solve's counters into `total` (the first solve gives the initial step). */
function addStats(total: SolveStats, one: SolveStats, first: boolean): void {
  for (const key of STAT_KEYS) total[key] += one[key];
  if (first) total.initialStep = one.initialStep;
}
