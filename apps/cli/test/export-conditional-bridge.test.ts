/**
 * `nfdm export` on a conditional bridge, end to end through the built CLI: a 2-step training of a
 * label-conditional NFBM (moons@-4,0 → 8gaussians, the target's mode as the label) exports every
 * bridge graph with the condition; the runtime's transport with labels and guidance equals the
 * tfjs bridge loaded from the run (BridgeModel.sample, same seed), and the server's /transport
 * equals the runtime.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, Rng } from '@nfdm/core';
import { type BridgeModel, loadAnyModel } from '@nfdm/models';
import { loadOnnxBridge } from '@nfdm/runtime';
import { createServer } from '@nfdm/serve';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, maxAbs, runCli } from './harness.js';

let tmp: string;
const nfdm = (args: string[]) => runCli(tmp, args);

beforeAll(async () => {
  await initBackend('cpu');
  tmp = mkdtempSync(join(tmpdir(), 'nfdm-cli-export-cbridge-'));
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('nfdm export on a conditional bridge', () => {
  it('train 2 steps with --condition label, export, transport with labels (runtime = tfjs, serve = runtime)', async () => {
    const bridge = ['--model', 'nfbm', '--source', 'moons@-4,0', '--target', '8gaussians', '--condition', 'label'];
    const tiny = ['--steps', '2', '--hidden', '16', '--batch', '32', '--eval-every', '0'];
    json(await nfdm(['train', ...bridge, ...tiny, '--out', 'cb', '--json']));
    const exported = json(await nfdm(['export', '--model', 'cb', '--out', 'onnx', '--json']));
    const files = (exported.files as string[]).map((f) => f.split('/').pop());
    for (const graph of ['bridge_velocity', 'bridge_drift', 'bridge_sampler_euler_ode', 'bridge_sampler_euler_sde'])
      expect(files).toContain(`${graph}.onnx`);

    const runtime = await loadOnnxBridge(join(tmp, 'onnx'), { intraOpNumThreads: 1 });
    expect(runtime.condition).toEqual({ kind: 'label', classes: 8 });
    const model = loadAnyModel(join(tmp, 'cb', 'model')) as BridgeModel;
    const n = 6;
    const sources = new Rng(3).normalArray(n * 2, 0, 1).map((v, i) => (i % 2 === 0 ? v - 4 : v));
    const labels = [0, 3, 8, 5, 7, 1]; // 8 = the null label
    for (const [mode, guidance] of [
      ['ode', 2],
      ['sde', 0],
    ] as const) {
      const got = await runtime.transport(sources, { mode, steps: 8, seed: 4, labels, guidance });
      const loop = await runtime.transport(sources, { mode, steps: 8, seed: 4, labels, guidance, engine: 'loop' });
      const ref = model.sample(tf.tensor2d(sources, [n, 2]), { mode, steps: 8, seed: 4, condition: tf.tensor2d(labels, [n, 1]), guidance });
      const want = Float32Array.from(ref.samples.dataSync());
      ref.samples.dispose();
      expect(maxAbs(got.samples, want)).toBeLessThan(1e-4);
      expect(maxAbs(loop.samples, want)).toBeLessThan(1e-4);
    }
    await expect(runtime.transport(sources, { steps: 2 })).rejects.toThrow(/conditional: give a condition/);

    const app = await createServer({ modelsDir: tmp });
    try {
      const rows = Array.from({ length: n }, (_, i) => [sources[2 * i], sources[2 * i + 1]]);
      const request = { sources: rows, steps: 8, mode: 'ode', seed: 4, condition: labels, guidance: 2 };
      const res = await app.inject({ method: 'POST', url: '/v1/models/onnx/transport', payload: request });
      expect(res.statusCode, res.body).toBe(200);
      const ref = await runtime.transport(sources, { mode: 'ode', steps: 8, seed: 4, labels, guidance: 2 });
      expect(res.json().samples.flat()).toEqual(Array.from(ref.samples));
      expect(res.json().guidance).toBe(2);
    } finally {
      await app.close();
    }
    await runtime.dispose();
    model.dispose();
  }, 120_000);
});
