/**
 * SDE solvers against closed forms and known strong orders.
 *
 * - Ornstein–Uhlenbeck dX = −θX dt + σ dW: X(1) ~ N(x0 e^{−θ}, σ²(1 − e^{−2θ})/(2θ)). Each
 *   scheme applied to this linear SDE is the linear recursion X_{n+1} = R X_n + noise with
 *   per-step noise variance q (derived in the tests), so its discretisation bias is known
 *   exactly; sample moments must match the closed form within 3 standard errors plus that
 *   (small) bias.
 * - Strong order on a shared Brownian path (BrownianGrid, 512 cells, the same path for every
 *   step size): Euler–Maruyama ≈ 0.5 on geometric Brownian motion (exact solution
 *   X0 exp((μ − σ²/2)t + σW_t)); for additive noise, Euler–Maruyama and stochastic Heun ≈ 1 and
 *   SRA1 ≈ 1.5 against a 512-step SRA1 reference.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import { BrownianGrid, BrownianIncrements, SDETerm, solve } from '../../src/solvers/index.js';
import { logLogSlope, meanVar } from './helpers.js';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('Ornstein–Uhlenbeck moments at t = 1', () => {
  const theta = 1;
  const sigma = 0.8;
  const x0 = 1.5;
  const ou = new SDETerm({ drift: (_t, y) => tf.mul(y, -theta), diffusion: () => tf.scalar(sigma), additive: true });
  const mean = x0 * Math.exp(-theta);
  const variance = ((sigma * sigma) / (2 * theta)) * (1 - Math.exp(-2 * theta));

  // One step of each scheme on this SDE is X ↦ R X + noise, Var(noise) = q (z = −θh).
  const schemes = {
    euler_maruyama: { steps: 200, R: (z: number) => 1 + z, q: (h: number) => sigma * sigma * h },
    stochastic_heun: {
      steps: 50,
      R: (z: number) => 1 + z + (z * z) / 2,
      q: (h: number) => sigma * sigma * h * (1 - (theta * h) / 2) ** 2,
    },
    // noise = σ[(1 − θh/2) ΔW − θh H] with Var H = h/12.
    sra1: {
      steps: 20,
      R: (z: number) => 1 + z + (z * z) / 2,
      q: (h: number) => sigma * sigma * (h * (1 - (theta * h) / 2) ** 2 + (theta * theta * h ** 3) / 12),
    },
  };

  it.each(Object.entries(schemes))('%s reproduces the mean and variance within Monte Carlo error', (name, s) => {
    const B = 10_000;
    const D = 2; // independent components: 20 000 samples
    const y0 = tf.fill([B, D], x0);
    const r = solve({ term: ou, solver: name, t0: 0, t1: 1, y0, steps: s.steps, seed: 11 });
    const m = meanVar(r.y1.dataSync());
    tf.dispose([y0, r.y1]);
    const n = B * D;
    const h = 1 / s.steps;
    const R = s.R(-theta * h);
    const discreteMean = x0 * R ** s.steps;
    const discreteVar = (s.q(h) * (1 - R ** (2 * s.steps))) / (1 - R * R);
    const seMean = Math.sqrt(variance / n);
    const seVar = variance * Math.sqrt(2 / (n - 1));
    // The discretisation biases are far below the Monte Carlo error at these step counts.
    expect(Math.abs(discreteMean - mean)).toBeLessThan(seMean);
    expect(Math.abs(discreteVar - variance)).toBeLessThan(seVar);
    expect(Math.abs(m.mean - mean)).toBeLessThan(3 * seMean + Math.abs(discreteMean - mean));
    expect(Math.abs(m.variance - variance)).toBeLessThan(3 * seVar + Math.abs(discreteVar - variance));
  });

  it('reverse-time stepping (t0 = 1 → t1 = 0) draws increments with variance |h|', () => {
    // Pure noise, dX = dW backwards from 1 to 0: X(0) − X(1) ~ N(0, 1).
    const term = new SDETerm({ drift: (_t, y) => tf.zerosLike(y), diffusion: () => tf.scalar(1), additive: true });
    const y0 = tf.zeros([20_000, 1]);
    const r = solve({ term, solver: 'euler_maruyama', t0: 1, t1: 0, y0, steps: 10, seed: 4 });
    const m = meanVar(r.y1.dataSync());
    tf.dispose([y0, r.y1]);
    expect(Math.abs(m.mean)).toBeLessThan(3 * Math.sqrt(1 / 20_000));
    expect(Math.abs(m.variance - 1)).toBeLessThan(3 * Math.sqrt(2 / 20_000));
  });
});

describe('strong order on a shared Brownian path', () => {
  const B = 2000;
  const fine = 512;
  const ns = [8, 16, 32, 64, 128];
  const meanAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
    let e = 0;
    for (let i = 0; i < a.length; i++) e += Math.abs(a[i] - b[i]);
    return e / a.length;
  };
  const finalValues = (term: SDETerm, name: string, y0: tf.Tensor, steps: number, brownian: BrownianGrid) => {
    const r = solve({ term, solver: name, t0: 0, t1: 1, y0, steps, brownian });
    const v = r.y1.dataSync();
    r.y1.dispose();
    return v;
  };

  it('Euler–Maruyama on geometric Brownian motion: ≈ 0.5', () => {
    const mu = 0.5;
    const sigma = 0.8;
    const gbm = new SDETerm({ drift: (_t, y) => tf.mul(y, mu), diffusion: (_t, y) => tf.mul(y, sigma) });
    const path = new BrownianGrid({ t0: 0, t1: 1, steps: fine, shape: [B, 1], seed: 5 });
    const exact = Array.from(path.valueAt(1), (w) => Math.exp(mu - (sigma * sigma) / 2 + sigma * w));
    const y0 = tf.ones([B, 1]);
    const errs = ns.map((n) => meanAbs(finalValues(gbm, 'euler_maruyama', y0, n, path), exact));
    y0.dispose();
    expect(
      Math.abs(
        logLogSlope(
          ns.map((n) => 1 / n),
          errs,
        ) - 0.5,
      ),
    ).toBeLessThan(0.1);
  });

  it.each([
    ['euler_maruyama', 1],
    ['stochastic_heun', 1],
    ['sra1', 1.5],
  ] as const)('additive noise, %s: ≈ %s', (name, order) => {
    const term = new SDETerm({ drift: (_t, y) => tf.neg(tf.sin(y)), diffusion: (t) => tf.scalar(0.5 + t), additive: true });
    const path = new BrownianGrid({ t0: 0, t1: 1, steps: fine, shape: [B, 1], seed: 6 });
    const y0 = tf.fill([B, 1], 0.5);
    const reference = finalValues(term, 'sra1', y0, fine, path);
    const errs = ns.map((n) => meanAbs(finalValues(term, name, y0, n, path), reference));
    y0.dispose();
    expect(
      Math.abs(
        logLogSlope(
          ns.map((n) => 1 / n),
          errs,
        ) - order,
      ),
    ).toBeLessThan(0.15);
  });
});

describe('Brownian paths', () => {
  it('BrownianGrid: increments and Lévy areas are additive over sub-intervals and flip with direction', () => {
    const path = new BrownianGrid({ t0: 0, t1: 1, steps: 8, shape: [5, 2], seed: 3 });
    const get = (s: number, u: number) => {
      const { dW, H } = path.increment(s, u, true);
      const out = { dW: Array.from(dW.dataSync()), H: Array.from((H as tf.Tensor).dataSync()) };
      tf.dispose([dW, H as tf.Tensor]);
      return out;
    };
    const whole = get(0.25, 1);
    const a = get(0.25, 0.5);
    const b = get(0.5, 1);
    const h1 = 0.25;
    const h2 = 0.5;
    for (let i = 0; i < 10; i++) {
      expect(whole.dW[i]).toBeCloseTo(a.dW[i] + b.dW[i], 5);
      // ∫(W − W_s) over [s, u] = h1(H1 + ΔW1/2) + h2(H2 + ΔW2/2) + h2 ΔW1.
      const integral = h1 * (a.H[i] + a.dW[i] / 2) + h2 * (b.H[i] + b.dW[i] / 2) + h2 * a.dW[i];
      expect(whole.H[i]).toBeCloseTo(integral / (h1 + h2) - (a.dW[i] + b.dW[i]) / 2, 5);
    }
    const back = get(1, 0.25);
    back.dW.forEach((v, i) => {
      expect(v).toBeCloseTo(-whole.dW[i], 6);
    });
    back.H.forEach((v, i) => {
      expect(v).toBeCloseTo(whole.H[i], 6);
    });
    expect(() => path.increment(0.3, 0.5, false)).toThrow(/not a grid point/);
  });

  it.each([
    ['BrownianGrid', () => new BrownianGrid({ t0: 0, t1: 2, steps: 4, shape: [20_000], seed: 1 })],
    ['BrownianIncrements', () => new BrownianIncrements({ shape: [20_000], seed: 1 })],
  ] as const)('%s: ΔW ~ N(0, |h|), H ~ N(0, |h|/12), uncorrelated', (_name, make) => {
    const path = make();
    const { dW, H } = path.increment(0.5, 2, true);
    const w = dW.dataSync();
    const hh = (H as tf.Tensor).dataSync();
    tf.dispose([dW, H as tf.Tensor]);
    const n = w.length;
    const mw = meanVar(w);
    const mh = meanVar(hh);
    expect(Math.abs(mw.mean)).toBeLessThan(3 * Math.sqrt(1.5 / n));
    expect(Math.abs(mw.variance - 1.5)).toBeLessThan(3 * 1.5 * Math.sqrt(2 / n));
    expect(Math.abs(mh.variance - 1.5 / 12)).toBeLessThan((3 * 1.5 * Math.sqrt(2 / n)) / 12);
    let cov = 0;
    for (let i = 0; i < n; i++) cov += w[i] * hh[i];
    const corr = cov / n / Math.sqrt(mw.variance * mh.variance);
    expect(Math.abs(corr)).toBeLessThan(3 / Math.sqrt(n));
  });
});
