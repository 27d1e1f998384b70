/**
 * `--model fixed-bridge` (the fixed-process bridge baseline, docs/maths/bridges.md#fixed-baseline)
 * end to end through the built CLI, on toy sets: a short training with an obstacle writes a bridge
 * config whose process is the fixed one (no process weights), `nfdm sample` transports sources of
 * the run's data and of `--source` with the reverse SDE and the ODE, and `nfdm export` writes the
 * bridge graphs, whose runtime transport equals the tfjs bridge loaded from the run and whose
 * `/transport` in `nfdm serve`'s app equals the runtime.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, Rng } from '@nfdm/core';
import {
  type BridgeModel,
  type BridgeModelConfig,
  createAnyModel,
  FixedBridgeProcess,
  loadAnyModel,
  parseAnyModelConfig,
} from '@nfdm/models';
import { loadOnnxBridge } from '@nfdm/runtime';
import { createServer } from '@nfdm/serve';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { presetConfig } from '../src/cli/presets.js';
import { json, maxAbs, runCli } from './harness.js';

let tmp: string;
const nfdm = (args: string[]) => runCli(tmp, args);

beforeAll(async () => {
  await initBackend('cpu');
  tmp = mkdtempSync(join(tmpdir(), 'nfdm-cli-fixed-bridge-'));
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('nfdm train --model fixed-bridge', () => {
  it('trains (fixed process, no process weights), samples by SDE and ODE, exports; runtime = tfjs, serve = runtime', async () => {
    const bridge = ['--model', 'fixed-bridge', '--source', '8gaussians', '--target', 'moons', '--obstacle', '0,0,0.5'];
    const tiny = ['--steps', '3', '--hidden', '16', '--batch', '32', '--eval-every', '0'];
    json(await nfdm(['train', ...bridge, ...tiny, '--out', 'fb', '--json']));
    const config = JSON.parse(readFileSync(join(tmp, 'fb', 'model', 'config.json'), 'utf8'));
    expect(config.process).toEqual({ kind: 'fixed-bridge', delta: 0.1, sigmaMax: 0.5 });
    expect(config.penalties).toEqual([{ kind: 'obstacle', center: [0, 0], radius: 0.5, weight: 10 }]);
    const model = loadAnyModel(join(tmp, 'fb', 'model')) as BridgeModel;
    expect(model.process).toBeInstanceOf(FixedBridgeProcess);
    expect([...model.parameters().keys()].some((k) => k.startsWith('process.'))).toBe(false);

    for (const mode of [[], ['--ode']]) {
      const s = json(
        await nfdm(['sample', '--model', 'fb', '--n', '20', '--steps', '10', ...mode, '--out', `s${mode.length}.json`, '--json']),
      );
      expect(s).toMatchObject({ n: 20, dim: 2 });
      const file = JSON.parse(readFileSync(join(tmp, `s${mode.length}.json`), 'utf8'));
      expect(file.samples).toHaveLength(20);
      expect(file.samples.flat().every(Number.isFinite)).toBe(true);
    }
    json(await nfdm(['sample', '--model', 'fb', '--source', '8gaussians', '--n', '8', '--steps', '10', '--out', 'given.csv', '--json']));

    const exported = json(await nfdm(['export', '--model', 'fb', '--out', 'onnx', '--json']));
    expect((exported.files as string[]).map((f) => f.split('/').pop())).toContain('bridge_sampler_euler_sde.onnx');
    const runtime = await loadOnnxBridge(join(tmp, 'onnx'), { intraOpNumThreads: 1 });
    const n = 6;
    const sources = new Rng(3).normalArray(n * 2, 0, 2);
    for (const mode of ['ode', 'sde'] as const) {
      const got = await runtime.transport(sources, { mode, steps: 8, seed: 4 });
      const ref = model.sample(tf.tensor2d(sources, [n, 2]), { mode, steps: 8, seed: 4 });
      expect(maxAbs(got.samples, ref.samples.dataSync())).toBeLessThan(1e-4);
      ref.samples.dispose();
    }
    const app = await createServer({ modelsDir: tmp });
    try {
      const rows = Array.from({ length: n }, (_, i) => [sources[2 * i], sources[2 * i + 1]]);
      const res = await app.inject({
        method: 'POST',
        url: '/v1/models/onnx/transport',
        payload: { sources: rows, steps: 8, mode: 'sde', seed: 4 },
      });
      expect(res.statusCode, res.body).toBe(200);
      const ref = await runtime.transport(sources, { mode: 'sde', steps: 8, seed: 4 });
      expect(res.json().samples.flat()).toEqual(Array.from(ref.samples));
    } finally {
      await app.close();
    }
    await runtime.dispose();
    model.dispose();
  }, 180_000);

  it('with --arch unet: a U-Net predictor, no process network; the eval batch follows the predictor U-Net', () => {
    const raw = presetConfig('fixed-bridge', { dim: 196, hidden: [16], seed: 0, arch: 'unet', image: [14, 14, 1], base: 8 });
    const config = parseAnyModelConfig(raw) as BridgeModelConfig;
    expect(config.process).toEqual({ kind: 'fixed-bridge', delta: 0.1, sigmaMax: 0.5 });
    expect(config.predictor.network).toMatchObject({ arch: 'unet', image: { height: 14, width: 14, channels: 1 } });
    const model = createAnyModel(config) as BridgeModel;
    try {
      expect(model.process).toBeInstanceOf(FixedBridgeProcess);
      expect(model.evalBatch).toBeGreaterThan(0);
    } finally {
      model.dispose();
    }
  });

  it('refuses --condition-forward: the fixed process does not depend on y', async () => {
    const r = await nfdm([
      'train',
      '--model',
      'fixed-bridge',
      '--source',
      'moons@-4,0',
      '--target',
      '8gaussians',
      '--condition',
      'label',
      '--condition-forward',
      '--steps',
      '1',
      '--out',
      'cf',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--condition-forward needs a learned forward process.*fixed-bridge has a fixed one/);
  });
});
