/**
 * Parity: every exported graph, run by onnxruntime, equals the tfjs model within atol 1e-5 /
 * rtol 1e-4 on random inputs (per-sample times), for NFDM (SELU; tanh/silu/gelu-tanh; every
 * activation), fixed schedules (all six) and NDM; the divergence graph equals core's exact
 * divergence of the velocity; every file passes the structural ONNX checks and runs in
 * onnxruntime (checkOnnxFiles; onnx.checker itself runs in the system suite).
 */
import { rmSync } from 'node:fs';
import { type ActivationName, divergence, initBackend, RandomFourierEmbedding, SinusoidalEmbedding, TimeMLP } from '@nfdm/core';
import { type DiffusionModel, reverseDrift, velocity } from '@nfdm/models';
import { readOnnxMetadata } from '@nfdm/runtime';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emitTimeMLP } from '../src/emit/nets.js';
import {
  exportDrift,
  exportForwardProcess,
  exportOnnx,
  exportPredictor,
  exportVelocity,
  exportVelocityDivergence,
  exportVolatility,
} from '../src/export.js';
import { buildModel, Graph } from '../src/onnx/builder.js';
import { NFDM_EXPORT_VERSION } from '../src/version.js';
import { MAIN_CASES } from './cases.js';
import {
  checkOnnxFiles,
  configOf,
  errorLog,
  expectClose,
  exportDir,
  f32,
  makeModel,
  printErrorLog,
  randomInputs,
  runOnnx,
  saveFile,
  smallConfig,
} from './helpers.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const dir = exportDir();
const files: string[] = [];
const N = 24;

afterAll(() => {
  printErrorLog('ONNX vs tfjs parity');
  rmSync(dir, { recursive: true, force: true });
});

/** tfjs reference values at per-sample times (what DiffusionModel computes, with t as a column). */
function reference(model: DiffusionModel, zArr: Float32Array, tArr: Float32Array) {
  const D = model.dim;
  return tf.tidy(() => {
    const z = tf.tensor2d(zArr, [N, D]);
    const tt = tf.tensor2d(tArr, [N, 1]);
    const field = (y: tf.Tensor) => velocity(model.forward.params(model.predictor.predict(y, tt), tt, 1), y);
    const xhat = model.predictor.predict(z, tt);
    const p = model.forward.params(xhat, tt, 1);
    const g2 = model.volatility.g2(tt);
    const fp = model.forward.params(z, tt, 1); // forward graph evaluated at x = z
    const div = divergence((_t, y) => field(y), 0, z);
    const read = (x: tf.Tensor) => Float32Array.from(x.dataSync());
    return {
      xhat: read(xhat),
      velocity: read(velocity(p, z)),
      drift: read(reverseDrift(p, z, g2)),
      g: read(tf.sqrt(g2)),
      mu: read(fp.mu),
      sigma: read(fp.sigma),
      dmu: read(fp.dmu as tf.Tensor),
      dsigma: read(fp.dsigma as tf.Tensor),
      divergence: read(div.divergence),
      sigmaShape: fp.sigma.shape,
    };
  });
}

async function checkModel(label: string, model: DiffusionModel, graphs: 'all' | 'fields' = 'all') {
  const D = model.dim;
  const lo = model.forward.start.t;
  // Schedules with α₁ = 0 (cosine, FM-OT) make the matched volatility singular at t = 1
  // (g² = 2σ(σ̇ − σα̇/α) = ±∞ or NaN in tfjs and ONNX alike), so their times stop short of 1;
  // every other case includes t = 1 exactly.
  const schedule = model.forward.kind === 'fixed' ? (model.forward.toConfig().schedule as { name: string }).name : '';
  const singularAtOne = model.volatility.kind === 'matched' && (schedule === 'cosine' || schedule === 'fm-ot');
  const { z, t } = randomInputs(N, D, lo + 0.005, singularAtOne ? 0.99 : 1);
  if (!singularAtOne) t[0] = 1;
  const ref = reference(model, z, t);
  const zt = { z: f32(z, [N, D]), t: f32(t, [N, 1]) };
  const save = (name: string, bytes: Uint8Array) => files.push(saveFile(dir, `${label.replace(/[^a-z0-9]+/gi, '_')}.${name}.onnx`, bytes));

  const drift = exportDrift(model);
  save('drift', drift);
  const d = await runOnnx(drift, zt);
  expectClose(`${label}: drift fB`, d.drift, ref.drift);
  expectClose(`${label}: drift graph g`, d.g, ref.g);
  const vel = exportVelocity(model);
  save('velocity', vel);
  expectClose(`${label}: velocity f`, (await runOnnx(vel, zt)).velocity, ref.velocity);
  const vd = exportVelocityDivergence(model);
  save('velocity_divergence', vd);
  const v = await runOnnx(vd, zt);
  expectClose(`${label}: velocity (divergence graph)`, v.velocity, ref.velocity);
  expectClose(`${label}: divergence vs core exact`, v.divergence, ref.divergence);
  if (graphs === 'fields') return;

  const pred = exportPredictor(model);
  save('predictor', pred);
  expectClose(`${label}: predictor x̂`, (await runOnnx(pred, zt)).xhat, ref.xhat);
  const fwd = exportForwardProcess(model);
  save('forward', fwd);
  const p = await runOnnx(fwd, { x: zt.z, t: zt.t });
  expectClose(`${label}: forward μ`, p.mu, ref.mu);
  expectClose(`${label}: forward σ`, p.sigma, ref.sigma);
  expectClose(`${label}: forward ∂μ/∂t`, p.dmu, ref.dmu);
  expectClose(`${label}: forward ∂σ/∂t`, p.dsigma, ref.dsigma);
  const vol = exportVolatility(model);
  save('volatility', vol);
  expectClose(`${label}: volatility g`, (await runOnnx(vol, { t: zt.t })).g, ref.g);
}

describe('graphs equal tfjs', () => {
  for (const { label, config } of MAIN_CASES) {
    it(label, async () => {
      const model = makeModel(config);
      await checkModel(label, model);
      model.dispose();
    });
  }

  it('every activation (value, time, spatial and mixed tangents)', async () => {
    const acts: ActivationName[] = ['selu', 'silu', 'tanh', 'softplus', 'gelu-tanh', 'sigmoid', 'relu', 'identity'];
    for (const act of acts) {
      const model = makeModel(
        smallConfig({
          forward: { kind: 'nfdm', hidden: [8, 8], activation: act },
          predictor: { hidden: [8], activation: act },
          volatility: { kind: 'neural', hidden: [4], activation: act },
        }),
        1.5,
      );
      await checkModel(`act ${act}`, model, 'fields');
      model.dispose();
    }
  });

  it('every fixed schedule', async () => {
    for (const name of ['vp', 'subvp', 've', 'cosine', 'fm-ot', 'linear-logsnr'] as const) {
      const model = makeModel(
        smallConfig({
          forward: { kind: 'fixed', schedule: { name } },
          predictor: { hidden: [8], activation: 'selu' },
          volatility: { kind: 'matched', schedule: { name } },
        }),
      );
      await checkModel(`schedule ${name}`, model);
      model.dispose();
    }
  });

  it('the divergence graph equals core divergence() of model.velocity at a common t', async () => {
    const model = makeModel(MAIN_CASES[1].config);
    const { z } = randomInputs(N, 2, 0, 1, 11);
    for (const t of [0, 0.3, 0.9]) {
      const ref = tf.tidy(() =>
        Float32Array.from(divergence((tt, y) => model.velocity(y, tt), t, tf.tensor2d(z, [N, 2])).divergence.dataSync()),
      );
      const out = await runOnnx(exportVelocityDivergence(model), { z: f32(z, [N, 2]), t: f32(new Float32Array(N).fill(t), [N, 1]) });
      expectClose(`divergence of model.velocity, t = ${t}`, out.divergence, ref);
    }
    model.dispose();
  });

  it('TimeMLP with sinusoidal / random Fourier embeddings (value and ∂/∂t)', async () => {
    const nets = [
      new TimeMLP({
        dataDim: 2,
        outDim: 3,
        hidden: [8, 8],
        activation: 'silu',
        embedding: new SinusoidalEmbedding({ dim: 6, trainablePhase: true }),
        rng: 3,
      }),
      new TimeMLP({
        dataDim: 0,
        outDim: 2,
        hidden: [8],
        activation: 'tanh',
        embedding: new RandomFourierEmbedding({ dim: 4, scale: 2, rng: 4 }),
        rng: 5,
      }),
    ];
    tf.tidy(() => {
      const phase = (nets[0].embedding as SinusoidalEmbedding).phase;
      phase?.assign(tf.tensor1d([0.3, -0.2, 0.1]));
    });
    const { z, t } = randomInputs(N, 2, 0, 1, 5);
    for (const [i, net] of nets.entries()) {
      const g = new Graph('timemlp');
      const x = net.options.dataDim > 0 ? g.input('x', ['N', 2]) : null;
      const tt = g.input('t', ['N', 1]);
      const jet = emitTimeMLP(g, net, { x, t: tt, timeTangent: true }, 'net');
      g.output('value', jet.v, ['N', net.options.outDim]);
      g.output('dt', g.add(jet.t as string, g.mul(0, jet.v)), ['N', net.options.outDim]);
      const feeds: Record<string, ReturnType<typeof f32>> = { t: f32(t, [N, 1]) };
      if (x) feeds.x = f32(z, [N, 2]);
      const out = await runOnnx(buildModel(g), feeds);
      const [value, dt] = tf.tidy(() =>
        net
          .jet(x ? tf.tensor2d(z, [N, 2]) : null, tf.tensor2d(t, [N, 1]), 1)
          .parts()
          .map((p) => Float32Array.from(p.dataSync())),
      );
      expectClose(`TimeMLP ${i} value`, out.value, value);
      expectClose(`TimeMLP ${i} ∂/∂t`, out.dt, dt);
      net.dispose();
    }
  });
});

describe('files', () => {
  it('full exports (samplers included) carry the metadata', () => {
    for (const { label, config } of MAIN_CASES.slice(2, 4)) {
      const model = makeModel(config);
      const exp = exportOnnx(model);
      for (const [name, bytes] of Object.entries(exp.graphs)) {
        if (!bytes) continue;
        files.push(saveFile(dir, `full_${label.replace(/[^a-z0-9]+/gi, '_')}.${name}.onnx`, bytes));
        const meta = readOnnxMetadata(bytes);
        expect(meta.graph).toBe(name);
        expect(meta.dim).toBe(config.dim);
        expect(meta.version).toBe(NFDM_EXPORT_VERSION);
        expect(meta.config).toEqual(configOf(model));
        expect(meta.standardization).toEqual(config.standardization);
      }
      model.dispose();
    }
  });

  // onnx.checker (full_check) and the metadata round trip through Python's onnx: system suite.
  it('every exported file passes the structural checks and runs in onnxruntime', async () => {
    expect(files.length).toBeGreaterThan(60);
    await checkOnnxFiles(files);
    expect(errorLog.length).toBeGreaterThan(0);
  });
});
