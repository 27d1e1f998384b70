/**
 * Flow-matching (velocity) models over HTTP: GET /v1/models/{name} describes the family 'cfm'
 * (ODE solvers only, log p), POST /samples and /log-prob equal the runtime bit for bit, and an
 * SDE request answers 422 (there is no reverse SDE). The models are exported here into their own
 * directory: an MLP with a standardisation, and one loaded from its velocity graph alone.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@nfdm/core';
import { exportCFMOnnx, writeOnnxExport } from '@nfdm/export';
import { CFM_FORMAT, createCFMModel } from '@nfdm/models';
import { loadOnnxCFM, type OnnxCFMModel } from '@nfdm/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type NfdmServer } from '../src/index.js';
import { expectError, postJson, rows } from './http.js';

const LIMITS = { maxN: 500, maxSteps: 200, maxPoints: 300, bodyLimit: 64 * 1024, timeoutMs: 20_000 };
const STD = { mean: [1, -1], std: [2, 0.5] };

let dir: string;
let app: NfdmServer;
let runtime: OnnxCFMModel;

beforeAll(async () => {
  await initBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'nfdm-serve-cfm-'));
  const model = createCFMModel({
    format: CFM_FORMAT,
    dim: 2,
    flow: { coupling: 'ot', sigmaMin: 0 },
    velocity: { hidden: [16, 16], activation: 'selu', init: 'torch' },
    seed: 3,
    standardization: STD,
  });
  const exported = exportCFMOnnx(model);
  writeOnnxExport(exported, join(dir, 'cfm'));
  writeFileSync(join(dir, 'cfmvelo.onnx'), exported.graphs.velocity as Uint8Array);
  model.dispose();
  app = await createServer({ modelsDir: dir, limits: LIMITS });
  runtime = await loadOnnxCFM(join(dir, 'cfm'), { intraOpNumThreads: 1 });
});

afterAll(async () => {
  await app?.close();
  await runtime?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const post = (url: string, payload: unknown) => postJson(app, url, payload);

describe('flow-matching models over HTTP', () => {
  it('GET /v1/models/{name}: family cfm, ODE solvers only, log p with the divergence graph', async () => {
    const info = (await app.inject('/v1/models/cfm')).json();
    expect(info).toMatchObject({
      dim: 2,
      kind: 'cfm',
      family: 'cfm',
      standardized: true,
      priorStd: 1,
      tStart: 0,
      capabilities: { samples: { ode: ['euler', 'heun', 'rk4'], sde: [] }, logProb: true, transport: { ode: [], sde: [] } },
    });
    expect(info.graphs).toEqual(['sampler_euler_ode', 'sampler_heun_ode', 'sampler_rk4_ode', 'velocity', 'velocity_divergence']);
    const velo = (await app.inject('/v1/models/cfmvelo')).json();
    expect(velo).toMatchObject({ family: 'cfm', graphs: ['velocity'], capabilities: { logProb: false } });
  });

  it('POST /samples equals the runtime (ODE; the default is the ODE with Euler); an SDE request answers 422', async () => {
    for (const solver of ['euler', 'rk4'] as const) {
      const res = await post('/v1/models/cfm/samples', { n: 5, steps: 6, solver, mode: 'ode', seed: 7 });
      expect(res.statusCode, res.body).toBe(200);
      const ref = await runtime.sample({ n: 5, steps: 6, solver, seed: 7 });
      expect(res.json()).toMatchObject({ n: 5, dim: 2, steps: 6, solver, mode: 'ode', seed: 7, samples: rows(ref.samples, 2) });
    }
    const byDefault = await post('/v1/models/cfm/samples', { n: 3, steps: 4, seed: 1 });
    expect(byDefault.statusCode, byDefault.body).toBe(200);
    expect(byDefault.json()).toMatchObject({ mode: 'ode', solver: 'euler' });
    expectError(await post('/v1/models/cfm/samples', { n: 3, mode: 'sde' }), 422, 'UNSUPPORTED', /no reverse SDE|sde/);
    const velo = await post('/v1/models/cfmvelo/samples', { n: 5, steps: 6, solver: 'heun', mode: 'ode', seed: 7 });
    const ref = await runtime.sample({ n: 5, steps: 6, solver: 'heun', seed: 7 });
    expect(velo.json().samples).toEqual(rows(ref.samples, 2));
  });

  it('POST /log-prob equals the runtime (fixed-step and adaptive); without the divergence graph it answers 422', async () => {
    const points = [
      [0.5, -1],
      [2, 0],
      [-1, -1.5],
    ];
    const fixed = await post('/v1/models/cfm/log-prob', { points, steps: 8, solver: 'heun' });
    expect(fixed.statusCode, fixed.body).toBe(200);
    expect(fixed.json().logProb).toEqual(Array.from((await runtime.logProb(points, { steps: 8, solver: 'heun' })).logp));
    const adaptive = await post('/v1/models/cfm/log-prob', { points });
    expect(adaptive.json()).toMatchObject({ adaptive: true, solver: 'dopri5' });
    expect(adaptive.json().logProb.every(Number.isFinite)).toBe(true);
    expectError(await post('/v1/models/cfmvelo/log-prob', { points }), 422, 'UNSUPPORTED', /velocity_divergence/);
  });
});
