/**
 * Family operations (FamilyDescriptor.operations): each one is the family's own computation —
 * equal, bit for bit, to the model method it wraps — plus closed-form oracles on the Gaussian
 * test family and the progress fractions the apps show.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BRIDGE_FORMAT,
  bridgeFamily,
  createAnyModel,
  DIFFFLOW_FORMAT,
  type DiffusionModel,
  diffflowEvalGrid,
  diffflowFamily,
  diffflowSample,
  diffusionFamily,
  expTimerGrid,
  MODEL_FORMAT,
  registerFamily,
} from '../src/index.js';
import { type GaussianFit, gaussianFitFamily } from '../src/testing/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const values = (t: tf.Tensor) => Array.from(t.dataSync());

function diffusionModel(): DiffusionModel {
  return createAnyModel({
    format: MODEL_FORMAT,
    dim: 2,
    forward: { kind: 'nfdm', hidden: [8] },
    predictor: { hidden: [8] },
    volatility: { kind: 'neural', hidden: [4] },
    seed: 3,
  }) as DiffusionModel;
}

describe('diffusion operations', () => {
  const ops = diffusionFamily.operations;
  it('sample is model.sample; progress rises to 1', () => {
    const model = diffusionModel();
    const fractions: number[] = [];
    const a = ops?.sample?.(model, 5, {
      mode: 'sde',
      solver: 'euler_maruyama',
      steps: 10,
      seed: 9,
      trajectory: true,
      onProgress: (f) => fractions.push(f),
    });
    const b = model.sample({ n: 5, mode: 'sde', solver: 'euler_maruyama', steps: 10, seed: 9, trajectory: true });
    expect(values(a?.samples as tf.Tensor)).toEqual(values(b.samples));
    expect(a?.trajectory?.shape).toEqual([11, 5, 2]);
    expect(fractions).toHaveLength(10);
    expect(fractions.every((f, i) => f > (fractions[i - 1] ?? 0) && f <= 1 + 1e-12)).toBe(true);
    expect(fractions[9]).toBeCloseTo(1, 12);
    tf.dispose([a?.samples ?? [], a?.trajectory ?? [], b.samples, b.trajectory ?? []]);
    model.dispose();
  });

  it('logProb is model.logProb; nllBound is the NELBO; curvature is finite', () => {
    const model = diffusionModel();
    const x = tf.tensor2d([0.3, -1, 1.2, 0.5], [2, 2]);
    const solve = { solver: 'rk4', steps: 8, rtol: 1e-4, atol: 1e-4, seed: 0 };
    expect(Array.from(ops?.logProb?.(model, x, solve).logp ?? [])).toEqual(Array.from(model.logProb(x, solve).logp));
    const bound = ops?.nllBound?.(model, x, { draws: 3, seed: 4 });
    const nelbo = model.nelbo(x, { draws: 3, seed: 4 }).nelbo;
    expect(bound).toEqual({ mean: nelbo.mean, stderr: nelbo.stderr, n: nelbo.n });
    x.dispose();
    model.dispose();
  });

  it('forward trajectories are z_t = μ(x, t) + σ(x, t) ε from the process start to 1', () => {
    const model = diffusionModel();
    const x = tf.tensor2d([0.3, -1, 1.2, 0.5], [2, 2]);
    const eps = tf.tensor2d([0.1, 0.2, -0.3, 0.4], [2, 2]);
    const r = ops?.forwardTrajectories?.(model, x, 3, eps);
    const t0 = model.forward.start.t;
    expect(r?.times).toEqual([t0, t0 + (1 - t0) / 2, 1]);
    const mid = tf.tidy(() => {
      const p = model.forward.params(x, tf.fill([2, 1], t0 + (1 - t0) / 2), 0);
      return tf.add(p.mu, tf.mul(p.sigma, eps));
    });
    const got = tf.tidy(() => tf.squeeze(tf.slice(r?.paths as tf.Tensor3D, [1, 0, 0], [1, 2, 2]), [0]));
    expect(values(got)).toEqual(values(mid));
    tf.dispose([x, eps, r?.paths ?? [], mid, got]);
    model.dispose();
  });
});

describe('bridge operations', () => {
  const ops = bridgeFamily.operations;
  const config = {
    format: BRIDGE_FORMAT,
    dim: 2,
    process: { hidden: [8], delta: 0.1 },
    predictor: { hidden: [8] },
    volatility: { kind: 'neural', hidden: [4] },
    penalties: [],
    seed: 4,
  };
  it('transport is model.sample of the sources; adaptive stepping is refused', () => {
    const model = bridgeFamily.create(bridgeFamily.parseConfig(config));
    const sources = tf.tensor2d([1, 1, -1, 0.5, 0, 2], [3, 2]);
    const a = ops?.transport?.(model, sources, { mode: 'ode', solver: 'heun', steps: 20, seed: 2 });
    const b = model.sample(sources, { mode: 'ode', solver: 'heun', steps: 20, seed: 2 });
    expect(values(a?.samples as tf.Tensor)).toEqual(values(b.samples));
    expect(() =>
      ops?.transport?.(model, sources, { mode: 'ode', solver: 'dopri5', adaptive: { rtol: 1e-3, atol: 1e-3 }, seed: 2 }),
    ).toThrow(/fixed steps/);
    tf.dispose([sources, a?.samples ?? [], b.samples]);
    model.dispose();
  });

  it('forward trajectories run between the (target, source) columns of a row, t from 0 to 1', () => {
    const model = bridgeFamily.create(bridgeFamily.parseConfig(config));
    const rows = tf.tensor2d([0, 1, 2, 3, -1, -2, 4, 5], [2, 4]);
    const eps = tf.tensor2d([0.1, 0.2, -0.3, 0.4], [2, 2]);
    const r = ops?.forwardTrajectories?.(model, rows, 4, eps);
    const x0 = tf.tensor2d([0, 1, -1, -2], [2, 2]);
    const x1 = tf.tensor2d([2, 3, 4, 5], [2, 2]);
    const direct = model.forwardTrajectories(x0, x1, [0, 1 / 3, 2 / 3, 1], eps);
    expect(r?.times).toEqual([0, 1 / 3, 2 / 3, 1]);
    expect(values(r?.paths as tf.Tensor)).toEqual(values(direct));
    tf.dispose([rows, eps, x0, x1, direct, r?.paths ?? []]);
    model.dispose();
  });
});

describe('DiffFlow operations', () => {
  const ops = diffflowFamily.operations;
  const config = { format: DIFFFLOW_FORMAT, dim: 2, network: { channels: 4, layers: 1 }, time: { N: 6 }, seed: 1 };
  it('sample runs its own chain on its grid (re-gridded for other step counts); the trajectory ends at the samples', () => {
    const model = diffflowFamily.create(diffflowFamily.parseConfig(config));
    const fractions: number[] = [];
    const a = ops?.sample?.(model, 4, { mode: 'sde', solver: 'ignored', seed: 3, trajectory: true, onProgress: (f) => fractions.push(f) });
    const b = diffflowSample(model, { n: 4, grid: diffflowEvalGrid(model.time), g: model.time.g, seed: 3 });
    expect(values(a?.samples as tf.Tensor)).toEqual(values(b));
    expect(a?.trajectory?.shape).toEqual([7, 4, 2]);
    expect(values(tf.slice(a?.trajectory as tf.Tensor3D, [6, 0, 0], [1, 4, 2]))).toEqual(values(b));
    expect(fractions).toEqual([0, 1, 2, 3, 4, 5, 6].map((k) => k / 6));
    expect(a?.stats.nfe).toBe(12);
    const c = ops?.sample?.(model, 4, { mode: 'ode', solver: 'ignored', steps: 3, seed: 3 });
    const t = model.time;
    const grid = expTimerGrid({ N: 3, tMin: t.tMin, tMax: t.tMax, exponent: t.exponent });
    const d = diffflowSample(model, { n: 4, grid, g: t.g, seed: 3, deterministic: true });
    expect(values(c?.samples as tf.Tensor)).toEqual(values(d));
    expect(ops?.ownSampler?.(model, 'ode', 3)).toEqual({
      solver: 'diffflow-chain',
      steps: 3,
      label: 'DiffFlow probability-flow chain, 3 steps',
    });
    expect(ops?.ownSampler?.(model, 'sde').label).toBe('DiffFlow stochastic chain, 6 steps');
    tf.dispose([a?.samples ?? [], a?.trajectory ?? [], b, c?.samples ?? [], d]);
    model.dispose();
  });
});

describe('a downstream family (Gaussian fit): closed-form operations', () => {
  registerFamily(gaussianFitFamily);
  const ops = gaussianFitFamily.operations;
  it('log p(x) is the diagonal Gaussian density; the bound is the exact NLL; samples have its moments', () => {
    const model = gaussianFitFamily.create({ format: 'example-gaussian-fit/1', dim: 2, seed: 0 }) as GaussianFit;
    model.m.assign(tf.tensor1d([1, -2]));
    model.s.assign(tf.tensor1d([Math.log(0.5), Math.log(2)]));
    const x = tf.tensor2d([0, 0, 1.5, -1], [2, 2]);
    const logp = ops?.logProb?.(model, x, { solver: 'exact', rtol: 0, atol: 0, seed: 0 }).logp ?? [];
    const density = (v: number[]) =>
      [0, 1].reduce((a, k) => {
        const m = [1, -2][k];
        const sd = [0.5, 2][k];
        return a - 0.5 * ((v[k] - m) / sd) ** 2 - Math.log(sd) - 0.5 * Math.log(2 * Math.PI);
      }, 0);
    expect(logp[0]).toBeCloseTo(density([0, 0]), 5);
    expect(logp[1]).toBeCloseTo(density([1.5, -1]), 5);
    expect(ops?.nllBound?.(model, x, { draws: 1, seed: 0 }).mean).toBeCloseTo(-(logp[0] + logp[1]) / 2, 5);
    const n = 20000;
    const r = ops?.sample?.(model, n, { mode: 'ode', solver: 'exact', seed: 5 });
    const s = r?.samples.dataSync() ?? new Float32Array();
    for (const [k, m, sd] of [
      [0, 1, 0.5],
      [1, -2, 2],
    ]) {
      let sum = 0;
      let sq = 0;
      for (let i = 0; i < n; i++) sum += s[2 * i + k];
      const mean = sum / n;
      for (let i = 0; i < n; i++) sq += (s[2 * i + k] - mean) ** 2;
      expect(Math.abs(mean - m)).toBeLessThan((4 * sd) / Math.sqrt(n));
      expect(Math.abs(Math.sqrt(sq / (n - 1)) - sd)).toBeLessThan((4 * sd) / Math.sqrt(2 * n));
    }
    tf.dispose([x, r?.samples ?? []]);
    model.dispose();
  });
});
