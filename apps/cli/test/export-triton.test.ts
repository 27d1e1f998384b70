/**
 * `nfdm export --format triton` end to end through the built CLI: a 2-step NFDM training
 * exported both ways; the Triton repository holds one model per graph named as `nfdm serve`
 * names them under /v2, and a v2 infer request against `nfdm serve` (on the nfdm export) gives
 * what onnxruntime computes from the repository's model.onnx for the same inputs.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '@nfdm/runtime';
import { createServer } from '@nfdm/serve';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, runCli } from './harness.js';

let tmp: string;
const nfdm = (args: string[]) => runCli(tmp, args);

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'nfdm-cli-export-triton-'));
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('nfdm export --format triton', () => {
  it('writes a Triton repository whose models are the /v2 models of nfdm serve', async () => {
    const tiny = ['--steps', '2', '--hidden', '16', '--batch', '32', '--eval-every', '0'];
    json(await nfdm(['train', '--model', 'nfdm', '--data', '8gaussians', ...tiny, '--out', 'run', '--json']));
    json(await nfdm(['export', '--model', 'run', '--out', join('models', 'toy'), '--json']));
    const triton = json(await nfdm(['export', '--model', 'run', '--format', 'triton', '--name', 'toy', '--out', 'repo', '--json']));
    expect((triton.files as string[]).some((f) => f.endsWith(join('toy_sampler_euler_ode', 'config.pbtxt')))).toBe(true);
    const again = await nfdm(['export', '--model', 'run', '--format', 'triton', '--name', 'toy', '--out', 'repo']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists; pass --force/);

    const app = await createServer({ modelsDir: join(tmp, 'models') });
    try {
      const graphs = app.nfdm.models.get('toy')?.info.graphs ?? [];
      expect(graphs.length).toBeGreaterThan(0);
      for (const g of graphs) expect(existsSync(join(tmp, 'repo', `toy_${g}`, '1', 'model.onnx')), g).toBe(true);

      const n = 3;
      const noise = Array.from(new Rng(5).normalArray(n * 2));
      const inputs = [
        { name: 'prior_noise', shape: [n, 2], datatype: 'FP32', data: noise },
        { name: 'steps', shape: [1], datatype: 'INT64', data: [10] },
      ];
      const res = await app.inject({ method: 'POST', url: '/v2/models/toy_sampler_euler_ode/infer', payload: { inputs } });
      expect(res.statusCode, res.body).toBe(200);
      const session = await ort.InferenceSession.create(join(tmp, 'repo', 'toy_sampler_euler_ode', '1', 'model.onnx'));
      const out = await session.run({
        prior_noise: new ort.Tensor('float32', Float32Array.from(noise), [n, 2]),
        steps: new ort.Tensor('int64', BigInt64Array.from([10n]), [1]),
      });
      await session.release();
      expect(res.json().outputs[0].data).toEqual(Array.from(out.samples.data as Float32Array));
    } finally {
      await app.close();
    }
  });
});
