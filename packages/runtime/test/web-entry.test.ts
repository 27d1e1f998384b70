/**
 * `@nfdm/runtime/web` (the built browser entry, on onnxruntime-web's wasm backend — which runs in
 * Node too) loads graph bytes and gives the numbers of the Node entry for the same seed: samples
 * (stepwise and Loop, ODE and SDE), log-densities and bridge transport; it refuses paths. The
 * same checks in a real browser are apps/serve's system suite (test/system/browser.test.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as node from '../src/index.js';

const fixtures = join(import.meta.dirname, 'fixtures');
type Web = typeof import('../src/web.js');
let web: Web;

/** The bytes of every `.onnx` file of a fixture export. */
function graphBytes(name: string): Uint8Array[] {
  const dir = join(fixtures, name);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.onnx'))
    .map((f) => new Uint8Array(readFileSync(join(dir, f))));
}

/** max |a − b| (a and b of the same length). */
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

beforeAll(async () => {
  // The built entry (package exports), as a bundler sees it.
  web = (await import('@nfdm/runtime/web')) as unknown as Web;
  web.configureWasm({ numThreads: 1 });
});

describe('@nfdm/runtime/web', () => {
  let webModel: node.OnnxModel;
  let nodeModel: node.OnnxModel;
  beforeAll(async () => {
    webModel = await web.loadOnnxModel(graphBytes('nfdm-2d'));
    nodeModel = await node.loadOnnxModel(join(fixtures, 'nfdm-2d'));
  });
  afterAll(async () => {
    await webModel.dispose();
    await nodeModel.dispose();
  });

  it('samples like the Node runtime for the same seed (ODE and SDE, stepwise and Loop)', async () => {
    for (const options of [
      { n: 16, steps: 12, solver: 'heun', mode: 'ode', seed: 7 },
      { n: 16, steps: 12, solver: 'euler-maruyama', mode: 'sde', seed: 8 },
      { n: 16, steps: 12, solver: 'rk4', mode: 'ode', seed: 9, engine: 'loop' },
    ] as const) {
      const a = await webModel.sample(options);
      const b = await nodeModel.sample(options);
      expect(maxDiff(a.samples, b.samples)).toBeLessThan(1e-4);
      expect(a.samples.some((v) => v !== 0)).toBe(true);
    }
    // Control: another seed gives other samples.
    const other = await webModel.sample({ n: 16, steps: 12, solver: 'heun', mode: 'ode', seed: 70 });
    const same = await nodeModel.sample({ n: 16, steps: 12, solver: 'heun', mode: 'ode', seed: 7 });
    expect(maxDiff(other.samples, same.samples)).toBeGreaterThan(1e-2);
  });

  it('log-densities like the Node runtime', async () => {
    const points = [
      [0.1, 0.2],
      [-1, 0.5],
      [2, -1],
    ];
    const a = await webModel.logProb(points, { steps: 10 });
    const b = await nodeModel.logProb(points, { steps: 10 });
    expect(maxDiff(a.logp, b.logp)).toBeLessThan(1e-3);
  });

  it('loads bridges from { graphs } and transports like the Node runtime', async () => {
    const files = readdirSync(join(fixtures, 'bridge-2d')).filter((f) => f.endsWith('.onnx'));
    const graphs = Object.fromEntries(
      files.map((f) => [f.replace(/\.onnx$/, ''), new Uint8Array(readFileSync(join(fixtures, 'bridge-2d', f)))]),
    );
    const a = await web.loadExportedModel({ graphs });
    const b = await node.loadExportedModel(join(fixtures, 'bridge-2d'));
    try {
      if (!node.canTransport(a) || !node.canTransport(b)) throw new Error('not bridges');
      const sources = [
        [1, 0],
        [0, -1],
      ];
      const options = { steps: 8, mode: 'sde', seed: 4 } as const;
      expect(maxDiff((await a.transport(sources, options)).samples, (await b.transport(sources, options)).samples)).toBeLessThan(1e-4);
    } finally {
      await a.dispose();
      await b.dispose();
    }
  });

  it('refuses paths and non-nfdm bytes with one OnnxRuntimeError', async () => {
    await expect(web.loadExportedModel('model-dir' as never)).rejects.toThrow(/must be ONNX bytes, an array of ONNX bytes or \{ graphs \}/);
    await expect(web.loadExportedModel([new Uint8Array([1, 2, 3])])).rejects.toBeInstanceOf(web.OnnxRuntimeError);
  });
});
