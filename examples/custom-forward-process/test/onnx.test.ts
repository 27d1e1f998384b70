/**
 * The custom process exports, loads in the ONNX runtime and is served. A briefly trained model
 * with the trigonometric process is written by `writeAnyExport` (its entry's `onnx` emitter
 * writes the process); every file passes `validateOnnxModel`; onnxruntime reproduces the tfjs
 * model — forward parameters, velocity, drift and the exact divergence at per-sample times,
 * every sampler with the same seed (same noise; the frozen-prediction 'ddim' steps too), the exact log-density — within the tolerances
 * of @nfdm/export's parity tests (atol 1e-5, rtol 1e-4); @nfdm/serve serves the exported
 * folder; a process whose kind has no emitter fails with a message naming what is missing.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { divergence, initBackend, Rng } from '@nfdm/core';
import { exportOnnx, validateOnnxModel, writeAnyExport } from '@nfdm/export';
import { createModel, type DiffusionModel, registerForwardProcess, reverseDrift, velocity } from '@nfdm/models';
import { loadOnnxModel, type OnnxModel } from '@nfdm/runtime';
import { createServer, type NfdmServer } from '@nfdm/serve';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildModel,
  TRIGONOMETRIC_KIND,
  type TrigonometricProcess,
  train,
  trigonometricEntry,
  trigonometricModelConfig,
} from '../src/index.js';

/** The tolerances of @nfdm/export's parity tests (packages/export/test/helpers.ts). */
const ATOL = 1e-5;
const RTOL = 1e-4;

/** Every |actual − expected| ≤ atol + rtol |expected| (and finite). */
function expectClose(what: string, actual: ArrayLike<number>, expected: ArrayLike<number>, atol = ATOL, rtol = RTOL): void {
  expect(actual.length, what).toBe(expected.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const ratio = Math.abs(actual[i] - expected[i]) / (atol + rtol * Math.abs(expected[i]));
    if (!(ratio <= worst)) {
      worst = Number.isNaN(ratio) ? Number.POSITIVE_INFINITY : ratio;
      at = i;
    }
  }
  expect(worst, `${what}: worst at ${at}: ${actual[at]} vs ${expected[at]}`).toBeLessThanOrEqual(1);
}

const N = 24;
let root: string;
let exportDir: string;
let model: DiffusionModel;
let rt: OnnxModel;

beforeAll(async () => {
  await initBackend('wasm');
  root = mkdtempSync(join(tmpdir(), 'nfdm-example-onnx-'));
  model = buildModel({ hidden: [16, 16], seed: 3 });
  train(model, { steps: 40, batch: 128, seed: 2 });
  exportDir = join(root, 'models', 'trig');
  writeAnyExport(model, exportDir);
  rt = await loadOnnxModel(exportDir, { intraOpNumThreads: 1 });
});

afterAll(async () => {
  await rt?.dispose();
  model?.dispose();
  rmSync(root, { recursive: true, force: true });
});

/** Random z [N, 2] (std 1.5) and per-sample t in (0, 1] with t = 1 in the first row. */
function inputs(seed: number) {
  const rng = new Rng(seed);
  const z = rng.normalArray(N * 2, 0, 1.5);
  const t = rng.uniformArray(N, 0.005, 1);
  t[0] = 1;
  return { z, t };
}

describe('export', () => {
  it('writes every graph with the process kind in the metadata; every file passes validateOnnxModel', () => {
    const files = readdirSync(exportDir).filter((f) => f.endsWith('.onnx'));
    expect(files.sort()).toEqual(
      [
        'drift',
        'forward',
        'frozen_step',
        'predictor',
        'sampler_ddim_ode',
        'sampler_euler_ode',
        'sampler_euler_sde',
        'sampler_heun_ode',
        'sampler_heun_sde',
        'sampler_rk4_ode',
        'velocity',
        'velocity_divergence',
        'volatility',
      ].map((g) => `${g}.onnx`),
    );
    for (const f of files) expect(validateOnnxModel(new Uint8Array(readFileSync(join(exportDir, f)))), f).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(exportDir, 'nfdm-onnx.json'), 'utf8'));
    expect(manifest).toMatchObject({ kind: TRIGONOMETRIC_KIND, forwardKind: TRIGONOMETRIC_KIND, dim: 2, priorStd: 1, tStart: 0 });
    expect(manifest.forward).toEqual({ kind: TRIGONOMETRIC_KIND, delta: 0.01 });
    expect(rt.metadata.kind).toBe(TRIGONOMETRIC_KIND);
    expect(rt.metadata.config).toMatchObject({
      format: 'nfdm-model/1',
      dim: 2,
      forward: { kind: TRIGONOMETRIC_KIND, delta: 0.01 },
      seed: 3,
    });
  });
});

describe('onnxruntime equals the tfjs model', () => {
  it('forward parameters μ, σ, μ̇, σ̇ (σ one column per sample)', async () => {
    const fwd = await loadOnnxModel(exportDir, { graphs: ['forward'] });
    try {
      const { z, t } = inputs(5);
      const out = await fwd.run('forward', { x: new ort.Tensor('float32', z, [N, 2]), t: new ort.Tensor('float32', t, [N, 1]) });
      expect(out.sigma.dims).toEqual([N, 1]);
      const ref = tf.tidy(() => {
        const p = model.forward.params(tf.tensor2d(z, [N, 2]), tf.tensor2d(t, [N, 1]), 1);
        return [p.mu, p.sigma, p.dmu as tf.Tensor, p.dsigma as tf.Tensor].map((x) => Float32Array.from(x.dataSync()));
      });
      ['mu', 'sigma', 'dmu', 'dsigma'].forEach((name, i) => {
        expectClose(`forward ${name}`, out[name].data as Float32Array, ref[i]);
      });
    } finally {
      await fwd.dispose();
    }
  });

  it('velocity, reverse drift, g and the exact divergence at per-sample times', async () => {
    const { z, t } = inputs(7);
    const ref = tf.tidy(() => {
      const zz = tf.tensor2d(z, [N, 2]);
      const tt = tf.tensor2d(t, [N, 1]);
      const field = (y: tf.Tensor) => velocity(model.forward.params(model.predictor.predict(y, tt), tt, 1), y);
      const p = model.forward.params(model.predictor.predict(zz, tt), tt, 1);
      const g2 = model.volatility.g2(tt);
      const read = (x: tf.Tensor) => Float32Array.from(x.dataSync());
      return {
        velocity: read(velocity(p, zz)),
        drift: read(reverseDrift(p, zz, g2)),
        g: read(tf.sqrt(g2)),
        divergence: read(divergence((_t, y) => field(y), 0, zz).divergence),
      };
    });
    expectClose('velocity', await rt.velocity(z, t), ref.velocity);
    const d = await rt.drift(z, t);
    expectClose('reverse drift', d.drift, ref.drift);
    expectClose('g', d.g, ref.g);
    const vd = await rt.velocityDivergence(z, t);
    expectClose('velocity (divergence graph)', vd.velocity, ref.velocity);
    expectClose('exact divergence', vd.divergence, ref.divergence);
  });

  it('every sampler, stepwise and as one Loop graph, reproduces DiffusionModel.sample with the same seed', async () => {
    const runs = [
      ['euler', 'ode', 'euler'],
      ['heun', 'ode', 'heun'],
      ['rk4', 'ode', 'rk4'],
      ['euler-maruyama', 'sde', 'euler_maruyama'],
      ['heun', 'sde', 'stochastic_heun'],
      // the frozen-prediction steps: the process's registered emitter gives μ and σ at t and s
      ['ddim', 'ode', 'ddim'],
    ] as const;
    for (const [solver, mode, coreSolver] of runs) {
      const r = model.sample({ n: 32, steps: 16, solver: coreSolver, mode, seed: 11 });
      const ref = Float32Array.from(r.samples.dataSync());
      r.samples.dispose();
      for (const engine of ['stepwise', 'loop'] as const) {
        const out = await rt.sample({ n: 32, steps: 16, solver, mode, seed: 11, engine });
        expectClose(`${solver}/${mode} ${engine} vs DiffusionModel.sample`, out.samples, ref);
      }
    }
  });

  it('the exact log-density (rk4 on the probability-flow ODE with the exact divergence) equals DiffusionModel.logProb', async () => {
    const x = new Rng(3).normalArray(16 * 2, 0, 1.5);
    const ref = tf.tidy(() => Float32Array.from(model.logProb(tf.tensor2d(x, [16, 2]), { solver: 'rk4', steps: 12 }).logp));
    const out = await rt.logProb(x, { steps: 12, solver: 'rk4' });
    expect(out.stats.nfe).toBe(48);
    expectClose('logProb rk4 × 12 vs DiffusionModel.logProb', out.logp, ref);
  });
});

describe('@nfdm/serve', () => {
  let app: NfdmServer;
  beforeAll(async () => {
    app = await createServer({ modelsDir: join(root, 'models') });
  });
  afterAll(async () => {
    await app?.close();
  });
  const post = (url: string, body: unknown) =>
    app.inject({ method: 'POST', url, payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  const rows = (flat: ArrayLike<number>) => Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i], flat[2 * i + 1]]);

  it('lists the model with its kind and capabilities', async () => {
    const res = await app.inject('/v1/models/trig');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      name: 'trig',
      dim: 2,
      kind: TRIGONOMETRIC_KIND,
      forwardKind: TRIGONOMETRIC_KIND,
      family: 'diffusion',
      capabilities: { samples: { ode: ['euler', 'heun', 'rk4', 'ddim'], sde: ['euler_maruyama', 'heun'] }, logProb: true },
    });
  });

  it('POST /v1/models/trig/samples returns the runtime samples of the same seed', async () => {
    for (const body of [
      { n: 20, steps: 12, solver: 'heun', mode: 'ode', seed: 4 },
      { n: 20, steps: 12, solver: 'euler_maruyama', mode: 'sde', seed: 5 },
    ] as const) {
      const res = await post('/v1/models/trig/samples', body);
      expect(res.statusCode, res.body).toBe(200);
      const ref = await rt.sample(body);
      expect(res.json()).toMatchObject({
        model: 'trig',
        n: 20,
        dim: 2,
        steps: 12,
        solver: ref.solver,
        mode: body.mode,
        nfe: ref.stats.nfe,
      });
      expect(res.json().samples).toEqual(rows(ref.samples));
    }
  });

  it('POST /v1/models/trig/log-prob returns the runtime log-densities', async () => {
    const points = [
      [0, 0],
      [1.5, -2],
      [-2.8, 0.1],
    ];
    const res = await post('/v1/models/trig/log-prob', { points, steps: 10, solver: 'rk4' });
    expect(res.statusCode, res.body).toBe(200);
    const ref = await rt.logProb(points, { steps: 10, solver: 'rk4' });
    expect(res.json()).toMatchObject({ model: 'trig', n: 3, dim: 2, steps: 10, solver: 'rk4', adaptive: false });
    expect(res.json().logProb).toEqual(Array.from(ref.logp));
  });
});

describe('a process without an emitter', () => {
  it('fails with one message naming the kind and how to add an emitter', () => {
    const kind = 'trigonometric-without-onnx';
    const { onnx: _onnx, ...withoutOnnx } = trigonometricEntry;
    registerForwardProcess(kind, {
      ...withoutOnnx,
      parse: (raw, field) => ({ ...trigonometricEntry.parse(raw, field), kind }),
      create: (config, dim, rng) => {
        const p = trigonometricEntry.create(config, dim, rng) as TrigonometricProcess;
        Object.defineProperty(p, 'kind', { value: kind });
        return p;
      },
    });
    const plain = createModel({ ...trigonometricModelConfig({ hidden: [8] }), forward: { kind, delta: 0.01 } });
    expect(plain.forward.kind).toBe(kind);
    expect(() => exportOnnx(plain)).toThrow(
      `forward process '${kind}' has no ONNX emitter: register one with registerForwardProcessEmitter('${kind}', emitter) from @nfdm/export, or pass onnx: emitter in the registerForwardProcess('${kind}', …) entry`,
    );
    expect(() => writeAnyExport(plain, join(root, 'never'))).toThrow(/has no ONNX emitter/);
    expect(() => mkdirSync(join(root, 'never'))).not.toThrow(); // nothing was written
    plain.dispose();
  });
});
