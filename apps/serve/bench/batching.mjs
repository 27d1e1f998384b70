#!/usr/bin/env node
/**
 * Dynamic batching benchmark: the same load with and without `--batch-window-ms`, under 50 and
 * 200 concurrent clients (autocannon over loopback), on two workloads of the demo model —
 * `/v1/models/demo/samples` (stepwise ODE solve: one velocity run per stage, merged across
 * requests) and `/v2/models/demo_sampler_euler_ode/infer` (one Loop sampler run per request,
 * the client's seeded prior noise as rows). Prints a Markdown table (throughput, p50/p99 latency,
 * non-2xx) and the JSON rows.
 *
 *   node bench/batching.mjs [--duration 15] [--window 2] [--n 16] [--steps 20] [--clients 50,200] [--hidden 32,32]
 *
 * Both servers run with --max-concurrent 256 --max-queue 1024 so that requests reach the
 * batcher instead of waiting in the compute queue. Needs `npx tsup` (dist/bin.js).
 */
import { rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { demoModels, startServer } from './server.mjs';

const { values: opt } = parseArgs({
  options: {
    duration: { type: 'string', default: '15' },
    window: { type: 'string', default: '2' },
    n: { type: 'string', default: '16' },
    steps: { type: 'string', default: '20' },
    clients: { type: 'string', default: '50,200' },
    hidden: { type: 'string', default: '32,32' },
  },
});
const n = Number(opt.n);
const steps = Number(opt.steps);

/** Standard normals from a small seeded generator (the client's own noise for the v2 workload). */
function normals(seed, count) {
  let s = seed >>> 0 || 1;
  const out = [];
  while (out.length < count) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const u = (s + 1) / 4294967297;
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const v = (s + 1) / 4294967297;
    out.push(Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
  }
  return out;
}

const WORKLOADS = {
  'v1 samples (stepwise)': {
    path: '/v1/models/demo/samples',
    body: (seed) => ({ n, steps, solver: 'euler', mode: 'ode', seed }),
  },
  'v2 infer (Loop sampler)': {
    path: '/v2/models/demo_sampler_euler_ode/infer',
    body: (seed) => ({
      inputs: [
        { name: 'prior_noise', shape: [n, 2], datatype: 'FP32', data: normals(seed, n * 2) },
        { name: 'steps', shape: [1], datatype: 'INT64', data: [steps] },
      ],
    }),
  },
};

async function measure(url, workload, connections) {
  let seed = 1;
  const check = await fetch(url + workload.path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(workload.body(0)),
  });
  if (check.status !== 200) throw new Error(`warm-up failed: ${check.status} ${await check.text()}`);
  const r = await autocannon({
    url,
    connections,
    duration: Number(opt.duration),
    requests: [
      {
        method: 'POST',
        path: workload.path,
        headers: { 'content-type': 'application/json' },
        setupRequest: (req) => ({ ...req, body: JSON.stringify(workload.body(seed++)) }),
      },
    ],
  });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors };
}

const hidden = opt.hidden.split(',').map(Number);
const tmp = await demoModels(hidden);
const rows = [];
try {
  for (const window of [0, Number(opt.window)]) {
    const args = ['--max-concurrent', '256', '--max-queue', '1024', '--batch-window-ms', String(window)];
    const server = await startServer(tmp, args);
    try {
      for (const [name, workload] of Object.entries(WORKLOADS)) {
        for (const connections of opt.clients.split(',').map(Number)) {
          const m = await measure(server.address, workload, connections);
          rows.push({ workload: name, batchWindowMs: window, clients: connections, ...m });
          console.error(JSON.stringify(rows.at(-1)));
        }
      }
    } finally {
      server.child.kill('SIGTERM');
      await server.exit.catch(() => null);
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
rows.sort((a, b) => a.workload.localeCompare(b.workload) || a.clients - b.clients || a.batchWindowMs - b.batchWindowMs);
console.log(`${cpus().length} CPUs, demo model hidden [${hidden}], n = ${n}, steps = ${steps}, ${opt.duration} s per row\n`);
console.log('| workload | clients | batch window | req/s | p50 ms | p99 ms | non-2xx + errors |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.workload} | ${r.clients} | ${r.batchWindowMs === 0 ? 'off' : `${r.batchWindowMs} ms`} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.non2xx + r.errors} |`,
  );
}
