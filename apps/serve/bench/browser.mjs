#!/usr/bin/env node
/**
 * Browser sampling time against the Node runtime: the same exported model (an untrained demo NFDM,
 * dim 2, SELU networks of `--hidden` widths), n and steps, sampled (stepwise, seeded) by
 *   - @nfdm/runtime on onnxruntime-node, 1 intra-op thread (the reference),
 *   - the playground page in Debian's headless Chromium (puppeteer-core) on onnxruntime-web's
 *     wasm backend, 1 thread and 4 threads (the page is cross-origin isolated by nfdm serve),
 * as the page's own timing of the computation (drawing excluded). Medians of `--reps` runs after
 * one warm-up. Prints a Markdown table and the JSON rows.
 *
 *   node bench/browser.mjs [--hidden 64,64,64,64] [--n 1000] [--steps 50] [--reps 5]
 *
 * Needs `npx turbo run build --filter=@nfdm/serve...` and /usr/bin/chromium.
 */
import { rmSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadExportedModel } from '@nfdm/runtime';
import puppeteer from 'puppeteer-core';
import { demoModels, startServer } from './server.mjs';

const { values: opt } = parseArgs({
  options: {
    hidden: { type: 'string', default: '64,64,64,64' },
    n: { type: 'string', default: '1000' },
    steps: { type: 'string', default: '50' },
    reps: { type: 'string', default: '5' },
  },
});
const hidden = opt.hidden.split(',').map(Number);
const n = Number(opt.n);
const steps = Number(opt.steps);
const reps = Number(opt.reps);
const CASES = [
  { mode: 'ode', solver: 'euler' },
  { mode: 'ode', solver: 'heun' },
  { mode: 'sde', solver: 'euler_maruyama' },
];
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

async function nodeTimes(dir) {
  const model = await loadExportedModel(join(dir, 'demo'), { intraOpNumThreads: 1 });
  const out = {};
  for (const c of CASES) {
    const times = [];
    for (let r = 0; r <= reps; r++) {
      const t0 = performance.now();
      await model.sample({ n, steps, ...c, seed: r });
      if (r > 0) times.push(performance.now() - t0);
    }
    out[`${c.mode}/${c.solver}`] = median(times);
  }
  await model.dispose();
  return out;
}

async function browserTimes(browser, address, threads) {
  const page = await browser.newPage();
  await page.goto(`${address}/?model=demo&threads=${threads}`);
  const settle = () => page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state), { timeout: 600_000 });
  await settle();
  const info = await page.evaluate(() => ({ threads: window.nfdmPlayground.threads, isolated: window.nfdmPlayground.crossOriginIsolated }));
  const out = {};
  for (const c of CASES) {
    const times = [];
    for (let r = 0; r <= reps; r++) {
      await page.evaluate(
        (v) => {
          for (const [id, value] of Object.entries(v)) {
            const el = document.getElementById(id);
            el.value = String(value);
            el.dispatchEvent(new Event('change', { bubbles: true }));
          }
          document.body.dataset.state = 'running';
        },
        { n, steps, seed: r, mode: c.mode },
      );
      await page.evaluate((solver) => {
        document.getElementById('solver').value = solver;
      }, c.solver);
      await page.click('#sample');
      await settle();
      const ms = await page.evaluate(() => (document.body.dataset.state === 'ready' ? window.nfdmPlayground.last.ms : Number.NaN));
      if (r > 0) times.push(ms);
    }
    out[`${c.mode}/${c.solver}`] = median(times);
  }
  await page.close();
  return { info, times: out };
}

const dir = await demoModels(hidden);
const server = await startServer(dir);
const browser = await puppeteer.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] });
try {
  const load = loadavg()[0];
  const node = await nodeTimes(dir);
  const web1 = await browserTimes(browser, server.address, 1);
  const web4 = await browserTimes(browser, server.address, 4);
  const rows = CASES.map((c) => {
    const key = `${c.mode}/${c.solver}`;
    return { case: key, node_ms: node[key], wasm1_ms: web1.times[key], wasm4_ms: web4.times[key] };
  });
  const f = (x, d = 1) => x.toFixed(d);
  const lines = [
    `${hidden.length} × ${hidden.join('/')} SELU networks, n = ${n}, ${steps} steps, medians of ${reps} (after one warm-up); Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model}, 1-minute load average ${f(load)} at the start; page threads: ${web1.info.threads} and ${web4.info.threads} (cross-origin isolated: ${web4.info.isolated})`,
    '',
    '| mode / solver | Node (onnxruntime-node, 1 thread) ms | browser wasm 1 thread ms | × Node | browser wasm 4 threads ms | × Node |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.case} | ${f(r.node_ms)} | ${f(r.wasm1_ms)} | ${f(r.wasm1_ms / r.node_ms, 2)} | ${f(r.wasm4_ms)} | ${f(r.wasm4_ms / r.node_ms, 2)} |`,
    ),
  ];
  console.log(lines.join('\n'));
  console.log(JSON.stringify({ hidden, n, steps, reps, loadavg1: load, rows }));
} finally {
  await browser.close();
  server.child.kill('SIGTERM');
  await server.exit;
  rmSync(dir, { recursive: true, force: true });
}
