/**
 * Conditional models over HTTP (conditions.ts): model info lists the condition; /samples with a
 * label (one for all rows, or one per row) or a vector (null entries = the null condition) and a
 * guidance weight equals the runtime bit for bit (JSON and PNG); /log-prob takes the points'
 * conditions; /transport of a conditional bridge takes a condition and a guidance weight and
 * equals the runtime's transport (JSON and PNG); every malformed or misplaced condition is a 4xx
 * JSON error with a code. The models are exported here (a label-conditional NFDM with a
 * conditioned forward process, a vector-conditional VP model, a label-conditional 4×4 U-Net, an
 * unconditional NFDM, a label-conditional NFBM bridge with a conditioned process and a
 * label-conditional 4×4 U-Net bridge).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@nfdm/core';
import { exportBridge, exportOnnx, writeOnnxExport } from '@nfdm/export';
import { BRIDGE_FORMAT, type BridgeModel, createAnyModel, createModel, type ModelConfig } from '@nfdm/models';
import { imageGridPng, loadOnnxBridge, loadOnnxModel, type OnnxBridgeModel, OnnxConditionError, type OnnxModel } from '@nfdm/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorBody } from '../src/error-mapping.js';
import { createServer, type NfdmServer } from '../src/index.js';
import { IMG, TOY, UNET } from './fixtures.js';
import { expectError, postJson, rows } from './http.js';

const root = mkdtempSync(join(tmpdir(), 'nfdm-serve-cond-'));
const LIMITS = { maxN: 500, maxSteps: 200, maxPoints: 100, bodyLimit: 32 * 1024, timeoutMs: 20_000 };
const LABELS: ModelConfig = {
  ...TOY,
  forward: { kind: 'nfdm', hidden: [16], activation: 'selu', conditioned: true },
  condition: { kind: 'label', classes: 3, dropout: 0.1, embedding: 4 },
  seed: 21,
} as ModelConfig;
const VECTORS: ModelConfig = {
  format: 'nfdm-model/1',
  dim: 2,
  forward: { kind: 'fixed', schedule: { name: 'vp' } },
  predictor: { hidden: [16], activation: 'silu' },
  volatility: { kind: 'matched', schedule: { name: 'vp' } },
  condition: { kind: 'vector', dim: 2, dropout: 0.1, embedding: 4 },
  seed: 22,
} as ModelConfig;
const LABEL_IMAGES: ModelConfig = { ...IMG, condition: { kind: 'label', classes: 2, dropout: 0.1 }, seed: 23 } as ModelConfig;
/**
 * A label-conditional bridge (K = 3) whose process is conditioned too, and a label-conditional
 * 4×4 U-Net bridge (K = 2); the first without its condition is the unconditional bridge.
 */
const LABEL_BRIDGE = {
  format: BRIDGE_FORMAT,
  dim: 2,
  process: { hidden: [16], activation: 'selu', delta: 0.2, conditioned: true },
  predictor: { hidden: [16], activation: 'silu' },
  volatility: { kind: 'constant', value: 0.3 },
  penalties: [],
  condition: { kind: 'label', classes: 3, dropout: 0.1, embedding: 4 },
  seed: 24,
};
const LABEL_IMAGE_BRIDGE = {
  ...LABEL_BRIDGE,
  dim: 16,
  process: { network: UNET, delta: 0.2 },
  predictor: { network: UNET },
  condition: { kind: 'label', classes: 2, dropout: 0.1 },
  seed: 25,
};

let app: NfdmServer;
let lab: OnnxModel;
let vec: OnnxModel;
let lbridge: OnnxBridgeModel;

beforeAll(async () => {
  await initBackend('cpu');
  const dir = join(root, 'models');
  for (const [name, config, samplers] of [
    ['lab', LABELS, undefined],
    ['vec', VECTORS, []],
    ['limg', LABEL_IMAGES, [{ solver: 'euler', mode: 'ode' }]],
    ['toy', TOY, []],
  ] as const) {
    const model = createModel(config);
    writeOnnxExport(exportOnnx(model, { components: false, ...(samplers ? { samplers: [...samplers] } : {}) }), join(dir, name));
    model.dispose();
  }
  for (const [name, config] of [
    ['lbridge', LABEL_BRIDGE],
    ['libridge', LABEL_IMAGE_BRIDGE],
    ['ubridge', { ...LABEL_BRIDGE, process: { hidden: [16], activation: 'selu', delta: 0.2 }, condition: undefined }],
  ] as const) {
    const bridge = createAnyModel(config as never) as BridgeModel;
    exportBridge(bridge, join(dir, name));
    bridge.dispose();
  }
  app = await createServer({ modelsDir: dir, limits: LIMITS });
  lab = await loadOnnxModel(join(dir, 'lab'), { intraOpNumThreads: 1 });
  vec = await loadOnnxModel(join(dir, 'vec'), { intraOpNumThreads: 1 });
  lbridge = await loadOnnxBridge(join(dir, 'lbridge'), { intraOpNumThreads: 1 });
});

afterAll(async () => {
  await app?.close();
  await lab?.dispose();
  await vec?.dispose();
  await lbridge?.dispose();
  rmSync(root, { recursive: true, force: true });
});

const post = (url: string, payload: unknown) => postJson(app, url, payload);

describe('conditional models over HTTP', () => {
  it('model info lists the condition (none for an unconditional model); OpenAPI documents the fields', async () => {
    expect((await app.inject('/v1/models/lab')).json().condition).toEqual({ kind: 'label', classes: 3 });
    expect((await app.inject('/v1/models/vec')).json().condition).toEqual({ kind: 'vector', dim: 2 });
    expect((await app.inject('/v1/models/toy')).json().condition).toBeUndefined();
    const doc = (await app.inject('/openapi.json')).json();
    const body = (route: string) => doc.paths[`/v1/models/{name}/${route}`].post.requestBody.content['application/json'].schema;
    expect(body('samples').properties).toHaveProperty('condition');
    expect(body('samples').properties.guidance).toMatchObject({ type: 'number' });
    expect(body('log-prob').properties).toHaveProperty('condition');
    expect(body('log-prob').properties).not.toHaveProperty('guidance');
    expect(body('transport').properties).toHaveProperty('condition');
    expect(body('transport').properties.guidance).toMatchObject({ type: 'number' });
    expect((await app.inject('/v1/models/lbridge')).json().condition).toEqual({ kind: 'label', classes: 3 });
  });

  it('a label with guidance: /samples equals the runtime (ODE and SDE, one label or one per row)', async () => {
    for (const request of [
      { n: 12, steps: 10, solver: 'heun', mode: 'ode', seed: 3, condition: 1, guidance: 2 },
      { n: 5, steps: 8, mode: 'sde', seed: 4, condition: [0, 1, 2, 3, 1], guidance: 1.5 },
      { n: 6, steps: 6, solver: 'rk4', mode: 'ode', seed: 5, condition: 2 },
    ] as const) {
      const res = await post('/v1/models/lab/samples', request);
      expect(res.statusCode, res.body).toBe(200);
      const { condition, ...rest } = request;
      const ref = await lab.sample({ ...rest, labels: condition });
      expect(res.json()).toMatchObject({ n: request.n, guidance: 'guidance' in request ? request.guidance : 0, engine: 'stepwise' });
      expect(res.json().samples).toEqual(rows(ref.samples, 2));
    }
    const a = (await post('/v1/models/lab/samples', { n: 8, steps: 6, seed: 1, condition: 0, guidance: 3 })).json().samples;
    const b = (await post('/v1/models/lab/samples', { n: 8, steps: 6, seed: 1, condition: 1, guidance: 3 })).json().samples;
    expect(a).not.toEqual(b);
  });

  it('vectors: one row for all or one per row, null entries = the null condition; /log-prob gives log p(x | y)', async () => {
    const request = { n: 3, steps: 8, solver: 'euler', mode: 'ode', seed: 2, guidance: 1 } as const;
    const perRow = [
      [0.5, -1],
      [null, 0],
      [2, 1],
    ];
    const res = await post('/v1/models/vec/samples', { ...request, condition: perRow });
    expect(res.statusCode, res.body).toBe(200);
    const ref = await vec.sample({
      ...request,
      condition: [
        [0.5, -1],
        [Number.NaN, 0],
        [2, 1],
      ],
    });
    expect(res.json().samples).toEqual(rows(ref.samples, 2));
    const one = await post('/v1/models/vec/samples', { ...request, condition: [0.5, -1] });
    expect(one.json().samples).toEqual(rows((await vec.sample({ ...request, condition: [0.5, -1] })).samples, 2));
    const points = [
      [0, 0],
      [0.5, -0.5],
    ];
    const lp = await post('/v1/models/vec/log-prob', {
      points,
      steps: 8,
      condition: [
        [1, 1],
        [null, null],
      ],
    });
    expect(lp.statusCode, lp.body).toBe(200);
    const refLp = await vec.logProb(points, {
      steps: 8,
      solver: 'rk4',
      condition: [
        [1, 1],
        [Number.NaN, Number.NaN],
      ],
    });
    expect(lp.json().logProb).toEqual(Array.from(refLp.logp));
    const lpLabel = await post('/v1/models/lab/log-prob', { points, steps: 8, condition: 2 });
    expect(lpLabel.json().logProb).toEqual(Array.from((await lab.logProb(points, { steps: 8, solver: 'rk4', condition: 2 })).logp));
  });

  it('a label-conditional image model answers a PNG grid of the JSON samples, guidance in the headers', async () => {
    const request = { n: 4, steps: 4, solver: 'euler', mode: 'ode', condition: [0, 1, 2, 1], guidance: 2 };
    const res = await post('/v1/models/limg/samples', { ...request, format: 'png' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('image/png');
    expect(res.headers['x-nfdm-guidance']).toBe('2');
    const json = (await post('/v1/models/limg/samples', request)).json();
    const limg = (await app.inject('/v1/models/limg')).json();
    expect(limg.image).toEqual({ height: 4, width: 4, channels: 1 });
    const png = imageGridPng(Float32Array.from(json.samples.flat()), 4, limg.image, { scale: 16 });
    expect(Buffer.from(res.rawPayload).equals(Buffer.from(png))).toBe(true);
  });

  it('a conditional bridge: /transport with a label (one for all or one per source) and guidance equals the runtime', async () => {
    const sources = [
      [0, 1],
      [2, -1],
      [-0.5, 0.3],
      [1, 1],
    ];
    for (const request of [
      { steps: 8, mode: 'sde', seed: 3, condition: [0, 1, 3, 2], guidance: 2 },
      { steps: 6, solver: 'heun', mode: 'ode', seed: 4, condition: 1, guidance: 1.5 },
      { steps: 6, solver: 'euler', mode: 'ode', seed: 5, condition: 2, engine: undefined },
    ] as const) {
      const res = await post('/v1/models/lbridge/transport', { sources, ...request });
      expect(res.statusCode, res.body).toBe(200);
      const { condition, ...rest } = request;
      const ref = await lbridge.transport(sources, { ...rest, labels: condition } as never);
      expect(res.json()).toMatchObject({ n: 4, guidance: 'guidance' in request ? request.guidance : 0, engine: 'stepwise' });
      expect(res.json().samples).toEqual(rows(ref.samples, 2));
    }
    const a = (await post('/v1/models/lbridge/transport', { sources, steps: 6, condition: 0, guidance: 3 })).json().samples;
    const b = (await post('/v1/models/lbridge/transport', { sources, steps: 6, condition: 1, guidance: 3 })).json().samples;
    expect(a).not.toEqual(b);
  });

  it('a label-conditional image bridge answers a PNG grid of source | target pairs of the JSON transport, guidance in the headers', async () => {
    const sources = Array.from({ length: 3 }, (_, i) => Array.from({ length: 16 }, (_, d) => Math.sin(i + d)));
    const request = { sources, steps: 4, solver: 'euler', mode: 'ode', condition: [0, 1, 2], guidance: 2 };
    const res = await post('/v1/models/libridge/transport', { ...request, format: 'png' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('image/png');
    expect(res.headers['x-nfdm-guidance']).toBe('2');
    const json = (await post('/v1/models/libridge/transport', request)).json();
    const pairs = sources.flatMap((source, i) => [...source, ...json.samples[i]]);
    const image = { height: 4, width: 4, channels: 1 };
    const png = imageGridPng(Float32Array.from(pairs), 6, image, { columns: 4, scale: 16 });
    expect(Buffer.from(res.rawPayload).equals(Buffer.from(png))).toBe(true);
  });

  it('/transport errors: the codes of /samples', async () => {
    const url = '/v1/models/lbridge/transport';
    const sources = [
      [0, 1],
      [2, -1],
    ];
    expectError(await post(url, { sources }), 400, 'CONDITION_REQUIRED', /label 0…2/);
    expectError(await post(url, { sources, condition: 4 }), 400, 'INVALID_CONDITION', /labels must be integers in 0…3/);
    expectError(await post(url, { sources, condition: [0, 1, 2] }), 400, 'INVALID_CONDITION', /3 rows for 2 sources/);
    expectError(await post(url, { sources, condition: [[0], [1]] }), 400, 'INVALID_CONDITION', /one label per source/);
    expectError(await post(url, { sources, condition: 1.5 }), 400, 'FST_ERR_VALIDATION', /condition/);
    expectError(await post(url, { sources, condition: 1, guidance: 'NaN' }), 400, 'FST_ERR_VALIDATION', /guidance/);
    const plain = '/v1/models/ubridge/transport';
    expect((await post(plain, { sources, steps: 2 })).statusCode).toBe(200);
    expectError(await post(plain, { sources, condition: 1 }), 422, 'UNCONDITIONAL_MODEL', /takes no 'condition'/);
    expectError(await post(plain, { sources, guidance: 1 }), 422, 'UNCONDITIONAL_MODEL', /takes no 'guidance'/);
    expect((await post(url, { sources, steps: 2, condition: 3 })).statusCode).toBe(200); // K = 3: the null condition
  });

  it('errors: 400 for a bad condition, 422 for a condition or guidance given to an unconditional model', async () => {
    const url = '/v1/models/lab/samples';
    expectError(await post(url, { n: 2, condition: 4 }), 400, 'INVALID_CONDITION', /labels must be integers in 0…3/);
    expectError(await post(url, { n: 2, condition: [0, 5] }), 400, 'INVALID_CONDITION', /got 5/);
    expectError(await post(url, { n: 3, condition: [0, 1] }), 400, 'INVALID_CONDITION', /2 rows for 3 samples/);
    expectError(await post(url, { n: 2, condition: 1.5 }), 400, 'FST_ERR_VALIDATION', /condition/);
    expectError(await post(url, { n: 2, condition: -1 }), 400, 'FST_ERR_VALIDATION', /condition/);
    expectError(await post(url, { n: 2, condition: [[0], [1]] }), 400, 'INVALID_CONDITION', /one label per sample/);
    expectError(await post(url, { n: 2, condition: 'cat' }), 400, 'FST_ERR_VALIDATION');
    expectError(await post(url, { n: 2 }), 400, 'CONDITION_REQUIRED', /label 0…2/);
    expectError(await post(url, { n: 2, condition: 1, guidance: 'NaN' }), 400, 'FST_ERR_VALIDATION', /guidance/);
    expectError(await post('/v1/models/vec/samples', { n: 2, condition: [1, 2, 3] }), 400, 'INVALID_CONDITION', /3 values/);
    expectError(await post('/v1/models/vec/samples', { n: 2, condition: 1 }), 400, 'INVALID_CONDITION', /row of 2 values/);
    expectError(
      await post('/v1/models/vec/samples', {
        n: 3,
        condition: [
          [1, 2],
          [3, 4],
        ],
      }),
      400,
      'INVALID_CONDITION',
      /2 rows for 3/,
    );
    expectError(await post('/v1/models/toy/samples', { n: 2, condition: 1 }), 422, 'UNCONDITIONAL_MODEL', /takes no 'condition'/);
    expectError(await post('/v1/models/toy/samples', { n: 2, guidance: 1 }), 422, 'UNCONDITIONAL_MODEL', /takes no 'guidance'/);
    expectError(await post('/v1/models/toy/log-prob', { points: [[0, 0]], condition: 1 }), 422, 'UNCONDITIONAL_MODEL');
    expectError(await post('/v1/models/lab/log-prob', { points: [[0, 0]], guidance: 1 }), 400, 'FST_ERR_VALIDATION', /guidance/);
    expectError(await post('/v1/models/lab/log-prob', { points: [[0, 0]] }), 400, 'CONDITION_REQUIRED');
    expect((await post(url, { n: 2, steps: 2, condition: 3 })).statusCode).toBe(200); // K = 3: the null condition
  });

  it('a condition error from the runtime itself is a 400 INVALID_CONDITION, not a 500', () => {
    const body = errorBody(new OnnxConditionError('labels must be integers in 0…3') as never, 1024);
    expect(body).toMatchObject({ statusCode: 400, code: 'INVALID_CONDITION', message: 'labels must be integers in 0…3' });
  });
});
