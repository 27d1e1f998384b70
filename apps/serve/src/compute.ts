/**
 * The one compute wrapper every model route runs through. It owns
 * - admission: compute requests beyond maxConcurrent + maxQueue are shed before fastify sees
 *   them (admission.ts), and 503s are logged as one summary per window (log-summary.ts);
 * - per-request bookkeeping: request metrics (count, duration, in flight), the `x-request-id`
 *   header, cancellation when the client goes away;
 * - the computation: queueing in the pool, the request deadline (timeoutMs) and abort, timing;
 * - the response envelope `{ model, …, nfe, ms }` and the operation's metrics;
 * - error mapping: every error becomes the one JSON error body (error-mapping.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type Admission, computeRoute } from './admission.js';
import { errorBody } from './error-mapping.js';
import { type ErrorBody, HttpError, reason } from './errors.js';
import type { ServeLimits } from './limits.js';
import { LogSummary } from './log-summary.js';
import type { ServeMetrics } from './metrics.js';
import type { LoadedModel } from './models.js';
import type { ComputePool } from './pool.js';
import { onSettled } from './settle.js';

/** The operations of the compute routes (the `operation` label of nfdm_compute_seconds_total; 'infer' is POST /v2/…/infer). */
export type Operation = 'samples' | 'transport' | 'log_prob' | 'infer';

/** One computation of a route: what it runs and how its result becomes the response body. */
export interface ComputeJob<R extends { stats: { nfe: number } }> {
  entry: LoadedModel;
  operation: Operation;
  /** Samples generated or points evaluated (the operation's counter). */
  count: number;
  /** The computation; it stops at its next solver step once `signal` aborts. */
  run: (signal: AbortSignal) => Promise<R>;
  /** The route's fields of the response (between `model` and `nfe`, `ms`). */
  body: (result: R) => Record<string, unknown>;
}

export interface ComputeOptions {
  limits: ServeLimits;
  pool: ComputePool;
  admission: Admission;
  metrics: ServeMetrics;
  /** True once the server began closing. */
  closing: () => boolean;
  /** 503 summaries are logged once per window of this many ms (default 10,000). */
  logSummaryMs?: number;
}

export class Compute {
  /** The status a request gets in the metrics when its connection closes first: 408 if this server timed it out. */
  readonly clientErrorStatus = new WeakMap<Socket, number>();
  private readonly started = new WeakMap<FastifyRequest, number>();
  private readonly finished = new WeakSet<FastifyRequest>();
  private readonly controllers = new WeakMap<FastifyRequest, AbortController>();
  private readonly errorCodes = new WeakMap<FastifyRequest, string>();
  private unavailable: LogSummary | undefined;

  constructor(private readonly o: ComputeOptions) {}

  /** The Node server's request handler: compute requests over capacity are shed before `handler` (fastify). */
  admit(req: IncomingMessage, res: ServerResponse, handler: (req: IncomingMessage, res: ServerResponse) => void): void {
    const route = computeRoute(req.method, req.url);
    if (route === undefined || this.o.closing()) {
      handler(req, res);
      return;
    }
    this.o.admission.handle(
      req,
      res,
      () => handler(req, res),
      () => {
        this.o.metrics.requests.inc({ method: 'POST', route, status: '503' });
        this.o.metrics.timeouts.inc({ reason: 'busy' });
        this.unavailable?.add('SERVER_BUSY');
      },
    );
  }

  /** Install the bookkeeping hooks and the error handler on the root instance (they apply to every route). */
  attach(app: FastifyInstance): void {
    this.unavailable = new LogSummary(
      (counts, total, windowMs) =>
        app.log.warn(
          { statusCode: 503, counts, windowS: windowMs / 1000 },
          `${total} requests answered 503 in the last ${windowMs / 1000} s`,
        ),
      this.o.logSummaryMs,
    );
    app.addHook('onRequest', async (request, reply) => this.onRequest(request, reply));
    app.addHook('onResponse', async (request, reply) => this.onResponse(request, reply));
    app.addHook('onSend', async (request, reply, payload) => {
      reply.header('x-request-id', request.id);
      // while draining, close keep-alive connections after their last response so close() can finish
      if (this.o.closing()) reply.header('connection', 'close');
      return payload;
    });
    app.setErrorHandler((error: FastifyError, request, reply) => this.onError(error, request, reply));
  }

  /** Log what is left of the 503 summary (at close). */
  flush(): void {
    this.unavailable?.flush();
  }

  private onRequest(request: FastifyRequest, reply: FastifyReply): void {
    this.started.set(request, performance.now());
    this.o.metrics.inFlight.inc();
    // The connection closing before the response finished means the client went away (or this
    // server timed the request out): abandon the computation at its next step. onSettled also
    // sees requests pipelined behind one whose connection closed. (fastify's onRequestAbort only
    // covers the body upload.)
    onSettled(request.raw, reply.raw, (finished) => {
      if (finished) {
        this.finish(request, reply.statusCode);
        return;
      }
      this.controllers.get(request)?.abort(new HttpError(499, 'CLIENT_CLOSED', 'the client closed the connection'));
      this.finish(request, this.clientErrorStatus.get(request.raw.socket) ?? 499);
    });
  }

  private finish(request: FastifyRequest, status: number): void {
    if (this.finished.has(request)) return;
    this.finished.add(request);
    const t0 = this.started.get(request);
    const route = request.routeOptions.url ?? 'unmatched';
    const { metrics } = this.o;
    metrics.inFlight.dec();
    metrics.requests.inc({ method: request.method, route, status: String(status) });
    if (t0 !== undefined) metrics.duration.observe({ method: request.method, route }, (performance.now() - t0) / 1000);
  }

  private onResponse(request: FastifyRequest, reply: FastifyReply): void {
    const status = reply.statusCode;
    // 503s come in floods under overload: counted into one summary line per window
    if (status === 503) this.unavailable?.add(this.errorCodes.get(request) ?? 'SERVICE_UNAVAILABLE');
    const level = status >= 500 && status !== 503 ? 'warn' : 'debug';
    request.log[level]({ method: request.method, url: request.url, statusCode: status, ms: reply.elapsedTime }, 'request completed');
  }

  private onError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
    return this.replyError(error, request, reply, (body) => body);
  }

  /**
   * Answer `error` with its status and the body `shape` makes of the one error body (routes of
   * another protocol send their own error shape; the mapping, logging and metrics are shared).
   */
  replyError(error: FastifyError, request: FastifyRequest, reply: FastifyReply, shape: (body: ErrorBody) => unknown): FastifyReply {
    let body: ErrorBody | undefined = errorBody(error, this.o.limits.bodyLimit);
    if (body === undefined) {
      request.log.error({ err: error }, 'request failed');
      body = { error: reason(500), message: 'internal server error (logged)', statusCode: 500, code: 'INTERNAL' };
    }
    if (body.statusCode === 503 && body.code === 'SERVER_BUSY') reply.header('retry-after', this.o.admission.retryAfterHeader);
    this.errorCodes.set(request, body.code);
    return reply.status(body.statusCode).send(shape(body));
  }

  /** Run a computation in the pool under the request's deadline; aborted on timeout or disconnect. */
  async run<T>(request: FastifyRequest, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const { limits, pool, metrics } = this.o;
    const controller = new AbortController();
    this.controllers.set(request, controller);
    const elapsed = performance.now() - (this.started.get(request) ?? performance.now());
    const timer = setTimeout(
      () =>
        controller.abort(new HttpError(503, 'TIMEOUT', `the request exceeded this server's ${limits.timeoutMs} ms timeout (timeoutMs)`)),
      Math.max(0, limits.timeoutMs - elapsed),
    );
    try {
      return await pool.run(controller.signal, () => fn(controller.signal));
    } catch (error) {
      if (controller.signal.aborted && error === controller.signal.reason) {
        metrics.timeouts.inc({ reason: (error as HttpError).code === 'TIMEOUT' ? 'timeout' : 'client_closed' });
      } else if (error instanceof HttpError && error.code === 'SERVER_BUSY') {
        metrics.timeouts.inc({ reason: 'busy' });
      }
      throw error;
    } finally {
      clearTimeout(timer);
      this.controllers.delete(request);
    }
  }

  /** Run `job` (timed, excluding queueing), count it in the metrics and wrap its body in the envelope. */
  async respond<R extends { stats: { nfe: number } }>(request: FastifyRequest, job: ComputeJob<R>): Promise<Record<string, unknown>> {
    let ms = 0;
    const result = await this.run(request, async (signal) => {
      const t0 = performance.now();
      const r = await job.run(signal);
      ms = performance.now() - t0;
      return r;
    });
    const { metrics } = this.o;
    const model = job.entry.name;
    (job.operation === 'log_prob' ? metrics.logProbPoints : metrics.samples).inc({ model }, job.count);
    metrics.computeSeconds.inc({ model, operation: job.operation }, ms / 1000);
    return { model, ...job.body(result), nfe: result.stats.nfe, ms: Math.round(ms * 1000) / 1000 };
  }
}
