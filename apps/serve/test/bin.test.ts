/**
 * The built `nfdm-serve` executable (spawns `node dist/bin.js`; run `npx tsup` first — `npm
 * test` builds through turbo): flag errors exit 2, a real socket, and graceful shutdown on
 * SIGTERM (an in-flight request completes, the process exits 0).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import { CliUsageError, parseCli } from '../src/cli.js';
import { metricValue, pipelinedBehindMalformedJson, rawExchange, until } from './http.js';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'bin.js');
const modelsDir = inject('modelsDir');

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Start the server on an ephemeral port; resolves with its address once the ready line is logged. */
function start(args: string[]): Promise<{ child: ChildProcess; address: string; logs: () => string; exit: Promise<number | null> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, '--models', modelsDir, '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let resolved = false;
    const exit = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 30_000);
    const onData = (d: Buffer) => {
      out += d;
      if (resolved) return;
      for (const line of out.split('\n')) {
        if (!line.includes('nfdm-serve ready')) continue;
        resolved = true;
        clearTimeout(timer);
        resolve({ child, address: JSON.parse(line).address, logs: () => out, exit });
        return;
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('error', reject);
    exit.then((code) => {
      if (!resolved) reject(new Error(`server exited with ${code} before it was ready:\n${out}`));
    });
  });
}

describe('flags', () => {
  it('parses flags with defaults and rejects bad ones', () => {
    expect(parseCli(['--models', 'm'])).toMatchObject({ modelsDir: 'm', port: 8080, host: '127.0.0.1', threads: 1, graceMs: 30_000 });
    expect(
      parseCli(['--models', 'm', '--port', '0', '--max-n', '50', '--body-limit', '2mb', '--timeout', '5s', '--max-queue', '0']),
    ).toMatchObject({ port: 0, limits: { maxN: 50, bodyLimit: 2 * 1024 * 1024, timeoutMs: 5000, maxQueue: 0 } });
    expect(parseCli(['-h'])).toBe('help');
    const bad: Array<[string[], RegExp]> = [
      [[], /--models DIR is required/],
      [['--models', 'm', '--port', 'http'], /--port must be a whole number/],
      [['--models', 'm', '--port', '70000'], /--port must be between 0 and 65535/],
      [['--models', 'm', '--max-n', '0'], /--max-n must be between 1/],
      [['--models', 'm', '--max-steps', '-3'], /--max-steps/],
      [['--models', 'm', '--body-limit', 'lots'], /--body-limit must be a size/],
      [['--models', 'm', '--timeout', '1h'], /--timeout must be milliseconds/],
      [['--models', 'm', '--log-level', 'loud'], /--log-level must be one of/],
      [['--models', 'm', '--frobnicate'], /Unknown option '--frobnicate'/],
      [['--models', 'm', 'extra'], /positional/],
      [['--models'], /argument missing/],
    ];
    for (const [argv, message] of bad) expect(() => parseCli(argv), argv.join(' ')).toThrow(message);
    expect(() => parseCli(['--port', 'x'])).toThrow(CliUsageError);
  });

  it('the executable exits 2 on bad flags, 1 on a bad models directory, 0 on --help', async () => {
    expect(existsSync(BIN), `${BIN} is missing: run 'npx tsup' in apps/serve first`).toBe(true);
    const [badFlag, noModels, badDir, help] = await Promise.all([
      run(['--models', modelsDir, '--max-n', 'many']),
      run(['--port', '0']),
      run(['--models', join(modelsDir, 'missing'), '--port', '0']),
      run(['--help']),
    ]);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toMatch(/nfdm-serve: error: --max-n must be a whole number, got 'many'/);
    expect(noModels.code).toBe(2);
    expect(noModels.stderr).toMatch(/--models DIR is required/);
    expect(badDir.code).toBe(1);
    expect(badDir.stderr).toMatch(/cannot read models directory .*missing \(ENOENT\)/);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: nfdm-serve --models DIR/);
  });
});

describe('graceful shutdown', () => {
  it('SIGTERM: stops accepting, the in-flight request completes, the process exits 0', async () => {
    // --timeout and --grace leave room for a loaded machine (the request takes ~5 s on an idle one).
    const server = await start(['--max-steps', '2000', '--timeout', '120s', '--grace', '120s']);
    try {
      const models = (await (await fetch(`${server.address}/v1/models`)).json()) as { models: Array<{ name: string }> };
      expect(models.models.map((m) => m.name)).toEqual(['bridge', 'flow', 'img', 'imgbridge', 'loop', 'toy', 'velo', 'vp3']);
      const body = { n: 4000, steps: 400, solver: 'rk4', mode: 'ode', seed: 5 };
      const t0 = Date.now();
      const slow = fetch(`${server.address}/v1/models/toy/samples`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      // wait until the request is computing
      for (;;) {
        const metrics = await (await fetch(`${server.address}/metrics`)).text();
        if (/^nfdm_compute_running 1$/m.test(metrics)) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      server.child.kill('SIGTERM');
      const res = await slow;
      const elapsed = Date.now() - t0;
      expect(res.status).toBe(200);
      const out = (await res.json()) as { samples: number[][]; ms: number };
      expect(out.samples).toHaveLength(4000);
      expect(out.samples[0]).toHaveLength(2);
      expect(await server.exit).toBe(0);
      const logs = server.logs();
      expect(logs).toMatch(/"signal":"SIGTERM".*shutting down: draining in-flight requests/);
      expect(logs).toMatch(/shutdown complete/);
      // no longer accepting
      await expect(fetch(`${server.address}/healthz`)).rejects.toThrow();
      console.log(`slow request: ${elapsed} ms (compute ${out.ms} ms); exit 0 after drain`);
    } finally {
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
    }
  });

  it('SIGTERM after a request pipelined behind malformed JSON, with an idle socket open: exit 0, not the grace-period exit 1', async () => {
    const server = await start(['--grace', '20s']);
    const { hostname, port } = new URL(server.address);
    const idle = connect(Number(port), hostname);
    try {
      expect(await rawExchange(server.address, pipelinedBehindMalformedJson())).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
      await until(async () => (await metricValue(server.address, 'nfdm_http_requests_in_flight')) === 1, 'only /metrics is in flight');
      await until(() => !idle.connecting, 'the idle socket is connected');
      server.child.kill('SIGTERM');
      expect(await server.exit).toBe(0);
      expect(server.logs()).toMatch(/shutdown complete/);
      expect(server.logs()).not.toMatch(/grace period exceeded/);
    } finally {
      idle.destroy();
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
    }
  });
});
