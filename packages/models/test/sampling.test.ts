/**
 * Samplers against an oracle: Gaussian data x ~ N(m, Σ) (full covariance, D = 2), a fixed VP
 * forward process and the analytic optimal predictor
 *
 *   x̂*(z, t) = E[x | z_t = z] = m + α_t Σ (α_t² Σ + σ_t² I)⁻¹ (z − α_t m),
 *
 * under which the probability-flow ODE and the reverse SDE (with the matched volatility
 * g² = −σ² λ′, i.e. VP's β(t)) carry N(0, I) at t = 1 to q(z_{t₀}) = N(α₀ m, α₀² Σ + σ₀² I),
 * up to the prior mismatch at t = 1 (α₁ ≈ 0.0066) and the discretisation error. With t₀ = 1e-3,
 * α₀ ≈ 1 − 5e-5 and σ₀² ≈ 1.1e-4, so the samples must reproduce that mean and covariance within
 * Monte Carlo error (n = 4000). Also checked: trajectories [T, n, D] with times from 1 to t₀,
 * and seeded reproducibility.
 */
import { initBackend } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DiffusionModel,
  FixedGaussianProcess,
  MatchedVolatility,
  type Predictor,
  type Schedule,
  type ScheduleConfig,
} from '../src/index.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const VP: ScheduleConfig = { name: 'vp' };
const MEAN = [1.0, -0.5];
/** Σ = [[0.49, 0.3], [0.3, 0.64]] (correlation ≈ 0.54). */
const COV = [
  [0.49, 0.3],
  [0.3, 0.64],
];

/**
 * The posterior mean for x ~ N(m, Σ) in 2-D: x̂ = m + α Σ (α² Σ + σ² I)⁻¹ (z − α m), with the
 * 2×2 inverse written out per row (α, σ are [B, 1]). Shapes: z [B, 2], t [B, 1] → [B, 2].
 */
class AnalyticPredictor {
  readonly offset = 0;
  readonly dim = 2;
  constructor(
    readonly schedule: Schedule,
    readonly mean: number[],
    readonly cov: number[][],
  ) {}
  predict(z: tf.Tensor, t: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const { alpha, sigma } = this.schedule.at(t, 0);
      const [[a, b], [, d]] = this.cov;
      const a2 = tf.square(alpha);
      const s2 = tf.square(sigma);
      // A = α² Σ + σ² I = [[p, q], [q, r]]; A⁻¹ = [[r, −q], [−q, p]] / det.
      const p = tf.add(tf.mul(a2, a), s2);
      const q = tf.mul(a2, b);
      const r = tf.add(tf.mul(a2, d), s2);
      const det = tf.sub(tf.mul(p, r), tf.square(q));
      const m = tf.tensor2d([this.mean]);
      const [u0, u1] = tf.split(tf.sub(z, tf.mul(alpha, m)), 2, 1);
      const w0 = tf.div(tf.sub(tf.mul(r, u0), tf.mul(q, u1)), det);
      const w1 = tf.div(tf.sub(tf.mul(p, u1), tf.mul(q, u0)), det);
      // x̂ − m = α Σ w.
      const x0 = tf.mul(alpha, tf.add(tf.mul(a, w0), tf.mul(b, w1)));
      const x1 = tf.mul(alpha, tf.add(tf.mul(b, w0), tf.mul(d, w1)));
      return tf.add(m, tf.concat([x0, x1], 1));
    });
  }
  toConfig() {
    return { analytic: true };
  }
  parameters() {
    return new Map<string, tf.Variable>();
  }
  dispose(): void {}
}

/** DiffusionModel takes the concrete Predictor class: a custom predictor needs a structural cast. */
function oracleModel(cov = COV): DiffusionModel {
  const forward = new FixedGaussianProcess(2, VP);
  return new DiffusionModel(forward, new AnalyticPredictor(forward.schedule, MEAN, cov) as unknown as Predictor, new MatchedVolatility(VP));
}

/** Sample mean and (unbiased) covariance of [n, 2] samples, in float64. */
function moments(samples: tf.Tensor): { mean: number[]; cov: number[][]; n: number } {
  const v = samples.dataSync();
  const n = samples.shape[0];
  const mean = [0, 0];
  for (let i = 0; i < n; i++) for (let d = 0; d < 2; d++) mean[d] += v[2 * i + d] / n;
  const cov = [
    [0, 0],
    [0, 0],
  ];
  for (let i = 0; i < n; i++) {
    const r = [v[2 * i] - mean[0], v[2 * i + 1] - mean[1]];
    for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) cov[a][b] += (r[a] * r[b]) / (n - 1);
  }
  return { mean, cov, n };
}

/**
 * Assert sample moments match N(μ, C) within `k` standard errors: se(mean_d) = √(C_dd/n),
 * se(C_ab) = √((C_aa C_bb + C_ab²)/n) (Gaussian sampling theory).
 */
function expectMoments(samples: tf.Tensor, mu: number[], C: number[][], k = 4): { mean: number[]; cov: number[][] } {
  const { mean, cov, n } = moments(samples);
  for (let d = 0; d < 2; d++) expect(Math.abs(mean[d] - mu[d])).toBeLessThan(k * Math.sqrt(C[d][d] / n));
  for (let a = 0; a < 2; a++) {
    for (let b = 0; b < 2; b++) expect(Math.abs(cov[a][b] - C[a][b])).toBeLessThan(k * Math.sqrt((C[a][a] * C[b][b] + C[a][b] ** 2) / n));
  }
  return { mean, cov };
}

/** The law of z_{t₀}: N(α₀ m, α₀² Σ + σ₀² I). */
function targetAtStart(model: DiffusionModel): { mu: number[]; C: number[][] } {
  const { alpha, sigma } = model.forward.start;
  return {
    mu: MEAN.map((m) => alpha * m),
    C: COV.map((row, i) => row.map((c, j) => alpha * alpha * c + (i === j ? sigma * sigma : 0))),
  };
}

/**
 * Tensors DiffusionModel.sample currently leaves behind per call: the N(0, I) draw of z₁ is
 * scaled by the prior std outside a tidy and never disposed (model.ts; reported with the fix
 * `const z1 = tf.tidy(() => tf.mul(rng.normalTensor([n, D]), priorStd))`). Leak checks allow at
 * most this per call, so they still catch any per-step leak and pass once the fix lands.
 */
const KNOWN_LEAK_PER_SAMPLE_CALL = 1;

const fmt = (m: { mean: number[]; cov: number[][] }) =>
  `mean [${m.mean.map((v) => v.toFixed(3))}], cov [[${m.cov[0].map((v) => v.toFixed(3))}], [${m.cov[1].map((v) => v.toFixed(3))}]]`;

describe('sampling with the analytic predictor reproduces the data law', () => {
  const n = 4000;

  it('probability-flow ODE, dopri5 adaptive (rtol = atol = 1e-5)', () => {
    const model = oracleModel();
    const { mu, C } = targetAtStart(model);
    const before = tf.memory().numTensors;
    const { samples, stats } = model.sample({ n, mode: 'ode', adaptive: { rtol: 1e-5, atol: 1e-5 }, seed: 1 });
    expect(samples.shape).toEqual([n, 2]);
    const m = expectMoments(samples, mu, C);
    console.info(`[sampling] ODE dopri5: ${fmt(m)} (NFE ${stats.nfe})`);
    samples.dispose();
    expect(tf.memory().numTensors - before).toBeLessThanOrEqual(KNOWN_LEAK_PER_SAMPLE_CALL);
  });

  it('probability-flow ODE, 200 Euler steps', () => {
    const model = oracleModel();
    const { mu, C } = targetAtStart(model);
    const { samples, stats } = model.sample({ n, mode: 'ode', solver: 'euler', steps: 200, seed: 2 });
    expect(stats.acceptedSteps).toBe(200);
    const m = expectMoments(samples, mu, C);
    console.info(`[sampling] ODE Euler 200: ${fmt(m)}`);
    samples.dispose();
  });

  it('reverse SDE, Euler–Maruyama 500 steps, matched volatility', () => {
    const model = oracleModel();
    const { mu, C } = targetAtStart(model);
    const before = tf.memory().numTensors;
    const { samples, stats } = model.sample({ n, mode: 'sde', solver: 'euler_maruyama', steps: 500, seed: 3 });
    expect(stats.acceptedSteps).toBe(500);
    const m = expectMoments(samples, mu, C);
    console.info(`[sampling] SDE Euler–Maruyama 500: ${fmt(m)}`);
    samples.dispose();
    expect(tf.memory().numTensors - before).toBeLessThanOrEqual(KNOWN_LEAK_PER_SAMPLE_CALL);
  });

  it('the check can fail: a predictor for another covariance gives detectably wrong samples', () => {
    const model = oracleModel([
      [0.49, 0],
      [0, 0.64],
    ]);
    const { samples } = model.sample({ n, mode: 'ode', solver: 'euler', steps: 200, seed: 2 });
    const { cov } = moments(samples);
    // The model now samples the uncorrelated law; the true Σ₀₁ = 0.3 is ~15 standard errors away.
    expect(Math.abs(cov[0][1] - COV[0][1])).toBeGreaterThan(8 * Math.sqrt((0.49 * 0.64 + 0.09) / n));
    samples.dispose();
  });
});

describe('trajectories and seeds', () => {
  it('trajectory: [T, n, D] with times from 1 down to t₀, first = prior draw, last = samples', () => {
    const model = oracleModel();
    const t0 = model.forward.start.t;
    for (const mode of ['sde', 'ode'] as const) {
      const before = tf.memory().numTensors;
      const out = model.sample({ n: 64, mode, steps: 50, seed: 9, trajectory: true });
      const traj = out.trajectory as tf.Tensor;
      expect(traj.shape).toEqual([51, 64, 2]);
      const times = out.times as number[];
      expect(times).toHaveLength(51);
      expect(times[0]).toBe(1);
      expect(times[50]).toBeCloseTo(t0, 12);
      for (let i = 1; i < times.length; i++) expect(times[i]).toBeLessThan(times[i - 1]);
      const [first, last] = tf.tidy(() => [
        tf.squeeze(tf.slice(traj, [0, 0, 0], [1, 64, 2]), [0]),
        tf.squeeze(tf.slice(traj, [50, 0, 0], [1, 64, 2]), [0]),
      ]);
      expect(Array.from(last.dataSync())).toEqual(Array.from(out.samples.dataSync()));
      // The first state is the N(0, I) prior draw, which depends on the seed only (not on the mode).
      const plain = model.sample({ n: 64, mode: mode === 'sde' ? 'ode' : 'sde', steps: 5, seed: 9, trajectory: true });
      const plainFirst = tf.tidy(() => tf.squeeze(tf.slice(plain.trajectory as tf.Tensor, [0, 0, 0], [1, 64, 2]), [0]));
      expect(Array.from(first.dataSync())).toEqual(Array.from(plainFirst.dataSync()));
      tf.dispose([traj, out.samples, first, last, plain.samples, plain.trajectory as tf.Tensor, plainFirst]);
      expect(tf.memory().numTensors - before).toBeLessThanOrEqual(2 * KNOWN_LEAK_PER_SAMPLE_CALL);
    }
  });

  it('the same seed gives identical samples, another seed different ones (ODE and SDE)', () => {
    const model = oracleModel();
    for (const mode of ['sde', 'ode'] as const) {
      const a = model.sample({ n: 128, mode, steps: 40, seed: 42 });
      const b = model.sample({ n: 128, mode, steps: 40, seed: 42 });
      const c = model.sample({ n: 128, mode, steps: 40, seed: 43 });
      expect(Array.from(a.samples.dataSync())).toEqual(Array.from(b.samples.dataSync()));
      expect(Array.from(a.samples.dataSync())).not.toEqual(Array.from(c.samples.dataSync()));
      tf.dispose([a.samples, b.samples, c.samples]);
    }
  });
});
