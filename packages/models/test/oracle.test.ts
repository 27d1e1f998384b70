/**
 * End-to-end oracle: Gaussian data, a fixed VP forward process and the ANALYTIC optimal
 * predictor, so that every likelihood the model reports has a closed-form answer.
 *
 * Data x ~ N(m, diag s²) in D = 2. The VP process has q(z_t | x) = N(α_t x, σ_t² I), so the
 * marginal is z_t ~ N(α_t m, diag(α_t² s² + σ_t²)) and the posterior mean is
 *
 *   x̂*(z, t) = E[x | z_t = z] = m + (α_t s² / (α_t² s² + σ_t²)) ⊙ (z − α_t m).
 *
 * The conditional velocity f(z, t, x) = α̇ x + σ̇ (z − α x)/σ is affine in x, so
 * f(z, t, x̂*(z, t)) = E[f(z, t, x) | z_t = z] is exactly the probability-flow velocity of the
 * marginals: the model's ODE transports q(z_{t₀}) to q(z₁). The only approximation is the
 * prior, N(0, I) instead of q(z₁) = N(α₁ m, α₁² s² + σ₁²) with α₁ = e^{−5.025} ≈ 0.0066
 * (an effect of order α₁² ≈ 4e-5 nats).
 *
 * IMPORTANT: VP is defined on [t₀, 1] with t₀ = 1e-3, where σ(t₀) ≈ 0.0105 is small but > 0.
 * `logProb` starts the ODE at t₀ with z_{t₀} = x, so the density it reports is that of z_{t₀},
 * i.e. the data scaled by α₀ and convolved with N(0, σ₀²): N(α₀ m, α₀² s² + σ₀²). That is
 * the exact comparison below (it differs from the data density by O(σ₀²/s²) per point).
 *
 * The NELBO bounds −log p(x) for the model with the decoder p(x | z_{t₀}) = N(z/α₀, σ₀²/α₀²);
 * with the optimal predictor its gap is E KL(q(x | z_{t₀}) ‖ p(x | z_{t₀})) ≈ Σ_d σ₀²/(2 s_d²)
 * ≈ 3e-4 nats, far below the Monte Carlo error, so the NELBO must agree with the true data NLL
 * −log N(x; m, s²) within Monte Carlo error, and must not lie below it.
 */
import { initBackend, Rng } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DiffusionModel, FixedGaussianProcess, MatchedVolatility, type Predictor, type ScheduleConfig } from '../src/index.js';
import { AnalyticPredictor } from './analytic-predictor.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const D = 2;
const M = [0.6, -0.4];
const S = [0.5, 1.4];
const VP: ScheduleConfig = { name: 'vp' };

/**
 * The oracle model. DiffusionModel's constructor takes the concrete `Predictor` class (which
 * carries a TimeMLP `net`), so a custom predictor needs a structural cast; only `dim`,
 * `predict`, `parameters` and `dispose` are used by the model.
 */
function oracleModel(mean = M, std = S): DiffusionModel {
  const forward = new FixedGaussianProcess(D, VP);
  const predictor = new AnalyticPredictor(forward.schedule, mean, std) as unknown as Predictor;
  return new DiffusionModel(forward, predictor, new MatchedVolatility(VP));
}

/** n rows of N(m, diag s²) from a seeded generator, [n, D]. */
function gaussianData(n: number, seed: number): tf.Tensor2D {
  const rng = new Rng(seed);
  const out = new Float32Array(n * D);
  for (let i = 0; i < n; i++) for (let d = 0; d < D; d++) out[i * D + d] = M[d] + S[d] * rng.normal();
  return tf.tensor2d(out, [n, D]);
}

/** log N(x; mean, diag var) per row (float64 on the JS side). */
function gaussianLogPdf(x: ArrayLike<number>, n: number, mean: number[], variance: number[]): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let lp = 0;
    for (let d = 0; d < D; d++) {
      const r = x[i * D + d] - mean[d];
      lp += -0.5 * Math.log(2 * Math.PI * variance[d]) - (0.5 * r * r) / variance[d];
    }
    out[i] = lp;
  }
  return out;
}

const avg = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0) / a.length;

describe('oracle: Gaussian data, fixed VP process, analytic optimal predictor', () => {
  it('the exact ODE log-likelihood (dopri5, rtol = atol = 1e-5, exact divergence) equals the true log-density of z_{t0} to 1e-2 nats', () => {
    const model = oracleModel();
    const { t: t0, alpha: a0, sigma: s0 } = model.forward.start;
    expect(t0).toBe(1e-3);
    expect(s0).toBeGreaterThan(0.009);
    expect(s0).toBeLessThan(0.012);
    const n = 200;
    const x = gaussianData(n, 1);
    const before = tf.memory().numTensors;
    const { logp, stats } = model.logProb(x, { solver: 'dopri5', rtol: 1e-5, atol: 1e-5, divergence: 'exact' });
    expect(tf.memory().numTensors).toBe(before);
    // z_{t0} ~ N(α₀ m, α₀² s² + σ₀²): the density the ODE actually computes (see the file doc).
    const truth = gaussianLogPdf(
      x.dataSync(),
      n,
      M.map((m) => a0 * m),
      S.map((s) => a0 * a0 * s * s + s0 * s0),
    );
    const err = Array.from(logp, (v, i) => v - truth[i]);
    const meanAbs = avg(err.map(Math.abs));
    const meanErr = avg(err);
    const nll = -avg(logp);
    expect(Number.isFinite(nll)).toBe(true);
    expect(meanAbs).toBeLessThan(1e-2);
    expect(Math.abs(meanErr)).toBeLessThan(1e-2);
    expect(Math.max(...err.map(Math.abs))).toBeLessThan(5e-2);
    expect(stats.acceptedSteps).toBeGreaterThan(3);
    console.info(
      `[oracle] ODE NLL ${nll.toFixed(5)} vs true NLL of z_t0 ${(-avg(truth)).toFixed(5)} nats/sample ` +
        `(mean |error| ${meanAbs.toExponential(2)}, mean error ${meanErr.toExponential(2)}, NFE ${stats.nfe}, steps ${stats.acceptedSteps}+${stats.rejectedSteps})`,
    );
    x.dispose();
    model.dispose();
  });

  it('the oracle can fail: a predictor with the wrong data variance is off by far more than the tolerance', () => {
    const model = oracleModel(M, [S[0] * 1.3, S[1]]);
    const { alpha: a0, sigma: s0 } = model.forward.start;
    const n = 64;
    const x = gaussianData(n, 2);
    const { logp } = model.logProb(x, { solver: 'dopri5', rtol: 1e-5, atol: 1e-5 });
    const truth = gaussianLogPdf(
      x.dataSync(),
      n,
      M.map((m) => a0 * m),
      S.map((s) => a0 * a0 * s * s + s0 * s0),
    );
    // The model is then exactly N(m, diag((1.3 s₀)², s₁²)): its mean NLL exceeds the truth by
    // about KL = ½(1/1.69 − 1 + ln 1.69) ≈ 0.058 nats (plus sampling noise of 64 points).
    const gap = avg(Array.from(logp, (v, i) => truth[i] - v));
    expect(gap).toBeGreaterThan(0.03);
    x.dispose();
    model.dispose();
  });

  it('the NELBO (MatchedVolatility, Monte Carlo) is ≥ the true NLL within Monte Carlo error, and close to it', () => {
    const model = oracleModel();
    const { alpha: a0, sigma: s0 } = model.forward.start;
    const n = 16384;
    const x = gaussianData(n, 3);
    const before = tf.memory().numTensors;
    const result = model.nelbo(x, { draws: 128, seed: 5, batch: 8192 });
    expect(tf.memory().numTensors).toBe(before);
    const trueNll = -avg(
      gaussianLogPdf(
        x.dataSync(),
        n,
        M,
        S.map((s) => s * s),
      ),
    );
    const { mean, stderr } = result.nelbo;
    // Constant parts: L_rec = (D/2) log(2π σ₀²/α₀²) + D/2; L_prior = KL(q(z₁|x) ‖ N(0, I)) ≈ ½ α₁² ‖x‖² ≈ 0.
    expect(result.reconstruction).toBeCloseTo((D / 2) * Math.log((2 * Math.PI * s0 * s0) / (a0 * a0)) + D / 2, 10);
    expect(result.prior.mean).toBeGreaterThan(0);
    expect(result.prior.mean).toBeLessThan(1e-3);
    expect(stderr).toBeLessThan(0.05);
    const gap = mean - trueNll;
    console.info(
      `[oracle] NELBO ${mean.toFixed(4)} ± ${stderr.toFixed(4)} (diffusion ${result.diffusion.mean.toFixed(4)}, ` +
        `reconstruction ${result.reconstruction.toFixed(4)}, prior ${result.prior.mean.toExponential(2)}) vs true NLL ${trueNll.toFixed(4)}: ` +
        `gap ${gap.toFixed(4)} nats`,
    );
    expect(gap).toBeGreaterThan(-3 * stderr);
    expect(gap).toBeLessThan(3 * stderr + 0.01);
    x.dispose();
    model.dispose();
  });
});
