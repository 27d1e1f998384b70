/**
 * Likelihood reports: thin wrappers over a model's own estimators that add the summary the
 * training loop and the CLI print — mean and standard error in nats per sample, and bits per
 * dimension.
 *
 * - {@link testNll}: exact NLL through the probability-flow ODE, $-\log p(x)$ per row from
 *   `model.logProb` (docs/maths/likelihoods.md#exact-nll; not a bound for an imperfect model).
 * - {@link nelboReport}: the Monte Carlo NELBO from `model.nelbo` (docs/maths/likelihoods.md#nelbo; an upper bound on
 *   $-\log p(x)$).
 *
 * Bits/dim $= \text{nats} / (D \ln 2) + \text{offset}$ via @nfdm/models' `bitsPerDim`, applied to
 * the mean; its standard error is $\text{stderr}_\text{nats} / (D \ln 2)$. For 8-bit images
 * dequantised to $[-1, 1]$ the offset is 7 (see `bitsPerDim`); 2-D toy data uses 0.
 */
import type { SolveStats } from '@nfdm/core';
import { bitsPerDim, type Estimate, estimate, type LogProbOptions, type NelboOptions, type NelboResult } from '@nfdm/models';
import * as tf from '@tensorflow/tfjs';

/** The part of a `DiffusionModel` that {@link testNll} uses. */
export interface LogProbModel {
  readonly dim: number;
  logProb(x: tf.Tensor, options?: LogProbOptions): { logp: Float32Array; stats: SolveStats };
}

/** The part of a `DiffusionModel` that {@link nelboReport} uses. */
export interface NelboModel {
  readonly dim: number;
  nelbo(x: tf.Tensor, options?: NelboOptions): NelboResult;
}

/** Mean and standard error in bits per dimension. */
export interface BitsPerDim {
  mean: number;
  stderr: number;
}

export interface TestNllOptions extends LogProbOptions {
  /**
   * Rows per `logProb` call (default: all rows in one call). With an adaptive solver the step
   * sequence depends on the whole batch, so results depend (slightly) on `batch`. Batch `k`
   * uses seed `seed + k` (Hutchinson probes), so batch 0 reproduces `model.logProb(x, options)`.
   */
  batch?: number;
  /** Added to bits/dim (dequantisation offset; default 0). */
  bitsOffset?: number;
}

export interface TestNllResult {
  /** $-\log p(x)$ in nats per sample: mean, standard error over rows, n. */
  nll: Estimate;
  bitsPerDim: BitsPerDim;
  /** Per-row NLL in nats, `[n]`. */
  perSample: Float64Array;
  /** Solver statistics summed over batches (`initialStep` is the first batch's). */
  stats: SolveStats;
  batches: number;
}

function checkData(x: tf.Tensor, dim: number): number {
  if (!(x instanceof tf.Tensor) || x.rank !== 2) throw new TypeError(`x must be a rank-2 tensor [n, ${dim}]`);
  const [n, d] = x.shape as [number, number];
  if (d !== dim) throw new TypeError(`x has dimension ${d}, the model has dimension ${dim}`);
  if (n < 1) throw new RangeError('x has no rows');
  return n;
}

function toBits(e: Estimate, dim: number, offset: number): BitsPerDim {
  return { mean: bitsPerDim(e.mean, dim, offset), stderr: e.stderr / (dim * Math.LN2) };
}

/**
 * Test NLL by the exact probability-flow ODE likelihood: calls `model.logProb` on `x` (in
 * batches of `options.batch` rows) and reports $-\log p$ per row.
 *
 * **Arguments:** `model` — a `DiffusionModel` (or anything with `dim` and `logProb`); `x` —
 * `[n, D]` float32 test data (not disposed); `options` — `LogProbOptions` (solver, rtol, atol,
 * steps, divergence, seed) plus `batch` and `bitsOffset`.
 *
 * Throws `TypeError` for a shape mismatch and `RangeError` if some log-likelihood is not finite.
 */
export function testNll(model: LogProbModel, x: tf.Tensor, options: TestNllOptions = {}): TestNllResult {
  const n = checkData(x, model.dim);
  const { batch: batchOption, bitsOffset = 0, ...logProbOptions } = options;
  const batch = batchOption ?? n;
  if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`batch must be a positive integer, got ${batchOption}`);
  const seed = logProbOptions.seed ?? 0;
  const perSample = new Float64Array(n);
  const stats: SolveStats = { nfe: 0, diffusionEvals: 0, steps: 0, acceptedSteps: 0, rejectedSteps: 0, initialStep: 0 };
  let batches = 0;
  for (let start = 0; start < n; start += batch) {
    const size = Math.min(batch, n - start);
    const xb = size === n ? x : tf.slice(x, [start, 0], [size, model.dim]);
    try {
      const { logp, stats: s } = model.logProb(xb, { ...logProbOptions, seed: seed + batches });
      for (let i = 0; i < size; i++) perSample[start + i] = -logp[i];
      if (batches === 0) stats.initialStep = s.initialStep;
      stats.nfe += s.nfe;
      stats.diffusionEvals += s.diffusionEvals;
      stats.steps += s.steps;
      stats.acceptedSteps += s.acceptedSteps;
      stats.rejectedSteps += s.rejectedSteps;
    } finally {
      if (xb !== x) xb.dispose();
    }
    batches++;
  }
  const bad = perSample.reduce((count, v) => count + (Number.isFinite(v) ? 0 : 1), 0);
  if (bad > 0) throw new RangeError(`testNll: ${bad} of ${n} log-likelihoods are not finite (diverged solve or NaN data?)`);
  const nll = estimate(perSample);
  return { nll, bitsPerDim: toBits(nll, model.dim, bitsOffset), perSample, stats, batches };
}

export interface NelboReportOptions extends NelboOptions {
  /** Added to bits/dim (dequantisation offset; default 0). */
  bitsOffset?: number;
}

export interface NelboReport extends NelboResult {
  /** The NELBO in bits per dimension (mean and standard error). */
  bitsPerDim: BitsPerDim;
}

/**
 * `model.nelbo(x, options)` (nats per sample: NELBO = reconstruction + diffusion + prior, each
 * with mean and standard error over rows) plus the NELBO in bits/dim.
 */
export function nelboReport(model: NelboModel, x: tf.Tensor, options: NelboReportOptions = {}): NelboReport {
  checkData(x, model.dim);
  const { bitsOffset = 0, ...nelboOptions } = options;
  const result = model.nelbo(x, nelboOptions);
  return { ...result, bitsPerDim: toBits(result.nelbo, model.dim, bitsOffset) };
}
