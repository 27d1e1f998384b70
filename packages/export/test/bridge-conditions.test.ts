/**
 * Conditional NFBM bridges in ONNX: every bridge graph of a label- or vector-conditional bridge
 * (MLP and U-Net networks, processes with and without F(·, x0, x1, y)) equals the tfjs bridge with
 * the same condition rows, null rows (label K, a NaN row) included — the guided velocity and
 * reverse drift of models' bridge/guidance.ts at w = 0 and w = 2, and the one-call Euler samplers
 * (ODE and SDE) against explicit tfjs loops over BridgeModel.velocity / reverseDrift fed the same
 * noise; the metadata records the condition; every file is structurally valid. The runtime's
 * transport with a condition (or labels) and a guidance weight reproduces BridgeModel.sample on
 * both engines (also with a standardisation, in data space), and refuses ill-fitting conditions
 * with the RangeErrors of OnnxModel.sample.
 */
import { rmSync } from 'node:fs';
import { initBackend, Rng } from '@nfdm/core';
import { type BridgeModel, guidedBridgeReverseDrift, guidedBridgeVelocity } from '@nfdm/models';
import { loadOnnxBridge, readOnnxMetadata } from '@nfdm/runtime';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportBridgeOnnx } from '../src/bridge.js';
import { BRIDGE_CONDITION_CASES, BRIDGE_STD, type BridgeConditionCase, neuralBridge } from './cases.js';
import { checkOnnxFiles, expectClose, exportDir, f32, printErrorLog, runOnnx, saveFile } from './helpers.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const dir = exportDir();
const files: string[] = [];
const N = 5;
const STEPS = 6;
const WEIGHTS = [0, 2];

afterAll(() => {
  printErrorLog('conditional NFBM: ONNX vs tfjs');
  rmSync(dir, { recursive: true, force: true });
});

/** Random z, x1 [N, D] and per-sample times t [N, 1] (t = 1 and t = 0 included). */
function inputs(D: number, seed: number) {
  const rng = new Rng(seed);
  const z = rng.normalArray(N * D, 0, 1.5);
  const x1 = rng.normalArray(N * D, 0, 1.5);
  const t = rng.uniformArray(N, 0, 1);
  t[0] = 1;
  t[1] = 0;
  return { z, x1, t };
}

/** tfjs guided velocity, reverse drift and g at per-sample times, one entry per guidance weight. */
function reference(model: BridgeModel, z: Float32Array, t: Float32Array, x1: Float32Array, yArr: number[]) {
  const D = model.dim;
  return tf.tidy(() => {
    const zz = tf.tensor2d(z, [N, D]);
    const tt = tf.tensor2d(t, [N, 1]);
    const xx = tf.tensor2d(x1, [N, D]);
    const y = tf.tensor2d(yArr, [N, yArr.length / N]);
    const read = (x: tf.Tensor) => Float32Array.from(x.dataSync());
    const guided = WEIGHTS.map((w) => ({
      velocity: read(guidedBridgeVelocity(model, zz, tt, xx, y, w)),
      drift: read(guidedBridgeReverseDrift(model, zz, tt, xx, y, w)),
    }));
    return { guided, g: read(tf.sqrt(model.volatility.g2(tt))) };
  });
}

/** Explicit tfjs Euler (ODE) / Euler–Maruyama (SDE) over BridgeModel.velocity / reverseDrift at y and w, fed the given noise. */
function tfEuler(model: BridgeModel, x1: Float32Array, y: number[], w: number, startNoise: Float32Array, noise: Float32Array | null) {
  const D = model.dim;
  return tf.tidy(() => {
    const src = tf.tensor2d(x1, [N, D]);
    const cond = tf.tensor2d(y, [N, y.length / N]);
    let z = tf.add(src, tf.mul(model.process.delta, tf.tensor2d(startNoise, [N, D]))) as tf.Tensor;
    const h = -1 / STEPS;
    for (let k = 0; k < STEPS; k++) {
      const t = 1 + k * h;
      if (!noise) {
        z = tf.add(z, tf.mul(model.velocity(z, t, src, cond, w), h));
      } else {
        const xi = tf.tensor2d(noise.subarray(k * N * D, (k + 1) * N * D), [N, D]);
        const g = tf.sqrt(model.volatility.g2(tf.fill([1, 1], t)));
        const drift = model.reverseDrift(z, t, src, cond, w);
        z = tf.add(tf.add(z, tf.mul(drift, h)), tf.mul(g, tf.mul(xi, Math.sqrt(Math.abs(h)))));
      }
    }
    return Float32Array.from(z.dataSync());
  });
}

/** The field graphs at per-sample times vs bridge/guidance.ts, for every guidance weight. */
async function checkFields(c: BridgeConditionCase, model: BridgeModel, graphs: Record<string, Uint8Array>) {
  const D = model.dim;
  const { z, x1, t } = inputs(D, 31 + D);
  const ref = reference(model, z, t, x1, c.y);
  // guidance changes the field (the test would not see a graph that ignored it otherwise)
  const shift = ref.guided[1].velocity.reduce((m, v, i) => Math.max(m, Math.abs(v - ref.guided[0].velocity[i])), 0);
  expect(shift).toBeGreaterThan(1e-3);
  for (const [k, w] of WEIGHTS.entries()) {
    const feeds = {
      z: f32(z, [N, D]),
      t: f32(t, [N, 1]),
      source: f32(x1, [N, D]),
      condition: f32(Float32Array.from(c.y), [N, c.y.length / N]),
      guidance: f32(Float32Array.of(w), [1]),
    };
    const vel = await runOnnx(graphs.bridge_velocity, feeds);
    expectClose(`${c.label}: velocity w=${w}`, vel.velocity, ref.guided[k].velocity);
    const dr = await runOnnx(graphs.bridge_drift, feeds);
    expectClose(`${c.label}: drift w=${w}`, dr.drift, ref.guided[k].drift);
    expectClose(`${c.label}: g`, dr.g, ref.g);
  }
}

/** The Loop samplers vs explicit tfjs loops with the same noise, for every guidance weight. */
async function checkSamplers(c: BridgeConditionCase, model: BridgeModel, graphs: Record<string, Uint8Array>) {
  const D = model.dim;
  const { x1 } = inputs(D, 41 + D);
  const rng = new Rng(43);
  const startNoise = rng.normalArray(N * D);
  const noise = rng.normalArray(STEPS * N * D);
  for (const w of WEIGHTS) {
    const common = {
      source: f32(x1, [N, D]),
      start_noise: f32(startNoise, [N, D]),
      condition: f32(Float32Array.from(c.y), [N, c.y.length / N]),
      guidance: f32(Float32Array.of(w), [1]),
    };
    const steps = new ort.Tensor('int64', BigInt64Array.from([BigInt(STEPS)]), [1]);
    const ode = await runOnnx(graphs.bridge_sampler_euler_ode, { ...common, steps });
    expectClose(`${c.label}: sampler euler ODE w=${w}`, ode.samples, tfEuler(model, x1, c.y, w, startNoise, null));
    const sde = await runOnnx(graphs.bridge_sampler_euler_sde, { ...common, noise: f32(noise, [STEPS, N, D]) });
    expectClose(`${c.label}: sampler euler SDE w=${w}`, sde.samples, tfEuler(model, x1, c.y, w, startNoise, noise));
  }
}

describe('conditional bridge graphs equal the tfjs bridge', () => {
  for (const c of BRIDGE_CONDITION_CASES) {
    it(c.label, async () => {
      const model = c.make();
      const exp = exportBridgeOnnx(model);
      const graphs = exp.graphs as Record<string, Uint8Array>;
      const spec = (model.condition as NonNullable<BridgeModel['condition']>).spec;
      const condition = spec.kind === 'label' ? { kind: 'label', classes: spec.classes } : { kind: 'vector', dim: spec.dim };
      expect(exp.metadata.condition).toEqual(condition);
      for (const [name, bytes] of Object.entries(graphs)) {
        files.push(saveFile(dir, `${model.dim}.${spec.kind}.${name}.onnx`, bytes));
        const meta = readOnnxMetadata(bytes);
        expect(meta.condition).toEqual(condition);
        const names = meta.signature.inputs.map((s) => s.name);
        expect(names.slice(-2)).toEqual(['condition', 'guidance']);
      }
      await checkFields(c, model, graphs);
      await checkSamplers(c, model, graphs);
      model.dispose();
    });
  }

  it('every file passes the structural checks', async () => {
    expect(files.length).toBe(4 * BRIDGE_CONDITION_CASES.length);
    await checkOnnxFiles(files);
  });
});

describe('runtime: conditional transport', () => {
  it('transport with a condition and guidance reproduces BridgeModel.sample (ODE and SDE, both engines, w = 0 and 2)', async () => {
    for (const c of BRIDGE_CONDITION_CASES.slice(0, 2)) {
      const model = c.make();
      const D = model.dim;
      const rt = await loadOnnxBridge(exportBridgeOnnx(model), { intraOpNumThreads: 1 });
      expect(rt.condition).toEqual(exportBridgeOnnx(model, { graphs: ['bridge_velocity'] }).metadata.condition);
      const { x1 } = inputs(D, 51 + D);
      const w1 = c.y.length / N;
      // the runtime takes vector conditions as rows too
      const condition = w1 === 1 ? c.y : Array.from({ length: N }, (_, i) => c.y.slice(i * w1, (i + 1) * w1));
      for (const mode of ['ode', 'sde'] as const) {
        for (const guidance of WEIGHTS) {
          const r = model.sample(tf.tensor2d(x1, [N, D]), { mode, steps: STEPS, seed: 5, condition: tf.tensor2d(c.y, [N, w1]), guidance });
          const ref = Float32Array.from(r.samples.dataSync());
          r.samples.dispose();
          const what = `${c.label}: transport ${mode} w=${guidance}`;
          const stepwise = await rt.transport(x1, { mode, steps: STEPS, seed: 5, condition, guidance });
          expectClose(`${what} stepwise vs BridgeModel.sample`, stepwise.samples, ref);
          const loop = await rt.transport(x1, { mode, steps: STEPS, seed: 5, condition, guidance, engine: 'loop' });
          expectClose(`${what} loop vs BridgeModel.sample`, loop.samples, ref);
          if (w1 === 1) {
            const labels = await rt.transport(x1, { mode, steps: STEPS, seed: 5, labels: c.y, guidance });
            expect(labels.samples).toEqual(stepwise.samples);
          }
        }
      }
      // one condition for every source equals that condition repeated
      const one = condition[2];
      const repeated = Array.from({ length: N }, () => one);
      expect((await rt.transport(x1, { mode: 'ode', steps: 3, condition: [one] as never })).samples).toEqual(
        (await rt.transport(x1, { mode: 'ode', steps: 3, condition: repeated as never })).samples,
      );
      await rt.dispose();
      model.dispose();
    }
  });

  it('with a standardisation: data-space sources and samples, the Loop graph and the stepwise solve agree with BridgeModel.sample', async () => {
    const c = BRIDGE_CONDITION_CASES[1];
    const model = c.make();
    const rt = await loadOnnxBridge(exportBridgeOnnx(model, { standardization: BRIDGE_STD }));
    const { x1 } = inputs(3, 61);
    const data = x1.map((v, i) => v * BRIDGE_STD.std[i % 3] + BRIDGE_STD.mean[i % 3]);
    const options = { mode: 'sde', steps: STEPS, seed: 7, condition: c.y, guidance: 2 } as const;
    const stepwise = await rt.transport(data, options);
    const loop = await rt.transport(data, { ...options, engine: 'loop' });
    const r = model.sample(tf.tensor2d(x1, [N, 3]), { ...options, condition: tf.tensor2d(c.y, [N, 2]) });
    const ref = Array.from(r.samples.dataSync(), (v, i) => v * BRIDGE_STD.std[i % 3] + BRIDGE_STD.mean[i % 3]);
    r.samples.dispose();
    expectClose('standardised conditional transport: stepwise vs BridgeModel.sample (data space)', stepwise.samples, ref);
    expectClose('standardised conditional transport: loop vs BridgeModel.sample (data space)', loop.samples, ref);
    await rt.dispose();
    model.dispose();
  });

  it('the field methods take the condition and guidance; refused conditions throw the RangeErrors of sample', async () => {
    const lab = await loadOnnxBridge(exportBridgeOnnx(BRIDGE_CONDITION_CASES[0].make()));
    const vec = await loadOnnxBridge(exportBridgeOnnx(BRIDGE_CONDITION_CASES[1].make()));
    const unc = await loadOnnxBridge(exportBridgeOnnx(neuralBridge()));
    const z = Float32Array.of(0.1, -0.2, 0.3, 0.4);
    const plain = await lab.velocity(z, 0.5, z, { condition: [0, 1] });
    const guided = await lab.velocity(z, 0.5, z, { condition: [0, 1], guidance: 2 });
    expect(guided).not.toEqual(plain);
    expect((await lab.drift(z, 0.5, z, { condition: [0, 1], guidance: 2 })).drift.length).toBe(4);
    const src = [
      [0, 1],
      [2, -1],
    ];
    const base = { steps: 2 };
    const rejects = (p: Promise<unknown>, message: RegExp) =>
      expect(p).rejects.toThrow(expect.objectContaining({ name: 'OnnxConditionError', message: expect.stringMatching(message) }));
    await expect(lab.transport(src, base)).rejects.toBeInstanceOf(RangeError);
    await rejects(lab.transport(src, base), /conditional: give a condition/);
    await rejects(lab.transport(src, { ...base, labels: 4 }), /labels must be integers in 0…3 .* got 4/);
    await rejects(lab.transport(src, { ...base, labels: [0, 1.5] }), /got 1.5/);
    await rejects(lab.transport(src, { ...base, labels: [0, 1, 2] }), /3 rows for 2 sources/);
    await rejects(lab.transport(src, { ...base, labels: 1, condition: 1 }), /not both/);
    await rejects(lab.transport(src, { ...base, labels: 1, guidance: Number.NaN }), /finite number/);
    await rejects(lab.transport(src, { ...base, labels: 1, guidance: Number.POSITIVE_INFINITY, engine: 'loop' }), /finite number/);
    await rejects(vec.transport([[0, 1, 2]], { ...base, condition: [1, 2, 3] }), /multiple of 2 values/);
    await rejects(vec.transport([[0, 1, 2]], { ...base, labels: 1 }), /not labels/);
    await rejects(unc.transport(src, { ...base, condition: 1 }), /unconditional/);
    await rejects(unc.transport(src, { ...base, guidance: 1 }), /needs a conditional model/);
    await rejects(lab.velocity(z, 0.5, z), /conditional: give a condition/);
    await rejects(lab.drift(z, 0.5, z, { condition: 1, guidance: Number.NaN }), /finite number/);
    await Promise.all([lab, vec, unc].map((m) => m.dispose()));
  });
});
