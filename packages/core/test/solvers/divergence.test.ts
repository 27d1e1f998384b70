/**
 * Divergence: the exact trace (one reverse pass per dimension) equals the analytic trace of
 * linear and nonlinear fields; Hutchinson's estimator is unbiased (mean over probes within
 * 3 standard errors of the exact value) and, for a linear field, equals εᵀAε exactly.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import { divergence, makeProbe } from '../../src/math/index.js';
import { Rng } from '../../src/random.js';
import { linearField, meanVar } from './helpers.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const A3 = [
  [0.5, -1.2, 0.3],
  [2, -0.7, 1.1],
  [-0.4, 0.9, 1.6],
];
const trA3 = 0.5 - 0.7 + 1.6;

/** divergence() leaving exactly its two results behind (no intermediate leaks). */
function run(field: (t: number, y: tf.Tensor) => tf.Tensor, t: number, y: tf.Tensor, probe?: tf.Tensor) {
  const before = tf.memory().numTensors;
  const r = divergence(field, t, y, probe ? { method: 'hutchinson', probe } : { method: 'exact' });
  expect(tf.memory().numTensors).toBe(before + 2);
  return r;
}

describe('exact divergence', () => {
  it('linear field: tr(A) for every sample, and the value is the field', () => {
    const lin = linearField(A3);
    const y = new Rng(1).normalTensor([6, 3]);
    const r = run(lin.field, 0, y);
    expect(r.divergence.shape).toEqual([6]);
    for (const d of r.divergence.dataSync()) expect(d).toBeCloseTo(trA3, 5);
    const v = lin.field(0, y);
    expect(r.value.arraySync()).toEqual(v.arraySync());
    tf.dispose([r.value, r.divergence, y, v]);
    lin.dispose();
  });

  it('nonlinear field tanh(W y + b)·(1 + t): Σ_i (1 − h_i²) W_ii (1 + t)', () => {
    const rng = new Rng(2);
    const D = 4;
    const W = Array.from({ length: D }, () => Array.from({ length: D }, () => rng.normal()));
    const b = Array.from({ length: D }, () => 0.3 * rng.normal());
    const wt = tf.tensor2d(W[0].map((_, j) => W.map((row) => row[j])));
    const bt = tf.tensor1d(b);
    const field = (t: number, y: tf.Tensor) => tf.mul(tf.tanh(tf.add(tf.matMul(y, wt), bt)), 1 + t);
    const ys = Array.from({ length: 5 }, () => Array.from({ length: D }, () => rng.normal()));
    const y = tf.tensor2d(ys);
    const t = 0.4;
    const r = run(field, t, y);
    const got = r.divergence.dataSync();
    ys.forEach((yb, k) => {
      const h = W.map((row, i) => Math.tanh(row.reduce((s, wij, j) => s + wij * yb[j], 0) + b[i]));
      const trace = h.reduce((s, hi, i) => s + (1 - hi * hi) * W[i][i], 0) * (1 + t);
      expect(got[k]).toBeCloseTo(trace, 4);
    });
    tf.dispose([r.value, r.divergence, y, wt, bt]);
  });

  it('coupled field v_i = y_i sin(y_{i+1}) and a rank-3 state [B, 2, 2] with v = y³', () => {
    const rng = new Rng(3);
    const ys = Array.from({ length: 4 }, () => Array.from({ length: 3 }, () => rng.normal()));
    const y = tf.tensor2d(ys);
    const roll = (x: tf.Tensor) => tf.concat([tf.slice(x, [0, 1], [-1, 2]), tf.slice(x, [0, 0], [-1, 1])], 1);
    const r = run((_t, x) => tf.mul(x, tf.sin(roll(x))), 0, y);
    const got = r.divergence.dataSync();
    ys.forEach((yb, k) => {
      expect(got[k]).toBeCloseTo(Math.sin(yb[1]) + Math.sin(yb[2]) + Math.sin(yb[0]), 5);
    });
    const img = rng.normalTensor([3, 2, 2]);
    const r3 = run((_t, x) => tf.pow(x, 3), 0, img);
    const vals = img.arraySync() as number[][][];
    expect(r3.divergence.shape).toEqual([3]);
    r3.divergence.dataSync().forEach((d, k) => {
      expect(d).toBeCloseTo(
        vals[k].flat().reduce((s, v) => s + 3 * v * v, 0),
        4,
      );
    });
    tf.dispose([r.value, r.divergence, y, img, r3.value, r3.divergence]);
  });

  it('a field that ignores y has divergence 0; results survive inside a caller tidy', () => {
    const c = tf.tensor2d([[1, 2]]);
    const y = tf.ones([3, 2]);
    const d = tf.tidy(() => divergence(() => tf.tile(c, [3, 1]), 0, y).divergence);
    expect(Array.from(d.dataSync())).toEqual([0, 0, 0]);
    tf.dispose([c, y, d]);
  });

  it('rejects bad arguments', () => {
    const y = tf.ones([2, 3]);
    const f = (_t: number, x: tf.Tensor) => x;
    expect(() => divergence(f, 0, y, { method: 'hutchinson' })).toThrow(/probe/);
    const p = tf.ones([2, 2]);
    expect(() => divergence(f, 0, y, { method: 'hutchinson', probe: p })).toThrow(/probe shape/);
    expect(() => divergence(f, 0, y, { method: 'trace' as 'exact' })).toThrow(/unknown divergence method/);
    // (tfjs keeps the tensors its gradient tape saved when the taped function throws, so no
    // leak assertion here.)
    expect(() => divergence((_t, x) => tf.sum(x, 1), 0, y)).toThrow(/returned \[2\] for y of shape \[2,3\]/);
    tf.dispose([y, p]);
  });
});

describe('Hutchinson divergence', () => {
  it('for a linear field it is exactly εᵀAε per sample', () => {
    const lin = linearField(A3);
    const rng = new Rng(4);
    const y = rng.normalTensor([8, 3]);
    const probe = makeProbe([8, 3], 'gaussian', rng);
    const r = run(lin.field, 0, y, probe);
    const eps = probe.arraySync() as number[][];
    r.divergence.dataSync().forEach((d, k) => {
      const e = eps[k];
      const q = A3.reduce((s, row, i) => s + e[i] * row.reduce((t, aij, j) => t + aij * e[j], 0), 0);
      expect(d).toBeCloseTo(q, 4);
    });
    tf.dispose([y, probe, r.value, r.divergence]);
    lin.dispose();
  });

  it.each(['rademacher', 'gaussian'] as const)('%s probes: the mean over probes is within 3 standard errors of the exact value', (kind) => {
    // One point, replicated K times, each copy with its own probe.
    const K = 4000;
    const D = 4;
    const rng = new Rng(kind === 'rademacher' ? 5 : 6);
    const W = Array.from({ length: D }, (_, i) => Array.from({ length: D }, (_, j) => (i === j ? 1 : 0.6) * Math.cos(i + 2 * j)));
    const wt = tf.tensor2d(W[0].map((_, j) => W.map((row) => row[j])));
    const field = (_t: number, y: tf.Tensor) => tf.tanh(tf.matMul(y, wt));
    const point = [0.3, -0.8, 0.5, 1.1];
    const y = tf.tile(tf.tensor2d([point]), [K, 1]);
    const exact = divergence(field, 0, tf.tensor2d([point]));
    const exactValue = exact.divergence.dataSync()[0];
    const probe = makeProbe([K, D], kind, rng);
    const est = divergence(field, 0, y, { method: 'hutchinson', probe });
    const m = meanVar(est.divergence.dataSync());
    const se = Math.sqrt(m.variance / K);
    expect(se).toBeGreaterThan(1e-3); // the estimator is genuinely noisy here
    expect(Math.abs(m.mean - exactValue)).toBeLessThan(3 * se);
    tf.dispose([wt, y, exact.value, exact.divergence, probe, est.value, est.divergence]);
  });

  it('Rademacher probes have lower variance than Gaussian ones (diagonal-heavy Jacobian)', () => {
    const K = 4000;
    const lin = linearField(A3);
    const y = tf.zeros([K, 3]);
    const variance = (kind: 'rademacher' | 'gaussian') => {
      const probe = makeProbe([K, 3], kind, new Rng(7));
      const r = divergence(lin.field, 0, y, { method: 'hutchinson', probe });
      const v = meanVar(r.divergence.dataSync()).variance;
      tf.dispose([probe, r.value, r.divergence]);
      return v;
    };
    // Var_rad = Σ_{i≠j} (a_ij + a_ji)²/2 ... < Var_gauss = that + 2 Σ a_ii².
    expect(variance('rademacher')).toBeLessThan(variance('gaussian'));
    y.dispose();
    lin.dispose();
  });

  it('makeProbe draws ±1 or normals with the given shape, reproducibly', () => {
    const a = makeProbe([2, 3], 'rademacher', new Rng(9));
    const b = makeProbe([2, 3], 'rademacher', new Rng(9));
    expect(a.arraySync()).toEqual(b.arraySync());
    for (const v of a.dataSync()) expect(Math.abs(v)).toBe(1);
    expect(() => makeProbe([2], 'uniform' as 'gaussian', new Rng(1))).toThrow(/unknown probe/);
    tf.dispose([a, b]);
  });
});
