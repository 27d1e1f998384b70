/**
 * `sample({ nonFinite: 'freeze-rows' })` and `onStep` pass through to the solver.
 *
 * Oracle: a VP model whose predictor is x̂(z, t) = z · (1 + 0 · log(−z₀)) — exactly z where
 * z₀ < 0, NaN where z₀ > 0. With x̂ = z the probability-flow ODE is linear and row-wise
 * (dz/dt = c(t) z), and small Euler steps scale each row by a positive factor, so z₀ keeps its
 * sign along the path: the diverging rows are exactly those whose prior draw has z₀ > 0, and
 * the prior draw is reproducible (`new Rng(seed).normalTensor([n, D])`, as `sample` draws it).
 */
import { initBackend, NonFiniteStateError, Rng } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DiffusionModel, FixedGaussianProcess, MatchedVolatility, type Predictor } from '../src/index.js';

beforeAll(async () => {
  await initBackend('wasm');
});

class HalfNaNPredictor {
  readonly offset = 0;
  readonly dim = 2;
  predict(z: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.mul(z, tf.add(1, tf.mul(0, tf.log(tf.neg(tf.slice(z, [0, 0], [-1, 1])))))));
  }
  toConfig() {
    return { test: true };
  }
  parameters() {
    return new Map<string, tf.Variable>();
  }
  dispose(): void {}
}

const model = () =>
  new DiffusionModel(
    new FixedGaussianProcess(2, { name: 'vp' }),
    new HalfNaNPredictor() as unknown as Predictor,
    new MatchedVolatility({ name: 'vp' }),
  );

describe('DiffusionModel.sample with nonFinite / onStep', () => {
  it('freezes and lists exactly the rows that diverge; the others are finite; onStep sees every step', () => {
    const m = model();
    const n = 64;
    const seed = 5;
    const z1 = new Rng(seed).normalTensor([n, 2]);
    const expected = Array.from(z1.dataSync()).flatMap((v, i) => (i % 2 === 0 && v > 0 ? [i / 2] : []));
    z1.dispose();
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(n);
    const times: number[] = [];
    const r = m.sample({ n, mode: 'ode', solver: 'euler', steps: 20, seed, nonFinite: 'freeze-rows', onStep: (t) => times.push(t) });
    expect(r.nonFiniteRows).toEqual(expected);
    const values = r.samples.dataSync();
    expect(Array.from(values).every(Number.isFinite)).toBe(true);
    expect(times).toHaveLength(20);
    expect(times[19]).toBeCloseTo(m.forward.start.t, 12);
    r.samples.dispose();
    expect(() => m.sample({ n, mode: 'ode', solver: 'euler', steps: 20, seed })).toThrow(NonFiniteStateError);
  });

  it('logProb reports progress through onStep', () => {
    const m = model();
    const x = tf.tensor2d([[-1, 0.5]]);
    const times: number[] = [];
    m.logProb(x, { solver: 'rk4', steps: 8, onStep: (t) => times.push(t) });
    expect(times).toHaveLength(8);
    expect(times[7]).toBe(1);
    x.dispose();
  });
});
