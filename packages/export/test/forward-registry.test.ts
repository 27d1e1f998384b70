/**
 * Forward processes export through the @nfdm/models registry: the built-in kinds find their
 * emitters there, a downstream kind with a registered emitter exports (metadata kind = the
 * process's kind, fields equal tfjs, the runtime loads it), and a kind without one fails with
 * one message naming the kind and how to add an emitter.
 */
import { divergence, initBackend } from '@nfdm/core';
import {
  createModel,
  DiffusionModel,
  FixedGaussianProcess,
  type ForwardProcessConfig,
  forwardProcessEntry,
  type GaussianForwardProcess,
  registerForwardProcess,
  velocity,
} from '@nfdm/models';
import { loadOnnxModel, readOnnxMetadata } from '@nfdm/runtime';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixedForwardEmitter } from '../src/emit/forward/fixed.js';
import { ndmForwardEmitter } from '../src/emit/forward/ndm.js';
import { neuralForwardEmitter } from '../src/emit/forward/neural.js';
import { forwardProcessEmitter, registerForwardProcessEmitter } from '../src/emit/forward/registry.js';
import { exportForwardProcess, exportOnnx, exportVelocity, exportVelocityDivergence } from '../src/export.js';
import { expectClose, f32, makeModel, randomInputs, runOnnx, smallConfig } from './helpers.js';

beforeAll(async () => {
  await initBackend('wasm');
});

/** A fixed VP process that reports another kind (the built-in class under a downstream name). */
function relabelled(kind: string, dim = 2): GaussianForwardProcess {
  const p = new FixedGaussianProcess(dim, { name: 'vp' });
  Object.defineProperty(p, 'kind', { value: kind });
  Object.defineProperty(p, 'toConfig', { value: () => ({ kind, schedule: { name: 'vp' } }) });
  return p;
}

/** A diffusion model whose forward process is `forward` (predictor and volatility of a small VP model). */
function modelWith(forward: GaussianForwardProcess): DiffusionModel {
  const base = createModel(
    smallConfig({ forward: { kind: 'fixed', schedule: { name: 'vp' } }, volatility: { kind: 'matched', schedule: { name: 'vp' } } }),
  );
  return new DiffusionModel(forward, base.predictor, base.volatility);
}

function registerKind(kind: string, onnx?: unknown): void {
  registerForwardProcess(kind, {
    parse: (raw) => raw as ForwardProcessConfig,
    create: (_config, dim) => relabelled(kind, dim),
    ...(onnx === undefined ? {} : { onnx }),
  });
}

describe('forward-process ONNX emitters through the registry', () => {
  it('the built-in kinds carry their emitters in the @nfdm/models registry', () => {
    const m = makeModel(smallConfig({ forward: { kind: 'nfdm', hidden: [8] } }));
    expect(forwardProcessEmitter(m.forward)).toBe(neuralForwardEmitter);
    expect(forwardProcessEntry('nfdm')?.onnx).toBe(neuralForwardEmitter);
    expect(forwardProcessEntry('fixed')?.onnx).toBe(fixedForwardEmitter);
    expect(forwardProcessEntry('ndm')?.onnx).toBe(ndmForwardEmitter);
    expect(neuralForwardEmitter.sigmaWidth(m.forward as never)).toBe(2);
    m.dispose();
  });

  it('a downstream kind with an emitter exports: its kind in the metadata, fields equal tfjs, the runtime loads it', async () => {
    registerKind('test-relabelled-vp');
    registerForwardProcessEmitter('test-relabelled-vp', fixedForwardEmitter);
    const model = modelWith(relabelled('test-relabelled-vp'));
    const fwd = exportForwardProcess(model);
    const meta = readOnnxMetadata(fwd);
    expect(meta.kind).toBe('test-relabelled-vp');
    expect(meta.forwardKind).toBe('test-relabelled-vp');
    expect(meta.signature.outputs.find((o) => o.name === 'sigma')?.shape).toEqual(['N', 1]);
    const N = 12;
    const { z, t } = randomInputs(N, 2, 0.01, 1, 4);
    const ref = tf.tidy(() => {
      const zz = tf.tensor2d(z, [N, 2]);
      const tt = tf.tensor2d(t, [N, 1]);
      return Float32Array.from(velocity(model.forward.params(model.predictor.predict(zz, tt), tt, 1), zz).dataSync());
    });
    const out = await runOnnx(exportVelocity(model), { z: f32(z, [N, 2]), t: f32(t, [N, 1]) });
    expectClose('relabelled VP velocity vs tfjs', out.velocity, ref);
    const rt = await loadOnnxModel(exportOnnx(model, { components: false, samplers: [] }));
    try {
      expect(rt.metadata.kind).toBe('test-relabelled-vp');
      const lp = await rt.logProb([[0.1, -0.2]], { steps: 4 });
      expect(Number.isFinite(lp.logp[0])).toBe(true);
    } finally {
      await rt.dispose();
    }
    model.dispose();
  });

  it('an emitter may leave the spatial tangents of μ and μ̇ null (μ independent of x): the exact divergence still equals core', async () => {
    // μ = 0·x + t, σ = 1 − t/2 ([N, 1]): f = 1 − (z − t)/(2σ), div f = −D/(2σ).
    const kind = 'test-x-free-mean';
    const process: GaussianForwardProcess = {
      kind,
      dim: 2,
      learned: false,
      priorStd: 1,
      start: { t: 0, alpha: 0, sigma: 1 },
      params: (x, t) => ({
        mu: tf.add(tf.mul(0, x), t),
        sigma: tf.sub(1, tf.mul(0.5, t)),
        dmu: tf.add(tf.mul(0, x), 1),
        dsigma: tf.fill(t.shape as [number, number], -0.5),
      }),
      toConfig: () => ({ kind }),
      parameters: () => new Map(),
      dispose: () => {},
    };
    registerForwardProcess(kind, { parse: (raw) => raw as ForwardProcessConfig, create: () => process });
    registerForwardProcessEmitter(kind, {
      sigmaWidth: () => 1,
      emit: (g, _p, x, _xs, t) => ({
        mu: g.add(g.mul(0, x), t),
        sigma: g.sub(1, g.mul(0.5, t)),
        dmu: g.add(g.mul(0, x), 1),
        dsigma: -0.5,
        mu_s: null,
        sigma_s: null,
        dmu_s: null,
        dsigma_s: null,
      }),
    });
    const model = modelWith(process);
    const N = 10;
    const { z, t } = randomInputs(N, 2, 0.01, 1, 6);
    const ref = tf.tidy(() => {
      const tt = tf.tensor2d(t, [N, 1]);
      const field = (y: tf.Tensor) => velocity(model.forward.params(model.predictor.predict(y, tt), tt, 1), y);
      return Float32Array.from(divergence((_t, y) => field(y), 0, tf.tensor2d(z, [N, 2])).divergence.dataSync());
    });
    const out = await runOnnx(exportVelocityDivergence(model), { z: f32(z, [N, 2]), t: f32(t, [N, 1]) });
    expectClose('divergence with null μ tangents vs core', out.divergence, ref);
    expectClose(
      'divergence = −D/(2σ)',
      out.divergence,
      Float32Array.from(t, (ti) => -2 / (2 * (1 - 0.5 * ti))),
    );
  });

  it('a process without an emitter fails with one message naming the kind and how to register one', () => {
    registerKind('test-no-onnx');
    const noEmitter = modelWith(relabelled('test-no-onnx'));
    const message =
      "forward process 'test-no-onnx' has no ONNX emitter: register one with registerForwardProcessEmitter('test-no-onnx', emitter) from @nfdm/export";
    expect(() => exportOnnx(noEmitter)).toThrow(TypeError);
    expect(() => exportOnnx(noEmitter)).toThrow(message);
    expect(() => exportVelocity(noEmitter)).toThrow(message);

    const unregistered = modelWith(relabelled('test-unregistered'));
    expect(() => exportOnnx(unregistered)).toThrow(
      "forward process 'test-unregistered' has no ONNX emitter: the kind is not registered with @nfdm/models; register it with registerForwardProcess('test-unregistered', { parse, create, onnx: emitter })",
    );

    registerKind('test-bad-onnx', { emit: 'not a function' });
    expect(() => exportOnnx(modelWith(relabelled('test-bad-onnx')))).toThrow(
      "forward process 'test-bad-onnx' has an 'onnx' entry that is not an ONNX emitter",
    );
    expect(() => registerForwardProcessEmitter('test-no-onnx', {} as never)).toThrow(/needs emit\(g, process, x, xs, t\) and sigmaWidth/);
    expect(() => registerForwardProcessEmitter('test-never-registered', fixedForwardEmitter)).toThrow(
      /'test-never-registered' is not registered \(registerForwardProcess\)/,
    );
  });
});
