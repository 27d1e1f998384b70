/** Request and assertion helpers shared by the HTTP tests (fastify inject, no sockets). */
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
