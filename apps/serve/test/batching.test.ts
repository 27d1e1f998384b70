/**
 * Dynamic batching (batchWindowMs): which graphs batch, and concurrent requests answered by a
 * batching server exactly as by an unbatched one — /v1 samples with the stepwise solvers (field
 * graphs merged per stage) and the one-call Loop sampler (seeded prior noise as rows), v2 infer —
 * with the merged runs counted in the metrics.
 */

import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { batchSpec, GraphBatcher } from '../src/batching.js';
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

describe('GraphBatcher', () => {
  const spec = { dim: 'N', rowInputs: new Set(['x']) };
  const feeds = (rows: number[], shared = 1) => ({
    x: new ort.Tensor('float32', Float32Array.from(rows), [rows.length, 1]),
    s: new ort.Tensor('int64', BigInt64Array.from([BigInt(shared)]), [1]),
  });
  /** A fake run: y = 10 x + s; fails when x holds a negative value. */
  const calls: number[] = [];
  const next = async (f: Record<string, ort.Tensor>) => {
    const x = f.x.data as Float32Array;
    calls.push(x.length);
    if (x.some((v) => v < 0)) throw new Error('negative');
    const s = Number((f.s.data as BigInt64Array)[0]);
    return {
      y: new ort.Tensor(
        'float32',
        x.map((v) => 10 * v + s),
        [x.length, 1],
      ),
    };
  };

  it('merges runs with equal shared inputs, splits the outputs back, and isolates a failing run', async () => {
    calls.length = 0;
    const b = new GraphBatcher(spec, 5, 100);
    const runs = [b.run(feeds([1, 2]), next), b.run(feeds([3]), next), b.run(feeds([4], 2), next), b.run(feeds([-1]), next)];
    const [a, c, d, e] = await Promise.allSettled(runs);
    expect(a.status === 'fulfilled' && Array.from(a.value.y.data as Float32Array)).toEqual([11, 21]);
    expect(c.status === 'fulfilled' && Array.from(c.value.y.data as Float32Array)).toEqual([31]);
    expect(d.status === 'fulfilled' && Array.from(d.value.y.data as Float32Array)).toEqual([42]);
    expect(e.status).toBe('rejected');
    // s = 1: one merged run of 4 rows that failed, then its three runs alone (2, 1, 1 rows); s = 2: alone
    expect(calls.slice().sort()).toEqual([1, 1, 1, 2, 4]);
  });
});
