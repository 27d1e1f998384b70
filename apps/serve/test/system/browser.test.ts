/// <reference lib="dom" />
/**
 * The playground in a real browser (Debian's headless Chromium, puppeteer-core): `nfdm serve`
 * serves the page at `/`, cross-origin isolated; the page loads a served model (or dropped files,
 * or runs from the static build), samples with onnxruntime-web, and its numbers equal the Node
 * runtime's for the same seed — for a diffusion model (NFDM), an NFDM-OT model, an obstacle
 * bridge and an image model. Screenshots go to test-output/browser/.
 */

import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { writeStaticSite } from '@nfdm/playground';
import { canTransport, type ExportedModel, hasLogProb, loadExportedModel, samplesWithSolvers } from '@nfdm/runtime';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createServer, type NfdmServer } from '../../src/index.js';
import { act, fill, last, launch, maxDiff, onnxFiles, open, screenshot, upload } from './browser.js';

const modelsDir = inject('browserModelsDir');
let server: NfdmServer;
let address: string;
let browser: Browser;

/** The Node runtime's model, with the graphs the page loads (forward included). */
async function nodeModel(name: string): Promise<ExportedModel> {
  return loadExportedModel(join(modelsDir, name));
}

beforeAll(async () => {
  server = await createServer({ modelsDir, allowPartial: true });
  address = await server.listen({ port: 0, host: '127.0.0.1' });
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('nfdm serve → the playground page', () => {
  it('serves the page at / cross-origin isolated, with 4 wasm threads when asked', async () => {
    const response = await fetch(`${address}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(response.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    const page = await open(browser, `${address}/?model=toy&threads=4`);
    const info = await page.evaluate(() => {
      const h = (window as unknown as { nfdmPlayground: { threads: number; crossOriginIsolated: boolean; modelName: string } })
        .nfdmPlayground;
      return {
        threads: h.threads,
        isolated: h.crossOriginIsolated,
        name: h.modelName,
        backend: document.getElementById('backend')?.textContent,
      };
    });
    expect(info).toMatchObject({ threads: 4, isolated: true, name: 'toy' });
    expect(info.backend).toMatch(/wasm · 4 threads/);
    await page.close();
  });

  it('diffusion (NFDM): ODE (Heun, frozen-prediction ddim) and SDE samples and trajectories equal the Node runtime for the same seed', async () => {
    const page = await open(browser, `${address}/?model=toy`);
    const model = await nodeModel('toy');
    try {
      if (!samplesWithSolvers(model)) throw new Error('toy is not a diffusion model');
      // not few-step: named by its family and kind, the form at its default 20 steps
      expect(await page.$eval('#model-info', (el) => el.textContent)).toMatch(/^toy: a diffusion model \(nfdm\), D = 2/);
      expect(await page.$eval('#nfe', (el) => el.textContent)).toBe('20 steps · 20 NFE');
      for (const [mode, solver] of [
        ['ode', 'heun'],
        ['sde', 'euler_maruyama'],
        ['ode', 'ddim'],
      ] as const) {
        await fill(page, { n: 64, seed: 11, mode, steps: 12 });
        await fill(page, { solver });
        await act(page, 'sample');
        const got = await last(page);
        const want = await model.sample({ n: 64, steps: 12, mode, solver, seed: 11 });
        expect(got.samples).toHaveLength(128);
        expect(maxDiff(got.samples, want.samples)).toBeLessThan(1e-4);
      }
      await fill(page, { n: 200, seed: 3, mode: 'ode', steps: 20 });
      await fill(page, { solver: 'rk4' });
      const status = await act(page, 'trajectories');
      expect(status).toMatch(/ms\/step, wasm · 1 thread/);
      const got = await last(page);
      expect(got.steps).toBe(20);
      const want = await model.sample({ n: 200, steps: 20, mode: 'ode', solver: 'rk4', seed: 3 });
      expect(maxDiff(got.samples, want.samples)).toBeLessThan(1e-4);
      // a timing row per action, on the wasm backend
      const rows = await page.$$eval('#timings tbody tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
      expect(rows).toHaveLength(4);
      expect(rows[0]).toMatch(/^trajectories200208/);
      await screenshot(page, 'diffusion-trajectories');
      // exported without the component graphs: no forward process to draw
      expect(await page.$eval('#forward', (el) => (el as HTMLElement).hidden)).toBe(true);
    } finally {
      await model.dispose();
      await page.close();
    }
  });

  it('NFDM-OT: few-step samples (NFE slider) and the log-prob density map equal the Node runtime', async () => {
    const page = await open(browser, `${address}/?model=ot`);
    const model = await nodeModel('ot');
    try {
      if (!hasLogProb(model)) throw new Error('ot has no log-prob graph');
      // `nfdm export` recorded the OT objective: named NFDM-OT, and the form starts at 4 Heun ODE steps
      expect(model.capabilities.fewStep).toBe(true);
      expect(await page.$eval('#model-info', (el) => el.textContent)).toMatch(/^ot: an NFDM-OT model \(nfdm, few-step\), D = 2/);
      const form = await page.evaluate(() => ['mode', 'solver'].map((id) => (document.getElementById(id) as HTMLSelectElement).value));
      expect(form).toEqual(['ode', 'heun']);
      expect(await page.$eval('#nfe', (el) => el.textContent)).toBe('4 steps · 8 NFE');
      await fill(page, { n: 500, seed: 5, mode: 'ode', steps: 2 });
      await fill(page, { solver: 'heun' });
      expect(await page.$eval('#nfe', (el) => el.textContent)).toBe('2 steps · 4 NFE');
      await act(page, 'sample');
      const got = await last(page);
      const want = await model.sample({ n: 500, steps: 2, mode: 'ode', solver: 'heun', seed: 5 });
      expect(maxDiff(got.samples, want.samples)).toBeLessThan(1e-4);
      await fill(page, { grid: 24, steps: 8 });
      await act(page, 'density');
      const density = await last(page);
      expect(density.logp).toHaveLength(24 * 24);
      const points = density.points as number[];
      const logp = await model.logProb(Float32Array.from(points), { steps: 8, solver: 'rk4' });
      expect(maxDiff(density.logp as number[], logp.logp)).toBeLessThan(1e-3);
      await screenshot(page, 'nfdm-ot-density');
      const legend = () => page.$eval('#legend', (el) => el.textContent ?? '');
      expect(await legend()).toMatch(/^log p\(x\): white .* blue dots: samples$/);
      // the same samples again (2 steps): the same window, so the paths are drawn over the heat map
      await fill(page, { steps: 2 });
      await act(page, 'trajectories');
      expect(maxDiff((await last(page)).samples, want.samples)).toBeLessThan(1e-4);
      expect(await legend()).toMatch(/^log p\(x\): .* lines: the solver’s paths$/);
      await screenshot(page, 'nfdm-ot-trajectories');
      // other samples (8 steps): another window, the heat map is gone
      await fill(page, { steps: 8 });
      await act(page, 'trajectories');
      expect(await legend()).toMatch(/^grey: z\(1\) from the prior/);
      // the learned forward process, from the page's samples towards the prior
      await act(page, 'forward');
      const forward = await last(page);
      expect(forward.action).toBe('forward');
      expect(forward.steps).toBe(40);
      await screenshot(page, 'nfdm-ot-forward');
    } finally {
      await model.dispose();
      await page.close();
    }
  });

  it('bridge with an obstacle: transported targets equal the Node runtime for the same sources and seed', async () => {
    const page = await open(browser, `${address}/?model=obstacle`);
    const model = await nodeModel('obstacle');
    try {
      if (!canTransport(model)) throw new Error('obstacle is not a bridge');
      expect(await page.$eval('#sample', (el) => el.textContent)).toBe('Transport');
      await fill(page, { n: 300, seed: 2, mode: 'sde', steps: 30, 'source-x': 0, 'source-y': 0, 'source-s': 1 });
      await act(page, 'trajectories');
      const got = await last(page);
      expect(got.sources).toHaveLength(600);
      const want = await model.transport(Float32Array.from(got.sources as number[]), {
        steps: 30,
        mode: 'sde',
        solver: 'euler_maruyama',
        seed: 2,
      });
      expect(maxDiff(got.samples, want.samples)).toBeLessThan(1e-4);
      await screenshot(page, 'bridge-obstacle');
    } finally {
      await model.dispose();
      await page.close();
    }
  });

  it('image model: a sample grid and a strip of z_t frames, samples equal to the Node runtime', async () => {
    const page = await open(browser, `${address}/?model=img`);
    const model = await nodeModel('img');
    try {
      if (!samplesWithSolvers(model)) throw new Error('img is not a diffusion model');
      expect(await page.$eval('#images', (el) => (el as HTMLElement).hidden)).toBe(false);
      await fill(page, { n: 16, seed: 4, mode: 'ode', steps: 10 });
      await fill(page, { solver: 'euler' });
      await act(page, 'trajectories');
      const got = await last(page);
      const want = await model.sample({ n: 16, steps: 10, mode: 'ode', solver: 'euler', seed: 4 });
      expect(maxDiff(got.samples, want.samples)).toBeLessThan(1e-4);
      const sizes = await page.evaluate(() =>
        ['grid-canvas', 'strip'].map((id) => (document.getElementById(id) as HTMLCanvasElement).width),
      );
      expect(sizes[0]).toBeGreaterThan(0);
      expect(sizes[1]).toBeGreaterThan(sizes[0]); // 8 frames per row vs 4 samples per row
      await screenshot(page, 'image-grid');
    } finally {
      await model.dispose();
      await page.close();
    }
  });

  it('conditional model: the condition and guidance fields give the Node runtime’s guided samples', async () => {
    const page = await open(browser, `${address}/?model=labels`);
    const model = await nodeModel('labels');
    try {
      if (!samplesWithSolvers(model)) throw new Error('labels is not a diffusion model');
      expect(await page.$eval('#condition', (el) => (el.parentElement as HTMLElement).hidden)).toBe(false);
      await fill(page, { n: 40, seed: 6, mode: 'ode', steps: 8, condition: 2, guidance: 1.5 });
      await fill(page, { solver: 'heun' });
      await act(page, 'sample');
      const want = await model.sample({ n: 40, steps: 8, mode: 'ode', solver: 'heun', seed: 6, labels: 2, guidance: 1.5 });
      expect(maxDiff((await last(page)).samples, want.samples)).toBeLessThan(1e-4);
      // control: another label gives other samples
      const other = await model.sample({ n: 40, steps: 8, mode: 'ode', solver: 'heun', seed: 6, labels: 0, guidance: 1.5 });
      expect(maxDiff((await last(page)).samples, other.samples)).toBeGreaterThan(1e-3);
      await fill(page, { condition: 7 });
      await expect(act(page, 'sample')).rejects.toThrow(/label|class|condition/i);
    } finally {
      await model.dispose();
      await page.close();
    }
  });

  it('loads dropped .onnx files, and reports bad input and unknown graphs clearly', async () => {
    const page = await open(browser, `${address}/`);
    const files = onnxFiles(join(modelsDir, 'toy'));
    const [state, status] = await upload(page, files);
    expect([state, status]).toEqual(['ready', `Loaded ${files.length} dropped files.`]);
    await fill(page, { n: 32, seed: 9, mode: 'ode', steps: 5 });
    await fill(page, { solver: 'euler' });
    await act(page, 'sample');
    const model = await nodeModel('toy');
    const want = samplesWithSolvers(model) ? await model.sample({ n: 32, steps: 5, mode: 'ode', solver: 'euler', seed: 9 }) : null;
    await model.dispose();
    expect(maxDiff((await last(page)).samples, want?.samples ?? [])).toBeLessThan(1e-4);
    // two models asked for in a row, the first one's files held back so that it arrives last:
    // the last one asked for is kept
    await page.setRequestInterception(true);
    page.on('request', (request) => {
      if (request.isInterceptResolutionHandled()) return;
      if (request.url().includes('/v1/models/img/files')) setTimeout(() => void request.continue(), 1000);
      else void request.continue();
    });
    const loaded = await page.evaluate(async () => {
      const h = (window as unknown as { nfdmPlayground: { loadServed(n: string): Promise<void>; modelName: string } }).nfdmPlayground;
      await Promise.all([h.loadServed('img'), h.loadServed('toy')]);
      return [h.modelName, document.getElementById('model-info')?.textContent?.split(':')[0], document.body.dataset.state];
    });
    expect(loaded).toEqual(['toy', 'toy', 'ready']);
    await fill(page, { n: 0 });
    await expect(act(page, 'sample')).rejects.toThrow(/n must be an integer from 1 to 20000/);
    // the bad field is marked invalid, points at the status line and has the focus; fixing it clears the mark
    const invalid = () =>
      page.evaluate(() => [
        document.getElementById('n')?.getAttribute('aria-invalid'),
        document.activeElement?.id,
        document.getElementById('status')?.getAttribute('aria-live'),
      ]);
    expect(await invalid()).toEqual(['true', 'n', 'assertive']);
    await fill(page, { n: 8 });
    await act(page, 'sample');
    const [mark, , live] = await invalid();
    expect([mark, live]).toEqual([null, 'polite']);
    await page.close();
    const missing = await fetch(`${address}/v1/models/toy/files/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 'GRAPH_NOT_FOUND' });
  });
});

describe('the static build (writeStaticSite)', () => {
  let dir: string;
  let staticServer: Server;
  let staticAddress: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nfdm-static-site-'));
    writeStaticSite(dir);
    // a plain static server: no COOP/COEP, no model list
    const types: Record<string, string> = {
      '.html': 'text/html',
      '.js': 'text/javascript',
      '.mjs': 'text/javascript',
      '.css': 'text/css',
      '.wasm': 'application/wasm',
    };
    staticServer = createHttpServer((req, res) => {
      const path = join(dir, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/\/$/, '/index.html'));
      try {
        const body = readFileSync(path);
        res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' }).end(body);
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => staticServer.listen(0, '127.0.0.1', resolve));
    const a = staticServer.address();
    staticAddress = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => staticServer?.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('runs from plain static files: 1 thread without isolation, models from dropped files', async () => {
    const page: Page = await open(browser, `${staticAddress}/?threads=4`);
    expect(await page.$eval('#status', (el) => el.textContent)).toBe('Drop the .onnx files of an export to start.');
    expect(await page.$eval('#backend', (el) => el.textContent)).toMatch(/1 thread \(no cross-origin isolation/);
    expect((await upload(page, onnxFiles(join(modelsDir, 'bridge'))))[0]).toBe('ready');
    await fill(page, { n: 50, seed: 1, mode: 'ode', steps: 6 });
    await fill(page, { solver: 'euler' });
    await act(page, 'sample');
    const got = await last(page);
    const model = await nodeModel('bridge');
    try {
      if (!canTransport(model)) throw new Error('bridge is not a bridge');
      const want = await model.transport(Float32Array.from(got.sources as number[]), { steps: 6, mode: 'ode', solver: 'euler', seed: 1 });
      expect(maxDiff(got.samples, want.samples)).toBeLessThan(1e-4);
    } finally {
      await model.dispose();
      await page.close();
    }
  });
});
