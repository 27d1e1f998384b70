/**
 * Dynamic batching (batchWindowMs): which graphs batch, and concurrent requests answered by a
 * batching server exactly as by an unbatched one — /v1 samples with the stepwise solvers (field
 * graphs merged per stage) and the one-call Loop sampler (seeded prior noise as rows), v2 infer —
 * with the merged runs counted in the metrics.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { batchSpec } from '../src/batching.js';
import { createServer, type NfdmServer } from '../src/index.js';
import { postJson } from './http.js';

const modelsDir = inject('modelsDir');
const LIMITS = { maxConcurrent: 32, maxQueue: 64 };

let plain: NfdmServer;
let batched: NfdmServer;

beforeAll(async () => {
  plain = await createServer({ modelsDir, limits: LIMITS });
  batched = await createServer({ modelsDir, limits: LIMITS, batchWindowMs: 20 });
});

afterAll(async () => {
  await plain?.close();
  await batched?.close();
});

describe('batch specs', () => {
  it('batches row-wise graphs, shares inputs without the batch dim, and leaves the SDE Loop samplers alone', () => {
    const toy = plain.nfdm.models.get('toy')?.model;
    if (!toy) throw new Error('no toy model');
    expect(batchSpec(toy.signature('velocity'))).toEqual({ dim: 'N', rowInputs: new Set(['z', 't']) });
    expect(batchSpec(toy.signature('sampler_euler_ode'))).toEqual({ dim: 'N', rowInputs: new Set(['prior_noise']) });
    expect(batchSpec(toy.signature('sampler_euler_sde'))).toBeNull();
  });

  it('rejects a negative window', async () => {
    await expect(createServer({ modelsDir, batchWindowMs: -1 })).rejects.toThrow(/batchWindowMs/);
  });
});

/** The same requests, all at once, against `app`: their response bodies without timings. */
async function answers(app: NfdmServer, requests: Array<[string, unknown]>): Promise<unknown[]> {
  const responses = await Promise.all(requests.map(([url, body]) => postJson(app, url, body)));
  return responses.map((r) => {
    expect(r.statusCode, r.body).toBe(200);
    const { ms: _ms, ...rest } = r.json();
    return rest;
  });
}

describe('batched answers equal unbatched ones', () => {
  it('for concurrent /v1 samples (stepwise and Loop) and v2 infers with their own seeds and sizes', async () => {
    const requests: Array<[string, unknown]> = [];
    for (let i = 0; i < 6; i++) {
      requests.push(['/v1/models/toy/samples', { n: 3 + i, steps: 12, solver: 'heun', mode: 'ode', seed: 100 + i }]);
      requests.push(['/v1/models/toy/samples', { n: 2 + i, steps: 10, solver: 'euler_maruyama', mode: 'sde', seed: 200 + i }]);
      requests.push(['/v1/models/loop/samples', { n: 1 + i, steps: 15, solver: 'euler', mode: 'ode', seed: 300 + i }]);
      const z = Array.from({ length: 2 * (i + 1) }, (_, k) => Math.sin(k + i));
      const t = Array.from({ length: i + 1 }, (_, k) => 0.1 + 0.1 * k);
      requests.push([
        '/v2/models/toy_velocity/infer',
        {
          inputs: [
            { name: 'z', shape: [i + 1, 2], datatype: 'FP32', data: z },
            { name: 't', shape: [i + 1, 1], datatype: 'FP32', data: t },
          ],
        },
      ]);
    }
    const want = await answers(plain, requests);
    const got = await answers(batched, requests);
    expect(got).toEqual(want);
    const metrics = (await batched.inject('/metrics')).body;
    const merged = /nfdm_batched_runs_total\{model="toy",graph="velocity"\} (\d+)/.exec(metrics);
    expect(Number(merged?.[1] ?? 0)).toBeGreaterThan(0);
  });
});
