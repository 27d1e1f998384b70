/**
 * Optimizers, clipping, schedules and EMA against hand-computed float64 references.
 *
 * Quadratic: f(p) = ½ Σᵢ aᵢ (pᵢ − cᵢ)², ∇f = a ⊙ (p − c). The reference runs the textbook
 * update (PyTorch's formulation, see src/optim/adam.ts) in float64; tfjs runs in float32, so
 * the comparison tolerance is float32 rounding (1e-5 relative).
 */
import { decodeWeights, encodeWeights, initBackend } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Adam, AdamW, clipByGlobalNorm, EMA, learningRate, parseLRSchedule, ScheduleConfigError } from '../../src/index.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const A = [0.5, 2, 10, 0.1];
const C = [1, -2, 0.5, 3];
const P0 = [0, 0.5, -1, 2];

/** float64 reference of `steps` updates; `decoupled` = AdamW, otherwise L2 (λ p added to g). */
function reference(steps: number, lrs: number[], o: { b1: number; b2: number; eps: number; wd: number; decoupled: boolean }): number[] {
  const p = [...P0];
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  for (let k = 1; k <= steps; k++) {
    const lr = lrs[k - 1];
    for (let i = 0; i < p.length; i++) {
      let g = A[i] * (p[i] - C[i]);
      if (!o.decoupled) g += o.wd * p[i];
      m[i] = o.b1 * m[i] + (1 - o.b1) * g;
      v[i] = o.b2 * v[i] + (1 - o.b2) * g * g;
      const mhat = m[i] / (1 - o.b1 ** k);
      const vhat = v[i] / (1 - o.b2 ** k);
      if (o.decoupled) p[i] *= 1 - lr * o.wd;
      p[i] -= (lr * mhat) / (Math.sqrt(vhat) + o.eps);
    }
  }
  return p;
}

/** Element-wise |a − b| < 5e-6 (toBeCloseTo with 5 digits). */
function expectClose(actual: number[], expected: number[]): void {
  expect(actual).toHaveLength(expected.length);
  for (let i = 0; i < actual.length; i++) expect(actual[i]).toBeCloseTo(expected[i], 5);
}

function quadraticGrads(p: tf.Variable): tf.Tensor[] {
  return [tf.mul(tf.tensor1d(A), tf.sub(p, tf.tensor1d(C)))];
}

function runTf(make: (params: Map<string, tf.Variable>) => Adam, lrs: number[]): { p: number[]; opt: Adam; v: tf.Variable } {
  const v = tf.variable(tf.tensor1d(P0));
  const opt = make(new Map([['p', v]]));
  for (const lr of lrs) tf.tidy(() => opt.apply(quadraticGrads(v), lr));
  return { p: Array.from(v.dataSync()), opt, v };
}

describe('Adam / AdamW', () => {
  const lrs = [0.1, 0.05, 0.2, 0.1, 0.01, 0.3];

  it('Adam matches the float64 reference for 6 steps (varying lr)', () => {
    const { p, opt, v } = runTf((params) => new Adam(params), lrs);
    const ref = reference(lrs.length, lrs, { b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0, decoupled: false });
    expectClose(p, ref);
    // It moved (a no-op optimizer would fail the comparison unless the reference also did not move).
    expect(ref.some((x, i) => Math.abs(x - P0[i]) > 0.1)).toBe(true);
    expect(opt.step).toBe(lrs.length);
    opt.dispose();
    v.dispose();
  });

  it('AdamW decays the weights decoupled from the gradient; Adam with weightDecay is L2', () => {
    const o = { b1: 0.8, b2: 0.99, eps: 1e-6, wd: 0.5 };
    const w = runTf((params) => new AdamW(params, { beta1: o.b1, beta2: o.b2, epsilon: o.eps, weightDecay: o.wd }), lrs);
    const refW = reference(lrs.length, lrs, { ...o, decoupled: true });
    expectClose(w.p, refW);
    const l2 = runTf((params) => new Adam(params, { beta1: o.b1, beta2: o.b2, epsilon: o.eps, weightDecay: o.wd }), lrs);
    const refL2 = reference(lrs.length, lrs, { ...o, decoupled: false });
    expectClose(l2.p, refL2);
    // The two are genuinely different updates.
    expect(Math.max(...refW.map((x, i) => Math.abs(x - refL2[i])))).toBeGreaterThan(1e-3);
    expect(w.opt.config.kind).toBe('adamw');
    tf.dispose([w.v, l2.v]);
    w.opt.dispose();
    l2.opt.dispose();
  });

  it('state round-trips through a safetensors file and continues bit-exactly', () => {
    const a = runTf((params) => new AdamW(params), lrs.slice(0, 3));
    const state = a.opt.state();
    const bytes = encodeWeights(state.tensors, { step: String(state.step) });
    const b = runTf((params) => new AdamW(params), []);
    b.v.assign(tf.tensor1d(Array.from(a.v.dataSync())));
    b.opt.loadState({ step: state.step, tensors: decodeWeights(bytes).tensors, config: state.config });
    for (const lr of lrs.slice(3)) {
      tf.tidy(() => a.opt.apply(quadraticGrads(a.v), lr));
      tf.tidy(() => b.opt.apply(quadraticGrads(b.v), lr));
    }
    expect(Array.from(b.v.dataSync())).toEqual(Array.from(a.v.dataSync()));
    expect(b.opt.step).toBe(lrs.length);
    expect(() => b.opt.loadState({ step: 1, tensors: new Map() })).toThrow(/missing/);
    tf.dispose([a.v, b.v]);
    a.opt.dispose();
    b.opt.dispose();
  });
});

describe('clipByGlobalNorm', () => {
  it('scales every gradient by maxNorm / ‖g‖ and reports the pre-clip norm', () => {
    const g = [tf.tensor1d([3, 4]), tf.tensor2d([[12]])]; // ‖g‖ = 13
    const clipped = clipByGlobalNorm(g, 6.5);
    expect(clipped.norm.dataSync()[0]).toBeCloseTo(13, 5);
    const scale = 6.5 / (13 + 1e-6);
    expect(Array.from(clipped.grads[0].dataSync())).toEqual([expect.closeTo(3 * scale, 5), expect.closeTo(4 * scale, 5)]);
    expect(clipped.grads[1].dataSync()[0]).toBeCloseTo(12 * scale, 5);
    // Below the threshold nothing changes; without a threshold the norm is only measured.
    const loose = clipByGlobalNorm(g, 100);
    expect(Array.from(loose.grads[0].dataSync())).toEqual([3, 4]);
    const none = clipByGlobalNorm(g, null);
    expect(none.grads[0]).toBe(g[0]);
    expect(none.norm.dataSync()[0]).toBeCloseTo(13, 5);
    tf.dispose([...g, ...clipped.grads, clipped.norm, ...loose.grads, loose.norm, none.norm]);
  });
});

describe('learning-rate schedules', () => {
  it('constant with warm-up', () => {
    const s = parseLRSchedule({ kind: 'constant', lr: 0.01, warmup: 4 });
    expect([0, 1, 3, 4, 1000].map((k) => learningRate(s, k))).toEqual([0.0025, 0.005, 0.01, 0.01, 0.01]);
  });

  it('cosine: peak after warm-up, midpoint, floor at total and after', () => {
    const s = parseLRSchedule({ kind: 'cosine', lr: 1, warmup: 10, total: 110, floor: 0.1 });
    expect(learningRate(s, 0)).toBeCloseTo(0.1, 12);
    expect(learningRate(s, 9)).toBe(1);
    expect(learningRate(s, 10)).toBe(1);
    expect(learningRate(s, 60)).toBeCloseTo(0.55, 12);
    expect(learningRate(s, 35)).toBeCloseTo(0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI / 4)), 12);
    expect(learningRate(s, 110)).toBeCloseTo(0.1, 12);
    expect(learningRate(s, 500)).toBeCloseTo(0.1, 12);
  });

  it('polynomial decay (power 2, and linear by default)', () => {
    const s = parseLRSchedule({ kind: 'polynomial', lr: 2, total: 100, power: 2, floor: 0 });
    expect(learningRate(s, 0)).toBe(2);
    expect(learningRate(s, 50)).toBeCloseTo(0.5, 12);
    expect(learningRate(s, 100)).toBe(0);
    const lin = parseLRSchedule({ kind: 'polynomial', lr: 1, total: 20, floor: 0.2 });
    expect(learningRate(lin, 5)).toBeCloseTo(0.2 + 0.8 * 0.75, 12);
  });

  it('rejects bad schedules with the field named', () => {
    expect(() => parseLRSchedule({ kind: 'cosine', lr: 1 })).toThrow(ScheduleConfigError);
    expect(() => parseLRSchedule({ kind: 'cosine', lr: 1, total: 10, floor: 2 })).toThrow(/floor/);
    expect(() => parseLRSchedule({ kind: 'step', lr: 1 })).toThrow(/kind/);
    expect(() => learningRate(parseLRSchedule({ kind: 'constant', lr: 1 }), -1)).toThrow(RangeError);
  });
});

describe('EMA', () => {
  it('averages trainable variables, copies buffers, swaps in and out bit-exactly', async () => {
    const w = tf.variable(tf.tensor1d([1, 2]));
    const buffer = tf.variable(tf.tensor1d([7]), false);
    const ema = new EMA(
      new Map([
        ['w', w],
        ['b', buffer],
      ]),
      0.9,
      { warmup: false },
    );
    let ref = [1, 2];
    for (const next of [
      [3, 0],
      [5, -2],
    ]) {
      w.assign(tf.tensor1d(next));
      ema.update();
      ref = ref.map((r, i) => 0.9 * r + 0.1 * next[i]);
    }
    const avg = Array.from((ema.averages.get('w') as tf.Variable).dataSync());
    expectClose(avg, ref);
    expect(Array.from((ema.averages.get('b') as tf.Variable).dataSync())).toEqual([7]);
    const raw = Array.from(w.dataSync());
    const seen = await ema.withAverage(() => Array.from(w.dataSync()));
    expect(seen).toEqual(avg);
    expect(Array.from(w.dataSync())).toEqual(raw);
    ema.dispose();
    tf.dispose([w, buffer]);
  });
});
