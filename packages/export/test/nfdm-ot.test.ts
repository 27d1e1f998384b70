/**
 * NFDM-OT: a DiffusionModel with the learned 'nfdm' forward process and a constant volatility,
 * trained a few steps on the OT objective (velocity matching + curvature) and sampled with the
 * probability-flow ODE. Its export (velocity graph, one-call ODE samplers, runtime) matches the
 * tfjs model.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, Rng } from '@nfdm/core';
import { ConstantVolatility, DiffusionModel, NeuralGaussianProcess, otLoss, Predictor } from '@nfdm/models';
import { loadOnnxModel, readOnnxMetadata } from '@nfdm/runtime';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportOnnx, writeOnnxExport } from '../src/export.js';
import { checkOnnxFiles, errorLog, expectClose, exportDir, f32, printErrorLog, runOnnx, saveFile } from './helpers.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const dir = exportDir();
const N = 32;
const STEPS = 10;

afterAll(() => {
  printErrorLog('NFDM-OT: ONNX vs tfjs');
  rmSync(dir, { recursive: true, force: true });
});

/** An NFDM-OT model: nfdm forward process, ConstantVolatility(1), a few Adam steps of otLoss on a toy set. */
function nfdmOt(): DiffusionModel {
  const model = new DiffusionModel(
    new NeuralGaussianProcess({ dim: 2, hidden: [16, 16], activation: 'selu', rng: 1 }),
    new Predictor({ dim: 2, hidden: [16, 16], activation: 'selu', rng: 2 }),
    new ConstantVolatility(1),
  );
  const rng = new Rng(3);
  const optimizer = tf.train.adam(1e-2);
  const vars = [...model.parameters().values()].filter((v) => v.trainable);
  for (let step = 0; step < 5; step++) {
    const x = tf.tensor2d(
      rng.normalArray(64 * 2, 0, 1).map((v, i) => v * 0.3 + (i % 2 === 0 ? 1 : -1)),
      [64, 2],
    );
    const noise = model.drawNoise(rng, 64);
    optimizer.minimize(() => otLoss(model, x, noise, { curvatureWeight: 0.1 }), false, vars);
    tf.dispose([x, noise.t, noise.eps]);
  }
  optimizer.dispose();
  return model;
}

describe('NFDM-OT export', () => {
  it('velocity graph equals DiffusionModel.velocity; ODE Loop samplers equal DiffusionModel.sample(mode ode)', async () => {
    const model = nfdmOt();
    const exp = exportOnnx(model, { components: false });
    const meta = readOnnxMetadata(exp.graphs.velocity as Uint8Array);
    expect(meta).toMatchObject({ kind: 'nfdm', forwardKind: 'nfdm', volatility: { kind: 'constant', value: 1 } });
    const files = Object.entries(exp.graphs).map(([name, bytes]) => saveFile(dir, `ot.${name}.onnx`, bytes as Uint8Array));
    await checkOnnxFiles(files);

    const z = new Rng(5).normalArray(N * 2, 0, 1.5);
    for (const t of [1, 0.7, 0.25, model.forward.start.t]) {
      const ref = tf.tidy(() => Float32Array.from(model.velocity(tf.tensor2d(z, [N, 2]), t).dataSync()));
      const out = await runOnnx(exp.graphs.velocity as Uint8Array, { z: f32(z, [N, 2]), t: f32(new Float32Array(N).fill(t), [N, 1]) });
      expectClose(`nfdm-ot velocity t=${t}`, out.velocity, ref);
    }
    for (const solver of ['euler', 'heun', 'rk4'] as const) {
      const r = model.sample({ n: N, steps: STEPS, solver, mode: 'ode', seed: 9 });
      const ref = Float32Array.from(r.samples.dataSync());
      r.samples.dispose();
      const out = await runOnnx(exp.graphs[`sampler_${solver}_ode`] as Uint8Array, {
        prior_noise: f32(new Rng(9).normalArray(N * 2), [N, 2]),
        steps: new ort.Tensor('int64', BigInt64Array.from([BigInt(STEPS)]), [1]),
      });
      expectClose(`nfdm-ot sampler_${solver}_ode vs DiffusionModel.sample`, out.samples, ref);
    }

    const out = join(dir, 'ot');
    writeOnnxExport(exp, out);
    const rt = await loadOnnxModel(out, { intraOpNumThreads: 1 });
    for (const engine of ['stepwise', 'loop'] as const) {
      const got = await rt.sample({ n: N, steps: STEPS, solver: 'euler', mode: 'ode', seed: 9, engine });
      const r = model.sample({ n: N, steps: STEPS, solver: 'euler', mode: 'ode', seed: 9 });
      expectClose(`nfdm-ot runtime ${engine} vs DiffusionModel.sample`, got.samples, r.samples.dataSync());
      r.samples.dispose();
    }
    await rt.dispose();
    model.dispose();
    expect(errorLog.length).toBe(9);
  });

  it('records the objective it is given as nfdm.objective, which the runtime reads as fewStep', async () => {
    const model = nfdmOt();
    const plain = { components: false, samplers: [] };
    const objective = { kind: 'ot', curvatureWeight: 0.1 } as const;
    const exp = exportOnnx(model, { ...plain, objective });
    for (const bytes of Object.values(exp.graphs)) expect(readOnnxMetadata(bytes as Uint8Array).objective).toEqual(objective);
    const out = join(dir, 'ot-objective');
    writeOnnxExport(exp, out);
    const rt = await loadOnnxModel(out, { intraOpNumThreads: 1 });
    expect(rt.metadata.objective).toEqual(objective);
    expect(rt.capabilities.fewStep).toBe(true);
    await rt.dispose();
    // not told: nothing recorded, not few-step (a model does not know how it was trained)
    const unknown = exportOnnx(model, plain);
    expect(readOnnxMetadata(unknown.graphs.velocity as Uint8Array).objective).toBeUndefined();
    const nelbo = exportOnnx(model, { ...plain, objective: { kind: 'nelbo' } });
    expect(readOnnxMetadata(nelbo.graphs.velocity as Uint8Array).objective).toEqual({ kind: 'nelbo' });
    expect(() => exportOnnx(model, { ...plain, objective: { kind: 'ot', curvatureWeight: -1 } })).toThrow(RangeError);
    model.dispose();
  });
});
