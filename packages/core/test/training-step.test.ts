import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { countParameters, Dense, initBackend, initDense, MLP, Rng, TimeMLP, trainableVariables } from '../src/index.js';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('a training step through tangents', () => {
  it('Adam on a loss of ∂/∂t and ∂²/∂t² leaks no tensors and lowers the loss', () => {
    const net = new TimeMLP({ dataDim: 2, outDim: 2, hidden: [32, 32], activation: 'tanh', rng: 3 });
    const optimizer = tf.train.adam(1e-2);
    const rng = new Rng(1);
    const x = rng.normalTensor([64, 2]) as tf.Tensor2D;
    const t = rng.uniformTensor([64, 1]) as tf.Tensor2D;
    // Fit ∂NN/∂t to a target velocity and keep the curvature ∂²NN/∂t² small.
    const target = tf.mul(x, -1);
    const step = () =>
      optimizer.minimize(() => {
        const [, v1, v2] = net.jet(x, t, 2).parts();
        return tf.add(tf.mean(tf.sum(tf.square(tf.sub(v1, target)), 1)), tf.mul(0.1, tf.mean(tf.sum(tf.square(v2), 1)))) as tf.Scalar;
      }, true) as tf.Scalar;
    const first = step();
    const firstLoss = first.dataSync()[0];
    first.dispose();
    const counts: number[] = [];
    let last = Number.NaN;
    for (let i = 0; i < 60; i++) {
      const loss = step();
      last = loss.dataSync()[0];
      loss.dispose();
      counts.push(tf.memory().numTensors);
    }
    expect(new Set(counts.slice(1)).size).toBe(1);
    expect(last).toBeLessThan(0.5 * firstLoss);
    optimizer.dispose();
    net.dispose();
    tf.dispose([x, t, target]);
  });
});

describe('initialisation', () => {
  it('torch scheme: W, b ~ U(±1/√fan_in), deterministic from the seed', () => {
    const a = initDense(50, 40, 'torch', new Rng(9));
    const b = initDense(50, 40, 'torch', new Rng(9));
    const c = initDense(50, 40, 'torch', new Rng(10));
    expect(a.weight).toEqual(b.weight);
    expect(a.weight).not.toEqual(c.weight);
    const bound = 1 / Math.sqrt(50);
    const w = Array.from(a.weight);
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(bound);
    // Uniform on (−a, a): variance a²/3; 2000 draws → relative s.e. of the variance ≈ 2.5%.
    const variance = w.reduce((s, v) => s + v * v, 0) / w.length;
    expect(Math.abs(variance / ((bound * bound) / 3) - 1)).toBeLessThan(0.1);
    expect(Math.max(...Array.from(a.bias).map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(new Set(a.bias).size).toBeGreaterThan(30);
  });

  it('glorot scheme: W ~ U(±√(6/(in+out))), zero bias', () => {
    const { weight, bias } = initDense(30, 70, 'glorot', new Rng(2));
    const bound = Math.sqrt(6 / 100);
    const w = Array.from(weight);
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.9 * bound);
    expect(Array.from(bias).every((v) => v === 0)).toBe(true);
  });

  it('rejects unknown schemes and bad dimensions', () => {
    expect(() => initDense(2, 2, 'he' as 'torch', new Rng(0))).toThrow(/unknown init scheme 'he'/);
    expect(() => new Dense(0, 3, { rng: new Rng(0) })).toThrow(/positive integers/);
  });

  it('the same seed builds the same MLP; counts parameters', () => {
    const a = new MLP({ inDim: 3, outDim: 2, hidden: [64, 64, 64, 64], rng: 42 });
    const b = new MLP({ inDim: 3, outDim: 2, hidden: [64, 64, 64, 64], rng: 42 });
    expect(Array.from(a.layers[3].weight.dataSync())).toEqual(Array.from(b.layers[3].weight.dataSync()));
    expect(countParameters(a)).toBe(3 * 64 + 64 + 3 * (64 * 64 + 64) + 64 * 2 + 2);
    expect(trainableVariables(a)).toHaveLength(10);
    a.dispose();
    b.dispose();
  });
});

describe('Rng', () => {
  it('is reproducible, restorable from its state, and has the right moments', () => {
    const a = new Rng(123);
    const first = [a.uniform(), a.uniform(), a.normal()];
    const state = a.state();
    const next = [a.uniform(), a.normal(), a.nextUint32()];
    const b = Rng.fromState(state);
    expect([b.uniform(), b.normal(), b.nextUint32()]).toEqual(next);
    expect([new Rng(123).uniform(), new Rng(123).uniform()]).toEqual([first[0], first[0]]);
    const n = 20000;
    const z = new Rng(7).normalArray(n);
    const mean = z.reduce((s, v) => s + v, 0) / n;
    const variance = z.reduce((s, v) => s + (v - mean) ** 2, 0) / n;
    expect(Math.abs(mean)).toBeLessThan(4 / Math.sqrt(n));
    expect(Math.abs(variance - 1)).toBeLessThan(4 * Math.sqrt(2 / n));
    const u = new Rng(8).uniformArray(n);
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    expect(Math.abs(u.reduce((s, v) => s + v, 0) / n - 0.5)).toBeLessThan(4 * Math.sqrt(1 / 12 / n));
    expect(() => Rng.fromState([1, 2, 3])).toThrow(/four uint32/);
  });
});
