/** Request and assertion helpers shared by the HTTP tests (fastify inject, and raw sockets for connection-level behaviour). */
import { connect } from 'node:net';
import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { NfdmServer } from '../src/index.js';

/** POST a JSON body (a string is sent as it is, to test malformed JSON). */
export function postJson(app: NfdmServer, url: string, payload: unknown, headers: Record<string, string> = {}) {
  return app.inject({
    method: 'POST',
    url,
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    headers: { 'content-type': 'application/json', ...headers },
  });
}

/** Rows of a row-major [n, dim] array. */
export function rows(flat: ArrayLike<number>, dim: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < flat.length; i += dim) out.push(Array.from({ length: dim }, (_, d) => flat[i + d]));
  return out;
}

/** A JSON error body with this status (and code, and message), in the server's error shape. */
export function expectError(res: LightMyRequestResponse, status: number, code?: string, message?: RegExp) {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/application\/json/);
  const body = res.json();
  expect(body).toMatchObject({ statusCode: status, error: expect.any(String), message: expect.any(String) });
  if (code) expect(body.code).toBe(code);
  if (message) expect(body.message).toMatch(message);
  return body;
}

/** Write `text` on a new TCP connection to `address` (http://host:port) and collect everything received until the server closes it. */
export function rawExchange(address: string, text: string, timeoutMs = 20_000): Promise<string> {
  const { hostname, port } = new URL(address);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server did not close the connection within ${timeoutMs} ms; received ${JSON.stringify(received)}`));
    }, timeoutMs);
    socket.on('connect', () => socket.write(text));
    socket.on('data', (d) => {
      received += d;
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
  });
}

/** A request with a malformed JSON body and a GET /healthz pipelined behind it on the same connection. */
export function pipelinedBehindMalformedJson(path = '/v1/models/toy/samples', next = 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'): string {
  const bad = '{"n": 3,,';
  return `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${bad.length}\r\n\r\n${bad}${next}`;
}

/** The value of a Prometheus sample line `name` (with its labels, as text) in /metrics of `address`, or undefined. */
export async function metricValue(address: string, series: string): Promise<number | undefined> {
  const text = await (await fetch(`${address}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Wait until `condition()` holds (polling every 5 ms; throws after 15 s). */
export async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const t0 = Date.now();
  while (!(await condition())) {
    if (Date.now() - t0 > 15_000) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
