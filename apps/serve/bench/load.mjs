#!/usr/bin/env node
/**
 * Load test of nfdm-serve with autocannon: POST /v1/models/{model}/samples with small n over
 * loopback, then print requests/s, latency percentiles and errors as JSON.
 *
 *   node bench/load.mjs                       # exports a small demo model, starts dist/bin.js, 50 connections × 30 s
 *   node bench/load.mjs --models DIR --model NAME
 *   node bench/load.mjs --url http://127.0.0.1:8080 --model NAME   # an already running server
 *   options: --connections 50 --duration 30 --n 16 --steps 20 --solver euler --mode ode
 *            --server-args "--max-concurrent 4"
 *
 * Needs `npx tsup` (dist/bin.js) unless --url is given. Each request gets its own seed.
 */
import { rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { demoModels, startServer } from './server.mjs';

const { values: opt } = parseArgs({
  options: {
    url: { type: 'string' },
    models: { type: 'string' },
    model: { type: 'string', default: 'demo' },
    connections: { type: 'string', default: '50' },
    duration: { type: 'string', default: '30' },
    n: { type: 'string', default: '16' },
    steps: { type: 'string', default: '20' },
    solver: { type: 'string', default: 'euler' },
    mode: { type: 'string', default: 'ode' },
    'server-args': { type: 'string', default: '' },
  },
});

let tmp;
let server;
try {
  let url = opt.url;
  if (!url) {
    if (!opt.models) tmp = await demoModels();
    const modelsDir = opt.models ?? tmp;
    server = await startServer(modelsDir, opt['server-args'].split(/\s+/).filter(Boolean));
    url = server.address;
  }
  const body = { n: Number(opt.n), steps: Number(opt.steps), solver: opt.solver, mode: opt.mode };
  const path = `/v1/models/${opt.model}/samples`;
  // warm-up and sanity check
  const check = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (check.status !== 200) throw new Error(`warm-up request failed: ${check.status} ${await check.text()}`);
  let seed = 0;
  const result = await autocannon({
    url,
    connections: Number(opt.connections),
    duration: Number(opt.duration),
    requests: [
      {
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json' },
        setupRequest: (req) => ({ ...req, body: JSON.stringify({ ...body, seed: seed++ }) }),
      },
    ],
  });
  let serverExit = null;
  if (server) {
    server.child.kill('SIGTERM');
    serverExit = await server.exit.catch(() => null);
  }
  const report = {
    url: `${url}${path}`,
    body,
    connections: Number(opt.connections),
    durationS: result.duration,
    cpus: cpus().length,
    requests: result.requests.total,
    requestsPerSec: result.requests.average,
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      avg: result.latency.average,
      max: result.latency.max,
    },
    samplesPerSec: result.requests.average * body.n,
    '2xx': result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    throughputMBps: result.throughput.average / 1e6,
    serverExitCode: serverExit,
  };
  console.log(JSON.stringify(report, null, 2));
} finally {
  if (server && server.child.exitCode === null) server.child.kill('SIGKILL');
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}
