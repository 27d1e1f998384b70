/**
 * Gradient checkpointing (nn/checkpoint.ts): a checkpointed function has the gradients of the
 * plain one (inputs, parameters, no gradient for constants), the U-Net's checkpointed ResBlocks
 * give the same loss gradients as recording every op — with dropout in training mode too (the
 * mask is drawn once and reused by the recomputation) — and the reverse pass of a U-Net holds
 * far less memory with checkpointing on.
 */
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CHECKPOINT_AUTO_SIZE,
  CHECKPOINT_AUTO_SIZE_NATIVE,
  checkpoint,
  checkpointingEnabled,
  checkpointPays,
  initBackend,
  Rng,
  setCheckpointing,
  setTraining,
  UNet,
} from '../src/index.js';

beforeAll(async () => {
  await initBackend('wasm');
});

afterEach(() => setCheckpointing(undefined));

const read = (t: tf.Tensor) => Float32Array.from(t.dataSync());

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]));
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
  }
  return diff / Math.max(scale, 1e-30);
}

describe('checkpoint()', () => {
  it('has the gradients of the plain function, for inputs and parameters; constants get none', () => {
    const w = tf.variable(tf.tensor2d([0.3, -1.2, 0.7, 2.0, -0.4, 0.9], [3, 2]));
    const c = tf.tensor2d([[1.5, -0.5]]);
    const f = (x: tf.Tensor, k: tf.Tensor) => tf.sum(tf.mul(tf.tanh(tf.matMul(x, w)), k), 1);
    const x = tf.tensor2d([0.1, 0.2, -0.3, 1.1, 0.4, -0.8], [2, 3]);
    const loss = (on: boolean) => () => {
      setCheckpointing(on);
      return tf.sum(tf.square(checkpoint(f, [x], [w], [c])));
    };
    const plain = tf.engine().gradients(loss(false), [x, w]);
    const ckpt = tf.engine().gradients(loss(true), [x, w]);
    expect(read(ckpt.value)).toEqual(read(plain.value));
    for (let i = 0; i < 2; i++) expect(maxRelDiff(read(ckpt.grads[i]), read(plain.grads[i]))).toBeLessThan(1e-6);
    expect(maxRelDiff(read(ckpt.grads[1]), new Float32Array(6))).toBeGreaterThan(0); // a real gradient
  });

  it("follows the switch, then NFDM_CHECKPOINT, then the caller's choice", () => {
    const saved = process.env.NFDM_CHECKPOINT;
    try {
      delete process.env.NFDM_CHECKPOINT;
      expect([checkpointingEnabled(true), checkpointingEnabled(false)]).toEqual([true, false]);
      process.env.NFDM_CHECKPOINT = '0';
      expect(checkpointingEnabled(true)).toBe(false);
      process.env.NFDM_CHECKPOINT = '1';
      expect(checkpointingEnabled(false)).toBe(true);
      setCheckpointing(false);
      expect(checkpointingEnabled(true)).toBe(false);
      setCheckpointing(true);
      expect(checkpointingEnabled(false)).toBe(true);
    } finally {
      if (saved === undefined) delete process.env.NFDM_CHECKPOINT;
      else process.env.NFDM_CHECKPOINT = saved;
    }
  });

  it('the U-Net recomputes only large calls (rows·H·W·base above the threshold of its kernels)', () => {
    expect([CHECKPOINT_AUTO_SIZE, CHECKPOINT_AUTO_SIZE_NATIVE]).toEqual([600_000, 3_000_000]);
    expect(checkpointPays(2 * 16, 28, 28, 16, false)).toBe(false); // 401k: batch 16, one tangent
    expect(checkpointPays(2 * 32, 28, 28, 16, false)).toBe(true);
    expect(checkpointPays(2 * 32, 28, 28, 16, true)).toBe(false);
    expect(checkpointPays(2 * 64, 28, 28, 32, true)).toBe(true);
  });
});

describe('the U-Net with checkpointed ResBlocks', () => {
  const make = (dropout: number) =>
    new UNet({
      height: 8,
      width: 8,
      inChannels: 1,
      outChannels: 2,
      base: 8,
      multipliers: [1, 2],
      groups: 4,
      layout: 'compact',
      dropout,
      rng: 3,
    });

  /** Loss Σ U² + Σ (∂U/∂t)² and its gradients, with checkpointing on or off (fresh dropout generator each time). */
  function lossAndGrads(net: UNet, on: boolean, dropout: boolean) {
    setCheckpointing(on);
    if (dropout) setTraining(net, new Rng(9));
    const rng = new Rng(4);
    const x = tf.tensor4d(rng.normalArray(3 * 64), [3, 8, 8, 1]);
    const t = tf.tensor2d([0.2, 0.5, 0.9], [3, 1]);
    const vars = [...net.parameters().values()].filter((v) => v.trainable);
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(net.jet(x, t, 1).data)) as tf.Scalar, vars);
    const out = { loss: value.dataSync()[0], grads: vars.map((v) => read(grads[v.name])) };
    tf.dispose([value, x, t, ...Object.values(grads)]);
    setTraining(net, null);
    return out;
  }

  for (const dropout of [0, 0.3]) {
    it(`gives the gradients of recording every op (dropout ${dropout}${dropout ? ', training mode' : ''})`, () => {
      // Perturb the zero-initialised convolutions so that every parameter has a gradient.
      const net = make(dropout);
      const rng = new Rng(5);
      tf.tidy(() => {
        for (const v of net.parameters().values()) v.assign(tf.add(v, tf.tensor(rng.normalArray(v.size, 0, 0.1), v.shape)));
      });
      const plain = lossAndGrads(net, false, dropout > 0);
      const ckpt = lossAndGrads(net, true, dropout > 0);
      expect(ckpt.loss).toBeCloseTo(plain.loss, 3);
      expect(Math.abs(ckpt.loss - plain.loss) / plain.loss).toBeLessThan(1e-6);
      for (const [i, g] of plain.grads.entries()) expect(maxRelDiff(ckpt.grads[i], g)).toBeLessThan(1e-4);
      net.dispose();
    });
  }

  it('holds much less memory in the reverse pass', async () => {
    const net = make(0);
    const x = tf.randomNormal([8, 8, 8, 1]) as tf.Tensor4D;
    const t = tf.fill([8, 1], 0.5) as tf.Tensor2D;
    const vars = [...net.parameters().values()].filter((v) => v.trainable);
    const peak = async (on: boolean) => {
      setCheckpointing(on);
      const info = await tf.profile(() => {
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(net.jet(x, t, 1).data)) as tf.Scalar, vars);
        tf.dispose([value, ...Object.values(grads)]);
      });
      return info.peakBytes;
    };
    const off = await peak(false);
    const on = await peak(true);
    expect(on).toBeLessThan(0.6 * off);
    tf.dispose([x, t]);
    net.dispose();
  });
});
