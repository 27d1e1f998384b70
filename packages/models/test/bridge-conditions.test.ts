/**
 * Conditional bridges (docs/maths/bridges.md#conditions-and-guidance): configs, condition dropout,
 * the conditional bound, guided transport, save/load and the errors.
 *
 * Closed form. Targets in classes y = k, x0 | y ~ N(μ_k, s² I), the source x1 independent of x0. With
 * the process network zeroed (m̄ = l̄ = 0), μ(x0, x1, t) = (1 − t) x0 + t x1 and σ = δ, so
 * z_t | x1, k ~ N((1 − t) μ_k + t x1, v I) with v = (1 − t)² s² + δ², and
 *   x̂(z, t, x1, k) = μ_k + ((1 − t) s²/v)(z − (1 − t) μ_k − t x1),  x̂(·, ∅) = Σ_k π_k(z) x̂(·, k),
 *   ∇log p_t(z | x1, k) = −(z − (1 − t) μ_k − t x1)/v,             ∇log p_t(z | x1) = Σ_k π_k ∇log p_t(z | x1, k),
 * π_k ∝ N(z; (1 − t) μ_k + t x1, v I). Tweedie gives x̂ = (z − t x1 + δ² s)/(1 − t), so the drifts
 * f = μ̇ + (σ̇/σ)(z − μ) = x1 − x̂ and fB = f − (g²/2) s, with s = (μ(x̂) − z)/δ², are functions of the
 * score; the guided drifts must be those of s_w = (1 + w) ∇log p_t(z | x1, y) − w ∇log p_t(z | x1).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, Rng } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BRIDGE_FORMAT,
  BridgeModel,
  type BridgeModelConfig,
  BridgePredictor,
  BridgeProcess,
  bridgeFamily,
  bridgeModelConfig,
  ConstantVolatility,
  createBridgeModel,
  loadAnyModel,
  ModelConfigError,
  parseBridgeConfig,
  reverseDrift,
  saveAnyModel,
} from '../src/index.js';

let tmp: string;
beforeAll(async () => {
  await initBackend('wasm');
  tmp = mkdtempSync(join(tmpdir(), 'nfdm-bridge-cond-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const D = 2;
const K = 3;
const MU = [
  [2, 0],
  [-1, 1.5],
  [-1, -1.5],
];
const S = 0.4;
const DELTA = 0.3;
const G = 0.7;

/** Zero every weight of the process network: m̄ = l̄ = 0, so μ = (1 − t) x0 + t x1 and σ = δ. */
function zeroProcess(process: BridgeProcess): void {
  for (const v of process.parameters().values()) v.assign(tf.zerosLike(v));
}

/** The mean and variance of z_t | x1, k of the file doc (float64 inputs as arrays). */
function classMoments(z: number[], x1: number[], t: number, k: number) {
  const v = (1 - t) ** 2 * S * S + DELTA * DELTA;
  const m = MU[k].map((mu, d) => (1 - t) * mu + t * x1[d]);
  return { v, m, logw: -z.reduce((acc, zi, d) => acc + (zi - m[d]) ** 2, 0) / (2 * v) };
}

/** ∇log p_t(z | x1, k) (k < K) or ∇log p_t(z | x1) (k = K), float64. */
function score64(z: number[], x1: number[], t: number, k: number): number[] {
  const per = MU.map((_, j) => classMoments(z, x1, t, j));
  const scores = per.map(({ v, m }) => z.map((zi, d) => -(zi - m[d]) / v));
  if (k < K) return scores[k];
  const top = Math.max(...per.map((p) => p.logw));
  const w = per.map((p) => Math.exp(p.logw - top));
  const total = w.reduce((a, b) => a + b, 0);
  return z.map((_, d) => scores.reduce((acc, sc, j) => acc + (w[j] / total) * sc[d], 0));
}

/** The analytic x̂(z, t, x1, y) of the file doc (y [B, 1] labels, K = ∅), in tf ops. */
class AnalyticBridgePredictor {
  readonly dim = D;
  readonly condition = null;
  predict(z: tf.Tensor, t: tf.Tensor, x1: tf.Tensor, y?: tf.Tensor | null): tf.Tensor {
    return tf.tidy(() => {
      if (!y) throw new Error('the analytic predictor is conditional');
      const one = tf.sub(1, t);
      const v = tf.add(tf.mul(tf.square(one), S * S), DELTA * DELTA); // [B, 1]
      const gain = tf.div(tf.mul(one, S * S), v);
      const means = MU.map((m) => tf.add(tf.mul(one, tf.tensor2d([m])), tf.mul(t, x1))); // [B, D] each
      const perClass = MU.map((m, j) => tf.add(tf.tensor2d([m]), tf.mul(gain, tf.sub(z, means[j]))));
      const logw = tf.concat(
        means.map((m) => tf.div(tf.neg(tf.sum(tf.square(tf.sub(z, m)), 1, true)), tf.mul(2, v))),
        1,
      );
      const w = tf.softmax(logw, 1);
      const mixture = perClass.reduce((acc, p, j) => tf.add(acc, tf.mul(tf.slice(w, [0, j], [-1, 1]), p)), tf.zerosLike(z));
      const stacked = tf.stack([...perClass, mixture], 1); // [B, K + 1, D]
      const onehot = tf.expandDims(tf.oneHot(tf.cast(tf.reshape(y, [-1]), 'int32'), K + 1), 2);
      return tf.sum(tf.mul(stacked, onehot), 1);
    });
  }
  parameters() {
    return new Map<string, tf.Variable>();
  }
  setTraining(): void {}
  dispose(): void {}
}

function analyticBridge(conditioned = false): BridgeModel {
  const spec = { kind: 'label' as const, classes: K };
  const process = new BridgeProcess({
    dim: D,
    delta: DELTA,
    hidden: [8],
    condition: conditioned ? { spec, embedding: 4 } : null,
    rng: 1,
  });
  zeroProcess(process);
  const predictor = new AnalyticBridgePredictor() as unknown as BridgePredictor;
  return new BridgeModel(process, predictor, new ConstantVolatility(G), [], { spec, dropout: 0 });
}

describe('bridge guidance: closed form on Gaussian target classes (process zeroed)', () => {
  const rng = new Rng(21);
  const zs = Array.from({ length: 6 }, () => [1.5 * rng.normal(), 1.5 * rng.normal()]);
  const x1s = Array.from({ length: 6 }, () => [rng.normal() - 2, rng.normal()]);
  const labels = [0, 1, 2, 0, 1, K]; // the last row: ∅ (guidance then has no effect)

  for (const conditioned of [false, true])
    for (const t of [0.2, 0.5, 0.8])
      for (const w of [0, 1, 3])
        it(`${conditioned ? 'conditioned process, ' : ''}t = ${t}, w = ${w}: guided f and fB are the drifts of (1 + w)∇log p(z|x1,y) − w∇log p(z|x1)`, () => {
          const model = analyticBridge(conditioned);
          const z = tf.tensor2d(zs);
          const x1 = tf.tensor2d(x1s);
          const y = tf.tensor2d(labels, [labels.length, 1]);
          const f = model.velocity(z, t, x1, y, w).arraySync() as number[][];
          const fB = model.reverseDrift(z, t, x1, y, w).arraySync() as number[][];
          zs.forEach((zi, b) => {
            const sy = score64(zi, x1s[b], t, labels[b]);
            const su = score64(zi, x1s[b], t, K);
            const sw = sy.map((v, d) => (1 + w) * v - w * su[d]);
            const xhat = zi.map((v, d) => (v - t * x1s[b][d] + DELTA * DELTA * sw[d]) / (1 - t));
            const fExpected = xhat.map((v, d) => x1s[b][d] - v);
            const fBExpected = fExpected.map((v, d) => v - 0.5 * G * G * sw[d]);
            for (let d = 0; d < D; d++) {
              expect(Math.abs(f[b][d] - fExpected[d])).toBeLessThan(1e-3 * (1 + Math.abs(fExpected[d])));
              expect(Math.abs(fB[b][d] - fBExpected[d])).toBeLessThan(1e-3 * (1 + Math.abs(fBExpected[d])));
            }
          });
          tf.dispose([z, x1, y]);
          model.dispose();
        });

  it('guided transport (ODE and SDE) carries sources to the asked class, and w moves the drift', () => {
    const model = analyticBridge();
    const z = tf.tensor2d([[0.3, -0.2]]);
    const x1 = tf.tensor2d([[-2, 0]]);
    const y = tf.tensor2d([[1]]);
    const a = model.velocity(z, 0.5, x1, y, 0).dataSync();
    const b = model.velocity(z, 0.5, x1, y, 3).dataSync();
    expect(Math.abs(a[0] - b[0]) + Math.abs(a[1] - b[1])).toBeGreaterThan(1e-2);
    const sources = new Rng(5).normalTensor([48, D]);
    // w = 0 is the exact conditional bridge: the targets' mean is μ_k (48 samples of std ≈ 0.5: 0.25 is
    // over 3 standard errors plus the 60-step discretisation); w = 1 still lands nearest to μ_k.
    for (const mode of ['ode', 'sde'] as const)
      for (const w of [0, 1])
        for (const k of [0, 1, 2]) {
          const { samples } = model.sample(sources, { mode, steps: 60, condition: k, guidance: w, seed: k });
          const mean = tf.mean(samples, 0).arraySync() as number[];
          samples.dispose();
          const dist = MU.map((m) => Math.hypot(m[0] - mean[0], m[1] - mean[1]));
          expect(dist.indexOf(Math.min(...dist))).toBe(k);
          if (w === 0) expect(dist[k]).toBeLessThan(0.25);
        }
    tf.dispose([z, x1, y, sources]);
    model.dispose();
  }, 60_000);
});

const LABELLED: BridgeModelConfig = {
  format: BRIDGE_FORMAT,
  dim: D,
  process: { hidden: [16, 16], conditioned: true },
  predictor: { hidden: [16, 16] },
  volatility: { kind: 'neural', hidden: [8] },
  penalties: [],
  seed: 3,
  condition: { kind: 'label', classes: K, dropout: 0.2, embedding: 8 },
} as BridgeModelConfig;

const VECTOR: BridgeModelConfig = {
  ...LABELLED,
  process: { hidden: [16, 16] },
  condition: { kind: 'vector', dim: 2, dropout: 0.1, embedding: 16 },
} as BridgeModelConfig;

describe('conditional bridge drifts with neural networks', () => {
  for (const config of [LABELLED, VECTOR]) {
    const kind = config.condition?.kind;
    it(`${kind}: where the process is affine in x̂ (zeroed), the guided drifts are (1 + w)·conditional − w·unconditional`, () => {
      const model = createBridgeModel(config);
      zeroProcess(model.process as BridgeProcess);
      const rng = new Rng(8);
      tf.tidy(() => {
        const B = 5;
        const z = rng.normalTensor([B, D]);
        const x1 = rng.normalTensor([B, D]);
        const y = kind === 'label' ? tf.tensor2d([0, 1, 2, 1, 0], [B, 1]) : rng.normalTensor([B, 2]);
        const nul = kind === 'label' ? tf.fill([B, 1], K) : tf.fill([B, 2], Number.NaN);
        for (const w of [0.5, 2]) {
          for (const drift of ['velocity', 'reverseDrift'] as const) {
            const guided = model[drift](z, 0.4, x1, y, w);
            const combo = tf.sub(tf.mul(1 + w, model[drift](z, 0.4, x1, y, 0)), tf.mul(w, model[drift](z, 0.4, x1, nul, 0)));
            // Relative to the drifts' size: fB carries (g²/2)(z − μ)/δ² with δ = 0.01, in float32.
            const scale = 1 + tf.max(tf.abs(combo)).dataSync()[0];
            expect(tf.max(tf.abs(tf.sub(guided, combo))).dataSync()[0]).toBeLessThan(1e-5 * scale);
            // And guidance does something: the conditional and unconditional predictions differ.
            expect(tf.max(tf.abs(tf.sub(guided, model[drift](z, 0.4, x1, y, 0)))).dataSync()[0]).toBeGreaterThan(1e-4);
          }
        }
      });
      model.dispose();
    });
  }

  it('a conditioned process: the guided drift is that of F(·, x̂_w, x1, y), and y reaches the process', () => {
    const model = createBridgeModel(LABELLED);
    const rng = new Rng(9);
    tf.tidy(() => {
      const B = 4;
      const z = rng.normalTensor([B, D]);
      const x1 = rng.normalTensor([B, D]);
      const t = tf.fill([B, 1], 0.3);
      const y = tf.tensor2d([0, 1, 2, 0], [B, 1]);
      const nul = tf.fill([B, 1], K);
      const w = 1.5;
      const xw = tf.sub(tf.mul(1 + w, model.predictor.predict(z, t, x1, y)), tf.mul(w, model.predictor.predict(z, t, x1, nul)));
      const expected = reverseDrift(model.process.params(xw, x1, t, 1, y), z, model.volatility.g2(t));
      const guided = model.reverseDrift(z, 0.3, x1, y, w);
      expect(tf.max(tf.abs(tf.sub(guided, expected))).dataSync()[0]).toBeLessThan(1e-5);
      const atNull = reverseDrift(model.process.params(xw, x1, t, 1, nul), z, model.volatility.g2(t));
      expect(tf.max(tf.abs(tf.sub(guided, atNull))).dataSync()[0]).toBeGreaterThan(1e-4);
    });
    model.dispose();
  });
});

describe('conditional bridge configs', () => {
  it('parse fills the defaults; bridgeModelConfig, save and load round-trip label and vector conditions', () => {
    for (const [i, config] of [LABELLED, VECTOR].entries()) {
      const parsed = parseBridgeConfig(config);
      expect(parsed.condition).toEqual(config.condition);
      expect(parsed.process.conditioned).toBe(config.process.conditioned);
      const model = createBridgeModel(parsed);
      expect(bridgeModelConfig(model)).toEqual(parsed);
      const dir = join(tmp, `m${i}`);
      saveAnyModel(model, dir);
      const loaded = loadAnyModel(dir) as BridgeModel;
      expect(loaded).toBeInstanceOf(BridgeModel);
      expect(bridgeModelConfig(loaded)).toEqual(parsed);
      expect(loaded.condition).toEqual(model.condition);
      const names = [...model.parameters().keys()].sort();
      expect([...loaded.parameters().keys()].sort()).toEqual(names);
      expect(names.some((n) => n.startsWith('predictor.') && /cond|emb|table|null/.test(n))).toBe(true);
      expect(names.some((n) => n.startsWith('process.') && /cond|emb|table|null/.test(n))).toBe(config.process.conditioned === true);
      for (const [name, v] of model.parameters())
        expect(Array.from((loaded.parameters().get(name) as tf.Variable).dataSync())).toEqual(Array.from(v.dataSync()));
      model.dispose();
      loaded.dispose();
    }
  });

  it('an unconditional bridge config is unchanged: no condition key, no conditioned flag', () => {
    const plain = parseBridgeConfig({ ...LABELLED, process: { hidden: [16, 16] }, condition: undefined });
    expect('condition' in plain).toBe(false);
    expect('conditioned' in plain.process).toBe(false);
    const model = createBridgeModel(plain);
    expect(model.condition).toBeNull();
    expect(bridgeModelConfig(model)).toEqual(plain);
    model.dispose();
  });

  const bad: [string, unknown, RegExp][] = [
    [
      'process.conditioned without a condition',
      { ...LABELLED, condition: undefined },
      /process\.conditioned.*needs a top-level "condition"/,
    ],
    ['a non-boolean conditioned', { ...LABELLED, process: { conditioned: 'yes' } }, /process\.conditioned.*true or false/],
    ['an unknown condition kind', { ...LABELLED, condition: { kind: 'text' } }, /condition\.kind.*label or vector/],
    ['zero classes', { ...LABELLED, condition: { kind: 'label', classes: 0 } }, /condition\.classes/],
    ['dropout 1', { ...LABELLED, condition: { kind: 'label', classes: 2, dropout: 1 } }, /condition\.dropout/],
    ['conditioned on the predictor', { ...LABELLED, predictor: { conditioned: true } }, /predictor.*conditioned/],
  ];
  for (const [label, raw, message] of bad)
    it(`rejects ${label}`, () => {
      expect(() => parseBridgeConfig(raw)).toThrow(ModelConfigError);
      expect(() => parseBridgeConfig(raw)).toThrow(message);
    });
});

describe('conditional bridge training', () => {
  it('condition dropout replaces about p of the rows by ∅ and leaves the (t, ε) stream of an unconditional bridge', () => {
    const model = createBridgeModel({ ...LABELLED, condition: { kind: 'label', classes: K, dropout: 0.3, embedding: 8 } });
    const plain = createBridgeModel({ ...LABELLED, process: { hidden: [16, 16] }, condition: undefined });
    const B = 2000;
    const y = tf.tensor2d(
      Array.from({ length: B }, (_, i) => i % K),
      [B, 1],
    );
    const a = model.drawNoise(new Rng(4), B, y);
    const b = plain.drawNoise(new Rng(4), B);
    expect(Array.from(a.t.dataSync())).toEqual(Array.from(b.t.dataSync()));
    expect(Array.from(a.eps.dataSync())).toEqual(Array.from(b.eps.dataSync()));
    const got = (a.condition as tf.Tensor).dataSync();
    const dropped = Array.from(got).filter((k) => k === K).length;
    expect(Math.abs(dropped / B - 0.3)).toBeLessThan(0.04); // 4 standard errors of 0.0102
    Array.from(got).forEach((k, i) => {
      if (k !== K) expect(k).toBe(i % K);
    });
    const kept = model.drawNoise(new Rng(4), B, y, { dropout: false });
    expect(Array.from((kept.condition as tf.Tensor).dataSync())).toEqual(Array.from(y.dataSync()));
    tf.dispose([y, a.t, a.eps, a.condition as tf.Tensor, b.t, b.eps, kept.t, kept.eps]);
    model.dispose();
    plain.dispose();
  });

  it('a few Adam steps through the family task lower the bound; held-out bound reads the conditions; gradients reach the embeddings', () => {
    const model = createBridgeModel(LABELLED);
    const task = bridgeFamily.trainingTask(model, { kind: 'nelbo' });
    expect(task.conditionDim).toBe(1);
    expect(task.heldOutMetrics[0].label).toBe('bound on −log p(target | source, y)');
    const rng = new Rng(1);
    const n = 256;
    const labels = Array.from({ length: n }, (_, i) => i % K);
    const targets = labels.map((k) => [MU[k][0] + S * rng.normal(), MU[k][1] + S * rng.normal()]);
    const rows = tf.tensor2d(targets.map((x0) => [...x0, rng.normal() - 3, rng.normal()]));
    const y = tf.tensor2d(labels, [n, 1]);
    const variables = [...model.parameters().values()];
    const optimizer = tf.train.adam(1e-2);
    const noiseRng = new Rng(2);
    const before = task.heldOut(rows, 4, 7, y).bridge_bound;
    const tables = [...model.parameters()].filter(([name]) => /condition\.table$/.test(name));
    expect(tables.map(([name]) => name.split('.')[0]).sort()).toEqual(['predictor', 'process']);
    const tablesBefore = tables.map(([, v]) => Array.from(v.dataSync()));
    for (let step = 0; step < 40; step++) {
      tf.tidy(() => {
        const { value, grads } = task.lossAndGrads(rows, noiseRng, variables, step, y);
        expect(Number.isFinite(value.dataSync()[0])).toBe(true);
        optimizer.applyGradients(grads as tf.NamedTensorMap as Parameters<typeof optimizer.applyGradients>[0]);
      });
    }
    const after = task.heldOut(rows, 4, 7, y);
    // The gradients reach both embedding tables.
    tables.forEach(([, v], i) => {
      expect(Array.from(v.dataSync())).not.toEqual(tablesBefore[i]);
    });
    expect(after.bridge_bound).toBeLessThan(before);
    // The bound reads y: other labels give another value.
    const shifted = tf.tensor2d(
      labels.map((k) => (k + 1) % K),
      [n, 1],
    );
    expect(task.heldOut(rows, 4, 7, shifted).bridge_bound).not.toBeCloseTo(after.bridge_bound, 3);
    expect(() => task.heldOut(rows, 1, 7)).toThrow(/held-out bound of a conditional bridge is given the rows' conditions/);
    tf.dispose([rows, y, shifted]);
    optimizer.dispose();
    model.dispose();
  }, 60_000);
});

describe('conditional bridge errors', () => {
  it('refuses missing, ill-shaped or out-of-range conditions, conditions for an unconditional bridge, and guidance without a condition', () => {
    const model = createBridgeModel(LABELLED);
    const plain = createBridgeModel({ ...LABELLED, process: { hidden: [16, 16] }, condition: undefined });
    const x1 = tf.zeros([3, D]);
    const z = tf.zeros([3, D]);
    expect(() => model.drawNoise(new Rng(1), 3)).toThrow(/conditional bridge trains on the rows' conditions/);
    expect(() => model.drawNoise(new Rng(1), 3, tf.zeros([3, 2]))).toThrow(/expects a condition \[3, 1\]/);
    expect(() => model.drawNoise(new Rng(1), 3, tf.tensor2d([[0], [1], [7]]))).toThrow(/labels must be integers in 0…3/);
    expect(() => model.sample(x1, { steps: 2 })).toThrow(/conditional bridge transports given conditions/);
    expect(() => model.sample(x1, { steps: 2, condition: [0, 1] })).toThrow(/expects a condition \[3, 1\]/);
    expect(() => model.sample(x1, { steps: 2, condition: 5 })).toThrow(/labels must be integers/);
    expect(() => model.sample(x1, { steps: 2, condition: 1, guidance: Number.NaN })).toThrow(/finite/);
    expect(() => model.velocity(z, 0.5, x1)).toThrow(/needs the conditions y of its rows/);
    expect(() => plain.sample(x1, { steps: 2, condition: 1 })).toThrow(/unconditional: it takes no condition/);
    expect(() => plain.sample(x1, { steps: 2, guidance: 1 })).toThrow(/guidance needs a conditional bridge/);
    expect(() => plain.reverseDrift(z, 0.5, x1, null, 2)).toThrow(/guidance needs a conditional bridge/);
    expect(() => plain.drawNoise(new Rng(1), 3, tf.zeros([3, 1]))).toThrow(/unconditional: it takes no condition/);
    const proc = new BridgeProcess({ dim: D, hidden: [4], condition: { spec: { kind: 'label', classes: 2 }, embedding: 4 } });
    const pred = new BridgePredictor({ dim: D, hidden: [4] });
    expect(() => new BridgeModel(proc, pred, new ConstantVolatility(1))).toThrow(/conditioned on y needs a conditional bridge/);
    // Unconditional samples of a conditional bridge: ∅ rows.
    const r = model.sample(x1, { steps: 2, condition: K });
    expect(r.samples.shape).toEqual([3, D]);
    tf.dispose([x1, z, r.samples]);
    model.dispose();
    plain.dispose();
    proc.dispose();
    pred.dispose();
  });
});
