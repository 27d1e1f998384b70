/**
 * Conditional diffusion models and classifier-free guidance (docs/maths/guidance.md).
 *
 * Closed form. Classes y = k ∈ {0, …, K−1}, uniform, with x | y ~ N(μ_k, s² I); a fixed VP process
 * z_t = α_t x + σ_t ε. Then z_t | y ~ N(α μ_k, v I) with v = α² s² + σ², and
 *   x̂(z, t, k) = μ_k + (α s²/v)(z − α μ_k),     x̂(z, t, ∅) = Σ_k π_k(z) x̂(z, t, k),
 *   ∇log p_t(z | k) = −(z − α μ_k)/v,           ∇log p_t(z) = Σ_k π_k(z) ∇log p_t(z | k),
 * with π_k(z) ∝ N(z; α μ_k, v I). The probability-flow velocity of a VP process in its drift form is
 * f = (α̇/α) z + (α̇σ²/α − σ̇σ) ∇log p, and the reverse drift fB = f − (g²/2) ∇log p; the guided
 * drifts must be these with ∇log p = (1 + w)∇log p_t(z | y) − w ∇log p_t(z).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, Rng } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ConstantVolatility,
  createModel,
  type DataPredictor,
  DiffusionModel,
  FixedGaussianProcess,
  impliedClassifier,
  loadModel,
  MODEL_FORMAT,
  type ModelConfig,
  ModelConfigError,
  modelConfig,
  otLoss,
  parseModelConfig,
  saveModel,
} from '../src/index.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const D = 2;
const K = 3;
const MU = [
  [2, 0],
  [-1, 1.5],
  [-1, -1.5],
];
const S = 0.4;
const BETA = { min: 0.1, max: 20 };

/** α, σ and their t-derivatives of the default VP schedule, in float64. */
function vp64(t: number) {
  const a = -0.25 * t * t * (BETA.max - BETA.min) - 0.5 * t * BETA.min;
  const da = -0.5 * t * (BETA.max - BETA.min) - 0.5 * BETA.min;
  const alpha = Math.exp(a);
  const sigma = Math.sqrt(1 - alpha * alpha);
  const dalpha = da * alpha;
  return { alpha, sigma, dalpha, dsigma: (-alpha * dalpha) / sigma };
}

/** ∇log p_t(z | k) (k < K) or ∇log p_t(z) (k = K), float64. */
function score64(z: number[], t: number, k: number): number[] {
  const { alpha, sigma } = vp64(t);
  const v = alpha * alpha * S * S + sigma * sigma;
  const scores = MU.map((m) => z.map((zi, d) => -(zi - alpha * m[d]) / v));
  if (k < K) return scores[k];
  const logw = MU.map((m) => -z.reduce((s, zi, d) => s + (zi - alpha * m[d]) ** 2, 0) / (2 * v));
  const top = Math.max(...logw);
  const w = logw.map((l) => Math.exp(l - top));
  const total = w.reduce((a, b) => a + b, 0);
  return z.map((_, d) => scores.reduce((s, sc, j) => s + (w[j] / total) * sc[d], 0));
}

/** The analytic x̂(z, t, y) of the file doc (y [B, 1] labels, K = ∅), as a DataPredictor. */
class AnalyticClassPredictor {
  readonly dim = D;
  constructor(readonly forward: FixedGaussianProcess) {}
  predict(z: tf.Tensor, t: tf.Tensor, y?: tf.Tensor | null): tf.Tensor {
    return tf.tidy(() => {
      if (!y) throw new Error('the analytic predictor is conditional');
      const { alpha, sigma } = this.forward.schedule.at(t, 0);
      const v = tf.add(tf.mul(tf.square(alpha), S * S), tf.square(sigma)); // [B, 1]
      const gain = tf.div(tf.mul(alpha, S * S), v);
      const mus = MU.map((m) => tf.tensor2d([m]));
      const perClass = mus.map((m) => tf.add(m, tf.mul(gain, tf.sub(z, tf.mul(alpha, m)))));
      const logw = tf.concat(
        mus.map((m) => tf.div(tf.neg(tf.sum(tf.square(tf.sub(z, tf.mul(alpha, m))), 1, true)), tf.mul(2, v))),
        1,
      ); // [B, K]
      const w = tf.softmax(logw, 1);
      const mixture = perClass.reduce((acc, p, j) => tf.add(acc, tf.mul(tf.slice(w, [0, j], [-1, 1]), p)), tf.zerosLike(z));
      const labels = tf.cast(tf.reshape(y, [-1]), 'int32');
      const stacked = tf.stack([...perClass, mixture], 1); // [B, K + 1, D]
      const onehot = tf.expandDims(tf.oneHot(labels, K + 1), 2);
      return tf.sum(tf.mul(stacked, onehot), 1);
    });
  }
  parameters() {
    return new Map<string, tf.Variable>();
  }
  dispose(): void {}
}

function analyticModel(g = 0.7): DiffusionModel {
  const forward = new FixedGaussianProcess(D, { name: 'vp' });
  const predictor = new AnalyticClassPredictor(forward) as unknown as DataPredictor;
  return new DiffusionModel(forward, predictor, new ConstantVolatility(g), { spec: { kind: 'label', classes: K }, dropout: 0 });
}

describe('classifier-free guidance: closed form on Gaussian classes under a fixed VP process', () => {
  const rng = new Rng(11);
  const zs = Array.from({ length: 6 }, () => [1.5 * rng.normal(), 1.5 * rng.normal()]);
  const labels = [0, 1, 2, 0, 1, K]; // the last row: ∅ (guidance then has no effect)

  for (const t of [0.2, 0.5, 0.8]) {
    for (const w of [0, 1, 3]) {
      it(`t = ${t}, w = ${w}: guided velocity and reverse drift equal (1 + w)∇log p_t(z|y) − w∇log p_t(z) in drift form`, () => {
        const model = analyticModel(0.7);
        const z = tf.tensor2d(zs);
        const y = tf.tensor2d(labels, [labels.length, 1]);
        const f = model.velocity(z, t, y, w).arraySync() as number[][];
        const fB = model.reverseDrift(z, t, y, w).arraySync() as number[][];
        const { alpha, sigma, dalpha, dsigma } = vp64(t);
        const c = (dalpha * sigma * sigma) / alpha - dsigma * sigma;
        zs.forEach((zi, b) => {
          const sy = score64(zi, t, labels[b]);
          const su = score64(zi, t, K);
          const sw = sy.map((v, d) => (1 + w) * v - w * su[d]);
          const fExpected = zi.map((v, d) => (dalpha / alpha) * v + c * sw[d]);
          const fBExpected = fExpected.map((v, d) => v - 0.5 * 0.49 * sw[d]);
          for (let d = 0; d < D; d++) {
            expect(Math.abs(f[b][d] - fExpected[d])).toBeLessThan(2e-4 * (1 + Math.abs(fExpected[d])));
            expect(Math.abs(fB[b][d] - fBExpected[d])).toBeLessThan(2e-4 * (1 + Math.abs(fBExpected[d])));
          }
        });
        tf.dispose([z, y]);
      });
    }
  }

  it('guidance moves the drift (w = 3 differs from w = 0 for a labelled row), and sampling takes labels and a weight', () => {
    const model = analyticModel();
    const z = tf.tensor2d([[0.3, -0.2]]);
    const y = tf.tensor2d([[1]]);
    const a = model.velocity(z, 0.5, y, 0).dataSync();
    const b = model.velocity(z, 0.5, y, 3).dataSync();
    expect(Math.abs(a[0] - b[0]) + Math.abs(a[1] - b[1])).toBeGreaterThan(1e-2);
    // Guided ODE samples of class k land nearer μ_k (here the closed-form model is exact).
    for (const k of [0, 1, 2]) {
      const { samples } = model.sample({ n: 64, mode: 'ode', steps: 60, condition: k, guidance: 1, seed: k });
      const mean = tf.mean(samples, 0).arraySync() as number[];
      samples.dispose();
      const dist = MU.map((m) => Math.hypot(m[0] - mean[0], m[1] - mean[1]));
      expect(dist.indexOf(Math.min(...dist))).toBe(k);
    }
    tf.dispose([z, y]);
  }, 60_000);
});

const CONDITIONAL: ModelConfig = {
  format: MODEL_FORMAT,
  dim: D,
  forward: { kind: 'nfdm', conditioned: true, hidden: [16, 16] },
  predictor: { hidden: [16, 16] },
  volatility: { kind: 'neural', hidden: [8] },
  seed: 3,
  condition: { kind: 'label', classes: K, dropout: 0.2 },
} as ModelConfig;

describe('conditional model configs', () => {
  it('parse fills the defaults; modelConfig, save and load round-trip label and vector conditions (nfdm, ndm)', () => {
    const configs: ModelConfig[] = [
      CONDITIONAL,
      {
        ...CONDITIONAL,
        forward: { kind: 'ndm', conditioned: true, hidden: [8] },
        condition: { kind: 'vector', dim: 2, dropout: 0 },
      } as ModelConfig,
      {
        ...CONDITIONAL,
        forward: { kind: 'fixed', schedule: { name: 'vp' } },
        condition: { kind: 'label', classes: 2, dropout: 0.1, embedding: 4 },
      } as ModelConfig,
      { ...CONDITIONAL, forward: { kind: 'nfdm', hidden: [8] } } as ModelConfig,
    ];
    const dir = mkdtempSync(join(tmpdir(), 'nfdm-conditions-'));
    try {
      for (const raw of configs) {
        const parsed = parseModelConfig(raw);
        expect(parsed.condition?.embedding).toBe(raw.condition?.embedding ?? 16);
        const model = createModel(parsed);
        expect(modelConfig(model)).toEqual(parsed);
        const conditioned = (raw.forward as { conditioned?: boolean }).conditioned === true;
        expect(model.forward.conditioned ?? false).toBe(conditioned);
        const names = [...model.parameters().keys()];
        expect(names.some((n) => n.startsWith('predictor.net.condition.'))).toBe(true);
        expect(names.some((n) => n.startsWith('forward.net.condition.'))).toBe(conditioned);
        saveModel(model, join(dir, 'm'));
        const loaded = loadModel(join(dir, 'm'));
        expect(modelConfig(loaded)).toEqual(parsed);
        for (const [name, v] of model.parameters()) {
          expect(Array.from(loaded.parameters().get(name)?.dataSync() ?? [])).toEqual(Array.from(v.dataSync()));
        }
        model.dispose();
        loaded.dispose();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('U-Net networks: the condition enters the predictor and a conditioned forward U-Net (emb width 4·base), and the loss has finite gradients', () => {
    const net = { arch: 'unet', image: { height: 4, width: 4, channels: 1 }, base: 4, multipliers: [1, 2], groups: 2 };
    const config = parseModelConfig({
      format: MODEL_FORMAT,
      dim: 16,
      forward: { kind: 'nfdm', conditioned: true, network: net },
      predictor: { network: net },
      volatility: { kind: 'constant', value: 1 },
      seed: 0,
      condition: { kind: 'label', classes: 2, dropout: 0.5 },
    });
    const model = createModel(config);
    expect(model.parameters().get('predictor.net.condition.table')?.shape).toEqual([3, 16]);
    expect(model.parameters().get('forward.net.condition.table')?.shape).toEqual([3, 16]);
    expect(modelConfig(model)).toEqual(config);
    const x = tf.tensor2d(new Rng(1).normalArray(4 * 16), [4, 16]);
    const y = tf.tensor2d([[0], [1], [0], [1]]);
    const table = model.parameters().get('predictor.net.condition.table') as tf.Variable;
    const { grads } = tf.variableGrads(() => model.loss(x, model.drawNoise(new Rng(2), 4, y)), [table]);
    expect(Array.from(grads[table.name].dataSync()).every(Number.isFinite)).toBe(true);
    const r = model.sample({ n: 2, mode: 'ode', steps: 3, condition: [0, 1], guidance: 2 });
    expect(r.samples.shape).toEqual([2, 16]);
    tf.dispose([x, y, r.samples, ...Object.values(grads)]);
    model.dispose();
  }, 60_000);

  it('an unconditional config is unchanged: no condition key, no conditioned flag, the same parameter names', () => {
    const { condition: _c, ...rest } = CONDITIONAL;
    const plain = { ...rest, forward: { kind: 'nfdm', hidden: [16, 16] } } as ModelConfig;
    const parsed = parseModelConfig(plain);
    expect('condition' in parsed).toBe(false);
    expect('conditioned' in parsed.forward).toBe(false);
    const model = createModel(parsed);
    expect([...model.parameters().keys()]).toMatchInlineSnapshot(`
      [
        "forward.net.net.layers.0.weight",
        "forward.net.net.layers.0.bias",
        "forward.net.net.layers.1.weight",
        "forward.net.net.layers.1.bias",
        "forward.net.net.layers.2.weight",
        "forward.net.net.layers.2.bias",
        "predictor.net.net.layers.0.weight",
        "predictor.net.net.layers.0.bias",
        "predictor.net.net.layers.1.weight",
        "predictor.net.net.layers.1.bias",
        "predictor.net.net.layers.2.weight",
        "predictor.net.net.layers.2.bias",
        "volatility.net.net.layers.0.weight",
        "volatility.net.net.layers.0.bias",
        "volatility.net.net.layers.1.weight",
        "volatility.net.net.layers.1.bias",
      ]
    `);
    expect(model.parameters().get('predictor.net.net.layers.0.weight')?.shape).toEqual([D + 1, 16]);
    expect(JSON.stringify(modelConfig(model))).not.toMatch(/condition/);
    model.dispose();
  });

  const bad: Array<[string, Record<string, unknown>, RegExp]> = [
    ['an unknown kind', { condition: { kind: 'text', classes: 2 } }, /condition\.kind: unknown condition kind "text"/],
    ['zero classes', { condition: { kind: 'label', classes: 0 } }, /condition\.classes: expected a positive integer/],
    ['a vector without dim', { condition: { kind: 'vector' } }, /condition\.dim: expected a positive integer/],
    ['dropout 1', { condition: { kind: 'label', classes: 2, dropout: 1 } }, /condition\.dropout: expected a rate in \[0, 1\)/],
    ['an unknown key', { condition: { kind: 'label', classes: 2, classses: 3 } }, /condition/],
    ['a bad embedding width', { condition: { kind: 'label', classes: 2, embedding: 0 } }, /condition\.embedding/],
    [
      'conditioned without a condition',
      { condition: undefined },
      /forward\.conditioned: a conditioned forward process needs a top-level "condition"/,
    ],
    ['conditioned not a boolean', { forward: { kind: 'nfdm', conditioned: 'yes' } }, /forward\.conditioned: expected true or false/],
  ];
  for (const [label, patch, message] of bad) {
    it(`rejects ${label}`, () => {
      const raw = JSON.parse(JSON.stringify({ ...CONDITIONAL, ...patch }));
      expect(() => parseModelConfig(raw)).toThrow(ModelConfigError);
      expect(() => parseModelConfig(raw)).toThrow(message);
    });
  }
});

describe('conditional training and sampling', () => {
  it('condition dropout replaces about p of the rows by ∅ and leaves the (t, ε) stream as an unconditional model draws it', () => {
    const model = createModel({ ...CONDITIONAL, condition: { kind: 'label', classes: K, dropout: 0.5 } } as ModelConfig);
    const y = tf.tensor2d(
      Array.from({ length: 400 }, (_, i) => i % K),
      [400, 1],
    );
    const noise = model.drawNoise(new Rng(5), 400, y);
    const dropped = Array.from(noise.condition?.dataSync() ?? []).filter((k) => k === K).length;
    expect(dropped).toBeGreaterThan(150);
    expect(dropped).toBeLessThan(250);
    const plain = createModel({ ...CONDITIONAL, forward: { kind: 'nfdm', hidden: [16, 16] }, condition: undefined } as ModelConfig);
    const ref = plain.drawNoise(new Rng(5), 400);
    expect(Array.from(noise.eps.dataSync())).toEqual(Array.from(ref.eps.dataSync()));
    expect(() => model.drawNoise(new Rng(5), 400)).toThrow(/conditional model trains on the rows' conditions/);
    expect(() => model.drawNoise(new Rng(5), 1, tf.tensor2d([[1.5]]))).toThrow(/labels must be integers/);
    expect(() => plain.drawNoise(new Rng(5), 400, y)).toThrow(/unconditional/);
    expect(() => plain.sample({ n: 2, guidance: 1 })).toThrow(/guidance needs a conditional model/);
    expect(() => model.sample({ n: 2 })).toThrow(/samples given conditions/);
    expect(() => model.sample({ n: 2, condition: [0, 4] })).toThrow(/labels must be integers in 0…3/);
    tf.dispose([y, noise.t, noise.eps, noise.condition as tf.Tensor, ref.t, ref.eps]);
    model.dispose();
    plain.dispose();
  });

  it('a tiny conditional NFDM (forward conditioned too) trains on labelled 2-D data and samples with labels and guidance', () => {
    const model = createModel(CONDITIONAL);
    const rng = new Rng(1);
    const B = 128;
    const labels = Array.from({ length: B }, (_, i) => i % K);
    const x = tf.tensor2d(labels.map((k) => [MU[k][0] + S * rng.normal(), MU[k][1] + S * rng.normal()]));
    const y = tf.tensor2d(labels, [B, 1]);
    const variables = [...model.parameters().values()].filter((v) => v.trainable);
    const optimizer = tf.train.adam(1e-2);
    const evalLoss = () =>
      tf.tidy(() => {
        const r = new Rng(99);
        let sum = 0;
        for (let k = 0; k < 4; k++) sum += model.loss(x, model.drawNoise(r, B, y)).dataSync()[0];
        return sum / 4;
      });
    const before = evalLoss();
    const noiseRng = new Rng(2);
    for (let step = 0; step < 40; step++) {
      tf.tidy(() => {
        optimizer.minimize(() => model.loss(x, model.drawNoise(noiseRng, B, y)), false, variables);
      });
    }
    const after = evalLoss();
    expect(after).toBeLessThan(0.8 * before);
    // NFDM-OT's objective reads the same conditions.
    const ot = tf.tidy(() => otLoss(model, x, model.drawNoise(new Rng(7), B, y)).dataSync()[0]);
    expect(Number.isFinite(ot)).toBe(true);
    for (const mode of ['ode', 'sde'] as const) {
      const r = model.sample({ n: 6, mode, steps: 20, condition: [0, 1, 2, 0, 1, K], guidance: 1.5, seed: 4 });
      expect(r.samples.shape).toEqual([6, D]);
      expect(Array.from(r.samples.dataSync()).every(Number.isFinite)).toBe(true);
      r.samples.dispose();
    }
    optimizer.dispose();
    tf.dispose([x, y]);
    model.dispose();
  }, 120_000);
});

describe('conditional NELBO', () => {
  it('reads the rows’ conditions without dropout, batch by batch, and needs them', () => {
    const model = createModel(parseModelConfig(CONDITIONAL));
    const rng = new Rng(4);
    const x = tf.tensor2d(rng.normalArray(6 * D), [6, D]);
    const y = tf.tensor2d([[0], [1], [2], [0], [1], [2]]);
    // drawNoise with dropout: false keeps every label and draws no dropout uniforms.
    const kept = model.drawNoise(new Rng(5), 6, y, { dropout: false });
    expect(Array.from(kept.condition?.dataSync() ?? [])).toEqual([0, 1, 2, 0, 1, 2]);
    const whole = model.nelbo(x, { draws: 2, seed: 7, condition: y });
    const batched = model.nelbo(x, { draws: 2, seed: 7, condition: y, batch: 6 });
    expect(batched.nelbo.mean).toBeCloseTo(whole.nelbo.mean, 4);
    // Other labels give another bound: the conditions are read.
    const other = model.nelbo(x, { draws: 2, seed: 7, condition: tf.tensor2d([[1], [2], [0], [1], [2], [0]]) });
    expect(other.nelbo.mean).not.toBeCloseTo(whole.nelbo.mean, 4);
    expect(() => model.nelbo(x, { draws: 1 })).toThrow(/the NELBO of a conditional model needs the rows' conditions/);
    expect(() => model.nelbo(x, { draws: 1, condition: tf.tensor2d([[0], [1]]) })).toThrow(/expects a condition \[6, 1\]/);
    tf.dispose([x, y, kept.t, kept.eps, kept.condition as tf.Tensor]);
    model.dispose();
  });
});

/** log N(x; m, v I) in float64. */
function logNormal64(x: number[], m: number[], v: number): number {
  return x.reduce((s, xi, d) => s - (xi - m[d]) ** 2 / (2 * v) - 0.5 * Math.log(2 * Math.PI * v), 0);
}

describe('conditional likelihood log p(x | y) and the implied classifier', () => {
  const rng = new Rng(21);
  const labels = [0, 1, 2, 0, 1, 2, 0, 1];
  const xs = labels.map((k) => MU[k].map((m) => m + 1.5 * S * rng.normal()));

  it('closed form: under the analytic predictor the ODE log p(x | y) is log N(x; α₀μ_y, (α₀²s² + σ₀²)I), and ∅ gives the mixture', () => {
    const model = analyticModel();
    const { alpha, sigma } = model.forward.start;
    const v = alpha * alpha * S * S + sigma * sigma;
    const x = tf.tensor2d(xs);
    for (const rows of [labels, labels.map(() => K)]) {
      const y = tf.tensor2d(rows, [rows.length, 1]);
      const { logp } = model.logProb(x, { condition: y });
      const classLogp = (xi: number[], k: number) =>
        logNormal64(
          xi,
          MU[k].map((m) => alpha * m),
          v,
        );
      xs.forEach((xi, b) => {
        const k = rows[b];
        const expected = k < K ? classLogp(xi, k) : Math.log([0, 1, 2].reduce((acc, j) => acc + Math.exp(classLogp(xi, j)) / K, 0));
        // ODE tolerance plus the prior's mismatch at t = 1: p₁(z | y) = N(α₁μ_y, v₁I) with α₁ ≈ 0.0066
        // against N(0, I), a log-density error of about α₁ μ_y·z₁ (≲ 0.03 here).
        expect(Math.abs(logp[b] - expected)).toBeLessThan(3e-2);
      });
      y.dispose();
    }
    x.dispose();
  }, 60_000);

  it('y is held fixed per row (a mixed-label batch equals per-label solves), changes the likelihood, and is required', () => {
    const model = createModel(parseModelConfig(CONDITIONAL)); // conditioned forward process too
    const x = tf.tensor2d(xs.slice(0, 6));
    const mixed = [0, 1, 2, 0, 1, 2];
    const fixed = { solver: 'rk4', steps: 6 };
    const y = tf.tensor2d(mixed, [6, 1]);
    const both = model.logProb(x, { ...fixed, condition: y }).logp;
    for (let k = 0; k < K; k++) {
      const yk = tf.fill([6, 1], k);
      const one = model.logProb(x, { ...fixed, condition: yk }).logp;
      mixed.forEach((label, b) => {
        if (label === k) expect(both[b]).toBeCloseTo(one[b], 3);
      });
      // Rows labelled 0 or 2 in the mixed batch get another likelihood under label 1.
      if (k === 1) expect(mixed.every((label, b) => label === 1 || Math.abs(one[b] - both[b]) > 1e-4)).toBe(true);
      yk.dispose();
    }
    expect(Array.from(both).every(Number.isFinite)).toBe(true);
    expect(() => model.logProb(x, fixed)).toThrow(/the likelihood of a conditional model needs the rows' conditions/);
    expect(() => model.logProb(x, { ...fixed, condition: tf.tensor2d([[0]]) })).toThrow(/expects a condition \[6, 1\]/);
    const plain = createModel(
      parseModelConfig(JSON.parse(JSON.stringify({ ...CONDITIONAL, forward: { kind: 'nfdm', hidden: [8] }, condition: undefined }))),
    );
    expect(() => plain.logProb(x, { ...fixed, condition: y })).toThrow(/unconditional: it takes no condition/);
    tf.dispose([x, y]);
    model.dispose();
    plain.dispose();
  }, 60_000);

  it('the implied classifier argmax_y log p(x | y) + log p(y) is the Bayes rule under the analytic model', () => {
    const model = analyticModel();
    const r2 = new Rng(5);
    const n = 30;
    const truth = Array.from({ length: n }, (_, i) => i % K);
    const pts = truth.map((k) => MU[k].map((m) => m + 2 * S * r2.normal()));
    // Bayes rule for equal isotropic covariances and a uniform prior: the nearest class mean.
    const bayes = pts.map((p) => {
      const d = MU.map((m) => Math.hypot(p[0] - m[0], p[1] - m[1]));
      return d.indexOf(Math.min(...d));
    });
    const x = tf.tensor2d(pts);
    const r = impliedClassifier(model, x, { labels: truth });
    expect(Array.from(r.predicted)).toEqual(bayes);
    const bayesAccuracy = bayes.filter((b, i) => b === truth[i]).length / n;
    expect(r.accuracy).toBeCloseTo(bayesAccuracy, 10);
    for (let i = 0; i < n; i++) {
      const total = [0, 1, 2].reduce((s, k) => s + Math.exp(r.logPosterior[i * K + k]), 0);
      expect(total).toBeCloseTo(1, 6);
    }
    // A prior that strongly favours class 2 moves the decisions to it.
    const biased = impliedClassifier(model, x, { logPrior: [-1e3, -1e3, 0] });
    expect(Array.from(biased.predicted).every((k) => k === 2)).toBe(true);
    expect(() => impliedClassifier(model, x, { labels: [0] })).toThrow(/labels needs 30 values/);
    x.dispose();
  }, 120_000);
});
