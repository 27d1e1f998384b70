/**
 * The fixed-process bridge baseline (docs/maths/bridges.md#fixed-baseline): the closed-form μ, σ
 * and their t-derivatives (against the formulas in float64 and against central finite
 * differences), the boundary values and the peak σ(1/2) = σ_max, the family contract with the
 * fixed process (unconditional and label-conditional), and the config: defaults, round trips
 * through a model and a model folder, no process weights, and the errors of bad process sections.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, Rng } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BRIDGE_FORMAT,
  type BridgeModelConfig,
  BridgeProcess,
  bridgeFamily,
  bridgeModelConfig,
  createBridgeModel,
  DEFAULT_SIGMA_MAX,
  FixedBridgeProcess,
  loadAnyModel,
  ModelConfigError,
  parseAnyModelConfig,
  parseBridgeConfig,
  saveAnyModel,
} from '../src/index.js';
import { familyChecks } from '../src/testing/index.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const D = 3;

const FIXED: BridgeModelConfig = {
  format: BRIDGE_FORMAT,
  dim: 2,
  process: { kind: 'fixed-bridge', delta: 0.1, sigmaMax: 0.6 },
  predictor: { hidden: [8] },
  volatility: { kind: 'neural', hidden: [4] },
  penalties: [{ kind: 'obstacle', center: [0, 0.5], radius: 0.4, weight: 5 }],
  seed: 4,
};

function values(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

describe('FixedBridgeProcess', () => {
  const proc = new FixedBridgeProcess({ dim: D, delta: 0.05, sigmaMax: 0.7 });
  const L = 4 * Math.log(0.7 / 0.05);

  it('is μ = (1 − t) x0 + t x1, σ = δ exp(t(1 − t) L) with the closed-form derivatives (float64 reference)', () => {
    tf.tidy(() => {
      const rng = new Rng(1);
      const B = 5;
      const x0 = rng.normalTensor([B, D]);
      const x1 = rng.normalTensor([B, D]);
      const ts = [0.03, 0.2, 0.5, 0.77, 0.96];
      const p = proc.params(x0, x1, tf.tensor2d(ts, [B, 1]), 2);
      const [a, b] = [values(x0), values(x1)];
      const [mu, dmu, d2mu] = [values(p.mu), values(p.dmu as tf.Tensor), values(p.d2mu as tf.Tensor)];
      const [s, ds, d2s] = [values(p.sigma), values(p.dsigma as tf.Tensor), values(p.d2sigma as tf.Tensor)];
      expect(p.sigma.shape).toEqual([B, 1]);
      ts.forEach((t, i) => {
        const sigma = 0.05 * Math.exp(t * (1 - t) * L);
        const dl = (1 - 2 * t) * L;
        expect(s[i]).toBeCloseTo(sigma, 6);
        expect(ds[i]).toBeCloseTo(sigma * dl, 4);
        expect(d2s[i]).toBeCloseTo(sigma * (-2 * L + dl * dl), 3);
        for (let k = 0; k < D; k++) {
          const j = i * D + k;
          expect(mu[j]).toBeCloseTo((1 - t) * a[j] + t * b[j], 5);
          expect(dmu[j]).toBeCloseTo(b[j] - a[j], 5);
          expect(d2mu[j]).toBe(0);
        }
      });
    });
  });

  it('first and second t-derivatives match central finite differences of μ and σ', () => {
    tf.tidy(() => {
      const rng = new Rng(2);
      const B = 8;
      const x0 = rng.normalTensor([B, D]);
      const x1 = tf.add(rng.normalTensor([B, D]), 2);
      const t = rng.uniformTensor([B, 1], 0.05, 0.95);
      const h = 1e-2;
      const p = proc.params(x0, x1, t, 2);
      const pp = proc.params(x0, x1, tf.add(t, h), 0);
      const pm = proc.params(x0, x1, tf.sub(t, h), 0);
      const fd = (f: (q: typeof p) => tf.Tensor) => tf.div(tf.sub(f(pp), f(pm)), 2 * h);
      const fd2 = (f: (q: typeof p) => tf.Tensor) => tf.div(tf.add(tf.sub(f(pp), tf.mul(2, f(p))), f(pm)), h * h);
      const relErr = (a: tf.Tensor, b: tf.Tensor) =>
        tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] / Math.max(1, tf.max(tf.abs(b)).dataSync()[0]);
      const checks: Array<[string, tf.Tensor, tf.Tensor, number]> = [
        ['μ̇', p.dmu as tf.Tensor, fd((q) => q.mu), 2e-3],
        ['σ̇', p.dsigma as tf.Tensor, fd((q) => q.sigma), 2e-3],
        ['μ̈', p.d2mu as tf.Tensor, fd2((q) => q.mu), 5e-2],
        ['σ̈', p.d2sigma as tf.Tensor, fd2((q) => q.sigma), 5e-2],
      ];
      for (const [what, exact, approx, tol] of checks) expect(relErr(exact, approx), what).toBeLessThan(tol);
    });
  });

  it('meets the ends exactly (μ = x0, x1 and σ = δ at t = 0, 1) and peaks at σ(1/2) = σ_max', () => {
    tf.tidy(() => {
      const rng = new Rng(3);
      const x0 = rng.normalTensor([4, D]);
      const x1 = tf.add(rng.normalTensor([4, D]), 3);
      const at = (t: number) => proc.params(x0, x1, tf.fill([4, 1], t), 1);
      expect(values(at(0).mu)).toEqual(values(x0));
      expect(values(at(1).mu)).toEqual(values(x1));
      for (const s of [...values(at(0).sigma), ...values(at(1).sigma)]) expect(s).toBe(Math.fround(0.05));
      const half = at(0.5);
      for (const s of values(half.sigma)) expect(s).toBeCloseTo(0.7, 5);
      for (const s of values(half.dsigma as tf.Tensor)) expect(Math.abs(s)).toBeLessThan(1e-5);
      // The maximum over a grid is at t = 1/2.
      const grid = Array.from({ length: 101 }, (_, k) => k / 100);
      const sig = values(proc.params(x0.slice([0, 0], [1, D]), x1.slice([0, 0], [1, D]), tf.tensor2d(grid, [101, 1]), 0).sigma);
      expect(sig.indexOf(Math.max(...sig))).toBe(50);
    });
  });

  it('has no variables, is never conditioned, and ignores a condition', () => {
    expect(proc.parameters().size).toBe(0);
    expect(proc.conditioned).toBe(false);
    expect(proc.networks).toEqual([]);
    expect(proc.toConfig()).toEqual({ kind: 'fixed-bridge', dim: D, delta: 0.05, sigmaMax: 0.7 });
    tf.tidy(() => {
      const x = tf.ones([2, D]);
      const t = tf.fill([2, 1], 0.3);
      expect(values(proc.params(x, x, t, 0, tf.zeros([2, 1])).sigma)).toEqual(values(proc.params(x, x, t, 0).sigma));
    });
  });

  it('refuses bad scales and shapes', () => {
    expect(() => new FixedBridgeProcess({ dim: D, delta: 0.2, sigmaMax: 0.1 })).toThrow(/sigmaMax must be a finite number ≥ delta/);
    expect(() => new FixedBridgeProcess({ dim: D, delta: 1.5 })).toThrow(/delta must lie in \(0, 1\)/);
    expect(() => new FixedBridgeProcess({ dim: D, sigmaMax: Number.POSITIVE_INFINITY })).toThrow(/sigmaMax/);
    expect(() =>
      tf.tidy(() => {
        proc.params(tf.ones([2, 2]), tf.ones([2, 2]), tf.ones([2, 1]), 0);
      }),
    ).toThrow(/expects x0, x1 \[B, 3\]/);
  });
});

describe('family contract: bridge with the fixed process', () => {
  const rng = new Rng(9);
  const rows = Float32Array.from({ length: 16 * 4 }, () => rng.normal());
  for (const c of familyChecks(bridgeFamily, { config: FIXED, data: rows, rows: 16 })) it(c.name, c.run, 60_000);
});

describe('label-conditional bridge with the fixed process', () => {
  it('trains on (x0, x1, y) (predictor and volatility variables only) and transports with labels and guidance', () => {
    const config: BridgeModelConfig = { ...FIXED, penalties: [], condition: { kind: 'label', classes: 3, dropout: 0.2, embedding: 8 } };
    const model = createBridgeModel(config);
    try {
      expect(model.process.conditioned).toBe(false);
      const rng = new Rng(10);
      tf.tidy(() => {
        const x0 = rng.normalTensor([6, 2]);
        const x1 = rng.normalTensor([6, 2]);
        const y = tf.tensor2d([0, 1, 2, 0, 1, 2], [6, 1]);
        const named = [...model.parameters()];
        expect(named.some(([k]) => k.startsWith('predictor.')) && !named.some(([k]) => k.startsWith('process.'))).toBe(true);
        const variables = named.map(([, v]) => v);
        const { value, grads } = tf.variableGrads(() => model.loss(x0, x1, model.drawNoise(rng, 6, y)), variables);
        expect(Number.isFinite(value.dataSync()[0])).toBe(true);
        expect(Object.keys(grads).length).toBe(variables.length);
        const r = model.sample(x1, { steps: 20, condition: [0, 1, 2, 0, 1, 2], guidance: 2, seed: 1 });
        expect(r.samples.shape).toEqual([6, 2]);
        expect(values(r.samples).every(Number.isFinite)).toBe(true);
      });
    } finally {
      model.dispose();
    }
  });
});

describe('fixed bridge config', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'nfdm-fixed-bridge-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('fills the defaults (δ 0.01, σ_max 0.5) and keeps a learned process without a kind', () => {
    const c = parseBridgeConfig({ format: BRIDGE_FORMAT, dim: 2, process: { kind: 'fixed-bridge' }, seed: 0 });
    expect(c.process).toEqual({ kind: 'fixed-bridge', delta: 0.01, sigmaMax: DEFAULT_SIGMA_MAX });
    const learned = parseBridgeConfig({ format: BRIDGE_FORMAT, dim: 2, process: { kind: 'nfbm', hidden: [8] }, seed: 0 });
    expect(learned.process).toEqual({ hidden: [8], activation: 'selu', init: 'torch', delta: 0.01 });
  });

  it('round-trips through a model and a model folder; the weights hold no process variables', () => {
    const model = createBridgeModel(FIXED);
    try {
      expect(model.process).toBeInstanceOf(FixedBridgeProcess);
      expect([...model.parameters().keys()].some((k) => k.startsWith('process.'))).toBe(false);
      expect(bridgeModelConfig(model)).toEqual(parseAnyModelConfig(FIXED));
      const saved = saveAnyModel(model, join(dir, 'm'));
      const loaded = loadAnyModel(join(dir, 'm'));
      try {
        expect((saved as BridgeModelConfig).process).toEqual({ kind: 'fixed-bridge', delta: 0.1, sigmaMax: 0.6 });
        expect(bridgeFamily.configOf(loaded as never)).toEqual(saved);
        const a = model.parameters();
        for (const [name, v] of loaded.parameters()) expect(values(v)).toEqual(values(a.get(name) as tf.Variable));
      } finally {
        loaded.dispose();
      }
    } finally {
      model.dispose();
    }
  });

  it('seeds the predictor and volatility as the learned bridge of the same seed does', () => {
    const fixed = createBridgeModel(FIXED);
    const learned = createBridgeModel({ ...FIXED, process: { hidden: [8], delta: 0.1 } });
    try {
      expect(learned.process).toBeInstanceOf(BridgeProcess);
      const a = learned.parameters();
      for (const [name, v] of fixed.parameters()) expect(values(v)).toEqual(values(a.get(name) as tf.Variable));
    } finally {
      fixed.dispose();
      learned.dispose();
    }
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ['an unknown kind', { kind: 'brownian' }, /process\.kind.*unknown bridge-process kind/],
    ['σ_max below δ', { kind: 'fixed-bridge', delta: 0.2, sigmaMax: 0.1 }, /process\.sigmaMax.*≥ delta \(0\.2\)/],
    ['a network field', { kind: 'fixed-bridge', hidden: [8] }, /process.*hidden/],
    ['conditioned', { kind: 'fixed-bridge', conditioned: true }, /process\.conditioned.*does not depend on y/],
  ];
  for (const [what, process, message] of bad)
    it(`refuses a fixed process section with ${what}`, () => {
      const raw = { ...FIXED, process };
      expect(() => parseAnyModelConfig(raw)).toThrow(ModelConfigError);
      expect(() => parseAnyModelConfig(raw)).toThrow(message);
    });
});
