/**
 * NFBM bridges and DiffFlow models over HTTP: POST /transport on a bridge and POST /samples on a
 * DiffFlow model equal the runtime bit for bit; the endpoints that do not apply answer 422 with a
 * pointer to the right one; transport input validation (dimension, non-finite, limits).
 */
import { join } from 'node:path';
import { loadOnnxBridge, loadOnnxDiffFlow, type OnnxBridgeModel, type OnnxDiffFlowModel } from '@nfdm/runtime';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createServer, type NfdmServer } from '../src/index.js';
import { FLOW_GRID, FLOW_STD } from './fixtures.js';
import { expectError, postJson, rows } from './http.js';

const modelsDir = inject('modelsDir');
const LIMITS = { maxN: 500, maxSteps: 200, maxPoints: 300, bodyLimit: 64 * 1024, timeoutMs: 20_000 };

let app: NfdmServer;
let bridge: OnnxBridgeModel;
let flow: OnnxDiffFlowModel;

beforeAll(async () => {
  app = await createServer({ modelsDir, limits: LIMITS });
  bridge = await loadOnnxBridge(join(modelsDir, 'bridge'), { intraOpNumThreads: 1 });
  flow = await loadOnnxDiffFlow(join(modelsDir, 'flow'), { intraOpNumThreads: 1 });
});

afterAll(async () => {
  await app?.close();
  await bridge?.dispose();
  await flow?.dispose();
});

const post = (url: string, payload: unknown, headers: Record<string, string> = {}) => postJson(app, url, payload, headers);

const SOURCES = [
  [0, 0],
  [1.5, -0.5],
  [-2, 1],
  [0.25, 3],
];

describe('model listing', () => {
  it('bridges and DiffFlow models describe their family and capabilities', async () => {
    const b = (await app.inject('/v1/models/bridge')).json();
    expect(b).toMatchObject({
      dim: 2,
      kind: 'nfbm',
      family: 'nfbm',
      delta: 0.2,
      capabilities: {
        samples: { ode: [], sde: [] },
        logProb: false,
        transport: { ode: ['euler', 'heun', 'rk4'], sde: ['euler_maruyama', 'heun'] },
      },
    });
    expect(b.graphs).toEqual(['bridge_drift', 'bridge_sampler_euler_ode', 'bridge_sampler_euler_sde', 'bridge_velocity']);
    const f = (await app.inject('/v1/models/flow')).json();
    expect(f).toMatchObject({
      dim: 2,
      kind: 'diffflow',
      family: 'diffflow',
      standardized: true,
      grid: { steps: FLOW_GRID.length - 1, tMin: FLOW_GRID[0], tMax: 1 },
      capabilities: { samples: { ode: ['grid'], sde: ['grid'] }, logProb: false, transport: { ode: [], sde: [] } },
    });
    const toy = (await app.inject('/v1/models/toy')).json();
    expect(toy).toMatchObject({ family: 'diffusion', capabilities: { transport: { ode: [], sde: [] } } });
  });

  it('OpenAPI documents POST /transport', async () => {
    const doc = (await app.inject('/openapi.json')).json();
    const op = doc.paths['/v1/models/{name}/transport'].post;
    const body = op.requestBody.content['application/json'].schema;
    expect(body.required).toEqual(['sources']);
    expect(body.properties.sources).toMatchObject({ type: 'array', minItems: 1, maxItems: LIMITS.maxN });
    expect(body.properties.mode.enum).toEqual(['ode', 'sde']);
    expect(op.responses['200']).toBeDefined();
  });
});

describe('POST /v1/models/{name}/transport', () => {
  const cases = [
    { mode: 'ode', solver: 'heun', steps: 12, seed: 3 },
    { mode: 'sde', steps: 10, seed: 4 },
    { seed: 1 }, // defaults: sde / euler_maruyama / 100 steps
  ] as const;
  for (const body of cases) {
    it(`equals loadOnnxBridge().transport ${JSON.stringify(body)}`, async () => {
      const res = await post('/v1/models/bridge/transport', { sources: SOURCES, ...body });
      expect(res.statusCode, res.body).toBe(200);
      const ref = await bridge.transport(SOURCES, { steps: 100, ...body });
      const out = res.json();
      expect(out).toMatchObject({
        model: 'bridge',
        n: SOURCES.length,
        dim: 2,
        steps: 'steps' in body ? body.steps : 100,
        solver: ref.solver,
        mode: ref.mode,
        seed: body.seed,
        engine: 'stepwise',
        nfe: ref.stats.nfe,
      });
      expect(out.samples).toEqual(rows(ref.samples, 2));
    });
  }

  it('bad input → 4xx JSON errors', async () => {
    const t = (body: unknown) => post('/v1/models/bridge/transport', body);
    expectError(await t({ sources: [[0, 0, 1]] }), 422, 'WRONG_DIMENSION', /sources\[0\] has 3 coordinates; model 'bridge' has dim 2/);
    expectError(await t('{"sources": [[0, 1e400]]}'), 400, 'FST_ERR_VALIDATION');
    expectError(await t('{"sources": [[0, "NaN"]]}'), 400, 'FST_ERR_VALIDATION', /sources\[0\]\[1\] must be number/);
    expectError(await t({ sources: [[0, null]] }), 400, 'FST_ERR_VALIDATION');
    expectError(await t({ sources: [] }), 400, 'FST_ERR_VALIDATION');
    expectError(await t({ sources: [[]] }), 400, 'FST_ERR_VALIDATION');
    expectError(await t({}), 400, 'FST_ERR_VALIDATION', /'sources'/);
    const many = Array.from({ length: LIMITS.maxN + 1 }, () => [0, 0]);
    expectError(await t({ sources: many }), 400, 'FST_ERR_VALIDATION', /more than 500 items.*maxN/);
    expectError(await t({ sources: SOURCES, steps: LIMITS.maxSteps + 1 }), 400, 'FST_ERR_VALIDATION', /maxSteps/);
    expectError(await t({ sources: SOURCES, solver: 'rk4', mode: 'sde' }), 400, 'INVALID_SOLVER');
    expectError(await t({ sources: SOURCES, seeed: 1 }), 400, 'FST_ERR_VALIDATION', /unknown property 'seeed'/);
    expectError(await t({ sources: SOURCES, mode: 'flow' }), 400, 'FST_ERR_VALIDATION');
    expectError(await post('/v1/models/nope/transport', { sources: SOURCES }), 404, 'MODEL_NOT_FOUND');
    expectError(await post('/v1/models/toy/transport', { sources: SOURCES }), 422, 'UNSUPPORTED', /not an NFBM bridge.*\/samples/);
    expectError(await post('/v1/models/flow/transport', { sources: SOURCES }), 422, 'UNSUPPORTED');
  });

  it('sources far from the data: the solve diverges → 422 SOLVER_FAILED (ODE and SDE), not 500', async () => {
    for (const mode of ['ode', 'sde'] as const) {
      await expect(bridge.transport([[1e30, 0]], { mode, steps: 5 })).rejects.toMatchObject({ code: 'non_finite_state' });
      const res = await post('/v1/models/bridge/transport', {
        sources: [
          [0, 0],
          [1e30, 0],
        ],
        mode,
        steps: 5,
      });
      expectError(res, 422, 'SOLVER_FAILED', /^the solve diverged: the state became NaN or Inf at t = 0 /);
    }
    expect(await post('/v1/models/bridge/transport', { sources: SOURCES, mode: 'ode', steps: 5 }).then((r) => r.statusCode)).toBe(200);
  });

  it('/samples and /log-prob on a bridge → 422 pointing to /transport', async () => {
    expectError(await post('/v1/models/bridge/samples', { n: 3 }), 422, 'USE_TRANSPORT', /use POST \/v1\/models\/bridge\/transport/);
    expectError(await post('/v1/models/bridge/log-prob', { points: [[0, 0]] }), 422, 'UNSUPPORTED', /not supported for NFBM bridges/);
  });
});

describe('DiffFlow: POST /v1/models/{name}/samples', () => {
  for (const body of [{ n: 20, seed: 2 }, { n: 15, mode: 'ode', seed: 9 }, { n: 5 }] as const) {
    it(`equals loadOnnxDiffFlow().sample ${JSON.stringify(body)}`, async () => {
      const res = await post('/v1/models/flow/samples', body);
      expect(res.statusCode, res.body).toBe(200);
      const ref = await flow.sample(body);
      expect(res.json()).toMatchObject({
        model: 'flow',
        n: body.n,
        dim: 2,
        steps: FLOW_GRID.length - 1,
        solver: 'grid',
        mode: ref.mode,
        seed: 'seed' in body ? body.seed : 0,
        engine: 'stepwise',
      });
      expect(res.json().samples).toEqual(rows(ref.samples, 2));
    });
  }

  it('samples are in data space (standardisation undone)', async () => {
    const res = (await post('/v1/models/flow/samples', { n: 400, seed: 3 })).json();
    const mean = [0, 1].map((d) => res.samples.reduce((a: number, r: number[]) => a + r[d], 0) / 400);
    // an untrained flow maps N(0, I) near itself: the data-space mean is near FLOW_STD.mean
    for (const d of [0, 1]) expect(Math.abs(mean[d] - FLOW_STD.mean[d])).toBeLessThan(3 * FLOW_STD.std[d]);
  });

  it('steps / solver → 400; log-prob → 422 not supported for diffflow', async () => {
    expectError(await post('/v1/models/flow/samples', { n: 3, steps: 5 }), 400, 'INVALID_OPTION', /exported 8-step grid/);
    expectError(await post('/v1/models/flow/samples', { n: 3, solver: 'heun' }), 400, 'INVALID_OPTION');
    expectError(await post('/v1/models/flow/log-prob', { points: [[0, 0]] }), 422, 'UNSUPPORTED', /not supported for diffflow/);
    expect((await app.inject('/healthz')).statusCode).toBe(200);
  });
});
