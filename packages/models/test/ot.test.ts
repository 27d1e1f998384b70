/**
 * NFDM-OT (docs/maths/objectives.md#nfdm-ot): the curvature term ‖μ̈ + σ̈ε‖² from the order-2 jets against finite
 * differences of F(ε, t, x) = μ + σε in t; its parameter gradients (finite, and checked by
 * finite differences on a couple of weights); exact zero for the straight FM-OT paths; the
 * trajectory curvature metric (0 for a field constant along its paths, > 0 for a curved one);
 * a short seeded NFDM-OT training run on 8 Gaussians; the NFE sweep; no tensor leaks.
 */
import { initBackend, Rng, trainableVariables } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ConstantVolatility,
  curvatureMetric,
  DiffusionModel,
  FixedGaussianProcess,
  NeuralGaussianProcess,
  nfeSweep,
  type ODEModel,
  otLoss,
  otTerms,
  Predictor,
  sampleZ,
} from '../src/index.js';
import { eightGaussians, mean } from './toy-data.js';

beforeAll(async () => {
  await initBackend('wasm');
});

function tanhModel(seed = 0): DiffusionModel {
  return new DiffusionModel(
    new NeuralGaussianProcess({ dim: 2, hidden: [16, 16], activation: 'tanh', rng: seed }),
    new Predictor({ dim: 2, hidden: [16, 16], activation: 'tanh', rng: seed + 1 }),
    new ConstantVolatility(1),
  );
}

describe('otTerms', () => {
  it('the curvature term equals the second central difference of F(ε, t, x) = μ + σε in t', () => {
    const model = tanhModel();
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const rng = new Rng(3);
      const B = 16;
      const x = eightGaussians(rng, B);
      const eps = rng.normalTensor([B, 2]);
      // Interior times, away from the ends (central differences need t ± h in [0, 1]).
      const t = rng.uniformTensor([B, 1], 0.1, 0.9);
      const terms = otTerms(model, x, { t, eps });
      const h = 1e-2;
      const F = (dt: number) => sampleZ(model.forward.params(x, tf.add(t, dt), 0), eps);
      const fd = tf.div(tf.add(tf.sub(F(h), tf.mul(2, F(0))), F(-h)), h * h);
      const a = terms.acceleration.arraySync() as number[][];
      const b = fd.arraySync() as number[][];
      // float32 second difference: roundoff ~ 1e-7·|F|/h² ≈ 1e-3, truncation O(h²).
      let maxErr = 0;
      let maxA = 0;
      for (let i = 0; i < B; i++)
        for (let d = 0; d < 2; d++) {
          maxErr = Math.max(maxErr, Math.abs(a[i][d] - b[i][d]));
          maxA = Math.max(maxA, Math.abs(a[i][d]));
        }
      console.info(`[ot] max |F_tt(jet) − F_tt(FD)| = ${maxErr.toExponential(2)} (max |F_tt| = ${maxA.toFixed(3)})`);
      expect(maxA).toBeGreaterThan(0.1);
      expect(maxErr).toBeLessThan(2e-2 * Math.max(1, maxA));
      // The pieces agree with each other.
      const c = terms.curvature.dataSync();
      const m = terms.matching.dataSync();
      const tot = terms.perSample.dataSync();
      for (let i = 0; i < B; i++) {
        const sq = a[i][0] ** 2 + a[i][1] ** 2;
        expect(c[i]).toBeCloseTo(sq, 3);
        expect(tot[i]).toBeCloseTo(m[i] + c[i], 3);
      }
      const weighted = otTerms(model, x, { t, eps }, { curvatureWeight: 0.5 }).perSample.dataSync();
      for (let i = 0; i < B; i++) expect(weighted[i]).toBeCloseTo(m[i] + 0.5 * c[i], 3);
    });
    expect(tf.memory().numTensors).toBe(before);
    const bad = () =>
      tf.tidy(() => otTerms(model, tf.zeros([1, 2]), { t: tf.ones([1, 1]), eps: tf.zeros([1, 2]) }, { curvatureWeight: -1 }).perSample);
    expect(bad).toThrow(RangeError);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('curvature-term gradients are finite and match finite differences on two weights', () => {
    const model = tanhModel(5);
    const rng = new Rng(7);
    const B = 64;
    const x = eightGaussians(rng, B);
    const eps = rng.normalTensor([B, 2]);
    const t = rng.uniformTensor([B, 1], 0, 1);
    const curv = () => tf.tidy(() => tf.mean(otTerms(model, x, { t, eps }).curvature) as tf.Scalar);
    const vars = model.forward.parameters();
    const varList = [...vars.values()];
    const { value, grads } = tf.variableGrads(curv, varList);
    let checked = 0;
    for (const [name, v] of vars) {
      const g = grads[v.name].dataSync();
      expect(g.every(Number.isFinite)).toBe(true);
      if (checked >= 2 || v.shape.length !== 2) continue;
      // Finite-difference the entry with the largest gradient of this weight matrix.
      let j = 0;
      for (let k = 1; k < g.length; k++) if (Math.abs(g[k]) > Math.abs(g[j])) j = k;
      const orig = Float32Array.from(v.dataSync());
      const at = (delta: number) => {
        const w = Float32Array.from(orig);
        w[j] += delta;
        v.assign(tf.tensor(w, v.shape));
        const l = curv();
        const out = l.dataSync()[0];
        l.dispose();
        return out;
      };
      const h = 1e-2;
      const fd = (at(h) - at(-h)) / (2 * h);
      v.assign(tf.tensor(orig, v.shape));
      console.info(`[ot] ∂L_crv/∂${name}[${j}]: autodiff ${g[j].toFixed(5)}, FD ${fd.toFixed(5)}`);
      expect(Math.abs(g[j])).toBeGreaterThan(1e-3);
      expect(Math.abs(fd - g[j])).toBeLessThan(0.05 * Math.abs(g[j]) + 1e-3);
      checked++;
    }
    expect(checked).toBe(2);
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    tf.dispose([value, ...Object.values(grads), x, eps, t]);
    model.dispose();
  });

  it('is exactly 0 for the straight FM-OT paths', () => {
    const forward = new FixedGaussianProcess(2, { name: 'fm-ot' });
    const predictor = new Predictor({ dim: 2, hidden: [8], rng: 0 });
    tf.tidy(() => {
      const rng = new Rng(1);
      const x = eightGaussians(rng, 32);
      const terms = otTerms({ forward, predictor }, x, { t: rng.uniformTensor([32, 1]), eps: rng.normalTensor([32, 2]) });
      expect(Array.from(terms.curvature.dataSync()).every((v) => v === 0)).toBe(true);
      expect(Array.from(terms.matching.dataSync()).every((v) => Number.isFinite(v) && v >= 0)).toBe(true);
    });
    predictor.dispose();
  });
});

describe('curvatureMetric', () => {
  const base = { dim: 2, forward: { priorStd: 1, start: { t: 0 } } };

  it('is ~0 for a field constant along its paths and > 0 for a curved one', () => {
    // v(z, t) = (z − x₀)/t: paths z_t = x₀ + t(z₁ − x₀) are straight and Euler follows them exactly.
    const x0 = tf.tensor2d([[0.7, -1.3]]);
    const straight: ODEModel = { ...base, velocity: (z, t) => tf.div(tf.sub(z, x0), t) };
    // Rotation: ‖d²z/dt²‖ = ‖z‖.
    const rotation: ODEModel = {
      ...base,
      velocity: (z) => tf.concat([tf.neg(tf.slice(z, [0, 1], [-1, 1])), tf.slice(z, [0, 0], [-1, 1])], 1),
    };
    const before = tf.memory().numTensors;
    const s = curvatureMetric(straight, { n: 64, steps: 50, seed: 0 });
    const r = curvatureMetric(rotation, { n: 64, steps: 50, seed: 0 });
    expect(tf.memory().numTensors).toBe(before);
    console.info(`[ot] curvature metric: straight ${s.mean.toExponential(2)}, rotation ${r.mean.toFixed(3)}`);
    expect(s.mean).toBeLessThan(1e-4);
    expect(r.mean).toBeGreaterThan(0.5);
    expect(r.perTrajectory.length).toBe(64);
    expect(r.perTime.length).toBe(49);
    expect(r.times.length).toBe(49);
    x0.dispose();
  });
});

describe('NFDM-OT training (8 Gaussians, seeded)', () => {
  it('150 Adam steps lower the loss and the curvature term; NFE sweep; no leaks', () => {
    const model = new DiffusionModel(
      new NeuralGaussianProcess({ dim: 2, hidden: [32, 32], rng: 0 }),
      new Predictor({ dim: 2, hidden: [32, 32], rng: 1 }),
      new ConstantVolatility(1),
    );
    const variables = trainableVariables(model);
    const optimizer = tf.train.adam(2e-3);
    const rng = new Rng(1);
    const batch = 128;
    const steps = 150;
    const losses: number[] = [];
    const curvs: number[] = [];
    const counts: number[] = [];
    const curvBefore = curvatureMetric(model, { n: 128, steps: 20, seed: 4 }).mean;
    for (let step = 0; step < steps; step++) {
      const [loss, curv] = tf.tidy(() => {
        const x = eightGaussians(rng, batch);
        const noise = model.drawNoise(rng, batch);
        let c: tf.Scalar | null = null;
        const l = optimizer.minimize(
          () => {
            const terms = otTerms(model, x, noise);
            c = tf.keep(tf.mean(terms.curvature) as tf.Scalar);
            return tf.mean(terms.perSample) as tf.Scalar;
          },
          true,
          variables,
        ) as tf.Scalar;
        return [l, c as unknown as tf.Scalar];
      });
      losses.push(loss.dataSync()[0]);
      curvs.push(curv.dataSync()[0]);
      tf.dispose([loss, curv]);
      counts.push(tf.memory().numTensors);
    }
    expect(losses.every(Number.isFinite)).toBe(true);
    const [l0, l1, c0, c1] = [mean(losses.slice(0, 30)), mean(losses.slice(-30)), mean(curvs.slice(0, 30)), mean(curvs.slice(-30))];
    const curvAfter = curvatureMetric(model, { n: 128, steps: 20, seed: 4 }).mean;
    console.info(
      `[ot] loss ${l0.toFixed(3)} → ${l1.toFixed(3)}, curvature term ${c0.toFixed(3)} → ${c1.toFixed(3)}, ` +
        `trajectory curvature metric ${curvBefore.toFixed(3)} → ${curvAfter.toFixed(3)}`,
    );
    expect(l1).toBeLessThan(l0);
    expect(c1).toBeLessThan(c0);
    expect(new Set(counts.slice(1)).size).toBe(1);

    // otLoss is the batch mean of otTerms.
    tf.tidy(() => {
      const x = eightGaussians(new Rng(9), 16);
      const noise = model.drawNoise(new Rng(10), 16);
      expect(otLoss(model, x, noise).dataSync()[0]).toBeCloseTo(tf.mean(otTerms(model, x, noise).perSample).dataSync()[0], 4);
    });

    // NFE sweep: one entry per NFE, samples [n, D], metrics called, nothing leaked but the samples.
    const held = eightGaussians(new Rng(11), 64);
    const before = tf.memory().numTensors;
    const sweep = nfeSweep(model, held, {
      nfes: [1, 2, 4, 8],
      metrics: (s, h) => {
        const gap = tf.tidy(() => tf.sub(tf.mean(tf.norm(s, 'euclidean', 1)), tf.mean(tf.norm(h, 'euclidean', 1))));
        const v = Math.abs(gap.dataSync()[0]);
        gap.dispose();
        return { meanNormGap: v };
      },
    });
    expect(sweep.map((e) => e.nfe)).toEqual([1, 2, 4, 8]);
    for (const e of sweep) {
      expect(e.samples.shape).toEqual([64, 2]);
      expect(Array.from(e.samples.dataSync()).every(Number.isFinite)).toBe(true);
      expect(Number.isFinite(e.metrics?.meanNormGap)).toBe(true);
    }
    console.info(`[ot] NFE sweep |mean‖x‖ gap|: ${sweep.map((e) => `${e.nfe}:${e.metrics?.meanNormGap.toFixed(3)}`).join(' ')}`);
    expect(tf.memory().numTensors).toBe(before + sweep.length);
    for (const e of sweep) e.samples.dispose();
    held.dispose();
    optimizer.dispose();
    model.dispose();
  }, 60_000);
});
