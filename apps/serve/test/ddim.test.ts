/**
 * POST /samples with solver 'ddim' (the frozen-prediction ODE steps of diffusion models,
 * docs/maths/sampling.md#frozen-prediction-steps): listed in the capabilities of a model exported
 * with the `frozen_step` or `sampler_ddim_ode` graph; served stepwise (frozen_step) or by the Loop
 * graph alone, with the runtime's samples for the same seed; 4xx JSON in SDE mode, on a model
 * without the graphs and on /transport.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOnnxModel, type OnnxModel } from '@nfdm/runtime';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createServer, type NfdmServer } from '../src/index.js';
import { expectError, postJson, rows } from './http.js';

const modelsDir = inject('modelsDir');
const LIMITS = { maxN: 500, maxSteps: 100, maxPoints: 100, bodyLimit: 32 * 1024, timeoutMs: 20_000 };

let app: NfdmServer;
let loopApp: NfdmServer;
let toy: OnnxModel;
let loopDir: string;

beforeAll(async () => {
  app = await createServer({ modelsDir, limits: LIMITS });
  // a models directory with the one-call ddim sampler of `toy` alone
  loopDir = mkdtempSync(join(tmpdir(), 'nfdm-serve-ddim-'));
  mkdirSync(join(loopDir, 'models'));
  copyFileSync(join(modelsDir, 'toy', 'sampler_ddim_ode.onnx'), join(loopDir, 'models', 'ddimloop.onnx'));
  loopApp = await createServer({ modelsDir: join(loopDir, 'models'), limits: LIMITS });
  toy = await loadOnnxModel(join(modelsDir, 'toy'), { intraOpNumThreads: 1 });
});

afterAll(async () => {
  await app?.close();
  await loopApp?.close();
  await toy?.dispose();
  if (loopDir) rmSync(loopDir, { recursive: true, force: true });
});

describe("solver 'ddim' on POST /v1/models/{name}/samples", () => {
  it('is listed for diffusion models with the graphs, not for a velocity graph alone', async () => {
    const models = Object.fromEntries(
      (await app.inject('/v1/models')).json().models.map((m: { name: string; capabilities: unknown }) => [m.name, m.capabilities]),
    );
    expect(models.toy.samples.ode).toEqual(['euler', 'heun', 'rk4', 'ddim']);
    expect(models.velo.samples.ode).toEqual(['euler', 'heun', 'rk4']);
    expect(models.bridge.transport.ode).not.toContain('ddim');
    const loop = (await loopApp.inject('/v1/models/ddimloop')).json();
    expect(loop).toMatchObject({ graphs: ['sampler_ddim_ode'], capabilities: { samples: { ode: ['ddim'], sde: [] } } });
  });

  it('stepwise (frozen_step) and with the Loop graph alone: the runtime samples for the same seed', async () => {
    const body = { n: 9, steps: 7, solver: 'ddim', seed: 3 } as const;
    const ref = await toy.sample(body);
    const res = await postJson(app, '/v1/models/toy/samples', body);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ n: 9, dim: 2, steps: 7, solver: 'ddim', mode: 'ode', seed: 3, engine: 'stepwise', nfe: 7 });
    expect(res.json().samples).toEqual(rows(ref.samples, 2));
    const loopRef = await toy.sample({ ...body, engine: 'loop' });
    const loop = await postJson(loopApp, '/v1/models/ddimloop/samples', { ...body, mode: 'ode' });
    expect(loop.statusCode, loop.body).toBe(200);
    expect(loop.json()).toMatchObject({ solver: 'ddim', mode: 'ode', engine: 'loop', nfe: 7 });
    expect(loop.json().samples).toEqual(rows(loopRef.samples, 2));
    // the two engines agree to float32 rounding, and the steps differ from Euler's
    const euler = (await toy.sample({ ...body, solver: 'euler', mode: 'ode' })).samples;
    let gap = 0;
    let moved = 0;
    ref.samples.forEach((v, i) => {
      gap = Math.max(gap, Math.abs(v - loopRef.samples[i]));
      moved = Math.max(moved, Math.abs(v - euler[i]));
    });
    expect(gap).toBeLessThan(1e-4);
    expect(moved).toBeGreaterThan(1e-3);
  });

  it('4xx JSON: SDE mode, a model without the graphs, /transport', async () => {
    const sde = await postJson(app, '/v1/models/toy/samples', { n: 2, solver: 'ddim', mode: 'sde' });
    expectError(sde, 400, 'INVALID_SOLVER', /solver 'ddim' is not available in sde mode/);
    const velo = await postJson(app, '/v1/models/velo/samples', { n: 2, solver: 'ddim' });
    expectError(velo, 422, 'UNSUPPORTED', /cannot sample with ddim\/ode: it has no graph for it/);
    const transport = await postJson(app, '/v1/models/bridge/transport', { sources: [[0, 1]], solver: 'ddim', mode: 'ode' });
    expectError(transport, 400, 'INVALID_SOLVER', /'ddim' .* diffusion models only/);
    expect((await postJson(app, '/v1/models/toy/samples', { n: 2, steps: 2, solver: 'ddim' })).statusCode).toBe(200);
  });
});
