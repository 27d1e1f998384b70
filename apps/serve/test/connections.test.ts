/**
 * Connection-level behaviour over real loopback sockets (fastify's inject has no socket):
 * load shedding before parsing with Retry-After enforced per connection, the in-flight gauge
 * with requests pipelined behind a connection-closing 400, Node's request timeout on a stalled
 * body, 431 with `Connection: close` for keep-alive clients, and 503s logged as one summary.
 */
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { describe, expect, inject, it } from 'vitest';
import { createServer, type NfdmServer } from '../src/index.js';
import { metricValue, pipelinedBehindMalformedJson, rawExchange, until } from './http.js';

const modelsDir = inject('modelsDir');

/** ~10 s of work on one core: long enough to hold a compute slot until the test aborts it. */
const SLOW = JSON.stringify({ n: 4000, steps: 1000, solver: 'rk4', mode: 'ode' });
const FAST = JSON.stringify({ n: 4, steps: 2, solver: 'euler', mode: 'ode' });

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One HTTP/1.1 request through `agent` (keep-alive agents reuse their socket). */
function send(
  agent: Agent,
  address: string,
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${address}${path}`,
      { agent, method, headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A server on an ephemeral loopback port whose log lines are collected as parsed JSON. */
async function listening(options: Partial<Parameters<typeof createServer>[0]> = {}) {
  const lines: Array<Record<string, unknown>> = [];
  const app: NfdmServer = await createServer({
    modelsDir,
    logger: { level: 'info', stream: { write: (line: string) => lines.push(JSON.parse(line)) } },
    ...options,
  });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, address, lines };
}

/** Start a slow computation; resolves to the fetch error name once aborted. */
function slowRequest(address: string, signal: AbortSignal): Promise<string> {
  return fetch(`${address}/v1/models/toy/samples`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: SLOW, signal })
    .then((r) => `status ${r.status}`)
    .catch((e: Error) => e.name);
}

describe('load shedding', () => {
  it('over capacity: 503 before parsing, Retry-After held per connection, then admitted once a slot frees; one log summary', async () => {
    const { app, address, lines } = await listening({
      limits: { maxConcurrent: 1, maxQueue: 1 },
      retryAfterMs: 2000,
      logSummaryMs: 600_000,
    });
    const x = new Agent({ keepAlive: true, maxSockets: 1 });
    const y = new Agent({ keepAlive: true, maxSockets: 1 });
    const a = new AbortController();
    const b = new AbortController();
    try {
      const slow = [slowRequest(address, a.signal), slowRequest(address, b.signal)];
      await until(() => app.nfdm.pool.running === 1 && app.nfdm.pool.queued === 1, 'one computation runs and one waits');
      expect(app.nfdm.admission.admitted).toBe(2);

      // a malformed body is not even read: the answer is the busy 503, not a 400
      const shed = await send(x, address, 'POST', '/v1/models/toy/samples', '{"n": ');
      expect(shed.status).toBe(503);
      expect(shed.headers['retry-after']).toBe('2');
      expect(shed.headers.connection).toBe('keep-alive');
      expect(JSON.parse(shed.body)).toEqual({
        error: 'Service Unavailable',
        message: 'server busy: 2 compute requests already admitted (limits maxConcurrent 1 + maxQueue 1); retry later',
        statusCode: 503,
        code: 'SERVER_BUSY',
      });
      // other routes are neither shed nor paced
      expect((await send(x, address, 'GET', '/healthz')).status).toBe(200);
      // another connection gets its first 503 at once (nothing held)
      const other = send(y, address, 'POST', '/v1/models/toy/log-prob', JSON.stringify({ points: [[0, 0]], steps: 2 }));
      expect((await other).status).toBe(503);

      // an immediate retry on connection x is held until its Retry-After is over, then rejected again (still full)
      const retry = send(x, address, 'POST', '/v1/models/toy/samples', FAST);
      await until(() => app.nfdm.admission.holding === 1, 'the retry is held');
      expect(await metricValue(address, 'nfdm_http_requests_held')).toBe(1);
      expect((await retry).status).toBe(503);
      expect(app.nfdm.admission.holding).toBe(0);

      // free the slots; a retry within the interval is held, then admitted and computed
      a.abort();
      b.abort();
      expect(await Promise.all(slow)).toEqual(['AbortError', 'AbortError']);
      await until(() => app.nfdm.admission.admitted === 0 && app.nfdm.pool.running === 0, 'the slots are free');
      const admitted = send(x, address, 'POST', '/v1/models/toy/samples', FAST);
      await until(() => app.nfdm.admission.holding === 1, 'the retry is held');
      const ok = await admitted;
      expect(ok.status, ok.body).toBe(200);
      expect(JSON.parse(ok.body).samples).toHaveLength(4);

      const shedSeries = 'nfdm_http_requests_total{method="POST",route="/v1/models/:name/samples",status="503"}';
      expect(await metricValue(address, shedSeries)).toBe(2);
      expect(await metricValue(address, 'nfdm_http_requests_total{method="POST",route="/v1/models/:name/log-prob",status="503"}')).toBe(1);
      expect(await metricValue(address, 'nfdm_compute_aborted_total{reason="busy"}')).toBe(3);
      expect(await metricValue(address, 'nfdm_http_requests_in_flight')).toBe(1);
      expect(await metricValue(address, 'nfdm_http_requests_held')).toBe(0);
    } finally {
      a.abort();
      b.abort();
      x.destroy();
      y.destroy();
      await app.close();
    }
    // no line per 503; one summary at close
    expect(lines.filter((l) => l.statusCode === 503 && l.msg === 'request completed')).toEqual([]);
    const summaries = lines.filter((l) => /requests answered 503/.test(String(l.msg)));
    expect(summaries).toHaveLength(1);
    expect(summaries[0]).toMatchObject({ level: 40, msg: '3 requests answered 503 in the last 600 s', counts: { SERVER_BUSY: 3 } });
  });

  it('503s from the compute queue and timeouts (inject, no socket) are summarised per window too', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const app = await createServer({
      modelsDir,
      limits: { maxConcurrent: 1, maxQueue: 0, timeoutMs: 300 },
      logSummaryMs: 100,
      logger: { level: 'info', stream: { write: (line: string) => lines.push(JSON.parse(line)) } },
    });
    try {
      const post = (payload: string) =>
        app.inject({ method: 'POST', url: '/v1/models/toy/samples', payload, headers: { 'content-type': 'application/json' } });
      const slow = post(SLOW);
      await until(() => app.nfdm.pool.running === 1, 'the slow computation runs');
      const busy = await Promise.all(Array.from({ length: 5 }, () => post(FAST)));
      expect(busy.map((r) => r.statusCode)).toEqual([503, 503, 503, 503, 503]);
      expect((await slow).json().code).toBe('TIMEOUT');
      const summaries = () => lines.filter((l) => /requests answered 503/.test(String(l.msg)));
      const total = (code: string) => summaries().reduce((s, l) => s + ((l.counts as Record<string, number>)[code] ?? 0), 0);
      await until(() => total('SERVER_BUSY') + total('TIMEOUT') === 6, 'the window summaries are written');
      expect(total('SERVER_BUSY')).toBe(5);
      expect(total('TIMEOUT')).toBe(1);
      expect(summaries().length).toBeLessThanOrEqual(2);
      expect(lines.filter((l) => l.msg === 'request completed')).toEqual([]);
    } finally {
      await app.close();
    }
  });
});

describe('connections', () => {
  it('a request pipelined behind malformed JSON (connection closed by the 400) leaves no in-flight request or admission behind', async () => {
    const { app, address } = await listening();
    try {
      const valid = `POST /v1/models/toy/samples HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${FAST.length}\r\n\r\n${FAST}`;
      for (const next of [undefined, valid]) {
        const received = await rawExchange(address, pipelinedBehindMalformedJson('/v1/models/toy/samples', next));
        expect(received).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
        expect(received).toMatch(/\r\nconnection: close\r\n/i);
        expect(received).toMatch(/FST_ERR_CTP_INVALID_JSON_BODY/);
      }
      await until(async () => (await metricValue(address, 'nfdm_http_requests_in_flight')) === 1, 'only the /metrics request is in flight');
      expect(app.nfdm.admission.admitted).toBe(0);
      // the pipelined requests are counted as closed by the client
      expect(await metricValue(address, 'nfdm_http_requests_total{method="GET",route="/healthz",status="499"}')).toBe(1);
      expect(await metricValue(address, 'nfdm_http_requests_total{method="POST",route="/v1/models/:name/samples",status="400"}')).toBe(2);
    } finally {
      await app.close();
    }
  });

  it('a stalled body or stalled headers get 408 with Connection: close at the request timeout', async () => {
    const { app, address } = await listening({ limits: { timeoutMs: 400 } });
    try {
      const head = 'POST /v1/models/toy/samples HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n';
      const [body, headers] = await Promise.all([
        rawExchange(address, `${head}Content-Length: 100\r\n\r\n{"n": `),
        rawExchange(address, head), // the blank line never comes
      ]);
      for (const received of [body, headers]) {
        expect(received).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\nConnection: close\r\n/);
        const json = JSON.parse(received.slice(received.indexOf('\r\n\r\n') + 4));
        expect(json).toEqual({
          error: 'Request Timeout',
          message: "the request was not received within this server's 400 ms timeout (timeoutMs)",
          statusCode: 408,
          code: 'REQUEST_TIMEOUT',
        });
      }
      await until(async () => (await metricValue(address, 'nfdm_http_requests_in_flight')) === 1, 'only the /metrics request is in flight');
      expect(await metricValue(address, 'nfdm_http_requests_total{method="POST",route="/v1/models/:name/samples",status="408"}')).toBe(1);
    } finally {
      await app.close();
    }
  });

  it('431: the answer says Connection: close, so a keep-alive client opens a new connection for its next request', async () => {
    const { app, address } = await listening();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await send(agent, address, 'GET', '/healthz')).status).toBe(200);
      const big = await send(agent, address, 'GET', '/healthz', undefined, { 'x-big': 'a'.repeat(20_000) });
      expect(big.status).toBe(431);
      expect(big.headers.connection).toBe('close');
      expect(JSON.parse(big.body)).toMatchObject({ statusCode: 431, code: 'HEADERS_TOO_LARGE', error: 'Request Header Fields Too Large' });
      for (let i = 0; i < 3; i++) expect((await send(agent, address, 'GET', '/healthz')).status).toBe(200);
      const malformed = await rawExchange(address, 'GET /healthz HTTP/1.1\r\nHost x\r\n\r\n');
      expect(malformed).toMatch(/^HTTP\/1\.1 400 Bad Request\r\nConnection: close\r\n.*"code":"BAD_HTTP_REQUEST"/s);
    } finally {
      agent.destroy();
      await app.close();
    }
  });
});
