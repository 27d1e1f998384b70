/**
 * Flow-matching (velocity) export: for an MLP with a standardisation and a 4×4 U-Net, the
 * `velocity` graph equals v_θ = CFMModel.predict, `velocity_divergence` equals core's exact
 * divergence of it, the Loop samplers and the runtime's stepwise solves equal `cfmSample` with
 * the same seed (hence the same z₁), the runtime's log p equals `cfmLogProb` (fixed-step RK4 and
 * adaptive), trajectories end at the samples; SDE sampling is refused; the family exporter picks
 * these graphs; every file passes the structural ONNX checks and runs.
 */
import { rmSync } from 'node:fs';
import { divergence, initBackend, Rng } from '@nfdm/core';
import { type CFMModel, cfmLogProb, cfmSample } from '@nfdm/models';
import { loadExportedModel, loadOnnxCFM, loadOnnxModel, OnnxCFMModel, OnnxRuntimeError, readOnnxMetadata } from '@nfdm/runtime';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportCFMOnnx } from '../src/cfm.js';
import { exportAnyModel } from '../src/families.js';
import { CFM_CASES, cfmModel } from './cases.js';
import { checkOnnxFiles, expectClose, exportDir, f32, printErrorLog, runOnnx, saveFile } from './helpers.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const dir = exportDir();
const files: string[] = [];
const N = 6;

afterAll(() => {
  printErrorLog('flow matching: ONNX vs tfjs');
  rmSync(dir, { recursive: true, force: true });
});

const read = (x: tf.Tensor) => Float32Array.from(x.dataSync());

/** v_θ and core's exact divergence of it at (z, t), per-sample times. */
function reference(m: CFMModel, zArr: Float32Array, tArr: Float32Array) {
  return tf.tidy(() => {
    const z = tf.tensor2d(zArr, [N, m.dim]);
    const t = tf.tensor2d(tArr, [N, 1]);
    const div = divergence((_t, y) => m.predict(y as tf.Tensor2D, t), 0, z);
    return { velocity: read(m.predict(z, t)), divergence: read(div.divergence) };
  });
}

/** x = mean + std ⊙ z of a model-space sample (the Loop graphs' and the runtime's data space). */
function toData(z: Float32Array, s: { mean: number[]; std: number[] } | undefined, D: number): Float32Array {
  return s ? z.map((v, i) => s.mean[i % D] + s.std[i % D] * v) : z;
}

describe.each(CFM_CASES)('$label', ({ label, config }) => {
  const tag = label.split(' ').slice(0, 2).join('-');

  it('velocity and velocity_divergence equal v_θ and its exact divergence', async () => {
    const m = cfmModel(config, 7);
    const D = m.dim;
    const exp = exportCFMOnnx(m);
    expect(Object.keys(exp.graphs).sort()).toEqual([
      'sampler_euler_ode',
      'sampler_heun_ode',
      'sampler_rk4_ode',
      'velocity',
      'velocity_divergence',
    ]);
    for (const [name, bytes] of Object.entries(exp.graphs)) files.push(saveFile(dir, `${tag}.${name}.onnx`, bytes as Uint8Array));
    const rng = new Rng(3);
    const z = rng.normalArray(N * D, 0, 1.5);
    const t = rng.uniformArray(N, 0, 1);
    t[0] = 1;
    t[1] = 0;
    const ref = reference(m, z, t);
    const feeds = { z: f32(z, [N, D]), t: f32(t, [N, 1]) };
    expectClose(`${label}: velocity`, (await runOnnx(exp.graphs.velocity as Uint8Array, feeds)).velocity, ref.velocity);
    const vd = await runOnnx(exp.graphs.velocity_divergence as Uint8Array, feeds);
    expectClose(`${label}: velocity (divergence graph)`, vd.velocity, ref.velocity);
    // The divergence sums D terms of either sign: compare at the scale of its terms.
    const scale = Math.max(...ref.divergence.map(Math.abs), 1);
    expectClose(`${label}: exact divergence vs core`, vd.divergence, ref.divergence, 2e-5 * scale, 1e-4);
    m.dispose();
  });

  it('metadata: kind cfm, prior N(0, I) at t = 1, data at t = 0, config, standardisation, image', () => {
    const m = cfmModel(config, 7);
    const exp = exportAnyModel(m);
    expect(Object.keys(exp.graphs).sort()).toEqual([
      'sampler_euler_ode',
      'sampler_heun_ode',
      'sampler_rk4_ode',
      'velocity',
      'velocity_divergence',
    ]);
    const meta = readOnnxMetadata(exp.graphs.sampler_rk4_ode as Uint8Array);
    expect(meta).toMatchObject({ kind: 'cfm', forwardKind: 'cfm', dim: m.dim, priorStd: 1, tStart: 0, solver: 'rk4', mode: 'ode' });
    expect(meta.config).toMatchObject({ format: 'nfdm-cfm/1', flow: config.flow });
    expect(meta.standardization).toEqual(config.standardization);
    expect(meta.image).toEqual(config.velocity.network ? { height: 4, width: 4, channels: 1 } : undefined);
    expect(exportCFMOnnx(m, { maxDivergenceDim: 0, samplers: ['heun'] }).graphs).not.toHaveProperty('velocity_divergence');
    expect(Object.keys(exportCFMOnnx(m, { standardization: null, samplers: [] }).graphs)).toEqual(['velocity', 'velocity_divergence']);
    expect(readOnnxMetadata(exportCFMOnnx(m, { standardization: null, samplers: [] }).graphs.velocity as Uint8Array).standardization).toBe(
      undefined,
    );
    m.dispose();
  });

  it('Loop samplers and stepwise runtime solves equal cfmSample with the same seed', async () => {
    const m = cfmModel(config, 11);
    const D = m.dim;
    const rt = await loadExportedModel(exportCFMOnnx(m), { intraOpNumThreads: 1 });
    expect(rt).toBeInstanceOf(OnnxCFMModel);
    const s = config.standardization;
    try {
      for (const solver of ['euler', 'heun', 'rk4'] as const) {
        const r = cfmSample(m, { n: N, steps: 6, solver, seed: 4 });
        const ref = toData(read(r.samples), s, D);
        r.samples.dispose();
        const loop = await (rt as OnnxCFMModel).sample({ n: N, steps: 6, solver, seed: 4, engine: 'loop' });
        expectClose(`${label}: ${solver} Loop graph vs cfmSample`, loop.samples, ref, 1e-4, 1e-3);
        const stepwise = await (rt as OnnxCFMModel).sample({ n: N, steps: 6, solver, seed: 4 });
        expectClose(`${label}: ${solver} stepwise vs cfmSample`, stepwise.samples, ref, 1e-4, 1e-3);
        expect(stepwise).toMatchObject({ mode: 'ode', solver, engine: 'stepwise' });
      }
    } finally {
      await rt.dispose();
    }
    m.dispose();
  });

  it('the runtime’s log p (fixed-step RK4, divergence graph) equals cfmLogProb', async () => {
    const m = cfmModel(config, 5);
    const D = m.dim;
    const rt = await loadOnnxCFM(exportCFMOnnx(m, { samplers: [] }), { intraOpNumThreads: 1 });
    try {
      const x = new Rng(9).normalArray(N * D);
      const xt = tf.tensor2d(x, [N, D]);
      const ref = cfmLogProb(m, xt, { solver: 'rk4', steps: 4 }).logp;
      xt.dispose();
      const onnx = await rt.logProb(x, { steps: 4, solver: 'rk4', space: 'model' });
      expectClose(`${label}: log p (rk4, 4 steps) vs cfmLogProb`, onnx.logp, ref, 1e-4, 1e-5);
    } finally {
      await rt.dispose();
    }
    m.dispose();
  });
});

describe('flow-matching runtime', () => {
  const { config } = CFM_CASES[0];

  it('log p(x) equals cfmLogProb (fixed-step RK4 and adaptive), with the standardisation’s log-det in data space', async () => {
    const m = cfmModel(config, 5);
    const rt = await loadOnnxCFM(exportCFMOnnx(m), { intraOpNumThreads: 1 });
    try {
      const x = new Rng(9).normalArray(N * 2);
      const xt = tf.tensor2d(x, [N, 2]);
      const fixed = cfmLogProb(m, xt, { solver: 'rk4', steps: 20 }).logp;
      const adaptive = cfmLogProb(m, xt, { rtol: 1e-6, atol: 1e-6 }).logp;
      xt.dispose();
      const onnxFixed = await rt.logProb(x, { steps: 20, solver: 'rk4', space: 'model' });
      expectClose('cfm log p (rk4, 20 steps) vs cfmLogProb', onnxFixed.logp, fixed, 1e-4, 1e-4);
      const onnxAdaptive = await rt.logProb(x, { adaptive: { rtol: 1e-6, atol: 1e-6 }, space: 'model' });
      expectClose('cfm log p (adaptive) vs cfmLogProb (dopri5)', onnxAdaptive.logp, adaptive, 1e-3, 1e-4);
      const s = config.standardization as { mean: number[]; std: number[] };
      const data = x.map((v, i) => s.mean[i % 2] + s.std[i % 2] * v);
      const logDet = -Math.log(s.std[0]) - Math.log(s.std[1]);
      const inData = await rt.logProb(data, { steps: 20, solver: 'rk4' });
      expectClose(
        'cfm log p in data space = model space + log-det',
        inData.logp,
        onnxFixed.logp.map((v) => v + logDet),
        1e-4,
        1e-5,
      );
    } finally {
      await rt.dispose();
    }
    m.dispose();
  });

  it('trajectories start at the seed’s z₁ and end at the samples; SDE sampling and the drift are refused', async () => {
    const m = cfmModel(config, 5);
    const rt = await loadOnnxCFM(exportCFMOnnx(m), { intraOpNumThreads: 1 });
    try {
      const path = await rt.trajectory({ n: N, steps: 5, solver: 'heun', seed: 2, space: 'model' });
      expect(path.times).toHaveLength(6);
      expect(path.times[0]).toBe(1);
      expect(path.times[5]).toBe(0);
      expect(Array.from(path.states.subarray(0, N * 2))).toEqual(Array.from(new Rng(2).normalArray(N * 2)));
      const sample = await rt.sample({ n: N, steps: 5, solver: 'heun', seed: 2, space: 'model' });
      expect(Array.from(path.states.subarray(5 * N * 2))).toEqual(Array.from(sample.samples));
      expect(rt.capabilities).toMatchObject({ sample: true, logProb: true, sde: false, solvers: true, adaptive: true, transport: false });
      await expect(rt.sample({ n: 2, mode: 'sde' })).rejects.toThrow(/no reverse SDE/);
      await expect(rt.sample({ n: 2, solver: 'euler_maruyama' })).rejects.toThrow(OnnxRuntimeError);
      await expect(rt.drift(new Float32Array(2), 0.5)).rejects.toThrow(/no reverse SDE/);
      // the default is the ODE with Euler (diffusion models default to the SDE)
      expect(await rt.sample({ n: 2, steps: 2 })).toMatchObject({ mode: 'ode', solver: 'euler' });
      await expect(loadOnnxModel(exportCFMOnnx(m))).rejects.toThrow(/loadOnnxCFM/);
    } finally {
      await rt.dispose();
    }
    m.dispose();
  });

  it('every exported file is structurally valid and runs', async () => {
    await checkOnnxFiles(files);
  });
});
