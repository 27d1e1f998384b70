/**
 * The onnxruntime runtime: with the same seed it reproduces DiffusionModel.sample (core's
 * solve) for every fixed-step solver, stepwise and with the one-call Loop graphs; the Loop
 * graphs equal explicit tfjs Euler / Euler–Maruyama loops driven by the same z(1) and Brownian
 * increments; log-densities equal DiffusionModel.logProb; standardisation, loading and errors.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, Rng } from '@nfdm/core';
import { type DiffusionModel, standardizationLogDet, standardize } from '@nfdm/models';
import { loadOnnxModel, type OnnxModel, OnnxRuntimeError } from '@nfdm/runtime';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportOnnx, exportSampler, exportVelocity, ONNX_MANIFEST_FILE, writeOnnxExport } from '../src/export.js';
import { buildModel, Graph } from '../src/onnx/builder.js';
import { errorLog, expectClose, exportDir, makeModel, printErrorLog, runOnnx, smallConfig } from './helpers.js';

beforeAll(async () => {
  await initBackend('wasm');
});

afterAll(() => {
  printErrorLog('ONNX runtime vs tfjs samplers / log-densities');
});

const N = 48;
const STEPS = 16;

const NFDM = smallConfig({ forward: { kind: 'nfdm', hidden: [16, 16], activation: 'selu' }, volatility: { kind: 'constant', value: 0.5 } });
const VP = smallConfig({
  forward: { kind: 'fixed', schedule: { name: 'vp' } },
  volatility: { kind: 'matched', schedule: { name: 'vp' } },
});
const NDM = smallConfig({
  forward: { kind: 'ndm', hidden: [16], activation: 'silu' },
  volatility: { kind: 'matched', schedule: { name: 'linear-logsnr' } },
});
const STD = smallConfig({
  dim: 3,
  forward: { kind: 'nfdm', hidden: [16], activation: 'tanh' },
  predictor: { hidden: [16], activation: 'silu' },
  volatility: { kind: 'constant', value: 0.3 },
  standardization: { mean: [0.5, -1, 2], std: [2, 0.5, 1.5] },
});

/** Samples from the tfjs model (core's solve), model space. */
function tfSample(model: DiffusionModel, solver: string, mode: 'ode' | 'sde', seed: number): Float32Array {
  const coreSolver = mode === 'sde' ? (solver === 'heun' ? 'stochastic_heun' : 'euler_maruyama') : solver;
  const r = model.sample({ n: N, steps: STEPS, solver: coreSolver, mode, seed });
  const out = Float32Array.from(r.samples.dataSync());
  r.samples.dispose();
  return out;
}

async function withRuntime(model: DiffusionModel, fn: (rt: OnnxModel) => Promise<void>): Promise<void> {
  const rt = await loadOnnxModel(exportOnnx(model, { components: false }), { intraOpNumThreads: 1 });
  try {
    await fn(rt);
  } finally {
    await rt.dispose();
  }
}

describe('sampling reproduces DiffusionModel.sample (same seed)', () => {
  const cases: Array<[string, typeof NFDM, Array<['euler' | 'heun' | 'rk4' | 'euler-maruyama', 'ode' | 'sde']>]> = [
    [
      'nfdm',
      NFDM,
      [
        ['euler', 'ode'],
        ['heun', 'ode'],
        ['rk4', 'ode'],
        ['euler-maruyama', 'sde'],
        ['heun', 'sde'],
      ],
    ],
    [
      'fixed vp',
      VP,
      [
        ['euler', 'ode'],
        ['euler-maruyama', 'sde'],
        ['heun', 'sde'],
      ],
    ],
    [
      'ndm',
      NDM,
      [
        ['heun', 'ode'],
        ['euler-maruyama', 'sde'],
      ],
    ],
  ];
  for (const [label, config, runs] of cases) {
    it(label, async () => {
      const model = makeModel(config);
      await withRuntime(model, async (rt) => {
        for (const [solver, mode] of runs) {
          const ref = tfSample(model, solver, mode, 5);
          const stepwise = await rt.sample({ n: N, steps: STEPS, solver, mode, seed: 5 });
          expect(stepwise.stats.nfe).toBe(STEPS * (solver === 'rk4' ? 4 : solver === 'heun' ? 2 : 1));
          expectClose(`${label} ${solver}/${mode} stepwise vs DiffusionModel.sample`, stepwise.samples, ref);
          const loop = await rt.sample({ n: N, steps: STEPS, solver, mode, seed: 5, engine: 'loop' });
          expectClose(`${label} ${solver}/${mode} Loop graph vs DiffusionModel.sample`, loop.samples, ref);
        }
      });
      model.dispose();
    });
  }
});

describe('the one-call Loop graphs equal explicit tfjs loops with the same noise', () => {
  const gridTime = (k: number, S: number, t1: number) => (k === S ? t1 : 1 + (k * (t1 - 1)) / S);

  it('Euler (ODE) and Euler–Maruyama (SDE)', async () => {
    const model = makeModel(NFDM);
    const D = model.dim;
    const rng = new Rng(9);
    const eps = rng.normalArray(N * D);
    const xi = rng.normalArray(STEPS * N * D);
    const t1 = model.forward.start.t;
    const explicit = (sde: boolean) =>
      tf.tidy(() => {
        let z: tf.Tensor = tf.mul(tf.tensor2d(eps, [N, D]), model.forward.priorStd);
        for (let k = 0; k < STEPS; k++) {
          const t = gridTime(k, STEPS, t1);
          const h = gridTime(k + 1, STEPS, t1) - t;
          if (!sde) z = tf.add(z, tf.mul(model.velocity(z, t), h));
          else {
            const dW = tf.mul(tf.tensor2d(xi.subarray(k * N * D, (k + 1) * N * D), [N, D]), Math.sqrt(Math.abs(h)));
            z = tf.addN([z, tf.mul(model.reverseDrift(z, t), h), tf.mul(model.diffusionCoefficient(t), dW)]);
          }
        }
        return Float32Array.from(z.dataSync());
      });
    const ort = await import('onnxruntime-node');
    const prior = new ort.Tensor('float32', eps, [N, D]);
    const ode = await runOnnx(exportSampler(model, { solver: 'euler', mode: 'ode' }), {
      prior_noise: prior,
      steps: new ort.Tensor('int64', BigInt64Array.from([BigInt(STEPS)]), [1]),
    });
    expectClose('Loop Euler ODE vs explicit tfjs Euler loop', ode.samples, explicit(false));
    const sde = await runOnnx(exportSampler(model, { solver: 'euler', mode: 'sde' }), {
      prior_noise: prior,
      noise: new ort.Tensor('float32', xi, [STEPS, N, D]),
    });
    expectClose('Loop Euler–Maruyama vs explicit tfjs EM loop', sde.samples, explicit(true));
    model.dispose();
  });
});

describe('log-densities', () => {
  it('fixed-step logProb equals DiffusionModel.logProb', async () => {
    for (const [label, config] of [
      ['nfdm', NFDM],
      ['ndm', NDM],
    ] as const) {
      const model = makeModel(config);
      const x = new Rng(3).normalArray(16 * 2);
      await withRuntime(model, async (rt) => {
        const ref = tf.tidy(() => model.logProb(tf.tensor2d(x, [16, 2]), { solver: 'rk4', steps: 12 }).logp);
        const fixed = await rt.logProb(x, { steps: 12, solver: 'rk4' });
        expect(fixed.stats.nfe).toBe(48);
        expectClose(`${label} logProb rk4 × 12 vs DiffusionModel.logProb`, fixed.logp, ref);
      });
      model.dispose();
    }
  });

  it('adaptive logProb (Dormand–Prince) agrees with DiffusionModel.logProb to the solve tolerance', async () => {
    const model = makeModel(
      smallConfig({ forward: { kind: 'fixed', schedule: { name: 'fm-ot' } }, volatility: { kind: 'constant', value: 1 } }),
      1,
    );
    const x = new Rng(4).normalArray(16 * 2);
    await withRuntime(model, async (rt) => {
      const ref = tf.tidy(() => model.logProb(tf.tensor2d(x, [16, 2])).logp);
      const adaptive = await rt.logProb(x, { adaptive: { rtol: 1e-5, atol: 1e-5 } });
      expect(adaptive.stats.acceptedSteps).toBeGreaterThan(2);
      // Different step-size controllers: both land within ~1.5e-3 of a fine fixed-step solution
      // (on opposite sides here), so they agree to the solve's accuracy, not to float32.
      const fine = await rt.logProb(x, { steps: 400, solver: 'rk4' });
      expectClose('fm-ot logProb adaptive vs rk4 × 400', adaptive.logp, fine.logp, 3e-3, 1e-4);
      expectClose('fm-ot logProb tfjs adaptive vs runtime rk4 × 400', ref, fine.logp, 3e-3, 1e-4);
      expectClose('fm-ot logProb adaptive (dopri5, tol 1e-5) vs DiffusionModel.logProb', adaptive.logp, ref, 5e-3, 1e-4);
    });
    model.dispose();
  });
});

describe('standardisation', () => {
  it('samples come back in data space and log-densities include the log-det', async () => {
    const model = makeModel(STD);
    const s = STD.standardization as { mean: number[]; std: number[] };
    const D = 3;
    await withRuntime(model, async (rt) => {
      expect(rt.standardization).toEqual(s);
      const ref = tfSample(model, 'heun', 'ode', 2);
      const refData = ref.map((v, i) => v * s.std[i % D] + s.mean[i % D]);
      for (const engine of ['stepwise', 'loop'] as const) {
        const data = await rt.sample({ n: N, steps: STEPS, solver: 'heun', mode: 'ode', seed: 2, engine });
        expectClose(`standardised model, ${engine}, data space`, data.samples, refData);
        const modelSpace = await rt.sample({ n: N, steps: STEPS, solver: 'heun', mode: 'ode', seed: 2, engine, space: 'model' });
        expectClose(`standardised model, ${engine}, model space`, modelSpace.samples, ref, 1e-5, 1e-4);
      }
      const x = Float32Array.from(refData.subarray(0, 8 * D));
      const lp = await rt.logProb(x, { steps: 6 });
      const lpModel = await rt.logProb(Float32Array.from(ref.subarray(0, 8 * D)), { steps: 6, space: 'model' });
      const want = tf.tidy(() =>
        Float32Array.from(model.logProb(standardize(tf.tensor2d(x, [8, D]), s), { solver: 'rk4', steps: 6 }).logp),
      );
      expectClose(
        'standardised logProb (data space) vs tfjs + log-det',
        lp.logp,
        want.map((v) => v + standardizationLogDet(s)),
        1e-4,
        1e-4,
      );
      expectClose('standardised logProb (model space)', lpModel.logp, want, 1e-4, 1e-4);
    });
    model.dispose();
  });
});

describe('loading', () => {
  it('a directory written by writeOnnxExport, one file, or bytes', async () => {
    const model = makeModel(NFDM);
    const root = exportDir();
    const dir = join(root, 'model');
    const written = writeOnnxExport(exportOnnx(model, { samplers: [{ solver: 'euler', mode: 'ode' }] }), dir);
    expect(written.map((p) => p.split('/').pop()).sort()).toEqual(
      [
        ONNX_MANIFEST_FILE,
        ...['drift', 'velocity', 'velocity_divergence', 'frozen_step', 'predictor', 'forward', 'volatility', 'sampler_euler_ode'].map(
          (g) => `${g}.onnx`,
        ),
      ].sort(),
    );
    expect(readdirSync(dir).some((f) => f.includes('.tmp-'))).toBe(false);
    const manifest = JSON.parse(readFileSync(join(dir, ONNX_MANIFEST_FILE), 'utf8'));
    expect(manifest.format).toBe('nfdm-onnx/1');
    expect(manifest.graphs.velocity).toBe('velocity.onnx');
    expect(manifest.graphs.frozen_step).toBe('frozen_step.onnx');

    const rt = await loadOnnxModel(dir);
    expect(rt.graphs.sort()).toEqual(['drift', 'frozen_step', 'sampler_euler_ode', 'velocity', 'velocity_divergence']);
    expect(rt.metadata.kind).toBe('nfdm');
    const a = await rt.sample({ n: 8, steps: 4, solver: 'euler', mode: 'ode', seed: 1 });
    await rt.dispose();

    const single = await loadOnnxModel(join(dir, 'velocity.onnx'));
    const b = await single.sample({ n: 8, steps: 4, solver: 'euler', mode: 'ode', seed: 1 });
    expect(Array.from(b.samples)).toEqual(Array.from(a.samples));
    await expect(single.sample({ n: 8, steps: 4, mode: 'sde' })).rejects.toThrow(/'drift' graph/);
    await expect(single.logProb([[0, 0]])).rejects.toThrow(/'velocity_divergence' graph/);
    await single.dispose();

    const fromBytes = await loadOnnxModel(exportVelocity(model));
    expect(fromBytes.graphs).toEqual(['velocity']);
    await fromBytes.dispose();
    expect(existsSync(dir)).toBe(true);
    rmSync(root, { recursive: true, force: true });
    model.dispose();
  });

  it('clear errors for foreign files, bad bytes and bad options', async () => {
    const g = new Graph('plain');
    g.output('y', g.unary('Relu', g.input('x', ['N', 2])), ['N', 2]);
    await expect(loadOnnxModel(buildModel(g))).rejects.toThrow(/not an nfdm ONNX export/);
    await expect(loadOnnxModel(new Uint8Array([0xff, 0xff, 0xff]))).rejects.toBeInstanceOf(OnnxRuntimeError);
    await expect(loadOnnxModel('/nonexistent/model.onnx')).rejects.toThrow(/cannot read/);
    const model = makeModel(NFDM);
    await withRuntime(model, async (rt) => {
      await expect(rt.sample({ n: 0 })).rejects.toThrow(/n must be a positive integer/);
      await expect(rt.sample({ n: 4, solver: 'rk4', mode: 'sde' })).rejects.toThrow(/not available in sde mode/);
      await expect(rt.sample({ n: 4, solver: 'rk4', mode: 'ode', engine: 'loop', steps: 2 })).resolves.toBeTruthy();
      await expect(rt.logProb([[0, Number.NaN]])).rejects.toThrow(/non-finite/);
      await expect(rt.logProb([[0, 1, 2]])).rejects.toThrow(/2 coordinates/);
    });
    model.dispose();
    expect(errorLog.length).toBeGreaterThan(0);
  });
});
