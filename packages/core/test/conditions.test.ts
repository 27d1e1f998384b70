/**
 * Conditional networks: a condition y (class label with a learned null index K, or a vector with
 * a learned null vector) enters TimeMLP as an input column block [x, e(t), emb(y)] and the U-Net
 * through its time embedding. y is constant in t: the jets' tangents are the partial
 * t-derivatives with y fixed, checked against float64 forward mode and central differences.
 * Networks without a condition keep their parameters (names and initial values).
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ConditionEmbedding,
  dropConditionRows,
  ImageJet,
  initBackend,
  nullCondition,
  Rng,
  SinusoidalEmbedding,
  TimeMLP,
  UNet,
} from '../src/index.js';
import { layers64 } from './helpers/extract.js';
import { pathDerivatives } from './helpers/image64.js';
import { centralDiff, closeness, DERIVATIVES64, mlp64, mlpJet64 } from './helpers/reference64.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const made: { dispose(): void }[] = [];
afterAll(() => {
  for (const m of made) m.dispose();
});

const B = 5;
const D = 2;
const K = 3;
const E = 4;

function rows(seed: number, n: number, w: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => Array.from({ length: w }, () => rng.normal()));
}

describe('TimeMLP with a condition', () => {
  it('label: jets equal float64 forward mode and central differences in t with y fixed; the null index K is a row of its own', () => {
    const net = new TimeMLP({
      dataDim: D,
      outDim: 3,
      hidden: [16, 16],
      activation: 'tanh',
      condition: { spec: { kind: 'label', classes: K }, embedding: E },
      rng: 7,
    });
    made.push(net);
    expect([...net.parameters().keys()]).toEqual([
      ...Array.from({ length: 3 }, (_, i) => [`net.layers.${i}.weight`, `net.layers.${i}.bias`]).flat(),
      'condition.table',
    ]);
    expect(net.parameters().get('condition.table')?.shape).toEqual([K + 1, E]);
    const x = rows(1, B, D);
    const t = [0.1, 0.3, 0.5, 0.7, 0.9];
    const labels = [0, 1, 2, K, 1]; // row 3: the null condition
    const parts = tf.tidy(() =>
      net
        .jet(tf.tensor2d(x), tf.tensor2d(t, [B, 1]), 2, tf.tensor2d(labels, [B, 1]))
        .parts()
        .map((p) => p.arraySync() as number[][]),
    );
    const table = net.parameters().get('condition.table')?.arraySync() as number[][];
    const ref = layers64(net.net);
    const phi = DERIVATIVES64.tanh;
    for (let b = 0; b < B; b++) {
      const emb = table[labels[b]];
      const zeros = new Array(E).fill(0);
      const [r0, r1, r2] = mlpJet64(ref, phi, [
        [...x[b], t[b], ...emb],
        [0, 0, 1, ...zeros],
        [0, 0, 0, ...zeros],
      ]);
      expect(closeness(parts[0][b], r0, 1e-5, 1e-4)).toBeLessThanOrEqual(1);
      expect(closeness(parts[1][b], r1, 1e-4, 1e-4)).toBeLessThanOrEqual(1);
      expect(closeness(parts[2][b], r2, 1e-3, 1e-4)).toBeLessThanOrEqual(1);
      for (let j = 0; j < 3; j++) {
        const fd = centralDiff((s) => mlp64(ref, (h) => phi(h)[0], [...x[b], s, ...emb])[j], t[b], 1e-3);
        expect(Math.abs(parts[1][b][j] - fd.d1)).toBeLessThan(1e-4 + 1e-4 * Math.abs(fd.d1));
        expect(Math.abs(parts[2][b][j] - fd.d2)).toBeLessThan(5e-3 + 1e-3 * Math.abs(fd.d2));
      }
    }
    for (let k = 0; k < K; k++) expect(closeness(table[K], table[k], 1e-3, 0)).toBeGreaterThan(1);
  });

  it('refuses a missing condition, a condition for an unconditional net, and a wrong width', () => {
    const cond = new TimeMLP({
      dataDim: D,
      outDim: 2,
      hidden: [8],
      condition: { spec: { kind: 'label', classes: K }, embedding: E },
      rng: 1,
    });
    const plain = new TimeMLP({ dataDim: D, outDim: 2, hidden: [8], rng: 1 });
    made.push(cond, plain);
    const x = tf.zeros([2, D]) as tf.Tensor2D;
    const t = tf.fill([2, 1], 0.5) as tf.Tensor2D;
    expect(() => cond.apply(x, t)).toThrow(/is conditional/);
    expect(() => plain.apply(x, t, tf.zeros([2, 1]) as tf.Tensor2D)).toThrow(/no condition input/);
    expect(() => cond.apply(x, t, tf.zeros([2, 2]) as tf.Tensor2D)).toThrow(/expects y \[B, 1\]/);
    tf.dispose([x, t]);
  });

  it('vector: a NaN row is the learned null vector, and gradients stay finite', () => {
    const net = new TimeMLP({ dataDim: D, outDim: 2, hidden: [8], condition: { spec: { kind: 'vector', dim: 3 }, embedding: E }, rng: 2 });
    made.push(net);
    expect([...net.parameters().keys()].filter((n) => n.startsWith('condition.'))).toEqual([
      'condition.proj.weight',
      'condition.proj.bias',
      'condition.null',
    ]);
    const y = tf.tensor2d([
      [0.5, -1, 2],
      [Number.NaN, Number.NaN, Number.NaN],
      [0, 0, 0],
    ]);
    const emb = (net.condition as ConditionEmbedding).apply(y).arraySync() as number[][];
    const nul = net.parameters().get('condition.null')?.arraySync() as number[];
    const bias = net.parameters().get('condition.proj.bias')?.arraySync() as number[];
    expect(closeness(emb[1], nul, 1e-7, 0)).toBeLessThanOrEqual(1);
    expect(closeness(emb[2], bias, 1e-7, 0)).toBeLessThanOrEqual(1);
    const x = tf.tensor2d(rows(3, 3, D));
    const t = tf.tensor2d([[0.2], [0.5], [0.8]]);
    const vars = [...net.parameters().values()];
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(net.jet(x, t, 1, y).data)) as tf.Scalar, vars);
    for (const g of Object.values(grads)) expect(g.dataSync().every(Number.isFinite)).toBe(true);
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    tf.dispose([x, t, y, value, ...Object.values(grads)]);
  });

  it('nullCondition and dropConditionRows', () => {
    expect(nullCondition({ kind: 'label', classes: 4 }, 2).arraySync()).toEqual([[4], [4]]);
    const v = nullCondition({ kind: 'vector', dim: 2 }, 1).arraySync() as number[][];
    expect(v[0].every(Number.isNaN)).toBe(true);
    const dropped = dropConditionRows({ kind: 'label', classes: 4 }, tf.tensor2d([[0], [1], [2]]), [false, true, false]);
    expect(dropped.arraySync()).toEqual([[0], [4], [2]]);
  });
});

describe('unconditional networks are unchanged', () => {
  it('TimeMLP: parameter names and initial weights as before (no condition block, the same stream)', () => {
    const a = new TimeMLP({ dataDim: D, outDim: 2, hidden: [8, 8], rng: 5 });
    made.push(a);
    expect([...a.parameters().keys()]).toEqual([
      'net.layers.0.weight',
      'net.layers.0.bias',
      'net.layers.1.weight',
      'net.layers.1.bias',
      'net.layers.2.weight',
      'net.layers.2.bias',
    ]);
    expect(a.parameters().get('net.layers.0.weight')?.shape).toEqual([D + 1, 8]);
    // A conditional net widens the first layer by the embedding width.
    const c = new TimeMLP({
      dataDim: D,
      outDim: 2,
      hidden: [8, 8],
      rng: 5,
      condition: { spec: { kind: 'label', classes: 2 }, embedding: 3 },
    });
    made.push(c);
    expect(c.parameters().get('net.layers.0.weight')?.shape).toEqual([D + 1 + 3, 8]);
  });

  it('UNet: the parameter names of an unconditional U-Net, plus condition.table for a conditional one', () => {
    const opts = { height: 8, width: 8, inChannels: 1, outChannels: 1, base: 4, multipliers: [1, 2], groups: 2, rng: 1 };
    const plain = new UNet(opts);
    const cond = new UNet({ ...opts, condition: { kind: 'label', classes: K } });
    made.push(plain, cond);
    const names = [...plain.parameters().keys()];
    expect(names.some((n) => n.startsWith('condition'))).toBe(false);
    expect([...cond.parameters().keys()]).toEqual([...names, 'condition.table']);
    expect(cond.parameters().get('condition.table')?.shape).toEqual([K + 1, 16]);
    // Same initial weights for every shared parameter (the condition is drawn last).
    for (const [name, v] of plain.parameters()) {
      const w = cond.parameters().get(name) as tf.Variable;
      expect(Array.from(w.dataSync())).toEqual(Array.from(v.dataSync()));
    }
  });
});

describe('UNet with a label condition', () => {
  it('∂U/∂t and ∂²U/∂t² equal central differences in t with y fixed; labels change the output', () => {
    const net = new UNet({
      height: 8,
      width: 8,
      inChannels: 1,
      outChannels: 1,
      base: 4,
      multipliers: [1, 2],
      groups: 2,
      embedding: new SinusoidalEmbedding({ dim: 4, minFrequency: 0.5, maxFrequency: 3 }),
      condition: { kind: 'label', classes: K },
      rng: 1,
    });
    made.push(net);
    const rng = new Rng(3);
    for (const v of net.parameters().values()) if (v.trainable) v.assign(tf.tensor(rng.normalArray(v.size, 0, 0.2), v.shape));
    const x = tf.tensor4d(new Rng(2).normalArray(2 * 64), [2, 8, 8, 1]);
    const y = tf.tensor2d([[1], [K]]);
    const blocks = (make: () => ImageJet) => {
      const parts = tf.tidy(() => make().parts());
      const out = parts.map((p) => Float64Array.from(p.dataSync()));
      tf.dispose(parts);
      return out;
    };
    const at = (t: number) => blocks(() => new ImageJet(net.apply(x, tf.fill([2, 1], t) as tf.Tensor2D, y), 0))[0];
    const jet = blocks(() => net.jet(x, tf.fill([2, 1], 0.4) as tf.Tensor2D, 2, y));
    const [v, d1, d2] = pathDerivatives(at, 0.4, 2e-2);
    expect(closeness(jet[0], v, 1e-5, 1e-5)).toBeLessThan(1);
    expect(closeness(jet[1], d1, 2e-3, 2e-3)).toBeLessThan(1);
    expect(closeness(jet[2], d2, 2e-2, 2e-2)).toBeLessThan(1);
    const other = blocks(() => new ImageJet(net.apply(x, tf.fill([2, 1], 0.4) as tf.Tensor2D, tf.tensor2d([[0], [0]])), 0))[0];
    expect(closeness(other, v, 1e-3, 0)).toBeGreaterThan(1);
    tf.dispose([x, y]);
  }, 60_000);
});
