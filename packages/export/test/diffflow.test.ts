/**
 * DiffFlow export: the drift and score graphs equal the FourierMLPs; the sampler graphs (grid
 * baked in) equal `diffflowSample` of @nfdm/models fed the same normals (stochastic: last step's
 * mean, no final noise; deterministic: probability-flow steps); the runtime's sample reproduces
 * diffflowSample for the same seed; files pass the structural ONNX checks. DiffFlow models with
 * U-Net networks (images) export too (emit/unet.ts), with the same parity.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, Rng } from '@nfdm/core';
import { createDiffFlowModel, DIFFFLOW_FORMAT, DiffFlowModel, diffflowSample, FourierMLP, parseDiffFlowConfig } from '@nfdm/models';
import { loadExportedModel, loadOnnxDiffFlow, loadOnnxModel, OnnxRuntimeError, readOnnxMetadata } from '@nfdm/runtime';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportDiffFlow, exportDiffFlowOnnx } from '../src/diffflow.js';
import { DIFFFLOW_G as G_VALUES, DIFFFLOW_GRID as GRID, diffflowModel as model, perturb, DIFFFLOW_STD as STD } from './cases.js';
import { checkOnnxFiles, errorLog, expectClose, exportDir, f32, printErrorLog, runOnnx, saveFile } from './helpers.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const dir = exportDir();
const files: string[] = [];
const N = 24;

afterAll(() => {
  printErrorLog('DiffFlow: ONNX vs tfjs');
  rmSync(dir, { recursive: true, force: true });
});

/** diffflowSample in model space as a Float32Array. */
function reference(m: DiffFlowModel, seed: number, deterministic: boolean, g: number | number[]): Float32Array {
  const x = diffflowSample(m, { n: N, grid: GRID, g, seed, deterministic });
  const out = Float32Array.from(x.dataSync());
  x.dispose();
  return out;
}

describe('DiffFlow graphs equal the tfjs model', () => {
  it('drift and score networks at per-sample times', async () => {
    const m = model();
    const exp = exportDiffFlowOnnx(m, { grid: GRID, g: 1 });
    expect(Object.keys(exp.graphs).sort()).toEqual(['diffflow_drift', 'diffflow_sampler_ode', 'diffflow_sampler_sde', 'diffflow_score']);
    for (const [name, bytes] of Object.entries(exp.graphs)) files.push(saveFile(dir, `g1.${name}.onnx`, bytes as Uint8Array));
    const rng = new Rng(11);
    const x = rng.normalArray(N * 2, 0, 1.5);
    const t = rng.uniformArray(N, 0, 1);
    t[0] = 1;
    t[1] = 0;
    const [f, s] = tf.tidy(() => {
      const xx = tf.tensor2d(x, [N, 2]);
      const tt = tf.tensor2d(t, [N, 1]);
      return [m.drift(xx, tt), m.score(xx, tt)].map((v) => Float32Array.from(v.dataSync()));
    });
    const feeds = { x: f32(x, [N, 2]), t: f32(t, [N, 1]) };
    expectClose('diffflow drift f_θ', (await runOnnx(exp.graphs.diffflow_drift as Uint8Array, feeds)).drift, f);
    expectClose('diffflow score s_θ', (await runOnnx(exp.graphs.diffflow_score as Uint8Array, feeds)).score, s);
    m.dispose();
  });

  for (const g of [1, G_VALUES] as const) {
    const label = typeof g === 'number' ? 'constant g' : 'g on the grid';
    it(`sampler graphs equal diffflowSample with the same normals (${label})`, async () => {
      const m = model(5);
      const exp = exportDiffFlowOnnx(m, { grid: GRID, g });
      const K = GRID.length - 1;
      const seed = 17;
      const rng = new Rng(seed);
      const prior = rng.normalArray(N * 2);
      const noise = new Float32Array((K - 1) * N * 2);
      for (let k = 0; k < K - 1; k++) noise.set(rng.normalArray(N * 2), k * N * 2);
      const sde = await runOnnx(exp.graphs.diffflow_sampler_sde as Uint8Array, {
        prior_noise: f32(prior, [N, 2]),
        noise: f32(noise, [K - 1, N, 2]),
      });
      expectClose(`sampler sde (${label}) vs diffflowSample`, sde.samples, reference(m, seed, false, g as number | number[]));
      const ode = await runOnnx(exp.graphs.diffflow_sampler_ode as Uint8Array, {
        prior_noise: f32(new Rng(seed).normalArray(N * 2), [N, 2]),
      });
      expectClose(`sampler ode (${label}) vs diffflowSample deterministic`, ode.samples, reference(m, seed, true, g as number | number[]));
      m.dispose();
    });
  }

  it('metadata: kind diffflow, grid, g, standardization; the structural ONNX checks pass', async () => {
    const m = model();
    const exp = exportDiffFlowOnnx(m, { grid: GRID, g: G_VALUES, standardization: STD });
    for (const [name, bytes] of Object.entries(exp.graphs)) {
      files.push(saveFile(dir, `std.${name}.onnx`, bytes as Uint8Array));
      expect(readOnnxMetadata(bytes as Uint8Array)).toMatchObject({
        graph: name,
        kind: 'diffflow',
        dim: 2,
        grid: GRID,
        g: G_VALUES,
        standardization: STD,
        tStart: GRID[0],
        priorStd: 1,
      });
    }
    expect(readOnnxMetadata(exp.graphs.diffflow_sampler_sde as Uint8Array).signature.inputs[1]).toMatchObject({
      name: 'noise',
      shape: [GRID.length - 2, 'N', 2],
    });
    await checkOnnxFiles(files);
    expect(() => exportDiffFlowOnnx(m, { grid: [0, 0.5, 0.4], g: 1 })).toThrow(/strictly increasing/);
    expect(() => exportDiffFlowOnnx(m, { grid: GRID, g: [1, 2] })).toThrow(/g needs/);
    m.dispose();
  });
});

describe('runtime: DiffFlow sample', () => {
  it('stepwise and loop engines reproduce diffflowSample for the same seed; standardisation; errors', async () => {
    const m = model(7);
    const out = join(dir, 'diffflow');
    exportDiffFlow(m, out, { grid: GRID, g: G_VALUES });
    const rt = await loadOnnxDiffFlow(out, { intraOpNumThreads: 1 });
    expect(rt.family).toBe('diffflow');
    expect(rt.steps).toBe(GRID.length - 1);
    for (const mode of ['sde', 'ode'] as const) {
      const ref = reference(m, 4, mode === 'ode', G_VALUES);
      const stepwise = await rt.sample({ n: N, mode, seed: 4 });
      expect(stepwise).toMatchObject({ n: N, dim: 2, mode, engine: 'stepwise' });
      expectClose(`runtime ${mode} stepwise vs diffflowSample`, stepwise.samples, ref);
      const loop = await rt.sample({ n: N, mode, seed: 4, engine: 'loop' });
      expectClose(`runtime ${mode} loop vs diffflowSample`, loop.samples, ref);
    }
    expect((await rt.sample({ n: 3 })).mode).toBe('sde');
    await expect(rt.sample({ n: 0 })).rejects.toThrow(OnnxRuntimeError);
    await expect(rt.sample({ n: 2, mode: 'flow' as 'ode' })).rejects.toThrow(/mode/);
    await rt.dispose();
    await expect(loadOnnxModel(out)).rejects.toThrow(/diffflow export; load it with loadOnnxDiffFlow/);
    const any = await loadExportedModel(out);
    expect(any.family).toBe('diffflow');
    await any.dispose();

    const std = await loadOnnxDiffFlow(exportDiffFlowOnnx(m, { grid: GRID, g: 1, standardization: STD }));
    const ref = Array.from(reference(m, 8, false, 1), (v, i) => v * STD.std[i % 2] + STD.mean[i % 2]);
    expectClose('standardised stepwise (data space)', (await std.sample({ n: N, seed: 8 })).samples, ref);
    expectClose('standardised loop (data space)', (await std.sample({ n: N, seed: 8, engine: 'loop' })).samples, ref);
    const modelSpace = await std.sample({ n: N, seed: 8, engine: 'loop', space: 'model' });
    expectClose('standardised loop (model space)', modelSpace.samples, reference(m, 8, false, 1));
    await std.dispose();
    m.dispose();
    expect(errorLog.length).toBeGreaterThan(0);
  });
});

describe('DiffFlow with U-Net networks (4×4 images)', () => {
  it('drift, score and the samplers equal the tfjs model; nfdm.image is recorded', async () => {
    const m = createDiffFlowModel(
      parseDiffFlowConfig({
        format: DIFFFLOW_FORMAT,
        dim: 16,
        network: {
          arch: 'unet',
          image: { height: 4, width: 4, channels: 1 },
          base: 8,
          multipliers: [1, 2],
          groups: 4,
          embedding: { minFrequency: 1, maxFrequency: 16 },
        },
        seed: 0,
      }),
    );
    perturb(m.parameters(), 21);
    const exp = exportDiffFlowOnnx(m, { grid: GRID, g: G_VALUES });
    expect(exp.metadata.image).toEqual({ height: 4, width: 4, channels: 1 });
    for (const [name, bytes] of Object.entries(exp.graphs)) files.push(saveFile(dir, `unet.${name}.onnx`, bytes as Uint8Array));
    const n = 6;
    const rng = new Rng(12);
    const x = rng.normalArray(n * 16, 0, 1);
    const t = rng.uniformArray(n, 0, 1);
    const [f, s] = tf.tidy(() => {
      const xx = tf.tensor2d(x, [n, 16]);
      const tt = tf.tensor2d(t, [n, 1]);
      return [m.drift(xx, tt), m.score(xx, tt)].map((v) => Float32Array.from(v.dataSync()));
    });
    const feeds = { x: f32(x, [n, 16]), t: f32(t, [n, 1]) };
    expectClose('U-Net diffflow drift', (await runOnnx(exp.graphs.diffflow_drift as Uint8Array, feeds)).drift, f);
    expectClose('U-Net diffflow score', (await runOnnx(exp.graphs.diffflow_score as Uint8Array, feeds)).score, s);
    const rt = await loadOnnxDiffFlow(exp, { intraOpNumThreads: 1 });
    try {
      for (const mode of ['sde', 'ode'] as const) {
        const ref = reference(m, 4, mode === 'ode', G_VALUES);
        expectClose(
          `U-Net diffflow ${mode} stepwise vs diffflowSample`,
          (await rt.sample({ n: N, mode, seed: 4 })).samples,
          ref,
          1e-4,
          1e-3,
        );
        expectClose(
          `U-Net diffflow ${mode} loop vs diffflowSample`,
          (await rt.sample({ n: N, mode, seed: 4, engine: 'loop' })).samples,
          ref,
          1e-4,
          1e-3,
        );
      }
    } finally {
      await rt.dispose();
    }
    m.dispose();
  });

  it('other networks are refused with one clear TypeError', () => {
    const odd = new DiffFlowModel(new FourierMLP(2, { channels: 4, layers: 0 }), {
      dim: 2,
      apply: (x: tf.Tensor2D) => x,
      parameters: () => new Map(),
      dispose: () => {},
    } as never);
    expect(() => exportDiffFlowOnnx(odd, { grid: GRID, g: 1 })).toThrow(
      /only FourierMLP and U-Net networks can be exported to ONNX \(the score net is neither\)/,
    );
    (odd.driftNet as FourierMLP).dispose();
  });
});
