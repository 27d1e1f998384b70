/**
 * The HTTP server: a fastify instance over the models of one directory.
 *
 *   GET  /healthz                      liveness
 *   GET  /readyz                       readiness (models loaded, not shutting down)
 *   GET  /metrics                      Prometheus text
 *   GET  /openapi.json                 OpenAPI 3 document (from the route schemas)
 *   GET  /v1/models                    loaded models
 *   GET  /v1/models/{name}             one model
 *   POST /v1/models/{name}/samples     { n, steps?, solver?, mode?, seed? } → { samples, … }
 *   POST /v1/models/{name}/log-prob    { points, steps?, solver? } → { logProb, … }
 *   POST /v1/models/{name}/transport   { sources, steps?, solver?, mode?, seed? } → { samples, … } (NFBM bridges)
 *
 * Model families: DiffusionModel exports (nfdm, ndm, fixed) serve samples and log-prob;
 * DiffFlow exports serve samples on their exported grid; NFBM bridges serve transport only.
 *
 * Over sockets, compute requests beyond maxConcurrent + maxQueue are shed before fastify sees
 * them (admission.ts); Node's headers/request timeouts are the request deadline; client errors
 * (408, 431, malformed HTTP) are JSON with `Connection: close` (client-errors.ts); a known path
 * with another method is 405 with `Allow`; 503s are logged as one summary per window.
 */
import { createServer as createHttpServer } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import swagger from '@fastify/swagger';
import { type OnnxDiffFlowModel, OnnxRuntimeError, OnnxSolveError } from '@nfdm/runtime';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyRequest,
  type FastifyServerOptions,
  LogController,
} from 'fastify';
import { Admission, computeRoute } from './admission.js';
import { clientErrorHandler } from './client-errors.js';
import { type ErrorBody, HttpError, reason, ServeConfigError } from './errors.js';
import { resolveLimits, type ServeLimits } from './limits.js';
import { LogSummary } from './log-summary.js';
import { ServeMetrics } from './metrics.js';
import {
  canonicalSolver,
  disposeModels,
  type LoadedModel,
  loadModels,
  type Mode,
  ODE_SOLVERS,
  SDE_SOLVERS,
  type Solver,
  sampleEngine,
  transportEngine,
} from './models.js';
import { abortable, ComputePool } from './pool.js';
import { RouteTable } from './route-table.js';
import { buildSchemas } from './schemas.js';
import { onSettled } from './settle.js';
import { SERVE_VERSION } from './version.js';

export interface CreateServerOptions {
  /** Directory of exported models: subdirectories written by writeOnnxExport and/or .onnx files. */
  modelsDir: string;
  /** Request limits (defaults: {@link DEFAULT_LIMITS}). */
  limits?: Partial<ServeLimits>;
  /** fastify's `logger` option (false, true or pino options) or a pino-compatible logger instance. Default false. */
  logger?: FastifyServerOptions['logger'] | FastifyBaseLogger;
  /** onnxruntime intra-op threads per session (default 1). */
  threads?: number;
  /** Skip models that fail to load instead of failing (default false). */
  allowPartial?: boolean;
  /** 503 responses are logged as one warn summary per window of this many ms (default 10,000), not one line each. */
  logSummaryMs?: number;
  /**
   * `Retry-After` of the 503s of load shedding, in ms (default 1000; sent rounded up to whole
   * seconds), enforced per connection: a compute request on a connection that got a 503 less than
   * this long ago is held until then, then admitted or rejected.
   */
  retryAfterMs?: number;
}

/** The server's state, as `app.nfdm`. */
export interface ServeState {
  readonly models: ReadonlyMap<string, LoadedModel>;
  readonly limits: Readonly<ServeLimits>;
  readonly metrics: ServeMetrics;
  readonly pool: ComputePool;
  /** Admission of compute requests over sockets (load shedding before parsing). */
  readonly admission: Admission;
  /** True once close() began (readyz answers 503). */
  closing: boolean;
}

export type NfdmServer = FastifyInstance & { nfdm: ServeState };

interface SamplesBody {
  n: number;
  steps?: number;
  solver?: string; // a SOLVERS name or an alias (schema-checked)
  mode?: Mode;
  seed?: number;
}

interface LogProbBody {
  points: number[][];
  steps?: number;
  solver?: 'euler' | 'heun' | 'rk4';
}

interface TransportBody {
  sources: number[][];
  steps?: number;
  solver?: string; // a SOLVERS name or an alias (schema-checked)
  mode?: Mode;
  seed?: number;
}

interface NameParams {
  name: string;
}

/** Largest number of floats the one-call SDE Loop sampler may allocate for its noise (64 MiB). */
const MAX_LOOP_NOISE = 1 << 24;

const LIMIT_HINTS: Record<string, string> = {
  '/n': 'maxN',
  '/steps': 'maxSteps',
  '/points': 'maxPoints',
  '/sources': 'maxN',
};

function pathText(context: string, instancePath: string): string {
  const parts = instancePath.split('/').slice(1);
  let out = context;
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : `.${p}`;
  return out;
}

/** One clear sentence from ajv's first error. */
function validationMessage(error: FastifyError): string {
  const v = error.validation?.[0];
  if (!v) return error.message;
  const context = error.validationContext ?? 'body';
  const where = pathText(context, v.instancePath);
  const params = v.params as Record<string, unknown>;
  switch (v.keyword) {
    case 'additionalProperties':
      return `${where} has an unknown property '${String(params.additionalProperty)}'`;
    case 'required':
      return `${where} must have the property '${String(params.missingProperty)}'`;
    case 'enum':
      return `${where} must be one of ${(params.allowedValues as unknown[]).map((x) => `'${String(x)}'`).join(', ')}`;
    case 'pattern':
      if (context === 'params' && v.instancePath === '/name')
        return 'model names may only contain letters, digits, ".", "_" and "-" (1–100 characters)';
      return `${where} ${v.message}`;
    case 'maximum':
    case 'maxItems': {
      const hint = LIMIT_HINTS[v.instancePath];
      return `${where} ${v.message}${hint ? ` (this server's ${hint} limit)` : ''}`;
    }
    case 'type':
      if (v.message === 'must be number' || v.message === 'must be integer')
        return `${where} ${v.message} (finite JSON numbers only; strings such as "NaN" are not numbers)`;
      return `${where} ${v.message}`;
    default:
      return `${where} ${v.message}`;
  }
}

function isLoggerInstance(x: unknown): x is FastifyBaseLogger {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as FastifyBaseLogger).info === 'function' &&
    typeof (x as FastifyBaseLogger).child === 'function'
  );
}

const finiteOrNull = (v: number): number | null => (Number.isFinite(v) ? v : null);

/** Row-major [n, D] floats as JSON rows (non-finite values → null). */
function toRows(flat: ArrayLike<number>, n: number, D: number): Array<Array<number | null>> {
  const rows: Array<Array<number | null>> = new Array(n);
  for (let i = 0; i < n; i++) {
    const row: Array<number | null> = new Array(D);
    for (let d = 0; d < D; d++) row[d] = finiteOrNull(flat[i * D + d]);
    rows[i] = row;
  }
  return rows;
}

/** Every row has the model's dim (422 otherwise) and only finite numbers (400 otherwise). */
function checkRows(rows: number[][], field: string, entry: LoadedModel): void {
  const D = entry.info.dim;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    if (row.length !== D) {
      throw new HttpError(422, 'WRONG_DIMENSION', `${field}[${i}] has ${row.length} coordinates; model '${entry.name}' has dim ${D}`);
    }
    for (let d = 0; d < D; d++) {
      if (!Number.isFinite(row[d])) throw new HttpError(400, 'NOT_FINITE', `${field}[${i}][${d}] is not a finite number`);
    }
  }
}

/** How often Node checks connections for the headers / request timeouts: often enough to enforce `timeoutMs` within a quarter of it (at most 1 s late). */
function timeoutCheckInterval(timeoutMs: number): number {
  return Math.min(1000, Math.max(10, Math.floor(timeoutMs / 4)));
}

/**
 * Create the server: loads every model of `modelsDir` (rejects with a ServeConfigError when the
 * directory has none or a model fails to load), registers the routes and returns the fastify
 * instance (not listening: call `listen`, or use `inject` in tests). `close()` drains in-flight
 * requests and computations, then releases the onnxruntime sessions.
 */
export async function createServer(options: CreateServerOptions): Promise<NfdmServer> {
  const limits = resolveLimits(options.limits);
  for (const key of ['retryAfterMs', 'logSummaryMs'] as const) {
    const v = options[key];
    if (v !== undefined && !(Number.isSafeInteger(v) && v >= 1)) throw new ServeConfigError(`${key} must be an integer ≥ 1, got ${v}`);
  }
  const logger = options.logger ?? false;
  const admission = new Admission(
    limits.maxConcurrent + limits.maxQueue,
    `limits maxConcurrent ${limits.maxConcurrent} + maxQueue ${limits.maxQueue}`,
    options.retryAfterMs,
  );
  // the status a request gets in the metrics when its connection closes first: 408 if this server timed it out
  const clientErrorStatus = new WeakMap<Socket, number>();
  const app = Fastify({
    ...(isLoggerInstance(logger) ? { loggerInstance: logger } : { logger }),
    bodyLimit: limits.bodyLimit,
    // The Node server, with its timeouts given at construction (Node sizes the headers timeout
    // and the connection checks then), and compute requests over capacity shed before fastify.
    serverFactory: (handler) =>
      createHttpServer(
        {
          requestTimeout: limits.timeoutMs,
          headersTimeout: limits.timeoutMs,
          connectionsCheckingInterval: timeoutCheckInterval(limits.timeoutMs),
          keepAliveTimeout: 72_000,
        },
        (req, res) => {
          const route = computeRoute(req.method, req.url);
          if (route === undefined || state.closing) return handler(req, res);
          admission.handle(
            req,
            res,
            () => handler(req, res),
            () => {
              metrics.requests.inc({ method: 'POST', route, status: '503' });
              metrics.timeouts.inc({ reason: 'busy' });
              unavailable.add('SERVER_BUSY');
            },
          );
        },
      ),
    clientErrorHandler: clientErrorHandler(limits.timeoutMs, (socket, status) => clientErrorStatus.set(socket, status)),
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: 'x-request-id',
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
  }) as unknown as FastifyInstance;
  const routes = new RouteTable();
  app.addHook('onRoute', (route) => routes.add(route.method, route.url ?? route.path));

  const models = await loadModels(options.modelsDir, {
    threads: options.threads ?? 1,
    allowPartial: options.allowPartial ?? false,
    warn: (message) => app.log.warn(message),
  });
  const pool = new ComputePool(limits.maxConcurrent, limits.maxQueue);
  const metrics = new ServeMetrics({
    running: () => pool.running,
    queued: () => pool.queued,
    models: () => models.size,
    held: () => admission.holding,
  });
  const state: ServeState = { models, limits, metrics, pool, admission, closing: false };
  const unavailable = new LogSummary(
    (counts, total, windowMs) =>
      app.log.warn(
        { statusCode: 503, counts, windowS: windowMs / 1000 },
        `${total} requests answered 503 in the last ${windowMs / 1000} s`,
      ),
    options.logSummaryMs,
  );
  app.decorate('nfdm', state);
  const maxDim = Math.max(...[...models.values()].map((m) => m.info.dim));
  const schemas = buildSchemas(limits, maxDim);

  // ---- per-request bookkeeping: metrics, deadlines, cancellation on client disconnect
  const started = new WeakMap<FastifyRequest, number>();
  const finished = new WeakSet<FastifyRequest>();
  const controllers = new WeakMap<FastifyRequest, AbortController>();
  const errorCodes = new WeakMap<FastifyRequest, string>();
  const finish = (request: FastifyRequest, status: number) => {
    if (finished.has(request)) return;
    finished.add(request);
    const t0 = started.get(request);
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.inFlight.dec();
    metrics.requests.inc({ method: request.method, route, status: String(status) });
    if (t0 !== undefined) metrics.duration.observe({ method: request.method, route }, (performance.now() - t0) / 1000);
  };
  app.addHook('onRequest', async (request, reply) => {
    started.set(request, performance.now());
    metrics.inFlight.inc();
    // The connection closing before the response finished means the client went away (or this
    // server timed the request out): abandon the computation at its next step. onSettled also
    // sees requests pipelined behind one whose connection closed. (fastify's onRequestAbort only
    // covers the body upload.)
    onSettled(request.raw, reply.raw, (finished) => {
      if (finished) return finish(request, reply.statusCode);
      controllers.get(request)?.abort(new HttpError(499, 'CLIENT_CLOSED', 'the client closed the connection'));
      finish(request, clientErrorStatus.get(request.raw.socket) ?? 499);
    });
  });
  app.addHook('onResponse', async (request, reply) => {
    const status = reply.statusCode;
    // 503s come in floods under overload: counted into one summary line per window
    if (status === 503) unavailable.add(errorCodes.get(request) ?? 'SERVICE_UNAVAILABLE');
    const level = status >= 500 && status !== 503 ? 'warn' : 'debug';
    request.log[level]({ method: request.method, url: request.url, statusCode: status, ms: reply.elapsedTime }, 'request completed');
  });
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-request-id', request.id);
    // while draining, close keep-alive connections after their last response so close() can finish
    if (state.closing) reply.header('connection', 'close');
    return payload;
  });

  /** Run a computation in the pool under the request's deadline; aborted on timeout or disconnect. */
  async function compute<T>(request: FastifyRequest, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    controllers.set(request, controller);
    const elapsed = performance.now() - (started.get(request) ?? performance.now());
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
      controllers.delete(request);
    }
  }

  function lookup(name: string): LoadedModel {
    const entry = models.get(name);
    if (!entry && state.closing) throw new HttpError(503, 'SHUTTING_DOWN', 'the server is shutting down');
    if (!entry) throw new HttpError(404, 'MODEL_NOT_FOUND', `no model named '${name}' is loaded (see GET /v1/models)`);
    return entry;
  }

  // ---- errors: one JSON shape; the server keeps serving whatever a request does
  app.setErrorHandler((error: FastifyError, request, reply) => {
    let body: ErrorBody;
    if (error instanceof HttpError) {
      body = error.toBody();
    } else if (error.validation) {
      body = { error: reason(400), message: validationMessage(error), statusCode: 400, code: 'FST_ERR_VALIDATION' };
    } else if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      body = {
        error: reason(413),
        message: `the request body exceeds this server's ${limits.bodyLimit}-byte limit (bodyLimit)`,
        statusCode: 413,
        code: error.code,
      };
    } else if (error instanceof OnnxRuntimeError) {
      body = { error: reason(422), message: error.message, statusCode: 422, code: 'MODEL_ERROR' };
    } else if (error instanceof OnnxSolveError) {
      body = { error: reason(422), message: solveFailureMessage(error), statusCode: 422, code: 'SOLVER_FAILED' };
    } else if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      body = { error: reason(error.statusCode), message: error.message, statusCode: error.statusCode, code: error.code ?? 'BAD_REQUEST' };
    } else {
      request.log.error({ err: error }, 'request failed');
      body = { error: reason(500), message: 'internal server error (logged)', statusCode: 500, code: 'INTERNAL' };
    }
    if (body.statusCode === 503 && body.code === 'SERVER_BUSY') reply.header('retry-after', admission.retryAfterHeader);
    errorCodes.set(request, body.code);
    return reply.status(body.statusCode).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    const allowed = routes.allowed(path);
    if (allowed.length > 0) {
      const body: ErrorBody = {
        error: reason(405),
        message: `${request.method} is not allowed on ${path} (allowed: ${allowed.join(', ')})`,
        statusCode: 405,
        code: 'METHOD_NOT_ALLOWED',
      };
      return reply.status(405).header('allow', allowed.join(', ')).send(body);
    }
    const body: ErrorBody = { error: reason(404), message: `no route ${request.method} ${path}`, statusCode: 404, code: 'ROUTE_NOT_FOUND' };
    return reply.status(404).send(body);
  });

  // JSON only: other media types get 415
  app.removeContentTypeParser('text/plain');

  // ---- OpenAPI
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'nfdm-serve',
        version: SERVE_VERSION,
        description:
          'Samples and log-densities of exported nfdm diffusion models (ONNX, onnxruntime-node). ' +
          `Limits: n ≤ ${limits.maxN}, steps ≤ ${limits.maxSteps}, points ≤ ${limits.maxPoints}, ` +
          `body ≤ ${limits.bodyLimit} bytes, timeout ${limits.timeoutMs} ms.`,
      },
      tags: [
        { name: 'models', description: 'Models, samples and log-densities' },
        { name: 'health', description: 'Health, readiness and metrics' },
      ],
    },
  });

  // ---- routes
  app.get('/healthz', { schema: schemas.healthz }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: schemas.readyz }, async (_request, reply) => {
    const ready = !state.closing && models.size > 0;
    return reply
      .status(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : state.closing ? 'shutting down' : 'no models', models: models.size });
  });

  app.get('/metrics', { schema: schemas.metrics }, async (_request, reply) => {
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(metrics.render());
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  app.get('/v1/models', { schema: schemas.listModels }, async () => ({ models: [...models.values()].map((m) => m.info) }));

  app.get<{ Params: NameParams }>('/v1/models/:name', { schema: schemas.getModel }, async (request) => lookup(request.params.name).info);

  app.post<{ Params: NameParams; Body: SamplesBody }>('/v1/models/:name/samples', { schema: schemas.samples }, async (request) => {
    const entry = lookup(request.params.name);
    const model = entry.model;
    const body = request.body;
    if (model.family === 'nfbm') {
      throw new HttpError(
        422,
        'USE_TRANSPORT',
        `model '${entry.name}' is an NFBM bridge: it transports source points to targets; use POST /v1/models/${entry.name}/transport`,
      );
    }
    if (model.family === 'diffflow') return diffflowSamples(request, entry, model, body);
    const { mode, solver } = solverChoice(body);
    const engine = sampleEngine(model, solver, mode);
    if (engine === null) {
      throw new HttpError(
        422,
        'UNSUPPORTED',
        `model '${entry.name}' cannot sample with ${solver}/${mode}: it has no graph for it (graphs: ${entry.info.graphs.join(', ')})`,
      );
    }
    const steps = body.steps ?? Math.min(100, limits.maxSteps);
    const seed = body.seed ?? 0;
    const { n } = body;
    checkLoopNoise(engine, mode, steps, n, entry, 'samples');
    let ms = 0;
    const result = await compute(request, async (signal) => {
      const t0 = performance.now();
      const r = await abortable(model, signal).sample({ n, steps, solver, mode, seed, engine });
      ms = performance.now() - t0;
      return r;
    });
    metrics.samples.inc({ model: entry.name }, n);
    metrics.computeSeconds.inc({ model: entry.name, operation: 'samples' }, ms / 1000);
    const D = result.dim;
    return {
      model: entry.name,
      samples: toRows(result.samples, n, D),
      n,
      dim: D,
      steps,
      solver: result.solver,
      mode: result.mode,
      seed,
      engine: result.engine,
      nfe: result.stats.nfe,
      ms: Math.round(ms * 1000) / 1000,
    };
  });

  app.post<{ Params: NameParams; Body: LogProbBody }>('/v1/models/:name/log-prob', { schema: schemas.logProb }, async (request) => {
    const entry = lookup(request.params.name);
    if (entry.model.family !== 'diffusion') {
      throw new HttpError(
        422,
        'UNSUPPORTED',
        `log-densities are not supported for ${entry.model.family === 'nfbm' ? 'NFBM bridges' : 'diffflow'} models ('${entry.name}')`,
      );
    }
    const model = entry.model;
    if (!entry.info.capabilities.logProb) {
      throw new HttpError(
        422,
        'UNSUPPORTED',
        `model '${entry.name}' has no velocity_divergence graph, so no log-densities (graphs: ${entry.info.graphs.join(', ')})`,
      );
    }
    const { points, steps, solver } = request.body;
    if (solver !== undefined && steps === undefined) {
      throw new HttpError(400, 'INVALID_SOLVER', "'solver' needs 'steps' (fixed-step solve); omit both for the adaptive solver");
    }
    const D = entry.info.dim;
    checkRows(points, 'points', entry);
    const options = steps !== undefined ? { steps, solver: solver ?? 'rk4' } : { adaptive: { maxSteps: limits.maxSteps } };
    let ms = 0;
    const result = await compute(request, async (signal) => {
      const t0 = performance.now();
      const r = await abortable(model, signal).logProb(points, options);
      ms = performance.now() - t0;
      return r;
    });
    metrics.logProbPoints.inc({ model: entry.name }, points.length);
    metrics.computeSeconds.inc({ model: entry.name, operation: 'log_prob' }, ms / 1000);
    return {
      model: entry.name,
      logProb: Array.from(result.logp, finiteOrNull),
      n: points.length,
      dim: D,
      steps: steps ?? null,
      solver: steps !== undefined ? (solver ?? 'rk4') : 'dopri5',
      adaptive: steps === undefined,
      nfe: result.stats.nfe,
      ms: Math.round(ms * 1000) / 1000,
    };
  });

  /** DiffFlow samples on the exported grid (POST /samples for family 'diffflow'). */
  async function diffflowSamples(request: FastifyRequest, entry: LoadedModel, model: OnnxDiffFlowModel, body: SamplesBody) {
    if (body.steps !== undefined || body.solver !== undefined) {
      throw new HttpError(
        400,
        'INVALID_OPTION',
        `model '${entry.name}' is a DiffFlow model: it samples on its exported ${model.steps}-step grid, so 'steps' and 'solver' do not apply (use n, mode, seed)`,
      );
    }
    const mode: Mode = body.mode ?? 'sde';
    const engine = model.engineFor(mode);
    if (engine === null) {
      throw new HttpError(
        422,
        'UNSUPPORTED',
        `model '${entry.name}' cannot sample in ${mode} mode: it has no graph for it (graphs: ${entry.info.graphs.join(', ')})`,
      );
    }
    const seed = body.seed ?? 0;
    const { n } = body;
    if (engine === 'loop' && mode === 'sde' && (model.steps - 1) * n * entry.info.dim > MAX_LOOP_NOISE) {
      throw new HttpError(
        400,
        'TOO_LARGE',
        `grid steps × n × dim exceeds ${MAX_LOOP_NOISE} for the one-call SDE sampler of '${entry.name}'; use fewer samples`,
      );
    }
    let ms = 0;
    const result = await compute(request, async (signal) => {
      const t0 = performance.now();
      const r = await abortable(model, signal).sample({ n, mode, seed, engine });
      ms = performance.now() - t0;
      return r;
    });
    metrics.samples.inc({ model: entry.name }, n);
    metrics.computeSeconds.inc({ model: entry.name, operation: 'samples' }, ms / 1000);
    return {
      model: entry.name,
      samples: toRows(result.samples, n, result.dim),
      n,
      dim: result.dim,
      steps: model.steps,
      solver: 'grid',
      mode,
      seed,
      engine: result.engine,
      nfe: result.stats.nfe,
      ms: Math.round(ms * 1000) / 1000,
    };
  }

  app.post<{ Params: NameParams; Body: TransportBody }>('/v1/models/:name/transport', { schema: schemas.transport }, async (request) => {
    const entry = lookup(request.params.name);
    const model = entry.model;
    if (model.family !== 'nfbm') {
      throw new HttpError(
        422,
        'UNSUPPORTED',
        `model '${entry.name}' is not an NFBM bridge (kind '${entry.info.kind}'): only bridges transport sources; use POST /v1/models/${entry.name}/samples`,
      );
    }
    const body = request.body;
    const { mode, solver } = solverChoice(body);
    const engine = transportEngine(model, solver, mode);
    if (engine === null) {
      throw new HttpError(
        422,
        'UNSUPPORTED',
        `model '${entry.name}' cannot transport with ${solver}/${mode}: it has no graph for it (graphs: ${entry.info.graphs.join(', ')})`,
      );
    }
    const { sources } = body;
    checkRows(sources, 'sources', entry);
    const steps = body.steps ?? Math.min(100, limits.maxSteps);
    const seed = body.seed ?? 0;
    const n = sources.length;
    checkLoopNoise(engine, mode, steps, n, entry, 'sources');
    let ms = 0;
    const result = await compute(request, async (signal) => {
      const t0 = performance.now();
      const r = await abortable(model, signal).transport(sources, { mode, steps, solver, seed, engine });
      ms = performance.now() - t0;
      return r;
    });
    metrics.samples.inc({ model: entry.name }, n);
    metrics.computeSeconds.inc({ model: entry.name, operation: 'transport' }, ms / 1000);
    return {
      model: entry.name,
      samples: toRows(result.samples, n, result.dim),
      n,
      dim: result.dim,
      steps,
      solver: result.solver,
      mode: result.mode,
      seed,
      engine: result.engine,
      nfe: result.stats.nfe,
      ms: Math.round(ms * 1000) / 1000,
    };
  });

  // ---- shutdown: fastify stops accepting and waits for in-flight requests before onClose
  // Connections that never send a request (e.g. a client's pre-connected spare socket) are
  // neither idle nor active for Node, and would hold close() until a socket timeout: once no
  // request has been in flight for two checks in a row, drop whatever connections are left.
  let reaper: NodeJS.Timeout | undefined;
  app.addHook('preClose', async () => {
    state.closing = true;
    admission.releaseHeld();
    let quiet = 0;
    reaper = setInterval(() => {
      quiet = metrics.inFlight.get() === 0 ? quiet + 1 : 0;
      if (quiet >= 2) app.server.closeAllConnections();
    }, 100);
    reaper.unref();
  });
  app.addHook('onClose', async () => {
    clearInterval(reaper);
    state.closing = true;
    await pool.idle();
    await disposeModels(models);
    unavailable.flush();
  });

  return app as NfdmServer;
}

/** The message of a 422 for a solve that failed part-way (diverged, or the adaptive solve gave up). */
function solveFailureMessage(error: OnnxSolveError): string {
  if (error.code === 'non_finite_state') {
    return `the solve diverged: ${error.message} (inputs far outside the model's data range can do this; try points closer to the data or more steps)`;
  }
  return `the adaptive log-density solve failed: ${error.message} (pass 'steps' for a fixed-step solve)`;
}

/** Mode and solver of a sampling/transport request (defaults: SDE with Euler–Maruyama, ODE with Euler); 400 when they do not match. */
function solverChoice(body: { mode?: Mode; solver?: string }): { mode: Mode; solver: Solver } {
  const requested = canonicalSolver(body.solver);
  const mode: Mode = body.mode ?? (requested === undefined || requested === 'euler_maruyama' ? 'sde' : 'ode');
  const solver: Solver = requested ?? (mode === 'sde' ? 'euler_maruyama' : 'euler');
  const valid: readonly string[] = mode === 'ode' ? ODE_SOLVERS : SDE_SOLVERS;
  if (!valid.includes(solver)) {
    throw new HttpError(400, 'INVALID_SOLVER', `solver '${solver}' is not available in ${mode} mode (expected ${valid.join(', ')})`);
  }
  return { mode, solver };
}

/** 400 when the one-call SDE graph would need a noise input larger than {@link MAX_LOOP_NOISE}. */
function checkLoopNoise(
  engine: string,
  mode: Mode,
  steps: number,
  n: number,
  entry: { name: string; info: { dim: number } },
  rows: string,
): void {
  if (engine === 'loop' && mode === 'sde' && steps * n * entry.info.dim > MAX_LOOP_NOISE) {
    throw new HttpError(
      400,
      'TOO_LARGE',
      `steps × n × dim = ${steps * n * entry.info.dim} exceeds ${MAX_LOOP_NOISE} for the one-call SDE sampler of '${entry.name}'; use fewer steps or ${rows}`,
    );
  }
}
