/**
 * U-Net networks in ONNX (emit/unet.ts): every exported graph of a diffusion model whose
 * predictor and learned forward process are U-Nets equals the tfjs model — values, time
 * tangents (μ̇, σ̇ through the forward U-Net), spatial tangents (the exact divergence on a 4×4
 * image, D = 16, against core's divergence) and their mixed ∂²/∂s∂t (NFDM's forward process
 * inside the divergence) — for both layouts, attention, FiLM, several input/output maps; the
 * Loop samplers reproduce DiffusionModel.sample; every file passes the structural checks and
 * runs in onnxruntime.
 */
import { rmSync } from 'node:fs';
import { divergence, initBackend, TimeUNet, type TimeUNetOptions } from '@nfdm/core';
import { type DiffusionModel, reverseDrift, velocity } from '@nfdm/models';
import { loadOnnxModel, readOnnxMetadata } from '@nfdm/runtime';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emitTimeNetwork } from '../src/emit/nets.js';
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
import { perturb, UNET_CASES, unetModel } from './cases.js';
import { checkOnnxFiles, expectClose, exportDir, f32, printErrorLog, randomInputs, runOnnx, saveFile } from './helpers.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const dir = exportDir();
const files: string[] = [];
const N = 5;

afterAll(() => {
  printErrorLog('U-Net ONNX vs tfjs');
  rmSync(dir, { recursive: true, force: true });
});

/** tfjs values of every graph at per-sample times. */
function reference(m: DiffusionModel, zArr: Float32Array, tArr: Float32Array) {
  const D = m.dim;
  return tf.tidy(() => {
    const z = tf.tensor2d(zArr, [N, D]);
    const t = tf.tensor2d(tArr, [N, 1]);
    const field = (y: tf.Tensor) => velocity(m.forward.params(m.predictor.predict(y, t), t, 1), y);
    const p = m.forward.params(m.predictor.predict(z, t), t, 1);
    const fp = m.forward.params(z, t, 1);
    const read = (x: tf.Tensor) => Float32Array.from(x.dataSync());
    return {
      xhat: read(m.predictor.predict(z, t)),
      velocity: read(velocity(p, z)),
      drift: read(reverseDrift(p, z, m.volatility.g2(t))),
      g: read(tf.sqrt(m.volatility.g2(t))),
      mu: read(fp.mu),
      sigma: read(tf.mul(fp.sigma, tf.onesLike(fp.mu))),
      dmu: read(fp.dmu as tf.Tensor),
      dsigma: read(tf.mul(fp.dsigma as tf.Tensor, tf.onesLike(fp.mu))),
      divergence: D <= 16 ? read(divergence((_t, y) => field(y), 0, z).divergence) : new Float32Array(0),
    };
  });
}

/** A [N, w] output broadcast to [N, D] (σ of fixed schedules is one column). */
function widen(x: Float32Array, D: number): Float32Array {
  if (x.length === N * D) return x;
  return Float32Array.from({ length: N * D }, (_, i) => x[Math.floor(i / D)]);
}

describe('U-Net diffusion models: every graph equals tfjs', () => {
  for (const { label, config } of UNET_CASES) {
    it(label, async () => {
      const m = unetModel(config, 7);
      const D = m.dim;
      const { z, t } = randomInputs(N, D, 0.02, 1, 3);
      t[0] = 1;
      const ref = reference(m, z, t);
      const zt = { z: f32(z, [N, D]), t: f32(t, [N, 1]) };
      const save = (name: string, bytes: Uint8Array) => {
        files.push(saveFile(dir, `${label.split(' ')[0]}.${name}.onnx`, bytes));
        return bytes;
      };
      expectClose(`${label}: predictor`, (await runOnnx(save('predictor', exportPredictor(m)), zt)).xhat, ref.xhat);
      const fwd = await runOnnx(save('forward', exportForwardProcess(m)), { x: zt.z, t: zt.t });
      expectClose(`${label}: μ`, fwd.mu, ref.mu);
      expectClose(`${label}: σ`, widen(fwd.sigma, D), ref.sigma);
      expectClose(`${label}: ∂μ/∂t`, fwd.dmu, ref.dmu);
      expectClose(`${label}: ∂σ/∂t`, widen(fwd.dsigma, D), ref.dsigma);
      expectClose(`${label}: velocity`, (await runOnnx(save('velocity', exportVelocity(m)), zt)).velocity, ref.velocity);
      const drift = await runOnnx(save('drift', exportDrift(m)), zt);
      expectClose(`${label}: drift`, drift.drift, ref.drift);
      expectClose(`${label}: g`, drift.g, ref.g);
      expectClose(`${label}: volatility`, (await runOnnx(save('volatility', exportVolatility(m)), { t: zt.t })).g, ref.g);
      if (ref.divergence.length > 0) {
        const vd = await runOnnx(save('velocity_divergence', exportVelocityDivergence(m)), zt);
        expectClose(`${label}: velocity (divergence graph)`, vd.velocity, ref.velocity);
        // The divergence sums D terms of either sign: compare at the scale of its terms.
        const scale = Math.max(...ref.divergence.map(Math.abs), 1);
        expectClose(`${label}: exact divergence vs core`, vd.divergence, ref.divergence, 2e-5 * scale, 1e-4);
      }
      m.dispose();
    });
  }

  it('the Loop samplers and the stepwise runtime reproduce DiffusionModel.sample', async () => {
    const m = unetModel(UNET_CASES[0].config, 11);
    const rt = await loadOnnxModel(
      exportOnnx(m, {
        components: false,
        samplers: [
          { solver: 'heun', mode: 'ode' },
          { solver: 'euler', mode: 'sde' },
        ],
      }),
      {
        intraOpNumThreads: 1,
      },
    );
    try {
      for (const [solver, mode, core] of [
        ['heun', 'ode', 'heun'],
        ['euler-maruyama', 'sde', 'euler_maruyama'],
      ] as const) {
        const r = m.sample({ n: N, steps: 6, solver: core, mode, seed: 4 });
        const ref = Float32Array.from(r.samples.dataSync());
        r.samples.dispose();
        const loop = await rt.sample({ n: N, steps: 6, solver, mode, seed: 4, engine: 'loop' });
        expectClose(`${solver}/${mode} Loop graph vs DiffusionModel.sample`, loop.samples, ref, 1e-4, 1e-3);
        const stepwise = await rt.sample({ n: N, steps: 6, solver, mode, seed: 4 });
        expectClose(`${solver}/${mode} stepwise vs DiffusionModel.sample`, stepwise.samples, ref, 1e-4, 1e-3);
      }
    } finally {
      await rt.dispose();
    }
    m.dispose();
  });

  it('every exported file is structurally valid and runs', async () => {
    await checkOnnxFiles(files);
  });
});

describe('a TimeUNet as ONNX ops: value and ∂U/∂t equal core’s jet', () => {
  const cases: Array<[string, TimeUNetOptions]> = [
    [
      'adm, attention at 4, 2 input maps, 2 output maps',
      {
        image: { height: 8, width: 4, channels: 1 },
        base: 8,
        multipliers: [1, 2],
        groups: 4,
        attentionResolutions: [4],
        inMaps: 2,
        outMaps: 2,
      },
    ],
    [
      'compact, FiLM, 3 levels, 3 channels',
      {
        image: { height: 8, width: 8, channels: 3 },
        base: 8,
        multipliers: [1, 1, 2],
        groups: 2,
        layout: 'compact',
        scaleShift: true,
        numResBlocks: 2,
      },
    ],
  ];
  for (const [label, options] of cases) {
    it(label, async () => {
      const net = new TimeUNet({ ...options, rng: 5 });
      perturb(net.parameters(), 6);
      const width = (options.inMaps ?? 1) * net.dim;
      const { z: x, t } = randomInputs(N, width, 0, 1, 8);
      const g = new Graph('unet');
      const xIn = g.input('x', ['N', width]);
      const tIn = g.input('t', ['N', 1]);
      const jet = emitTimeNetwork(g, net, { x: xIn, t: tIn, timeTangent: true }, 'net');
      g.output('u', jet.v, null);
      g.output('du', jet.t as string, null);
      const out = await runOnnx(buildModel(g), { x: f32(x, [N, width]), t: f32(t, [N, 1]) });
      const [u, du] = tf.tidy(() => {
        const j = net.jet(tf.tensor2d(x, [N, width]), tf.tensor2d(t, [N, 1]), 1).data;
        const w = j.shape[1];
        return [Float32Array.from(j.slice([0, 0], [N, w]).dataSync()), Float32Array.from(j.slice([N, 0], [N, w]).dataSync())];
      });
      expect(out.u.length).toBe(N * (options.outMaps ?? 1) * net.dim);
      expectClose(`${label}: U`, out.u, u);
      // ∂U/∂t carries the embedding's frequencies (up to 1000): compare at its own scale.
      const scale = Math.max(...du.map(Math.abs));
      expect(scale).toBeGreaterThan(1);
      expectClose(`${label}: ∂U/∂t`, out.du, du, 1e-5 * scale, 1e-4);
      net.dispose();
    });
  }
});

describe('nfdm.image metadata', () => {
  it('comes from the U-Net networks, can be given for an MLP trained on images, and is checked', () => {
    const m = unetModel(UNET_CASES[2].config, 3);
    expect(exportOnnx(m, { components: false, samplers: [] }).metadata.image).toEqual({ height: 4, width: 4, channels: 2 });
    expect(exportOnnx(m, { components: false, samplers: [], image: null }).metadata.image).toBeUndefined();
    m.dispose();
    const mlp = unetModel({ ...UNET_CASES[1].config, forward: { kind: 'ndm', hidden: [8] }, predictor: { hidden: [8] } }, 4);
    expect(exportOnnx(mlp, { components: false, samplers: [] }).metadata.image).toBeUndefined();
    const given = exportOnnx(mlp, { components: false, samplers: [], image: { height: 2, width: 8, channels: 1 } });
    expect(readOnnxMetadata(given.graphs.velocity as Uint8Array).image).toEqual({ height: 2, width: 8, channels: 1 });
    expect(() => exportOnnx(mlp, { image: { height: 3, width: 3, channels: 1 } })).toThrow(/height·width·channels = 16/);
    mlp.dispose();
  });
});
