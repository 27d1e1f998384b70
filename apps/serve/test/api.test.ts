/**
 * The HTTP API through fastify's inject (no sockets): every route, every error class, parity of
 * samples and log-densities with the runtime for the same seed, concurrent requests, timeouts
 * and back-pressure. Models come from the global setup (test/fixtures.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOnnxModel, type OnnxModel } from '@nfdm/runtime';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ComputePool, createServer, DEFAULT_LIMITS, type NfdmServer, resolveLimits, ServeConfigError } from '../src/index.js';
import { expectError, postJson, rows } from './http.js';

const modelsDir = inject('modelsDir');
const LIMITS = { maxN: 2_000, maxSteps: 400, maxPoints: 300, bodyLimit: 32 * 1024, timeoutMs: 20_000 };

let app: NfdmServer;
let toy: OnnxModel;
let vp3: OnnxModel;

beforeAll(async () => {
  app = await createServer({ modelsDir, limits: LIMITS });
  toy = await loadOnnxModel(join(modelsDir, 'toy'), { intraOpNumThreads: 1 });
  vp3 = await loadOnnxModel(join(modelsDir, 'vp3'), { intraOpNumThreads: 1 });
});

afterAll(async () => {
  await app?.close();
  await toy?.dispose();
  await vp3?.dispose();
});

const post = (url: string, payload: unknown, headers: Record<string, string> = {}) => postJson(app, url, payload, headers);

describe('health, models, metrics, OpenAPI', () => {
  it('GET /healthz and /readyz', async () => {
    const h = await app.inject('/healthz');
    expect(h.statusCode).toBe(200);
    expect(h.json()).toEqual({ status: 'ok' });
    const r = await app.inject('/readyz');
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ status: 'ready', models: 8 });
    expect(h.headers['x-request-id']).toBeTruthy();
  });

  it('GET /v1/models lists the loaded models with their capabilities', async () => {
    const res = await app.inject('/v1/models');
    expect(res.statusCode).toBe(200);
    const { models } = res.json();
    // 'bad name.onnx', notes.txt and .hidden/ are not models
    expect(models.map((m: { name: string }) => m.name)).toEqual(['bridge', 'flow', 'img', 'imgbridge', 'loop', 'toy', 'velo', 'vp3']);
    const byName = Object.fromEntries(models.map((m: { name: string }) => [m.name, m]));
    expect(byName.toy).toMatchObject({
      dim: 2,
      kind: 'nfdm',
      source: 'directory',
      standardized: false,
      capabilities: { samples: { ode: ['euler', 'heun', 'rk4', 'ddim'], sde: ['euler_maruyama', 'heun'] }, logProb: true },
    });
    expect(byName.toy.graphs).toEqual(
      expect.arrayContaining(['drift', 'velocity', 'velocity_divergence', 'frozen_step', 'sampler_euler_ode', 'sampler_ddim_ode']),
    );
    expect(byName.velo).toMatchObject({
      dim: 2,
      source: 'file',
      graphs: ['velocity'],
      capabilities: { samples: { ode: ['euler', 'heun', 'rk4'], sde: [] }, logProb: false },
    });
    expect(byName.loop).toMatchObject({ graphs: ['sampler_euler_ode'], capabilities: { samples: { ode: ['euler'], sde: [] } } });
    expect(byName.vp3).toMatchObject({ dim: 3, kind: 'fixed', standardized: true });
    const one = await app.inject('/v1/models/vp3');
    expect(one.statusCode).toBe(200);
    expect(one.json()).toEqual(byName.vp3);
  });

  it('GET /openapi.json documents the routes from their schemas', async () => {
    const res = await app.inject('/openapi.json');
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        '/healthz',
        '/metrics',
        '/readyz',
        '/v1/models',
        '/v1/models/{name}',
        '/v1/models/{name}/log-prob',
        '/v1/models/{name}/samples',
        '/v1/models/{name}/transport',
        '/v2',
        '/v2/health/live',
        '/v2/health/ready',
        '/v2/models/{name}',
        '/v2/models/{name}/infer',
        '/v2/models/{name}/ready',
        '/v2/models/{name}/versions/{version}',
        '/v2/models/{name}/versions/{version}/infer',
        '/v2/models/{name}/versions/{version}/ready',
      ].sort(),
    );
    const samples = doc.paths['/v1/models/{name}/samples'].post;
    const body = samples.requestBody.content['application/json'].schema;
    expect(body.properties.n).toMatchObject({ type: 'integer', minimum: 1, maximum: LIMITS.maxN });
    expect(body.properties.solver.enum).toEqual(['euler', 'heun', 'rk4', 'ddim', 'euler_maruyama', 'euler-maruyama']);
    expect(samples.parameters[0]).toMatchObject({ name: 'name', in: 'path', required: true });
    expect(samples.responses['200']).toBeDefined();
  });

  it('GET /metrics exposes request counts, latency, in-flight and samples in Prometheus text', async () => {
    await post('/v1/models/toy/samples', { n: 7, steps: 3, solver: 'euler', mode: 'ode' });
    await post('/v1/models/nope/samples', { n: 7 });
    const res = await app.inject('/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = res.body;
    expect(text).toMatch(/^# TYPE nfdm_http_requests_total counter$/m);
    expect(text).toMatch(/^nfdm_http_requests_total\{method="POST",route="\/v1\/models\/:name\/samples",status="200"\} \d+$/m);
    expect(text).toMatch(/^nfdm_http_requests_total\{method="POST",route="\/v1\/models\/:name\/samples",status="404"\} \d+$/m);
    expect(text).toMatch(/^# TYPE nfdm_http_request_duration_seconds histogram$/m);
    expect(text).toMatch(
      /^nfdm_http_request_duration_seconds_bucket\{method="POST",route="\/v1\/models\/:name\/samples",le="\+Inf"\} \d+$/m,
    );
    expect(text).toMatch(/^nfdm_http_request_duration_seconds_count\{method="GET",route="\/healthz"\} \d+$/m);
    // the /metrics request itself is in flight while rendering
    expect(text).toMatch(/^nfdm_http_requests_in_flight 1$/m);
    const generated = Number(/^nfdm_samples_generated_total\{model="toy"\} (\d+)$/m.exec(text)?.[1]);
    expect(generated).toBeGreaterThanOrEqual(7);
    expect(text).toMatch(/^nfdm_models_loaded 8$/m);
    // every sample line parses as `name{labels} value`
    for (const line of text.trim().split('\n'))
      if (!line.startsWith('#')) expect(line).toMatch(/^[a-z_]+(\{.*\})? ([-+0-9.eE]+|[+-]Inf|NaN)$/);
  });
});

describe('samples and log-densities equal the runtime', () => {
  const cases = [
    { model: 'toy', body: { n: 50, steps: 20, solver: 'heun', mode: 'ode', seed: 1 } },
    { model: 'toy', body: { n: 40, steps: 15, solver: 'euler-maruyama', mode: 'sde', seed: 12345 } },
    { model: 'toy', body: { n: 30, steps: 10, solver: 'heun', mode: 'sde', seed: 7 } },
    { model: 'vp3', body: { n: 25, steps: 12, solver: 'rk4', mode: 'ode', seed: 2 } },
    { model: 'toy', body: { n: 40, steps: 15, solver: 'euler_maruyama', mode: 'sde', seed: 12345 } },
    { model: 'toy', body: { n: 20, seed: 9 } }, // defaults: sde / euler_maruyama / 100 steps
  ] as const;
  it("the alias 'euler-maruyama' is the canonical 'euler_maruyama': same samples, canonical label", async () => {
    const body = { n: 12, steps: 9, mode: 'sde', seed: 3 };
    const alias = (await post('/v1/models/toy/samples', { ...body, solver: 'euler-maruyama' })).json();
    const canonical = (await post('/v1/models/toy/samples', { ...body, solver: 'euler_maruyama' })).json();
    expect([alias.solver, canonical.solver]).toEqual(['euler_maruyama', 'euler_maruyama']);
    expect(alias.samples).toEqual(canonical.samples);
    expect(alias.samples.length).toBe(12);
  });

  for (const { model, body } of cases) {
    it(`POST /v1/models/${model}/samples ${JSON.stringify(body)}`, async () => {
      const res = await post(`/v1/models/${model}/samples`, body);
      expect(res.statusCode, res.body).toBe(200);
      const out = res.json();
      const rt = model === 'toy' ? toy : vp3;
      const ref = await rt.sample({ ...body });
      expect(out).toMatchObject({
        model,
        n: body.n,
        dim: rt.dim,
        steps: 'steps' in body ? body.steps : 100,
        solver: ref.solver,
        mode: ref.mode,
        seed: body.seed,
        engine: 'stepwise',
        nfe: ref.stats.nfe,
      });
      expect(out.ms).toBeGreaterThan(0);
      expect(out.samples).toEqual(rows(ref.samples, rt.dim)); // bit-identical float32 values
    });
  }

  it('a single-graph model: velocity.onnx alone samples the ODE (stepwise), a sampler graph alone via the Loop engine', async () => {
    const body = { n: 12, steps: 8, solver: 'euler', mode: 'ode', seed: 3 } as const;
    const ref = rows((await toy.sample(body)).samples, 2);
    const velo = await post('/v1/models/velo/samples', body);
    expect(velo.statusCode).toBe(200);
    expect(velo.json().samples).toEqual(ref);
    const loop = await post('/v1/models/loop/samples', body);
    expect(loop.statusCode).toBe(200);
    expect(loop.json().engine).toBe('loop');
    const loopRef = rows((await toy.sample({ ...body, engine: 'loop' })).samples, 2);
    expect(loop.json().samples).toEqual(loopRef);
  });

  it('POST /v1/models/{name}/log-prob: fixed-step and adaptive', async () => {
    const points = [
      [0, 0],
      [0.5, -1.25],
      [2, 3],
    ];
    const fixed = await post('/v1/models/toy/log-prob', { points, steps: 16, solver: 'heun' });
    expect(fixed.statusCode, fixed.body).toBe(200);
    const refFixed = await toy.logProb(points, { steps: 16, solver: 'heun' });
    expect(fixed.json()).toMatchObject({ model: 'toy', n: 3, dim: 2, steps: 16, solver: 'heun', adaptive: false, nfe: refFixed.stats.nfe });
    expect(fixed.json().logProb).toEqual(Array.from(refFixed.logp));

    const adaptive = await post('/v1/models/vp3/log-prob', { points: [[0.5, -1, 2]] });
    expect(adaptive.statusCode, adaptive.body).toBe(200);
    const refAdaptive = await vp3.logProb([[0.5, -1, 2]], { adaptive: { maxSteps: LIMITS.maxSteps } });
    expect(adaptive.json()).toMatchObject({ steps: null, solver: 'dopri5', adaptive: true, n: 1, dim: 3 });
    expect(adaptive.json().logProb).toEqual(Array.from(refAdaptive.logp));

    const rk4 = await post('/v1/models/toy/log-prob', { points, steps: 8 });
    expect(rk4.json().solver).toBe('rk4');
    expect(rk4.json().logProb).toEqual(Array.from((await toy.logProb(points, { steps: 8, solver: 'rk4' })).logp));
  });

  it('log-prob of a schema-valid point far from the data: the solve diverges → 422 SOLVER_FAILED, not 500', async () => {
    // the runtime itself throws its solve error on this input (the oracle that it really diverges)
    await expect(toy.logProb([[1e30, 0]], { steps: 8, solver: 'rk4' })).rejects.toMatchObject({ code: 'non_finite_state' });
    for (const options of [{ steps: 8 }, { steps: 4, solver: 'euler' }, { steps: 4, solver: 'heun' }]) {
      const res = await post('/v1/models/toy/log-prob', {
        points: [
          [0, 0],
          [1e30, 0],
        ],
        ...options,
      });
      expectError(res, 422, 'SOLVER_FAILED', /^the solve diverged: the state became NaN or Inf at t = 1 \(inputs far outside/);
    }
    // the adaptive path gives up instead (step size underflow or budget): 422 as well
    const adaptive = await post('/v1/models/toy/log-prob', { points: [[1e30, -1e30]] });
    expectError(adaptive, 422, 'SOLVER_FAILED', /^the adaptive log-density solve failed: /);
    const metrics = (await app.inject('/metrics')).body;
    expect(metrics).not.toMatch(/status="500"/);
    expect((await post('/v1/models/toy/log-prob', { points: [[0, 0]], steps: 8 })).statusCode).toBe(200);
  });

  it('20 simultaneous sample requests all succeed with the right shapes and numbers', async () => {
    const bodies = Array.from({ length: 20 }, (_, i) => ({
      model: i % 3 === 0 ? 'vp3' : 'toy',
      body: { n: 32 + i, steps: 10, solver: i % 2 === 0 ? 'euler' : 'heun', mode: i % 4 < 2 ? 'ode' : 'sde', seed: 100 + i } as const,
    }));
    const responses = await Promise.all(bodies.map(({ model, body }) => post(`/v1/models/${model}/samples`, body)));
    for (const [i, res] of responses.entries()) {
      const { model, body } = bodies[i];
      expect(res.statusCode, res.body).toBe(200);
      const out = res.json();
      const dim = model === 'vp3' ? 3 : 2;
      expect(out.samples).toHaveLength(body.n);
      expect(out.samples.every((r: number[]) => r.length === dim)).toBe(true);
      const ref = await (model === 'vp3' ? vp3 : toy).sample(body);
      expect(out.samples).toEqual(rows(ref.samples, dim));
    }
  });
});

describe('errors: one JSON shape, the right status, and the server keeps serving', () => {
  it('malformed JSON, wrong content type, empty body → 400 / 415', async () => {
    expectError(await post('/v1/models/toy/samples', '{"n": 5,'), 400, 'FST_ERR_CTP_INVALID_JSON_BODY');
    expectError(await post('/v1/models/toy/samples', ''), 400);
    expectError(await post('/v1/models/toy/samples', 'n=5', { 'content-type': 'text/plain' }), 415);
    expectError(await post('/v1/models/toy/samples', 'n=5', { 'content-type': 'application/x-www-form-urlencoded' }), 415);
    expectError(await post('/v1/models/toy/samples', '{"__proto__": {"n": 1}}'), 400);
    expectError(await post('/v1/models/toy/samples', '[1, 2]'), 400, 'FST_ERR_VALIDATION');
  });

  it('wrong types, enums, unknown and missing fields → 400 with a clear message', async () => {
    const bad = async (body: unknown, message: RegExp) =>
      expectError(await post('/v1/models/toy/samples', body), 400, 'FST_ERR_VALIDATION', message);
    await bad({ n: '10' }, /body\.n must be integer/);
    await bad({ n: 1.5 }, /body\.n must be integer/);
    await bad({ n: 0 }, /body\.n must be >= 1/);
    await bad({ n: 5, seed: -1 }, /body\.seed must be >= 0/);
    await bad({ n: 5, steps: true }, /body\.steps must be integer/);
    await bad({ n: 5, solver: 'dopri' }, /body\.solver must be one of 'euler', 'heun', 'rk4', 'ddim', 'euler_maruyama', 'euler-maruyama'$/);
    await bad({ n: 5, mode: 'flow' }, /body\.mode must be one of 'ode', 'sde'/);
    await bad({ n: 5, seeed: 1 }, /unknown property 'seeed'/);
    await bad({ steps: 5 }, /must have the property 'n'/);
    await bad({ n: null }, /body\.n must be integer/);
    const rk4sde = await post('/v1/models/toy/samples', { n: 5, solver: 'rk4', mode: 'sde' });
    expectError(rk4sde, 400, 'INVALID_SOLVER', /not available in sde mode/);
    const lp = await post('/v1/models/toy/log-prob', { points: [[0, 0]], solver: 'heun' });
    expectError(lp, 400, 'INVALID_SOLVER', /needs 'steps'/);
  });

  it('"NaN" / "Infinity" strings and overflowing numbers are rejected', async () => {
    const lp = (body: string) => post('/v1/models/toy/log-prob', body);
    expectError(await lp('{"points": [[0, "NaN"]]}'), 400, 'FST_ERR_VALIDATION', /points\[0\]\[1\] must be number.*"NaN"/);
    expectError(await lp('{"points": [["Infinity", 0]]}'), 400, 'FST_ERR_VALIDATION', /points\[0\]\[0\] must be number/);
    expectError(await lp('{"points": [[0, 1e400]]}'), 400, 'FST_ERR_VALIDATION'); // JSON.parse gives Infinity
    expectError(await lp('{"points": [[0, null]]}'), 400, 'FST_ERR_VALIDATION');
    expectError(await post('/v1/models/toy/samples', '{"n": "NaN"}'), 400, 'FST_ERR_VALIDATION');
    expectError(await post('/v1/models/toy/samples', '{"n": 5, "seed": 1e400}'), 400, 'FST_ERR_VALIDATION');
  });

  it('wrong point dimensions → 422; malformed points → 400', async () => {
    expectError(
      await post('/v1/models/toy/log-prob', {
        points: [
          [0, 0],
          [1, 2, 3],
        ],
      }),
      422,
      'WRONG_DIMENSION',
      /points\[1\] has 3 coordinates; model 'toy' has dim 2/,
    );
    expectError(await post('/v1/models/vp3/log-prob', { points: [[0, 0]] }), 422, 'WRONG_DIMENSION');
    expectError(await post('/v1/models/toy/log-prob', { points: [] }), 400, 'FST_ERR_VALIDATION');
    expectError(await post('/v1/models/toy/log-prob', { points: [[]] }), 400, 'FST_ERR_VALIDATION');
    expectError(await post('/v1/models/toy/log-prob', { points: [0, 1] }), 400, 'FST_ERR_VALIDATION', /points\[0\] must be array/);
    expectError(await post('/v1/models/toy/log-prob', { points: [Array.from({ length: 17 }, () => 1)] }), 400, 'FST_ERR_VALIDATION'); // longer than any model (the largest has dim 16)
    expectError(await post('/v1/models/toy/log-prob', {}), 400, 'FST_ERR_VALIDATION', /'points'/);
  });

  it('unknown models → 404; names outside [A-Za-z0-9._-] → 400 before any lookup; unknown routes → 404', async () => {
    expectError(await post('/v1/models/nope/samples', { n: 1 }), 404, 'MODEL_NOT_FOUND', /no model named 'nope'/);
    expectError(await post('/v1/models/nope/log-prob', { points: [[0, 0]] }), 404, 'MODEL_NOT_FOUND');
    expectError(await app.inject('/v1/models/nope'), 404, 'MODEL_NOT_FOUND');
    expectError(await post('/v1/models/../samples', { n: 1 }), 404); // '..' is a valid name; not a loaded model
    expectError(await post('/v1/models/__proto__/samples', { n: 1 }), 404, 'MODEL_NOT_FOUND');
    for (const name of ['bad%20name', '..%2F..%2Fetc%2Fpasswd', 'toy%2Fdrift.onnx', '%2Ftmp%2Fx', 'a%00b', 'caf%C3%A9']) {
      expectError(await post(`/v1/models/${name}/samples`, { n: 1 }), 400, 'FST_ERR_VALIDATION', /model names may only contain/);
    }
    expectError(await post(`/v1/models/${'x'.repeat(100)}/samples`, { n: 1 }), 404, 'MODEL_NOT_FOUND');
    expectError(await post(`/v1/models/${'x'.repeat(101)}/samples`, { n: 1 }), 414, 'FST_ERR_MAX_PARAM_LENGTH'); // router limit
    expectError(await app.inject('/v2/nothing'), 404, 'ROUTE_NOT_FOUND');
    expectError(await app.inject({ method: 'POST', url: '/v1/models/toy/sample' }), 404, 'ROUTE_NOT_FOUND');
  });

  it('a known path with the wrong method → 405 with Allow (not 404)', async () => {
    const cases: Array<[string, string, string]> = [
      ['DELETE', '/v1/models/toy', 'GET, HEAD'],
      ['POST', '/healthz', 'GET, HEAD'],
      ['PUT', '/metrics?x=1', 'GET, HEAD'],
      ['GET', '/v1/models/toy/samples', 'POST'],
      ['GET', '/v1/models/nope/log-prob', 'POST'],
      ['DELETE', '/v1/models/bridge/transport', 'POST'],
      ['PATCH', '/v1/models', 'GET, HEAD'],
    ];
    for (const [method, url, allow] of cases) {
      const res = await app.inject({ method: method as 'GET', url });
      expectError(res, 405, 'METHOD_NOT_ALLOWED', new RegExp(`^${method} is not allowed on ${url.split('?')[0]} \\(allowed: ${allow}\\)$`));
      expect(res.headers.allow, `${method} ${url}`).toBe(allow);
    }
    // HEAD of a GET route still works
    expect((await app.inject({ method: 'HEAD', url: '/healthz' })).statusCode).toBe(200);
    const metrics = (await app.inject('/metrics')).body;
    expect(metrics).toMatch(/^nfdm_http_requests_total\{method="DELETE",route="unmatched",status="405"\} \d+$/m);
  });

  it('over-limit n, steps, points and body size → 400 / 413 naming the limit', async () => {
    expectError(await post('/v1/models/toy/samples', { n: LIMITS.maxN + 1 }), 400, 'FST_ERR_VALIDATION', /n must be <= 2000 .*maxN/);
    expectError(await post('/v1/models/toy/samples', { n: 1, steps: LIMITS.maxSteps + 1 }), 400, 'FST_ERR_VALIDATION', /maxSteps/);
    expectError(await post('/v1/models/toy/log-prob', { points: [[0, 0]], steps: 100_000 }), 400, 'FST_ERR_VALIDATION', /maxSteps/);
    const many = Array.from({ length: LIMITS.maxPoints + 1 }, () => [0, 0]);
    expectError(await post('/v1/models/toy/log-prob', { points: many }), 400, 'FST_ERR_VALIDATION', /more than 300 items.*maxPoints/);
    const huge = Array.from({ length: 5000 }, (_, i) => [i * 0.001, 1.2345678]);
    expectError(await post('/v1/models/toy/log-prob', { points: huge }), 413, 'FST_ERR_CTP_BODY_TOO_LARGE', /32768-byte limit/);
  });

  it('a graph the model lacks → 422 (velo has no drift / velocity_divergence)', async () => {
    expectError(await post('/v1/models/velo/samples', { n: 3, mode: 'sde' }), 422, 'UNSUPPORTED', /cannot sample with euler_maruyama\/sde/);
    expectError(await post('/v1/models/loop/samples', { n: 3, solver: 'rk4', mode: 'ode' }), 422, 'UNSUPPORTED');
    expectError(await post('/v1/models/velo/log-prob', { points: [[0, 0]] }), 422, 'UNSUPPORTED', /velocity_divergence/);
  });

  it('still serves after all of that', async () => {
    expect((await app.inject('/healthz')).statusCode).toBe(200);
    const res = await post('/v1/models/toy/samples', { n: 4, steps: 2, solver: 'euler' });
    expect(res.statusCode).toBe(200);
    expect(res.json().samples).toHaveLength(4);
  });
});

describe('timeouts, back-pressure, limits and close', () => {
  it('a computation past the deadline → 503 TIMEOUT (abandoned at the next step); a full queue → 503 SERVER_BUSY', async () => {
    const slow = await createServer({ modelsDir, limits: { timeoutMs: 150, maxConcurrent: 1, maxQueue: 0 } });
    try {
      const started = Date.now();
      const [a, b] = await Promise.all([
        slow.inject({ method: 'POST', url: '/v1/models/toy/samples', payload: { n: 2000, steps: 1000, solver: 'rk4', mode: 'ode' } }),
        slow.inject({ method: 'POST', url: '/v1/models/toy/samples', payload: { n: 1, steps: 1, solver: 'euler' } }),
      ]);
      expectError(a, 503, 'TIMEOUT', /150 ms timeout/);
      expect(Date.now() - started).toBeLessThan(5_000); // not the ~15 s the full solve takes
      expectError(b, 503, 'SERVER_BUSY', /server busy/);
      expect(b.headers['retry-after']).toBe('1');
      const ok = await slow.inject({ method: 'POST', url: '/v1/models/toy/samples', payload: { n: 3, steps: 2, solver: 'euler' } });
      expect(ok.statusCode).toBe(200);
      const metrics = (await slow.inject('/metrics')).body;
      expect(metrics).toMatch(/^nfdm_compute_aborted_total\{reason="timeout"\} 1$/m);
      expect(metrics).toMatch(/^nfdm_compute_aborted_total\{reason="busy"\} 1$/m);
      expect(metrics).toMatch(/^nfdm_http_requests_total\{method="POST",route="\/v1\/models\/:name\/samples",status="503"\} 2$/m);
    } finally {
      await slow.close();
    }
  });

  it('a client that disconnects mid-computation: the work is abandoned, metrics stay right, close() is prompt', async () => {
    const s = await createServer({ modelsDir });
    try {
      const address = await s.listen({ port: 0, host: '127.0.0.1' });
      const ac = new AbortController();
      const started = Date.now();
      const pending = fetch(`${address}/v1/models/toy/samples`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ n: 4000, steps: 1000, solver: 'rk4', mode: 'ode' }), // ~10 s of work
        signal: ac.signal,
      }).catch((e: Error) => e.name);
      while (s.nfdm.pool.running === 0) await new Promise((r) => setTimeout(r, 5));
      ac.abort();
      expect(await pending).toBe('AbortError');
      while (s.nfdm.pool.running !== 0) await new Promise((r) => setTimeout(r, 5));
      expect(Date.now() - started).toBeLessThan(3_000);
      const metrics = (await s.inject('/metrics')).body;
      expect(metrics).toMatch(/^nfdm_compute_aborted_total\{reason="client_closed"\} 1$/m);
      expect(metrics).toMatch(/^nfdm_http_requests_total\{method="POST",route="\/v1\/models\/:name\/samples",status="499"\} 1$/m);
      expect(metrics).toMatch(/^nfdm_http_requests_in_flight 1$/m); // just this /metrics request
      const t0 = Date.now();
      await s.close();
      expect(Date.now() - t0).toBeLessThan(2_000);
    } finally {
      await s.close();
    }
  });

  it('the pool queues FIFO and drops aborted waiters', async () => {
    const pool = new ComputePool(1, 2);
    const order: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const never = new AbortController().signal;
    const first = pool.run(never, async () => {
      await gate;
      order.push(1);
    });
    const aborted = new AbortController();
    const second = pool.run(aborted.signal, async () => {
      order.push(2);
    });
    const third = pool.run(never, async () => {
      order.push(3);
    });
    expect(pool.queued).toBe(2);
    await expect(pool.run(never, async () => {})).rejects.toMatchObject({ statusCode: 503 });
    aborted.abort(new Error('gone'));
    await expect(second).rejects.toThrow('gone');
    release();
    await Promise.all([first, third]);
    expect(order).toEqual([1, 3]);
    await pool.idle();
    expect(pool.running).toBe(0);
  });

  it('defaults are safe; bad limits and bad model directories are config errors', async () => {
    expect(resolveLimits()).toEqual({
      maxN: 10_000,
      maxSteps: 1_000,
      maxPoints: 10_000,
      bodyLimit: 1_048_576,
      timeoutMs: 30_000,
      maxConcurrent: 4,
      maxQueue: 256,
    });
    expect(DEFAULT_LIMITS.maxN).toBe(10_000);
    expect(() => resolveLimits({ maxN: 0 })).toThrow(ServeConfigError);
    expect(() => resolveLimits({ maxSteps: 1.5 })).toThrow(/maxSteps must be an integer/);
    await expect(createServer({ modelsDir: join(modelsDir, 'does-not-exist') })).rejects.toThrow(/cannot read models directory/);
    await expect(createServer({ modelsDir: join(modelsDir, 'notes.txt') })).rejects.toThrow(/not a directory/);
    await expect(createServer({ modelsDir: join(modelsDir, '.hidden') })).rejects.toThrow(/cannot load model 'x'/);
    const empty = mkdtempSync(join(tmpdir(), 'nfdm-serve-empty-'));
    try {
      await expect(createServer({ modelsDir: empty })).rejects.toThrow(/no models in/);
    } finally {
      rmSync(empty, { recursive: true });
    }
  });

  it('close() drains the running computation, then releases the sessions', async () => {
    const s = await createServer({ modelsDir });
    await s.ready();
    const pending = s.inject({ method: 'POST', url: '/v1/models/toy/samples', payload: { n: 1000, steps: 200, solver: 'heun' } });
    while (s.nfdm.pool.running === 0) await new Promise((r) => setTimeout(r, 2));
    const closing = s.close();
    await new Promise((r) => setTimeout(r, 10));
    expect(s.nfdm.closing).toBe(true);
    expect(s.nfdm.models.size).toBe(8); // still computing
    const res = await pending;
    expect(res.statusCode).toBe(200);
    await closing;
    expect(s.nfdm.models.size).toBe(0);
  });
});
