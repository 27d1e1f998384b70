/**
 * DiffFlow's native path (issue 17): the FourierMLP as dense chains (one @nfdm/native op for the
 * trunk and one for the time branch, gelu-tanh natively) against the spec formula on tfjs ops,
 * the path-KL loss and every gradient with the native kernels on and off, the time-part split
 * (DiffFlowNet.condition) against plain `apply`, and the unchanged parameter names. The addon
 * MUST be built here (`npm run build -w @nfdm/native`): these tests fail, they do not skip.
 */
import { type Dense, getActivation, initBackend, type NamedVariables, Rng, setNativeKernels, trainableVariables } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiffFlowModel, type DiffFlowNet, diffflowPathKLGrad, drawDiffFlowNoise, expTimerGrid, FourierMLP } from '../src/diffflow/index.js';

beforeAll(async () => {
  await initBackend('wasm');
});
afterAll(() => {
  setNativeKernels(undefined);
});

function requireNative(): void {
  const status = setNativeKernels(true);
  if (!status.enabled)
    throw new Error(`@nfdm/native is not usable here (${status.reason}); build it with \`npm run build -w @nfdm/native\``);
}

/** max |a − b| / max(1e-3, max |b|). */
function relErr(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let diff = 0;
  let scale = 1e-3;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return Number.isFinite(diff) ? diff / scale : Number.POSITIVE_INFINITY;
}

/** The spec formula (docs/maths/diffflow.md#networks) layer by layer on tfjs ops, t [B, 1] or [1, 1]. */
function fourierReference(net: FourierMLP, x: tf.Tensor2D, t: tf.Tensor2D): tf.Tensor2D {
  const gelu = (h: tf.Tensor) => getActivation('gelu-tanh')(h, 0).value;
  const dense = (l: Dense, h: tf.Tensor) => tf.add(tf.matMul(h as tf.Tensor2D, l.weight), l.bias);
  return tf.tidy(() => {
    const arg = tf.add(tf.mul(t, tf.reshape(net.frequencies, [1, -1])), tf.reshape(net.phase, [1, -1]));
    const emb = tf.concat([tf.sin(arg), tf.cos(arg)], 1);
    const ht = dense(net.timeOut, gelu(dense(net.timeIn, emb)));
    let h = gelu(tf.add(dense(net.inputLayer, x), ht));
    for (const layer of net.hidden) h = gelu(dense(layer, h));
    return dense(net.output, h) as tf.Tensor2D;
  });
}

/** The same network seen only through `apply` (no time-part split: the walk calls apply(x, t_k)). */
class PlainNet implements DiffFlowNet {
  constructor(readonly net: FourierMLP) {}
  get dim(): number {
    return this.net.dim;
  }
  apply(x: tf.Tensor2D, t: tf.Tensor2D): tf.Tensor2D {
    return this.net.apply(x, t);
  }
  parameters(): NamedVariables {
    return this.net.parameters();
  }
  dispose(): void {}
}

interface GradRun {
  loss: number;
  grads: Map<string, Float32Array>;
  gradX0: Float32Array;
}

function pathGrad(model: DiffFlowModel, seed: number, N: number, B: number, native: boolean): GradRun {
  setNativeKernels(native);
  const rng = new Rng(seed);
  const grid = expTimerGrid({ N, tMin: 0.001, tMax: 0.05, exponent: 0.9 });
  const x0 = rng.normalTensor([B, model.dim]) as tf.Tensor2D;
  const noise = drawDiffFlowNoise(rng, N, B, model.dim);
  const r = diffflowPathKLGrad(model, x0, { grid, g: 0.2, noise });
  const out = {
    loss: r.loss,
    grads: new Map(Object.entries(r.grads).map(([k, v]) => [k, v.dataSync() as Float32Array])),
    gradX0: r.gradX0.dataSync() as Float32Array,
  };
  tf.dispose([x0, noise, r.gradX0, ...Object.values(r.grads)]);
  return out;
}

describe('FourierMLP as native dense chains', () => {
  it('keeps its parameter names (saved weights of older versions load)', () => {
    const net = new FourierMLP(2, { channels: 8, layers: 2, rng: new Rng(1) });
    expect([...net.parameters().keys()]).toEqual([
      'frequencies',
      'phase',
      'timeIn.weight',
      'timeIn.bias',
      'timeOut.weight',
      'timeOut.bias',
      'input.weight',
      'input.bias',
      'output.weight',
      'output.bias',
      'hidden.0.weight',
      'hidden.0.bias',
      'hidden.1.weight',
      'hidden.1.bias',
    ]);
    net.dispose();
  });

  for (const native of [true, false]) {
    it(`equals the spec formula for t [1, 1] and t [B, 1] (native ${native ? 'on' : 'off'}), also under a gradient tape`, () => {
      if (native) requireNative();
      else setNativeKernels(false);
      const net = new FourierMLP(3, { channels: 16, layers: 2, rng: new Rng(4) });
      const rng = new Rng(5);
      const x = rng.normalTensor([9, 3]) as tf.Tensor2D;
      const shared = tf.fill([1, 1], 0.013) as tf.Tensor2D;
      const perRow = rng.uniformTensor([9, 1], 0.001, 0.05) as tf.Tensor2D;
      for (const t of [shared, perRow]) {
        const expected = fourierReference(net, x, t).dataSync();
        const got = tf.tidy(() => net.apply(x, t).dataSync());
        expect(relErr(got, expected)).toBeLessThan(2e-6);
        // Under a tape the native ops run as custom-gradient ops: same values, same gradients.
        const vars = trainableVariables(net);
        const cot = tf.tidy(() => tf.sin(tf.range(0, 27).reshape([9, 3])));
        const a = tf.variableGrads(() => tf.sum(tf.mul(net.apply(x, t), cot)) as tf.Scalar, vars);
        const b = tf.variableGrads(() => tf.sum(tf.mul(fourierReference(net, x, t), cot)) as tf.Scalar, vars);
        expect(relErr(a.value.dataSync(), b.value.dataSync())).toBeLessThan(2e-6);
        for (const v of vars) expect(relErr(a.grads[v.name].dataSync(), b.grads[v.name].dataSync()), v.name).toBeLessThan(2e-5);
        tf.dispose([cot, a.value, b.value, ...Object.values(a.grads), ...Object.values(b.grads)]);
      }
      tf.dispose([x, shared, perRow]);
      net.dispose();
    });
  }

  it('runs the trunk and the time branch as one native op each', async () => {
    requireNative();
    const net = new FourierMLP(2, { channels: 8, layers: 3, rng: new Rng(2) });
    const x = tf.ones([4, 2]) as tf.Tensor2D;
    const c = tf.tidy(() => tf.reshape(net.condition(tf.fill([1, 1], 0.02) as tf.Tensor2D), [-1]) as tf.Tensor1D);
    const profile = await tf.profile(() => tf.dispose(net.applyConditioned(x, c)));
    expect(profile.kernels.length).toBeLessThanOrEqual(1);
    tf.dispose([x, c]);
    net.dispose();
  });
});

describe('DiffFlow path-KL gradient on the native path', () => {
  it('loss, every parameter gradient and ∂L/∂x₀ equal the tfjs path (N = 30, C = 32, L = 1, the reproduction)', () => {
    requireNative();
    const model = DiffFlowModel.fourier(2, { channels: 32, layers: 1, seed: 6 });
    const a = pathGrad(model, 8, 30, 64, true);
    const b = pathGrad(model, 8, 30, 64, false);
    expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-5 * Math.max(1, Math.abs(b.loss)));
    expect([...a.grads.keys()].sort()).toEqual([...b.grads.keys()].sort());
    for (const [name, g] of a.grads) expect(relErr(g, b.grads.get(name) as Float32Array), name).toBeLessThan(1e-4);
    expect(relErr(a.gradX0, b.gradX0)).toBeLessThan(1e-4);
    model.dispose();
  });

  it('the time parts computed once per grid (condition) give the gradient of calling apply(x, t_k) every time', () => {
    requireNative();
    const rng = new Rng(3);
    const drift = new FourierMLP(2, { channels: 16, layers: 2, rng });
    const score = new FourierMLP(2, { channels: 16, layers: 2, rng });
    const split = new DiffFlowModel(drift, score);
    const plain = new DiffFlowModel(new PlainNet(drift), new PlainNet(score));
    for (const native of [true, false]) {
      const a = pathGrad(split, 9, 7, 16, native);
      const b = pathGrad(plain, 9, 7, 16, native);
      expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-5 * Math.max(1, Math.abs(b.loss)));
      for (const [name, g] of a.grads) expect(relErr(g, b.grads.get(name) as Float32Array), name).toBeLessThan(1e-4);
      expect(relErr(a.gradX0, b.gradX0)).toBeLessThan(1e-4);
    }
    split.dispose();
  });
});
