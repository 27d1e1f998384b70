/**
 * Gradient accumulation (families/micro-batch.ts): the loss and gradients of a batch computed in
 * micro-batches equal the one-pass ones (any chunk size, uneven last chunk), leak no tensors,
 * refuse bad sizes; image models choose their micro-batch from the U-Net size and the kernels.
 */
import { initBackend, Rng, TimeUNet } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModel, IMAGE_TRAIN_UNITS, imageTrainBatch, MODEL_FORMAT, microBatchedGrads, microBatchedLoss } from '../src/index.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const model = () =>
  createModel({
    format: MODEL_FORMAT,
    dim: 3,
    forward: { kind: 'nfdm', hidden: [16], activation: 'selu' },
    predictor: { hidden: [16], activation: 'silu' },
    volatility: { kind: 'neural', hidden: [8] },
    seed: 2,
  });

describe('microBatchedGrads', () => {
  it('equals the one-pass loss and gradients for any chunk size', () => {
    const m = model();
    const rng = new Rng(3);
    const x = tf.tensor2d(rng.normalArray(8 * 3), [8, 3]);
    const noise = m.drawNoise(new Rng(4), 8);
    const vars = [...m.parameters().values()].filter((v) => v.trainable);
    const loss = (xs: tf.Tensor2D, ns: typeof noise) => m.loss(xs, ns);
    const one = microBatchedGrads(x, noise as typeof noise & Record<string, tf.Tensor>, vars, undefined, loss);
    const ref = { value: one.value.dataSync()[0], grads: Object.fromEntries(Object.entries(one.grads).map(([k, g]) => [k, g.dataSync()])) };
    for (const size of [1, 3, 5, 7]) {
      const before = tf.memory().numTensors;
      const r = microBatchedGrads(x, noise as typeof noise & Record<string, tf.Tensor>, vars, size, loss);
      expect(Math.abs(r.value.dataSync()[0] - ref.value) / Math.abs(ref.value)).toBeLessThan(1e-5);
      expect(Object.keys(r.grads).sort()).toEqual(Object.keys(ref.grads).sort());
      for (const [k, g] of Object.entries(r.grads)) {
        const a = g.dataSync();
        const b = ref.grads[k];
        const scale = Math.max(...Array.from(b, Math.abs), 1e-12);
        for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i]) / scale).toBeLessThan(1e-4);
      }
      const made = 1 + Object.keys(r.grads).length;
      expect(tf.memory().numTensors - before).toBe(made); // only the results remain
      tf.dispose([r.value, ...Object.values(r.grads)]);
    }
    tf.dispose([x, noise.t, noise.eps, one.value, ...Object.values(one.grads)]);
    m.dispose();
  });

  it('microBatchedLoss: the one-pass loss value for any chunk size, leaving no tensors', () => {
    const m = model();
    const x = tf.tensor2d(new Rng(3).normalArray(8 * 3), [8, 3]);
    const noise = m.drawNoise(new Rng(4), 8) as ReturnType<ReturnType<typeof model>['drawNoise']> & Record<string, tf.Tensor>;
    const loss = (xs: tf.Tensor2D, ns: typeof noise) => m.loss(xs, ns);
    const ref = tf.tidy(() => loss(x, noise)).dataSync()[0];
    expect(microBatchedLoss(x, noise, undefined, loss)).toBeCloseTo(ref, 6);
    for (const size of [1, 3, 5, 7, 8, 20]) {
      const before = tf.memory().numTensors;
      const v = microBatchedLoss(x, noise, size, loss);
      expect(Math.abs(v - ref) / Math.abs(ref)).toBeLessThan(1e-5);
      expect(tf.memory().numTensors).toBe(before);
    }
    expect(() => microBatchedLoss(x, noise, 0, loss)).toThrow(/positive integer/);
    tf.dispose([x, noise.t, noise.eps]);
    m.dispose();
  });

  it('slices a conditional model’s conditions with the rows (labels after dropout)', () => {
    const m = createModel({
      format: MODEL_FORMAT,
      dim: 3,
      forward: { kind: 'nfdm', hidden: [16], conditioned: true },
      predictor: { hidden: [16] },
      volatility: { kind: 'neural', hidden: [8] },
      condition: { kind: 'label', classes: 3, dropout: 0.3, embedding: 16 },
      seed: 2,
    });
    const x = tf.tensor2d(new Rng(3).normalArray(8 * 3), [8, 3]);
    const y = tf.tensor2d([0, 1, 2, 0, 1, 2, 0, 1], [8, 1]);
    const noise = m.drawNoise(new Rng(4), 8, y);
    const vars = [...m.parameters().values()].filter((v) => v.trainable);
    const loss = (xs: tf.Tensor2D, ns: typeof noise) => m.loss(xs, ns);
    const n = noise as typeof noise & Record<string, tf.Tensor>;
    const one = microBatchedGrads(x, n, vars, undefined, loss);
    const chunked = microBatchedGrads(x, n, vars, 3, loss);
    const a = one.value.dataSync()[0];
    expect(Math.abs(chunked.value.dataSync()[0] - a) / Math.abs(a)).toBeLessThan(1e-5);
    tf.dispose([
      x,
      y,
      noise.t,
      noise.eps,
      noise.condition as tf.Tensor,
      one.value,
      chunked.value,
      ...Object.values(one.grads),
      ...Object.values(chunked.grads),
    ]);
    m.dispose();
  });

  it('refuses a size that is not a positive integer', () => {
    const x = tf.zeros([4, 2]) as tf.Tensor2D;
    for (const size of [0, 1.5, -2]) expect(() => microBatchedGrads(x, {}, [], size, () => tf.scalar(0))).toThrow(/positive integer size/);
    x.dispose();
  });
});

describe('image models choose their micro-batch', () => {
  it('⌊units / (2·H·W·base)⌋ of the largest U-Net, by kernels; none for MLPs', () => {
    const net = (base: number) =>
      new TimeUNet({ image: { height: 28, width: 28, channels: 1 }, base, multipliers: [1, 2], groups: 4, rng: 1 });
    const [n16, n32] = [net(16), net(32)];
    expect(imageTrainBatch([n16], false)).toBe(Math.floor(IMAGE_TRAIN_UNITS.tfjs / (2 * 784 * 16)));
    expect(imageTrainBatch([n16, n32], false)).toBe(31);
    expect(imageTrainBatch([n32, null], true)).toBe(79);
    expect(imageTrainBatch([null, {}], true)).toBeUndefined();
    n16.dispose();
    n32.dispose();
  });
});
