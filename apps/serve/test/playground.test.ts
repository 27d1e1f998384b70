/**
 * The playground's routes (routes/playground.ts): the page at `/`, its files and onnxruntime-web's
 * wasm files with the cross-origin isolation headers, and each export's graph files — with 404s
 * for anything else. (The page itself runs in the system suite: test/system/browser.test.ts.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readOnnxMetadata } from '@nfdm/runtime';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createServer, type NfdmServer } from '../src/index.js';
import { expectError } from './http.js';

const modelsDir = inject('modelsDir');
let app: NfdmServer;

beforeAll(async () => {
  app = await createServer({ modelsDir });
});
afterAll(async () => {
  await app.close();
});

function expectIsolated(headers: Record<string, unknown>) {
  expect(headers['cross-origin-opener-policy']).toBe('same-origin');
  expect(headers['cross-origin-embedder-policy']).toBe('require-corp');
}

describe('the playground routes', () => {
  it('GET / is the page, cross-origin isolated; its script, style and the wasm files follow', async () => {
    const page = await app.inject({ method: 'GET', url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expectIsolated(page.headers);
    expect(page.body).toContain('<script type="module" src="playground/app.js">');
    for (const [url, type] of [
      ['/playground/app.js', /^text\/javascript/],
      ['/playground/style.css', /^text\/css/],
      ['/ort/ort-wasm-simd-threaded.mjs', /^text\/javascript/],
      ['/ort/ort-wasm-simd-threaded.wasm', /^application\/wasm/],
    ] as const) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type'], url).toMatch(type);
      expectIsolated(res.headers);
    }
    const wasm = await app.inject({ method: 'GET', url: '/ort/ort-wasm-simd-threaded.wasm' });
    expect([...wasm.rawPayload.subarray(0, 4)]).toEqual([0, 0x61, 0x73, 0x6d]); // \0asm
  });

  it('lists and serves an export’s graph files, byte for byte', async () => {
    const list = await app.inject({ method: 'GET', url: '/v1/models/toy/files' });
    expect(list.statusCode).toBe(200);
    const { files } = list.json() as { files: Array<{ graph: string; file: string; bytes: number }> };
    expect(files.map((f) => f.graph)).toEqual(expect.arrayContaining(['drift', 'velocity', 'velocity_divergence', 'sampler_euler_ode']));
    const velocity = files.find((f) => f.graph === 'velocity');
    const res = await app.inject({ method: 'GET', url: '/v1/models/toy/files/velocity' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/octet-stream');
    expect(res.rawPayload.length).toBe(velocity?.bytes);
    expect(Buffer.compare(res.rawPayload, readFileSync(join(modelsDir, 'toy', velocity?.file ?? '')))).toBe(0);
    expect(readOnnxMetadata(new Uint8Array(res.rawPayload)).graph).toBe('velocity');
    // a single-file model serves its one graph
    const single = await app.inject({ method: 'GET', url: '/v1/models/velo/files' });
    expect((single.json() as { files: Array<{ graph: string }> }).files.map((f) => f.graph)).toEqual(['velocity']);
  });

  it('answers 404 JSON for unknown models, graphs and files (nothing outside the tables is reachable)', async () => {
    expectError(await app.inject({ method: 'GET', url: '/v1/models/nope/files' }), 404, 'MODEL_NOT_FOUND');
    expectError(await app.inject({ method: 'GET', url: '/v1/models/toy/files/forward' }), 404, 'GRAPH_NOT_FOUND', /has no graph 'forward'/);
    expectError(await app.inject({ method: 'GET', url: '/ort/ort.min.mjs' }), 404, 'FILE_NOT_FOUND');
    expectError(await app.inject({ method: 'GET', url: '/playground/..%2Fpackage.json' }), 404, 'FILE_NOT_FOUND');
    expectError(await app.inject({ method: 'GET', url: '/playground/index.ts' }), 404, 'FILE_NOT_FOUND');
  });
});
