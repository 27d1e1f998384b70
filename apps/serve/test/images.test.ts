/**
 * Image models over HTTP: a U-Net model's listing says which image a row holds; `"format":
 * "png"` on /samples and /transport answers image/png whose pixels are the JSON samples of the
 * same request (p = ⌊128 (x + 1)⌋, clipped), transport grids pair each source with its target,
 * the numbers come as x-nfdm-* headers; a PNG of a non-image model, or an unknown format, is a
 * 4xx JSON error.
 */
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createServer, type NfdmServer } from '../src/index.js';
import { expectError, postJson } from './http.js';

const modelsDir = inject('modelsDir');
let app: NfdmServer;

beforeAll(async () => {
  app = await createServer({ modelsDir, limits: { maxN: 100, maxSteps: 50, maxPoints: 100, bodyLimit: 64 * 1024, timeoutMs: 20_000 } });
});

afterAll(async () => {
  await app?.close();
});

const post = (url: string, payload: unknown) => postJson(app, url, payload);
const pixel = (x: number | null) => (x === null ? 0 : Math.max(0, Math.min(255, Math.floor(128 * (x + 1)))));

/** The grey level of image k's pixel (y, x) in a decoded grid of 4×4 images (scale 16, gap 2, `columns` per row). */
function cell(png: PNG, columns: number, k: number, y: number, x: number): number {
  const x0 = 2 + (k % columns) * (64 + 2) + x * 16 + 7;
  const y0 = 2 + Math.floor(k / columns) * (64 + 2) + y * 16 + 7;
  return png.data[(y0 * png.width + x0) * 4];
}

describe('image models', () => {
  it('the listing gives the image of a row', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/models/img' });
    expect(res.json()).toMatchObject({ name: 'img', dim: 16, image: { height: 4, width: 4, channels: 1 } });
    const toy = await app.inject({ method: 'GET', url: '/v1/models/toy' });
    expect(toy.json().image).toBeUndefined();
  });

  it('samples as PNG: the pixels of the JSON samples of the same request, numbers in headers', async () => {
    const body = { n: 5, steps: 6, solver: 'euler', mode: 'ode', seed: 2 };
    const json = (await post('/v1/models/img/samples', body)).json();
    const res = await post('/v1/models/img/samples', { ...body, format: 'png' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('image/png');
    expect(res.headers).toMatchObject({ 'x-nfdm-n': '5', 'x-nfdm-steps': '6', 'x-nfdm-seed': '2', 'x-nfdm-model': 'img' });
    const png = PNG.sync.read(res.rawPayload);
    expect([png.width, png.height]).toEqual([3 * 64 + 4 * 2, 2 * 64 + 3 * 2]);
    const samples = json.samples as Array<Array<number | null>>;
    expect(new Set(samples.flat().map(pixel)).size).toBeGreaterThan(5);
    for (let k = 0; k < 5; k++) for (let i = 0; i < 16; i++) expect(cell(png, 3, k, Math.floor(i / 4), i % 4)).toBe(pixel(samples[k][i]));
  });

  it('transport as PNG: each source beside its target', async () => {
    const sources = [0, 1, 2].map((k) => Array.from({ length: 16 }, (_, i) => Math.sin(k + i) * 0.8));
    const body = { sources, steps: 5, mode: 'ode', solver: 'euler', seed: 1 };
    const json = (await post('/v1/models/imgbridge/transport', body)).json();
    const res = await post('/v1/models/imgbridge/transport', { ...body, format: 'png' });
    expect(res.statusCode, res.body).toBe(200);
    const png = PNG.sync.read(res.rawPayload);
    const columns = 2 * Math.ceil(Math.sqrt(3));
    expect(png.width).toBe(columns * 64 + (columns + 1) * 2);
    for (let k = 0; k < 3; k++)
      for (let i = 0; i < 16; i++) {
        expect(cell(png, columns, 2 * k, Math.floor(i / 4), i % 4)).toBe(pixel(sources[k][i]));
        expect(cell(png, columns, 2 * k + 1, Math.floor(i / 4), i % 4)).toBe(pixel(json.samples[k][i]));
      }
  });

  it('a PNG of a non-image model, or another format → 4xx JSON', async () => {
    expectError(await post('/v1/models/toy/samples', { n: 2, format: 'png' }), 422, 'NOT_AN_IMAGE_MODEL', /does not record an image shape/);
    expectError(await post('/v1/models/bridge/transport', { sources: [[0, 0]], format: 'png' }), 422, 'NOT_AN_IMAGE_MODEL');
    expectError(await post('/v1/models/img/samples', { n: 2, format: 'jpeg' }), 400, 'FST_ERR_VALIDATION');
  });
});
