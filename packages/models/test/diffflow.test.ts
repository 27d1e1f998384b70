/**
 * DiffFlow (docs/maths/diffflow.md): the ExpTimer grid, the memory-saving gradient
 * against the naive full-graph gradient, the NLL bound on zero networks (hand computation) and,
 * walked step by step, against the full-graph path terms, sampling, and a short training run.
 */
import { initBackend, type NamedVariables, Rng, trainableVariables } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DiffFlowModel,
  type DiffFlowNet,
  diffflowNllBound,
  diffflowPathKL,
  diffflowPathKLGrad,
  diffflowPathTerms,
  diffflowSample,
  drawDiffFlowNoise,
  expTimerGrid,
  FourierMLP,
} from '../src/diffflow/index.js';

beforeAll(async () => {
  await initBackend('wasm');
});

/** A network that returns zeros (f = 0 or s = 0). */
class ZeroNet implements DiffFlowNet {
  constructor(readonly dim: number) {}
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.zerosLike(x);
  }
  parameters(): NamedVariables {
    return new Map();
  }
  dispose(): void {}
}

describe('expTimerGrid', () => {
  it('matches t_k = (a^e + k/N (b^e − a^e))^{1/e} for e ≤ 1', () => {
    const [N, a, b, e] = [30, 0.001, 0.05, 0.9];
    const grid = expTimerGrid({ N, tMin: a, tMax: b, exponent: e });
    expect(grid.length).toBe(N + 1);
    for (let k = 0; k <= N; k++) expect(grid[k]).toBeCloseTo((a ** e + (k / N) * (b ** e - a ** e)) ** (1 / e), 14);
    const uniform = expTimerGrid({ N: 4, tMin: 0, tMax: 1, exponent: 1 });
    expect(Array.from(uniform)).toEqual([0, 0.25, 0.5, 0.75, 1]);
  });

  it('mirrors and reverses for e > 1', () => {
    const [N, a, b, e] = [10, 0.1, 2, 2];
    const grid = expTimerGrid({ N, tMin: a, tMax: b, exponent: e });
    const raw = (k: number) => (a ** e + (k / N) * (b ** e - a ** e)) ** (1 / e);
    for (let k = 0; k <= N; k++) expect(grid[k]).toBeCloseTo(a + b - raw(N - k), 12);
    expect(grid[0]).toBe(a);
    expect(grid[N]).toBe(b);
    for (let k = 0; k < N; k++) expect(grid[k + 1]).toBeGreaterThan(grid[k]);
    // Finer near a, like e < 1: the first cell is the smallest.
    expect(grid[1] - grid[0]).toBeLessThan(grid[N] - grid[N - 1]);
  });
});

describe('FourierMLP', () => {
  it('has the spec architecture and output shape', () => {
    const net = new FourierMLP(2, { channels: 8, layers: 2, rng: new Rng(1) });
    const names = [...net.parameters().keys()];
    expect(names).toContain('phase');
    expect(net.frequencies.trainable).toBe(false);
    const w = net.frequencies.dataSync();
    expect(w[0]).toBeCloseTo(0.1, 5);
    expect(w[7]).toBeCloseTo(100, 4);
    expect(net.timeIn.weight.shape).toEqual([16, 8]);
    expect(net.hidden.length).toBe(2);
    const y = tf.tidy(() => net.apply(tf.ones([3, 2]) as tf.Tensor2D, tf.fill([3, 1], 0.01) as tf.Tensor2D));
    expect(y.shape).toEqual([3, 2]);
    y.dispose();
    net.dispose();
  });
});

describe('DiffFlow path-KL', () => {
  it('memory-saving gradient equals the naive full-graph gradient (N = 5)', () => {
    const model = DiffFlowModel.fourier(2, { channels: 8, layers: 1, seed: 3 });
    const rng = new Rng(7);
    const grid = expTimerGrid({ N: 5, tMin: 0.001, tMax: 0.5, exponent: 0.9 });
    const g = 0.5;
    const x0 = rng.normalTensor([4, 2]) as tf.Tensor2D;
    const noise = drawDiffFlowNoise(rng, 5, 4, 2);
    const opts = { grid, g, noise };
    const vars = trainableVariables(model);
    const naive = tf.variableGrads(() => diffflowPathKL(model, x0, opts), vars);
    const naiveX0 = tf.grad((x: tf.Tensor) => diffflowPathKL(model, x as tf.Tensor2D, opts))(x0);
    const before = tf.memory().numTensors;
    const saved = diffflowPathKLGrad(model, x0, opts);
    expect(tf.memory().numTensors - before).toBe(vars.length + 1); // just the grads and gradX0
    expect(saved.loss).toBeCloseTo(naive.value.dataSync()[0], 4);
    let maxRel = 0;
    for (const v of vars) {
      const a = naive.grads[v.name].dataSync();
      const b = saved.grads[v.name].dataSync();
      let num = 0;
      let den = 0;
      for (let k = 0; k < a.length; k++) {
        num = Math.max(num, Math.abs(a[k] - b[k]));
        den = Math.max(den, Math.abs(a[k]));
      }
      maxRel = Math.max(maxRel, num / Math.max(den, 1e-3));
    }
    expect(maxRel).toBeLessThan(1e-4);
    const gx = naiveX0.dataSync();
    const sx = saved.gradX0.dataSync();
    for (let k = 0; k < gx.length; k++) expect(sx[k]).toBeCloseTo(gx[k], 4);
    tf.dispose([x0, noise, naive.value, naiveX0, saved.gradX0, ...Object.values(naive.grads), ...Object.values(saved.grads)]);
    model.dispose();
  });

  it('bound and loss on zero networks match a hand computation', () => {
    const model = new DiffFlowModel(new ZeroNet(2), new ZeroNet(2));
    const grid = [0, 0.1, 0.3, 0.6];
    const g = 0.7;
    const x0v = [0.5, -1, 2, 0.25];
    const nv = [0.3, -0.2, 1, 0.5, -0.4, 0.1, 0.9, -1.1, 0.2, 0.6, -0.7, 0.05];
    const x0 = tf.tensor2d(x0v, [2, 2]);
    const noise = tf.tensor3d(nv, [3, 2, 2]);
    const bound = diffflowNllBound(model, x0, { grid, g, noise }).dataSync();
    const loss = diffflowPathKL(model, x0, { grid, g, noise }).dataSync()[0];
    // f = s = 0: x_N = x_0 + g Σ √Δ_i δ^F_i and δ^B_i = −δ^F_i.
    let meanLoss = 0;
    for (let b = 0; b < 2; b++) {
      let prior = Math.log(2 * Math.PI);
      let fEnergy = 0;
      for (let j = 0; j < 2; j++) {
        let x = x0v[2 * b + j];
        for (let i = 0; i < 3; i++) {
          const dF = nv[i * 4 + 2 * b + j];
          x += g * Math.sqrt(grid[i + 1] - grid[i]) * dF;
          fEnergy += 0.5 * dF * dF;
        }
        prior += 0.5 * x * x;
      }
      expect(bound[b]).toBeCloseTo(prior + fEnergy - 0.5 * 3 * 2, 4);
      meanLoss += prior / 2;
    }
    expect(loss).toBeCloseTo(meanLoss, 4);
    tf.dispose([x0, noise]);
  });
});

describe('diffflowNllBound', () => {
  it('walked step by step equals the full-graph terms −log N(x_N) + Σ ½‖δ^B‖² − N d/2, without leaks', () => {
    const model = DiffFlowModel.fourier(3, { channels: 8, layers: 1, seed: 2 });
    const rng = new Rng(3);
    const grid = expTimerGrid({ N: 4, tMin: 0.001, tMax: 0.5, exponent: 0.9 });
    const x0 = rng.normalTensor([5, 3]) as tf.Tensor2D;
    const noise = drawDiffFlowNoise(rng, 4, 5, 3);
    const opts = { grid, g: 0.5, noise };
    const terms = diffflowPathTerms(model, x0, opts);
    const full = tf.tidy(() => tf.add(tf.add(terms.priorNll, terms.backwardEnergy), -0.5 * 4 * 3).dataSync());
    const before = tf.memory().numTensors;
    const bound = diffflowNllBound(model, x0, opts);
    expect(tf.memory().numTensors - before).toBe(1);
    const b = bound.dataSync();
    for (let i = 0; i < 5; i++) expect(b[i]).toBeCloseTo(full[i], 4);
    tf.dispose([x0, noise, bound, terms.xN, terms.priorNll, terms.backwardEnergy, terms.forwardEnergy]);
    model.dispose();
  });
});

describe('diffflowSample', () => {
  it('gives finite [n, d] samples, reproducible by seed', () => {
    const model = DiffFlowModel.fourier(2, { channels: 8, layers: 1, seed: 1 });
    const grid = expTimerGrid({ N: 6, tMin: 0.001, tMax: 0.05, exponent: 0.9 });
    const before = tf.memory().numTensors;
    for (const deterministic of [false, true]) {
      const a = diffflowSample(model, { n: 16, grid, g: 0.2, seed: 5, deterministic });
      const b = diffflowSample(model, { n: 16, grid, g: 0.2, seed: 5, deterministic });
      const c = diffflowSample(model, { n: 16, grid, g: 0.2, seed: 6, deterministic });
      expect(a.shape).toEqual([16, 2]);
      const av = a.dataSync();
      expect(av.every(Number.isFinite)).toBe(true);
      expect(Array.from(b.dataSync())).toEqual(Array.from(av));
      expect(Array.from(c.dataSync())).not.toEqual(Array.from(av));
      tf.dispose([a, b, c]);
    }
    expect(tf.memory().numTensors).toBe(before);
    // Zero networks: the backward chain is pure noise, the PF chain the identity on x_N.
    const zero = new DiffFlowModel(new ZeroNet(2), new ZeroNet(2));
    const pf = diffflowSample(zero, { n: 5, grid, g: 0.2, seed: 9, deterministic: true });
    const xN = new Rng(9).normalTensor([5, 2]);
    expect(Array.from(pf.dataSync())).toEqual(Array.from(xN.dataSync()));
    tf.dispose([pf, xN]);
    model.dispose();
  });

  it('onStep sees x_N at t_N, then every step down to the returned x_0 at t_0', () => {
    const model = DiffFlowModel.fourier(2, { channels: 8, layers: 1, seed: 1 });
    const grid = expTimerGrid({ N: 5, tMin: 0.001, tMax: 0.05, exponent: 0.9 });
    const frames: number[][] = [];
    const times: number[] = [];
    const x = diffflowSample(model, {
      n: 3,
      grid,
      g: 0.2,
      seed: 4,
      onStep: (z, t) => {
        frames.push(Array.from(z.dataSync()));
        times.push(t);
      },
    });
    expect(times).toEqual(Array.from(grid).reverse());
    const xN = new Rng(4).normalTensor([3, 2]);
    expect(frames[0]).toEqual(Array.from(xN.dataSync()));
    expect(frames[5]).toEqual(Array.from(x.dataSync()));
    expect(frames[1]).not.toEqual(frames[0]);
    const plain = diffflowSample(model, { n: 3, grid, g: 0.2, seed: 4 });
    expect(Array.from(plain.dataSync())).toEqual(frames[5]);
    tf.dispose([x, xN, plain]);
    model.dispose();
  });
});

describe('DiffFlow training', () => {
  it('a short Adam run with the memory-saving gradient lowers the loss', () => {
    const model = DiffFlowModel.fourier(2, { channels: 16, layers: 1, seed: 2 });
    const rng = new Rng(11);
    const grid = expTimerGrid({ N: 5, tMin: 0.001, tMax: 0.5, exponent: 0.9 });
    const optimizer = tf.train.adam(1e-2);
    const data = (): tf.Tensor2D => tf.tidy(() => tf.add(tf.mul(rng.normalTensor([64, 2]), 0.3), tf.tensor2d([[2, -1]])) as tf.Tensor2D);
    const losses: number[] = [];
    for (let step = 0; step < 60; step++) {
      const x0 = data();
      const noise = drawDiffFlowNoise(rng, 5, 64, 2);
      const { loss, grads, gradX0 } = diffflowPathKLGrad(model, x0, { grid, g: 0.3, noise });
      optimizer.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
      losses.push(loss);
      tf.dispose([x0, noise, gradX0, ...Object.values(grads)]);
    }
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(mean(losses.slice(-10))).toBeLessThan(mean(losses.slice(0, 10)) - 0.5);
    optimizer.dispose();
    model.dispose();
  });
});
