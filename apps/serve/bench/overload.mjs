#!/usr/bin/env node
import { rmSync } from 'node:fs';
/**
 * Overload test of nfdm-serve: C keep-alive connections on 127.0.0.1, each sending
 * POST /v1/models/{model}/samples again as soon as the previous response arrives — a 503 is
 * retried at once (Retry-After ignored), a closed connection is reopened at once. Reports, per
 * connection count, successful requests/s (goodput), 503s/s, latency percentiles of the
 * successes, other statuses, reconnects, the server's log volume and the load average.
 *
 *   node bench/overload.mjs                                   # demo model, dist/bin.js, 200,250,300,600 connections × 20 s
 *   node bench/overload.mjs --models DIR --model NAME --connections 250,600 --duration 30
 *   node bench/overload.mjs --bin path/to/other/bin.js        # e.g. a build of an older commit
 *   options: --n 16 --steps 20 --solver euler --mode ode --server-args "--max-concurrent 4"
 *            --log-level info (the server's; default info, as in production) --json
 *
 * A fresh server is started for every connection count (loopback only, ephemeral port) and
 * stopped with SIGTERM afterwards (its exit code is reported). The client is a minimal HTTP/1.1
 * reader over net sockets, so that it costs as little CPU as possible next to the server.
 */
import net from 'node:net';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { BIN, demoModels, startServer } from './server.mjs';

const { values: opt } = parseArgs({
  options: {
    models: { type: 'string' },
    model: { type: 'string', default: 'demo' },
    bin: { type: 'string', default: BIN },
    connections: { type: 'string', default: '200,250,300,600' },
    duration: { type: 'string', default: '20' },
    n: { type: 'string', default: '16' },
    steps: { type: 'string', default: '20' },
    solver: { type: 'string', default: 'euler' },
    mode: { type: 'string', default: 'ode' },
    'server-args': { type: 'string', default: '' },
    'log-level': { type: 'string', default: 'info' },
    json: { type: 'boolean', default: false },
  },
});

const HEADER_END = Buffer.from('\r\n\r\n');

/** q-quantile of sorted numbers (nearest rank). */
function quantile(sorted, q) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/**
 * Run `connections` request loops against host:port for `seconds`. Each loop writes `request`,
 * reads one response (status line, Content-Length, Connection), records it and sends again.
 */
function hammer({ port, request, connections, seconds }) {
  const stats = { ok: 0, busy: 0, other: {}, okMs: [], busyMs: [], reconnects: 0, socketErrors: 0 };
  const deadline = performance.now() + seconds * 1000;
  let open = 0;
  return new Promise((resolveAll) => {
    const done = () => {
      if (--open === 0) resolveAll(stats);
    };
    const loop = (first) => {
      if (!first) stats.reconnects++;
      const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
      let buf = Buffer.alloc(0);
      let sentAt = 0;
      let closed = false;
      const send = () => {
        if (performance.now() >= deadline) {
          socket.end();
          return;
        }
        sentAt = performance.now();
        socket.write(request);
      };
      socket.on('connect', send);
      socket.on('data', (chunk) => {
        buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
        for (;;) {
          const end = buf.indexOf(HEADER_END);
          if (end < 0) return;
          const head = buf.subarray(0, end).toString('latin1');
          const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
          if (buf.length < end + 4 + length) return;
          buf = buf.subarray(end + 4 + length);
          const status = Number(head.slice(9, 12));
          const ms = performance.now() - sentAt;
          if (status === 200) {
            stats.ok++;
            stats.okMs.push(ms);
          } else if (status === 503) {
            stats.busy++;
            stats.busyMs.push(ms);
          } else stats.other[status] = (stats.other[status] ?? 0) + 1;
          if (/\r\nconnection: *close/i.test(head)) {
            socket.end();
            return; // reopened on 'close'
          }
          send();
        }
      });
      socket.on('error', () => {
        stats.socketErrors++;
      });
      socket.on('close', () => {
        if (closed) return;
        closed = true;
        if (performance.now() < deadline) loop(false);
        else done();
      });
    };
    for (let i = 0; i < connections; i++) {
      open++;
      loop(true);
    }
  });
}

let tmp;
try {
  if (!opt.models) tmp = await demoModels();
  const modelsDir = opt.models ?? tmp;
  const body = JSON.stringify({ n: Number(opt.n), steps: Number(opt.steps), solver: opt.solver, mode: opt.mode, seed: 1 });
  const path = `/v1/models/${opt.model}/samples`;
  const request = Buffer.from(
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  const seconds = Number(opt.duration);
  const rows = [];
  for (const connections of opt.connections.split(',').map(Number)) {
    const serverArgs = ['--log-level', opt['log-level'], ...opt['server-args'].split(/\s+/).filter(Boolean)];
    const server = await startServer(modelsDir, serverArgs, opt.bin);
    try {
      const { port } = new URL(server.address);
      const check = await fetch(server.address + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      if (check.status !== 200) throw new Error(`warm-up request failed: ${check.status} ${await check.text()}`);
      const logLines0 = server.logLines();
      const logBytes0 = server.logBytes();
      const load0 = loadavg()[0];
      const t0 = performance.now();
      const stats = await hammer({ port: Number(port), request, connections, seconds });
      const elapsed = (performance.now() - t0) / 1000;
      const load1 = loadavg()[0];
      server.child.kill('SIGTERM');
      const exitCode = await server.exit;
      const okMs = stats.okMs.sort((a, b) => a - b);
      const busyMs = stats.busyMs.sort((a, b) => a - b);
      const round = (x, d = 1) => (x === null ? null : Math.round(x * 10 ** d) / 10 ** d);
      rows.push({
        connections,
        seconds: round(elapsed, 2),
        okPerSec: round(stats.ok / elapsed),
        busyPerSec: round(stats.busy / elapsed),
        okP50Ms: round(quantile(okMs, 0.5)),
        okP99Ms: round(quantile(okMs, 0.99)),
        busyP50Ms: round(quantile(busyMs, 0.5)),
        other: stats.other,
        reconnects: stats.reconnects,
        socketErrors: stats.socketErrors,
        serverLogLines: server.logLines() - logLines0,
        serverLogMB: round((server.logBytes() - logBytes0) / 1e6, 2),
        serverExit: exitCode,
        loadavg: `${load0.toFixed(2)} → ${load1.toFixed(2)}`,
      });
      if (!opt.json) console.error(JSON.stringify(rows.at(-1)));
    } finally {
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
    }
  }
  if (opt.json) console.log(JSON.stringify({ bin: opt.bin, path, body: JSON.parse(body), rows }, null, 2));
  else {
    console.log(`${opt.bin}  POST ${path} ${body}  ${seconds} s per row`);
    console.log('| connections | 200/s | 503/s | p50 ok | p99 ok | other | reconnects | server log | loadavg |');
    console.log('|---|---|---|---|---|---|---|---|---|');
    for (const r of rows) {
      const other =
        Object.entries(r.other)
          .map(([s, c]) => `${s}×${c}`)
          .join(' ') || '–';
      console.log(
        `| ${r.connections} | ${r.okPerSec} | ${r.busyPerSec} | ${r.okP50Ms} ms | ${r.okP99Ms} ms | ${other} | ${r.reconnects} | ${r.serverLogLines} lines, ${r.serverLogMB} MB | ${r.loadavg} |`,
      );
    }
  }
} finally {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}
