/**
 * The Open Inference Protocol (KServe v2) routes through fastify's inject: health and metadata,
 * a client flow on a Loop sampler graph (seeded prior noise as the graph takes it) compared with
 * the runtime and with /v1, and the errors (`{ "error": … }`) of malformed tensors and limits.
 */
import { join } from 'node:path';
import { loadOnnxModel, type OnnxModel, Rng } from '@nfdm/runtime';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createServer, type NfdmServer } from '../src/index.js';
import { postJson, rows } from './http.js';

const modelsDir = inject('modelsDir');
const LIMITS = { maxSteps: 400, bodyLimit: 32 * 1024 };

let app: NfdmServer;
let toy: OnnxModel;

beforeAll(async () => {
  app = await createServer({ modelsDir, limits: LIMITS });
  toy = await loadOnnxModel(join(modelsDir, 'toy'), { intraOpNumThreads: 1 });
});

afterAll(async () => {
  await app?.close();
  await toy?.dispose();
});

const post = (url: string, payload: unknown) => postJson(app, url, payload);

/** The prior noise the runtime draws for `seed` (row-major [n, dim]). */
function priorNoise(seed: number, n: number, dim: number): number[] {
  return Array.from(new Rng(seed).normalArray(n * dim));
}

/** An infer body for a `sampler_<solver>_ode` graph. */
function samplerBody(noise: number[], n: number, steps: number, extra: Record<string, unknown> = {}) {
  return {
    inputs: [
      { name: 'prior_noise', shape: [n, 2], datatype: 'FP32', data: noise },
      { name: 'steps', shape: [1], datatype: 'INT64', data: [steps] },
    ],
    ...extra,
  };
}

/** A v2 error: this status and `{ error }` matching `message`. */
function expectV2Error(res: { statusCode: number; body: string; json: () => { error: unknown } }, status: number, message?: RegExp) {
  expect(res.statusCode, res.body).toBe(status);
  const body = res.json();
  expect(typeof body.error).toBe('string');
  if (message) expect(body.error).toMatch(message);
}

describe('v2 health and metadata', () => {
  it('answers server metadata, liveness and readiness', async () => {
    expect((await app.inject('/v2')).json()).toMatchObject({ name: 'nfdm', version: expect.any(String), extensions: [] });
    const live = await app.inject('/v2/health/live');
    expect(live.statusCode).toBe(200);
    const ready = await app.inject('/v2/health/ready');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ ready: true });
  });

  it('describes every graph of a model as <model>_<graph> with v2 datatypes and -1 for dynamic dims', async () => {
    const res = await app.inject('/v2/models/toy_sampler_euler_ode');
    expect(res.statusCode, res.body).toBe(200);
    const meta = res.json();
    expect(meta).toMatchObject({ name: 'toy_sampler_euler_ode', versions: ['1'], platform: 'onnxruntime_onnx' });
    expect(meta.inputs).toEqual(
      expect.arrayContaining([
        { name: 'prior_noise', datatype: 'FP32', shape: [-1, 2] },
        { name: 'steps', datatype: 'INT64', shape: [1] },
      ]),
    );
    expect(meta.outputs).toEqual([{ name: 'samples', datatype: 'FP32', shape: [-1, 2] }]);
    const versioned = await app.inject('/v2/models/toy_sampler_euler_ode/versions/1');
    expect(versioned.json()).toEqual(meta);
    for (const graph of toy.graphs) expect((await app.inject(`/v2/models/toy_${graph}/ready`)).json()).toMatchObject({ ready: true });
  });

  it('answers 404 with { error } for unknown models and versions', async () => {
    expectV2Error(await app.inject('/v2/models/nope_velocity'), 404, /no model named 'nope_velocity'/);
    expectV2Error(await app.inject('/v2/models/toy_velocity/versions/2'), 404, /only version 1/);
    expectV2Error(await app.inject('/v2/models/nope/ready'), 404);
  });
});

describe('v2 infer', () => {
  it('runs a Loop sampler on seeded prior noise: the runtime and /v1 give the same samples', async () => {
    const n = 5;
    const steps = 20;
    const seed = 11;
    const res = await post('/v2/models/loop_sampler_euler_ode/infer', samplerBody(priorNoise(seed, n, 2), n, steps, { id: 'req-1' }));
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ model_name: 'loop_sampler_euler_ode', model_version: '1', id: 'req-1' });
    expect(body.outputs).toHaveLength(1);
    const out = body.outputs[0];
    expect(out).toMatchObject({ name: 'samples', datatype: 'FP32', shape: [n, 2] });

    const runtime = await toy.sample({ n, steps, solver: 'euler', mode: 'ode', seed, engine: 'loop' });
    expect(out.data).toEqual(Array.from(runtime.samples));
    const v1 = await post('/v1/models/loop/samples', { n, steps, solver: 'euler', mode: 'ode', seed });
    expect(v1.statusCode, v1.body).toBe(200);
    expect(rows(out.data, 2)).toEqual(v1.json().samples);
  });

  it('runs an SDE Loop sampler on the seeded prior and Brownian noise the runtime draws: same samples', async () => {
    const n = 4;
    const steps = 6;
    const seed = 23;
    // the runtime's draws: prior noise, then a second generator seeded from the first for the steps' noise
    const rng = new Rng(seed);
    const prior = Array.from(rng.normalArray(n * 2));
    const brownian = new Rng(rng.nextUint32());
    const noise: number[] = [];
    for (let k = 0; k < steps; k++) noise.push(...brownian.normalArray(n * 2));
    const meta = (await app.inject('/v2/models/toy_sampler_euler_sde')).json();
    expect(meta.inputs).toEqual(
      expect.arrayContaining([
        { name: 'prior_noise', datatype: 'FP32', shape: [-1, 2] },
        { name: 'noise', datatype: 'FP32', shape: [-1, -1, 2] },
      ]),
    );
    const res = await post('/v2/models/toy_sampler_euler_sde/infer', {
      inputs: [
        { name: 'prior_noise', shape: [n, 2], datatype: 'FP32', data: prior },
        { name: 'noise', shape: [steps, n, 2], datatype: 'FP32', data: noise },
      ],
    });
    expect(res.statusCode, res.body).toBe(200);
    const runtime = await toy.sample({ n, steps, solver: 'euler_maruyama', mode: 'sde', seed, engine: 'loop' });
    expect(res.json().outputs[0].data).toEqual(Array.from(runtime.samples));
  });

  it('runs a field graph with nested data and an output selection', async () => {
    const meta = (await app.inject('/v2/models/toy_velocity')).json();
    const z = [
      [0.1, -0.2],
      [1.5, 0.3],
    ];
    const inputs = meta.inputs.map((i: { name: string; datatype: string }) =>
      i.name === 't'
        ? { name: 't', shape: [2, 1], datatype: i.datatype, data: [[0.5], [0.25]] }
        : { name: i.name, shape: [2, 2], datatype: i.datatype, data: z },
    );
    const res = await post('/v2/models/toy_velocity/infer', { inputs, outputs: [{ name: meta.outputs[0].name }] });
    expect(res.statusCode, res.body).toBe(200);
    const out = res.json().outputs;
    expect(out).toHaveLength(1);
    expect(out[0].shape).toEqual([2, 2]);
    expect(out[0].data.every(Number.isFinite)).toBe(true);
  });

  it('rejects tensors that do not match the graph with 400 { error }', async () => {
    const url = '/v2/models/toy_sampler_euler_ode/infer';
    const noise = priorNoise(1, 2, 2);
    const cases: Array<[unknown, RegExp]> = [
      [
        { inputs: [{ ...samplerBody(noise, 2, 5).inputs[0], datatype: 'FP64' }, samplerBody(noise, 2, 5).inputs[1]] },
        /datatype FP32, got FP64/,
      ],
      [
        { inputs: [{ name: 'prior_noise', shape: [1, 4], datatype: 'FP32', data: noise }, samplerBody(noise, 2, 5).inputs[1]] },
        /must have shape \[-1, 2\]/,
      ],
      [
        { inputs: [{ name: 'prior_noise', shape: [2, 2], datatype: 'FP32', data: noise.slice(1) }, samplerBody(noise, 2, 5).inputs[1]] },
        /3 data values/,
      ],
      [{ inputs: [samplerBody(noise, 2, 5).inputs[0]] }, /needs the input steps/],
      [{ inputs: [...samplerBody(noise, 2, 5).inputs, { name: 'extra', shape: [1], datatype: 'FP32', data: [1] }] }, /no input 'extra'/],
      [samplerBody(noise, 2, 401), /between 1 and 400/],
      [samplerBody(noise, 2, 5, { outputs: [{ name: 'nope' }] }), /no output 'nope'/],
      [
        { inputs: [{ name: 'prior_noise', shape: [2, 2], datatype: 'FP32', data: [1, 2, 3, 'x'] }, samplerBody(noise, 2, 5).inputs[1]] },
        /finite numbers/,
      ],
      [{ inputs: [{ name: 'prior_noise', shape: [2, 2], datatype: 'FP32' }] }, /data/],
      [{ inputs: samplerBody(noise, 2, 5).inputs, unknown: 1 }, /unknown property/],
    ];
    for (const [payload, message] of cases) expectV2Error(await post(url, payload), 400, message);
    expectV2Error(await post(url, '{"inputs": ['), 400);
  });

  it('keeps the body limit (413 { error }) and counts inferences in the metrics', async () => {
    const big = priorNoise(2, 2000, 2);
    expectV2Error(await post('/v2/models/toy_sampler_euler_ode/infer', samplerBody(big, 2000, 5)), 413, /32768-byte limit/);
    const ok = await post('/v2/models/toy_sampler_euler_ode/infer', samplerBody(priorNoise(3, 2, 2), 2, 5));
    expect(ok.statusCode, ok.body).toBe(200);
    const metrics = (await app.inject('/metrics')).body;
    expect(metrics).toMatch(/nfdm_compute_seconds_total\{model="toy_sampler_euler_ode",operation="infer"\}/);
    expect(metrics).toMatch(/route="\/v2\/models\/:name\/infer",status="200"/);
  });
});

describe('v2 admission', () => {
  it('sheds v2 infer requests like the /v1 compute routes', async () => {
    const { computeRoute } = await import('../src/admission.js');
    expect(computeRoute('POST', '/v2/models/toy_velocity/infer')).toBe('/v2/models/:name/infer');
    expect(computeRoute('POST', '/v2/models/toy_velocity/versions/1/infer?x=1')).toBe('/v2/models/:name/versions/:version/infer');
    expect(computeRoute('GET', '/v2/models/toy_velocity')).toBeUndefined();
    expect(computeRoute('POST', '/v1/models/toy/samples')).toBe('/v1/models/:name/samples');
  });
});
