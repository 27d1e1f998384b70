/**
 * Model families: bridge and DiffFlow configs (save/load round trips, validation), DiffFlow's
 * flexible and progressive grids, its PF-ODE likelihood against a closed form, and its bound
 * estimator.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, type NamedVariables, Rng } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BRIDGE_FORMAT,
  BridgeModel,
  bridgeModelConfig,
  configFamily,
  createAnyModel,
  createBridgeModel,
  createDiffFlowModel,
  createModel,
  DIFFFLOW_FORMAT,
  DiffFlowModel,
  type DiffFlowNet,
  diffflowBound,
  diffflowEvalGrid,
  diffflowLogProb,
  diffflowModelConfig,
  diffflowNllBound,
  diffflowStepsAt,
  diffflowTrainingGrid,
  drawDiffFlowNoise,
  expTimerGrid,
  jitteredTimerGrid,
  loadAnyModel,
  MODEL_FORMAT,
  ModelConfigError,
  ModelFileError,
  modelFamily,
  parseBridgeConfig,
  parseDiffFlowConfig,
  resolveDiffFlowTime,
  saveAnyModel,
} from '../src/index.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const tmp = () => mkdtempSync(join(tmpdir(), 'nfdm-families-'));

describe('DiffFlow grids', () => {
  it('jittered grids keep the endpoints, stay increasing and put each point inside its cell (t^e space)', () => {
    const options = { N: 12, tMin: 0.001, tMax: 0.05, exponent: 0.9 };
    const base = expTimerGrid(options);
    const rng = new Rng(3);
    for (let rep = 0; rep < 20; rep++) {
      const g = jitteredTimerGrid(options, () => rng.uniform());
      expect(g[0]).toBe(options.tMin);
      expect(g[options.N]).toBe(options.tMax);
      const e = options.exponent;
      const h = (options.tMax ** e - options.tMin ** e) / options.N;
      for (let k = 1; k < options.N; k++) {
        expect(g[k]).toBeGreaterThan(g[k - 1]);
        // position in t^e space lies in (k − ½, k + ½) cells
        const pos = (g[k] ** e - options.tMin ** e) / h;
        expect(pos).toBeGreaterThan(k - 0.5 - 1e-9);
        expect(pos).toBeLessThan(k + 0.5 + 1e-9);
      }
    }
    // u = ½ everywhere gives the plain grid
    const mid = jitteredTimerGrid(options, () => 0.5);
    for (let k = 0; k <= options.N; k++) expect(mid[k]).toBeCloseTo(base[k], 12);
    // mirrored (e > 1) grids too
    const m = { ...options, exponent: 2 };
    const gm = jitteredTimerGrid(m, () => 0.5);
    const bm = expTimerGrid(m);
    for (let k = 0; k <= m.N; k++) expect(gm[k]).toBeCloseTo(bm[k], 12);
    expect(() => jitteredTimerGrid(options, () => 1)).toThrow(/\[0, 1\)/);
  });

  it('progressive schedules pick N by step; the evaluation grid uses the final N', () => {
    const time = resolveDiffFlowTime({
      N: 30,
      flexible: true,
      progressive: [
        { step: 0, N: 5 },
        { step: 100, N: 10 },
        { step: 200, N: 30 },
      ],
    });
    expect([0, 99, 100, 199, 200, 5000].map((s) => diffflowStepsAt(time, s))).toEqual([5, 5, 10, 10, 30, 30]);
    const rng = new Rng(1);
    expect(diffflowTrainingGrid(time, 150, () => rng.uniform()).length).toBe(11);
    expect(diffflowEvalGrid(time).length).toBe(31);
    expect(() =>
      resolveDiffFlowTime({
        progressive: [
          { step: 5, N: 3 },
          { step: 5, N: 4 },
        ],
      }),
    ).toThrow(/progressive\[1\]\.step/);
    expect(() => resolveDiffFlowTime({ g: 0 })).toThrow(/g must be > 0/);
  });
});

/** f(x, t) = c·x (drift) or 0 (score): a linear probability-flow ODE with a closed-form density. */
class LinearNet implements DiffFlowNet {
  constructor(
    readonly dim: number,
    readonly c: number,
  ) {}
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.mul(x, this.c) as tf.Tensor2D;
  }
  parameters(): NamedVariables {
    return new Map();
  }
  dispose(): void {}
}

describe('DiffFlow likelihoods', () => {
  it('PF-ODE log-density equals the closed form for a linear flow dx/dt = c·x', () => {
    // dx/dt = f − ½g²s with f = c x, s = 0: x(T) = x e^{cT}, log p(x) = log N(x e^{cT}; 0, I) + d c T.
    const c = 8;
    const time = { tMin: 0.001, tMax: 0.05, g: 0.2 };
    const model = new DiffFlowModel(new LinearNet(2, c), new LinearNet(2, 0), time);
    const xs = [
      [0.3, -1.2],
      [2, 0.5],
      [-0.7, 0.1],
    ];
    const x = tf.tensor2d(xs);
    const { logp } = diffflowLogProb(model, x, { rtol: 1e-6, atol: 1e-6 });
    const T = time.tMax - time.tMin;
    xs.forEach((row, i) => {
      const s = Math.exp(c * T);
      const expected = row.reduce((acc, v) => acc - 0.5 * (v * s) ** 2 - 0.5 * Math.log(2 * Math.PI), 0) + 2 * c * T;
      expect(logp[i]).toBeCloseTo(expected, 4);
    });
    x.dispose();
  });

  it('the bound estimator averages diffflowNllBound over points (one draw, same noise)', () => {
    const model = DiffFlowModel.fourier(2, { channels: 8, layers: 1, seed: 2, time: { N: 6 } });
    const x = tf.tensor2d([
      [0.1, 0.2],
      [-1, 0.4],
      [0.5, -0.5],
      [1.5, 1],
    ]);
    const r = diffflowBound(model, x, { seed: 7 });
    const grid = diffflowEvalGrid(model.time);
    const rng = new Rng(7);
    const direct = tf.tidy(() => diffflowNllBound(model, x, { grid, g: model.time.g, noise: drawDiffFlowNoise(rng, 6, 4, 2) }).dataSync());
    const mean = Array.from(direct).reduce((a, b) => a + b, 0) / 4;
    expect(r.mean).toBeCloseTo(mean, 5);
    for (const [i, v] of Array.from(direct).entries()) expect(r.perSample[i]).toBeCloseTo(v, 5);
    const sd = Math.sqrt(Array.from(direct).reduce((a, b) => a + (b - mean) ** 2, 0) / 3);
    expect(r.stderr).toBeCloseTo(sd / 2, 5);
    x.dispose();
    model.dispose();
  });
});

describe('bridge and DiffFlow configs', () => {
  const bridgeConfig = {
    format: BRIDGE_FORMAT,
    dim: 2,
    process: { hidden: [16, 16], delta: 0.02 },
    predictor: { hidden: [16] },
    volatility: { kind: 'neural', hidden: [8] },
    penalties: [{ kind: 'obstacle', center: [0, 0.5], radius: 0.4, weight: 5 }],
    seed: 4,
    data: { source: '8gaussians', target: 'moons' },
  } as const;

  it('a bridge round-trips through save/load: config, weights and outputs', () => {
    const model = createBridgeModel(parseBridgeConfig(bridgeConfig));
    expect(modelFamily(model)).toBe('bridge');
    const dir = tmp();
    const saved = saveAnyModel(model, dir);
    expect(saved).toEqual(parseBridgeConfig(bridgeConfig));
    const loaded = loadAnyModel(dir);
    expect(loaded).toBeInstanceOf(BridgeModel);
    const b = loaded as BridgeModel;
    expect(bridgeModelConfig(b)).toEqual(saved);
    const z = tf.tensor2d([
      [0.2, 0.1],
      [-1, 2],
    ]);
    const x1 = tf.tensor2d([
      [1, 1],
      [0, -1],
    ]);
    const v0 = model.velocity(z, 0.3, x1).dataSync();
    const v1 = b.velocity(z, 0.3, x1).dataSync();
    expect(Array.from(v1)).toEqual(Array.from(v0));
    // the penalty came back with its config
    const inside = tf.tensor2d([[0, 0.5]]);
    const p = tf.tidy(() => b.penalties[0](inside, tf.zeros([1, 1])).dataSync()[0]);
    expect(p).toBeCloseTo(5 * 0.4 ** 2, 5);
    tf.dispose([z, x1, inside]);
    model.dispose();
    b.dispose();
  });

  it('a DiffFlow model round-trips through save/load with its time settings and standardisation', () => {
    const config = parseDiffFlowConfig({
      format: DIFFFLOW_FORMAT,
      dim: 2,
      network: { channels: 8, layers: 1 },
      time: { N: 10, flexible: true, progressive: [{ step: 0, N: 5 }] },
      seed: 1,
      standardization: { mean: [1, 2], std: [3, 4] },
    });
    const model = createDiffFlowModel(config);
    const dir = tmp();
    saveAnyModel(model, dir);
    const loaded = loadAnyModel(dir) as DiffFlowModel;
    expect(loaded).toBeInstanceOf(DiffFlowModel);
    expect(diffflowModelConfig(loaded)).toEqual(config);
    expect(loaded.time.progressive).toEqual([{ step: 0, N: 5 }]);
    const x = tf.tensor2d([[0.3, -0.2]]);
    const t = tf.tensor2d([[0.02]]);
    expect(Array.from(loaded.drift(x, t).dataSync())).toEqual(Array.from(model.drift(x, t).dataSync()));
    expect(Array.from(loaded.score(x, t).dataSync())).toEqual(Array.from(model.score(x, t).dataSync()));
    tf.dispose([x, t]);
    model.dispose();
    loaded.dispose();
  });

  it('createAnyModel and configFamily dispatch on format; bad configs name the field', () => {
    const diffusion = createAnyModel({
      format: MODEL_FORMAT,
      dim: 2,
      forward: { kind: 'fixed', schedule: { name: 'vp' } },
      predictor: { hidden: [8] },
      volatility: { kind: 'constant', value: 1 },
      seed: 0,
    });
    expect(modelFamily(diffusion)).toBe('diffusion');
    diffusion.dispose();
    expect(configFamily({ format: DIFFFLOW_FORMAT })).toBe('diffflow');
    expect(() => configFamily({ format: 'nfdm-model/0' })).toThrow(ModelConfigError);
    expect(() => parseBridgeConfig({ ...bridgeConfig, penalties: [{ kind: 'obstacle', center: [0], radius: 1, weight: 1 }] })).toThrow(
      /penalties\[0\]\.center/,
    );
    expect(() => parseBridgeConfig({ ...bridgeConfig, penalties: [{ kind: 'wall' }] })).toThrow(/penalties\[0\]\.kind/);
    expect(() => parseDiffFlowConfig({ format: DIFFFLOW_FORMAT, dim: 2, network: { channels: 1 }, seed: 0 })).toThrow(/network\.channels/);
    // custom penalties cannot be described
    const custom = createBridgeModel(parseBridgeConfig({ ...bridgeConfig, penalties: [] }));
    const withFn = new BridgeModel(custom.process, custom.predictor, custom.volatility, [(z) => tf.sum(z, 1)]);
    expect(() => bridgeModelConfig(withFn)).toThrow(/custom path penalty/);
    custom.dispose();
    expect(createModel).toBeTypeOf('function');
  });

  it('loadAnyModel reports a bad format or missing weights as one ModelFileError naming the file', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ format: 'nope' }));
    expect(() => loadAnyModel(dir)).toThrow(ModelFileError);
    expect(() => loadAnyModel(dir)).toThrow(/config\.json.*format/);
    const model = createDiffFlowModel(
      parseDiffFlowConfig({ format: DIFFFLOW_FORMAT, dim: 2, network: { channels: 4, layers: 0 }, seed: 0 }),
    );
    const dir2 = tmp();
    saveAnyModel(model, dir2);
    const cfg = JSON.parse(readFileSync(join(dir2, 'config.json'), 'utf8'));
    cfg.network.channels = 6;
    writeFileSync(join(dir2, 'config.json'), JSON.stringify(cfg));
    expect(() => loadAnyModel(dir2)).toThrow(/weights\.safetensors/);
    model.dispose();
  });
});
