/**
 * NFBM export: the bridge graphs equal BridgeModel (velocity, reverse drift, g) on random
 * inputs with per-sample times; the one-call Euler samplers equal explicit tfjs Euler /
 * Euler–Maruyama loops over BridgeModel.velocity / reverseDrift fed the same noise; the runtime's
 * transport reproduces BridgeModel.sample for the same seed; files pass the structural ONNX checks.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, Rng } from '@nfdm/core';
import { type BridgeModel, reverseDrift, velocity } from '@nfdm/models';
import { loadExportedModel, loadOnnxBridge, loadOnnxModel, OnnxRuntimeError, readOnnxMetadata } from '@nfdm/runtime';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportBridge, exportBridgeOnnx } from '../src/bridge.js';
import { constantBridge, fixedBridge, fixedUnetBridge, neuralBridge, BRIDGE_STD as STD, unetBridge } from './cases.js';
import { checkOnnxFiles, errorLog, expectClose, exportDir, f32, printErrorLog, runOnnx, saveFile } from './helpers.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const dir = exportDir();
const files: string[] = [];
const N = 24;
const STEPS = 12;

afterAll(() => {
  printErrorLog('NFBM: ONNX vs tfjs');
  rmSync(dir, { recursive: true, force: true });
});

/** The tfjs reference at per-sample times (BridgeModel's formulas with t as a column). */
function reference(model: BridgeModel, z: Float32Array, t: Float32Array, x1: Float32Array) {
  const D = model.dim;
  return tf.tidy(() => {
    const zz = tf.tensor2d(z, [N, D]);
    const tt = tf.tensor2d(t, [N, 1]);
    const xx = tf.tensor2d(x1, [N, D]);
    const p = model.process.params(model.predictor.predict(zz, tt, xx), xx, tt, 1);
    const g2 = model.volatility.g2(tt);
    const read = (x: tf.Tensor) => Float32Array.from(x.dataSync());
    return { velocity: read(velocity(p, zz)), drift: read(reverseDrift(p, zz, g2)), g: read(tf.sqrt(g2)) };
  });
}

/** Explicit tfjs Euler (ODE) / Euler–Maruyama (SDE) over model.velocity / reverseDrift, fed the given noise. */
function tfEuler(model: BridgeModel, x1: Float32Array, startNoise: Float32Array, steps: number, noise: Float32Array | null) {
  const D = model.dim;
  const n = x1.length / D;
  return tf.tidy(() => {
    const src = tf.tensor2d(x1, [n, D]);
    let z = tf.add(src, tf.mul(model.process.delta, tf.tensor2d(startNoise, [n, D]))) as tf.Tensor;
    const h = -1 / steps;
    for (let k = 0; k < steps; k++) {
      const t = 1 + k * h;
      if (!noise) {
        z = tf.add(z, tf.mul(model.velocity(z, t, src), h));
      } else {
        const xi = tf.tensor2d(noise.subarray(k * n * D, (k + 1) * n * D), [n, D]);
        const g = tf.sqrt(model.volatility.g2(tf.fill([1, 1], t)));
        z = tf.add(tf.add(z, tf.mul(model.reverseDrift(z, t, src), h)), tf.mul(g, tf.mul(xi, Math.sqrt(Math.abs(h)))));
      }
    }
    return Float32Array.from(z.dataSync());
  });
}

function inputs(D: number, seed: number) {
  const rng = new Rng(seed);
  const z = rng.normalArray(N * D, 0, 1.5);
  const x1 = rng.normalArray(N * D, 0, 1.5);
  const t = rng.uniformArray(N, 0, 1);
  t[0] = 1;
  t[1] = 0;
  return { z, x1, t };
}

describe('bridge graphs equal BridgeModel', () => {
  const cases = [
    { label: 'neural volatility, selu/silu, D=2', make: neuralBridge },
    { label: 'constant volatility, tanh/gelu, D=3', make: constantBridge },
    { label: 'U-Nets on 4×4 images (FiLM process, attention predictor), D=16', make: unetBridge },
    { label: 'fixed process (σ_max 0.8, closed form), neural volatility, D=2', make: fixedBridge },
    { label: 'fixed process, U-Net predictor on 4×4 images, D=16', make: fixedUnetBridge },
  ];
  for (const { label, make } of cases) {
    it(label, async () => {
      const model = make();
      const D = model.dim;
      const exp = exportBridgeOnnx(model);
      expect(Object.keys(exp.graphs).sort()).toEqual([
        'bridge_drift',
        'bridge_sampler_euler_ode',
        'bridge_sampler_euler_sde',
        'bridge_velocity',
      ]);
      for (const [name, bytes] of Object.entries(exp.graphs)) files.push(saveFile(dir, `${D}.${name}.onnx`, bytes as Uint8Array));
      const { z, x1, t } = inputs(D, 7 + D);
      const ref = reference(model, z, t, x1);
      const feeds = { z: f32(z, [N, D]), t: f32(t, [N, 1]), source: f32(x1, [N, D]) };
      const vel = await runOnnx(exp.graphs.bridge_velocity as Uint8Array, feeds);
      expectClose(`${label}: bridge velocity`, vel.velocity, ref.velocity);
      const dr = await runOnnx(exp.graphs.bridge_drift as Uint8Array, feeds);
      expectClose(`${label}: bridge drift fB`, dr.drift, ref.drift);
      expectClose(`${label}: bridge g`, dr.g, ref.g);

      // BridgeModel.velocity / reverseDrift themselves at common times
      for (const tc of [0.9, 0.4]) {
        const [v, d] = tf.tidy(() => {
          const zz = tf.tensor2d(z, [N, D]);
          const xx = tf.tensor2d(x1, [N, D]);
          return [model.velocity(zz, tc, xx), model.reverseDrift(zz, tc, xx)].map((x) => Float32Array.from(x.dataSync()));
        });
        const common = { ...feeds, t: f32(new Float32Array(N).fill(tc), [N, 1]) };
        expectClose(
          `${label}: BridgeModel.velocity t=${tc}`,
          (await runOnnx(exp.graphs.bridge_velocity as Uint8Array, common)).velocity,
          v,
        );
        expectClose(`${label}: BridgeModel.reverseDrift t=${tc}`, (await runOnnx(exp.graphs.bridge_drift as Uint8Array, common)).drift, d);
      }

      // samplers: same start noise and Brownian normals as an explicit tfjs loop
      const rng = new Rng(21);
      const startNoise = rng.normalArray(N * D);
      const noise = rng.normalArray(STEPS * N * D);
      const ode = await runOnnx(exp.graphs.bridge_sampler_euler_ode as Uint8Array, {
        source: f32(x1, [N, D]),
        start_noise: f32(startNoise, [N, D]),
        steps: new ort.Tensor('int64', BigInt64Array.from([BigInt(STEPS)]), [1]),
      });
      expectClose(`${label}: sampler euler ODE vs tfjs loop`, ode.samples, tfEuler(model, x1, startNoise, STEPS, null));
      const sde = await runOnnx(exp.graphs.bridge_sampler_euler_sde as Uint8Array, {
        source: f32(x1, [N, D]),
        start_noise: f32(startNoise, [N, D]),
        noise: f32(noise, [STEPS, N, D]),
      });
      expectClose(`${label}: sampler euler SDE vs tfjs loop`, sde.samples, tfEuler(model, x1, startNoise, STEPS, noise));
      model.dispose();
    });
  }

  it('metadata: kind nfbm, dim, delta, volatility, penalties, standardization; every file passes the structural checks', async () => {
    const model = constantBridge();
    const exp = exportBridgeOnnx(model, { standardization: STD, penalties: [{ kind: 'obstacle', center: [0, 0, 0], radius: 1 }] });
    for (const [name, bytes] of Object.entries(exp.graphs)) {
      files.push(saveFile(dir, `std.${name}.onnx`, bytes as Uint8Array));
      const meta = readOnnxMetadata(bytes as Uint8Array);
      expect(meta).toMatchObject({
        graph: name,
        kind: 'nfbm',
        dim: 3,
        delta: 0.2,
        forwardKind: 'nfbm',
        volatility: { kind: 'constant', value: 0.3 },
        standardization: STD,
        penalties: [{ kind: 'obstacle', center: [0, 0, 0], radius: 1 }],
        tStart: 0,
      });
      expect(meta.config).toEqual(JSON.parse(JSON.stringify(model.toConfig())));
    }
    expect(readOnnxMetadata(exportBridgeOnnx(neuralBridge()).graphs.bridge_velocity as Uint8Array).penalties).toEqual([
      { name: expect.any(String) },
    ]);
    await checkOnnxFiles(files);
    model.dispose();
  });
});

describe('fixed-process bridge export', () => {
  it('metadata: forward kind fixed-bridge, its config (δ, σ_max), image shape from the predictor U-Net; no process network in the graphs', () => {
    const model = fixedBridge();
    const exp = exportBridgeOnnx(model);
    const meta = readOnnxMetadata(exp.graphs.bridge_velocity as Uint8Array);
    expect(meta).toMatchObject({
      kind: 'nfbm',
      forwardKind: 'fixed-bridge',
      delta: 0.3,
      forward: { kind: 'fixed-bridge', delta: 0.3, sigmaMax: 0.8 },
    });
    const learned = exportBridgeOnnx(neuralBridge());
    // Only the predictor's weights: the fixed graph is smaller than the learned bridge's of the same widths.
    expect((exp.graphs.bridge_velocity as Uint8Array).length).toBeLessThan((learned.graphs.bridge_velocity as Uint8Array).length);
    model.dispose();
    const image = fixedUnetBridge();
    expect(readOnnxMetadata(exportBridgeOnnx(image).graphs.bridge_drift as Uint8Array).image).toEqual({ height: 4, width: 4, channels: 1 });
    image.dispose();
  });

  it('runtime transport reproduces BridgeModel.sample (same seed), ODE and SDE, stepwise and loop', async () => {
    const model = fixedBridge();
    const rt = await loadOnnxBridge(exportBridgeOnnx(model), { intraOpNumThreads: 1 });
    expect(rt.family).toBe('nfbm');
    const { x1 } = inputs(2, 4);
    for (const mode of ['ode', 'sde'] as const) {
      const r = model.sample(tf.tensor2d(x1, [N, 2]), { mode, steps: STEPS, seed: 6 });
      const ref = Float32Array.from(r.samples.dataSync());
      r.samples.dispose();
      expectClose(
        `fixed bridge transport ${mode} vs BridgeModel.sample`,
        (await rt.transport(x1, { mode, steps: STEPS, seed: 6 })).samples,
        ref,
      );
      const loop = await rt.transport(x1, { mode, steps: STEPS, seed: 6, engine: 'loop' });
      expectClose(`fixed bridge transport ${mode} loop engine vs BridgeModel.sample`, loop.samples, ref);
    }
    await rt.dispose();
    model.dispose();
  });
});

describe('runtime: transport', () => {
  it('stepwise transport reproduces BridgeModel.sample (same seed), ODE and SDE; the loop engine agrees', async () => {
    const model = neuralBridge();
    const out = join(dir, 'bridge-neural');
    exportBridge(model, out);
    const rt = await loadOnnxBridge(out, { intraOpNumThreads: 1 });
    expect(rt.family).toBe('nfbm');
    expect(rt.delta).toBe(0.3);
    const { x1 } = inputs(2, 3);
    const src = tf.tensor2d(x1, [N, 2]);
    for (const [mode, solver, coreSolver] of [
      ['ode', 'euler', 'euler'],
      ['ode', 'heun', 'heun'],
      ['sde', 'euler_maruyama', 'euler_maruyama'],
      ['sde', 'heun', 'stochastic_heun'],
    ] as const) {
      const r = model.sample(src, { mode, steps: STEPS, seed: 5, solver: coreSolver });
      const ref = Float32Array.from(r.samples.dataSync());
      r.samples.dispose();
      const got = await rt.transport(x1, { mode, steps: STEPS, seed: 5, solver });
      expect(got).toMatchObject({ n: N, dim: 2, mode, solver, engine: 'stepwise' });
      expectClose(`transport ${mode}/${solver} vs BridgeModel.sample`, got.samples, ref);
      if (solver === 'euler' || solver === 'euler_maruyama') {
        const loop = await rt.transport(x1, { mode, steps: STEPS, seed: 5, engine: 'loop' });
        expectClose(`transport ${mode} loop engine vs BridgeModel.sample`, loop.samples, ref);
      }
      if (solver === 'euler_maruyama') {
        // The alias spelling is the same solver: identical numbers, canonical label.
        const alias = await rt.transport(x1, { mode, steps: STEPS, seed: 5, solver: 'euler-maruyama' });
        expect(alias.solver).toBe('euler_maruyama');
        expect(alias.samples).toEqual(got.samples);
      }
    }
    src.dispose();
    // rows as number[][] work too and give the same result
    const rows = Array.from({ length: N }, (_, i) => [x1[2 * i], x1[2 * i + 1]]);
    expect((await rt.transport(rows, { mode: 'ode', steps: 4 })).samples).toEqual(
      (await rt.transport(x1, { mode: 'ode', steps: 4 })).samples,
    );
    // errors
    await expect(rt.transport([[1, 2, 3]])).rejects.toThrow(OnnxRuntimeError);
    await expect(rt.transport([[1, Number.NaN]])).rejects.toThrow(/non-finite/);
    await expect(rt.transport(x1, { mode: 'ode', solver: 'euler-maruyama' })).rejects.toThrow(/not available in ode mode/);
    await expect(rt.transport(x1, { mode: 'ode', solver: 'rk4', engine: 'loop' })).rejects.toThrow(/Euler/);
    await expect(rt.transport(x1, { steps: 0 })).rejects.toThrow(/steps/);
    await rt.dispose();
    await expect(loadOnnxModel(out)).rejects.toThrow(/nfbm export; load it with loadOnnxBridge/);
    const any = await loadExportedModel(out);
    expect(any.family).toBe('nfbm');
    await any.dispose();
    model.dispose();
  });

  it('with a standardisation: data-space sources and samples, loop and stepwise agree', async () => {
    const model = constantBridge();
    const exp = exportBridgeOnnx(model, { standardization: STD });
    const rt = await loadOnnxBridge(exp);
    const { x1 } = inputs(3, 9);
    const data = x1.map((v, i) => v * STD.std[i % 3] + STD.mean[i % 3]);
    const stepwise = await rt.transport(data, { mode: 'ode', steps: 8, seed: 2 });
    const loop = await rt.transport(data, { mode: 'ode', steps: 8, seed: 2, engine: 'loop' });
    expectClose('standardised transport: loop vs stepwise', loop.samples, stepwise.samples);
    const r = model.sample(tf.tensor2d(x1, [N, 3]), { mode: 'ode', steps: 8, seed: 2 });
    const ref = Array.from(r.samples.dataSync(), (v, i) => v * STD.std[i % 3] + STD.mean[i % 3]);
    r.samples.dispose();
    expectClose('standardised transport vs BridgeModel.sample (data space)', stepwise.samples, ref);
    const model_ = await rt.transport(x1, { mode: 'ode', steps: 8, seed: 2, space: 'model' });
    expectClose(
      'space: model',
      model_.samples,
      Float32Array.from(ref, (v, i) => (v - STD.mean[i % 3]) / STD.std[i % 3]),
    );
    await rt.dispose();
    model.dispose();
    expect(errorLog.length).toBeGreaterThan(0);
  });
});
