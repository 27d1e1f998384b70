#!/usr/bin/env node
/**
 * A screenshot of the playground page for the docs: `nfdm-serve` serves `--models DIR`, Debian's
 * headless Chromium (puppeteer-core, /usr/bin/chromium) opens `/?model=NAME`, fills the form,
 * runs the actions in order (each waits for the page to be ready; an error stops the script with
 * the page's status line) and saves the full page as a PNG.
 *
 *   node bench/screenshot.mjs --models models --model 8g --out docs/images/playground-2d.png \
 *     [--actions trajectories,density] [--n 1000] [--steps 40] [--solver heun] [--mode ode] \
 *     [--seed 0] [--grid 64] [--width 1200] [--height 1000]
 *
 * Form fields left out keep the page's defaults (a few-step model starts at 4 ODE steps). Needs
 * `npx turbo run build --filter=@nfdm/serve...`.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import puppeteer from 'puppeteer-core';
import { startServer } from './server.mjs';

const { values: opt } = parseArgs({
  options: {
    models: { type: 'string' },
    model: { type: 'string' },
    out: { type: 'string' },
    actions: { type: 'string', default: 'trajectories' },
    n: { type: 'string' },
    steps: { type: 'string' },
    solver: { type: 'string' },
    mode: { type: 'string' },
    seed: { type: 'string' },
    grid: { type: 'string' },
    width: { type: 'string', default: '1200' },
    height: { type: 'string', default: '1000' },
  },
});
if (!opt.models || !opt.model || !opt.out) throw new Error('usage: screenshot.mjs --models DIR --model NAME --out FILE.png [...]');

/** Set form fields by id (mode before solver: the solver list depends on the mode). */
async function fill(page, values) {
  for (const [id, value] of Object.entries(values)) {
    if (value === undefined) continue;
    await page.$eval(
      `#${id}`,
      (el, v) => {
        el.value = v;
        el.dispatchEvent(new Event('input', { bubbles: true }));
        el.dispatchEvent(new Event('change', { bubbles: true }));
      },
      String(value),
    );
  }
}

async function settled(page) {
  await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state ?? ''), { timeout: 600_000 });
  const [state, status] = await page.evaluate(() => [document.body.dataset.state, document.getElementById('status')?.textContent]);
  if (state !== 'ready') throw new Error(`the page says: ${status}`);
  return status;
}

const server = await startServer(opt.models);
const browser = await puppeteer.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage();
  await page.setViewport({ width: Number(opt.width), height: Number(opt.height) });
  await page.goto(`${server.address}/?model=${encodeURIComponent(opt.model)}`);
  console.log(await settled(page));
  await fill(page, { n: opt.n, seed: opt.seed, mode: opt.mode });
  await fill(page, { solver: opt.solver, steps: opt.steps, grid: opt.grid });
  for (const action of opt.actions.split(',')) {
    await page.evaluate(() => {
      document.body.dataset.state = 'running';
    });
    await page.click(`#${action}`);
    console.log(await settled(page));
  }
  mkdirSync(dirname(opt.out), { recursive: true });
  await page.screenshot({ path: opt.out, fullPage: true });
  console.log(`wrote ${opt.out}`);
} finally {
  await browser.close();
  server.child.kill('SIGTERM');
  await server.exit;
}
