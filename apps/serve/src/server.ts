/**
 * The HTTP server: a fastify instance over the models of one directory, composed of route
 * plugins over one compute wrapper (compute.ts).
 *
 *   GET  /healthz                      liveness                                    routes/health.ts
 *   GET  /readyz                       readiness (models loaded, not shutting down)
 *   GET  /metrics                      Prometheus text
 *   GET  /openapi.json                 OpenAPI 3 document (from the route schemas)
 *   GET  /v1/models                    loaded models                               routes/models.ts
 *   GET  /v1/models/{name}             one model
 *   POST /v1/models/{name}/samples     { n, steps?, solver?, mode?, seed? } → { samples, … }      routes/samples.ts
 *   POST /v1/models/{name}/log-prob    { points, steps?, solver? } → { logProb, … }               routes/log-prob.ts
 *   POST /v1/models/{name}/transport   { sources, steps?, solver?, mode?, seed? } → { samples, … } routes/transport.ts
 *   /v2/…                              the Open Inference Protocol (KServe v2) over every graph   routes/v2.ts
 *   GET  /                             the browser playground (@nfdm/playground), its files, and  routes/playground.ts
 *   GET  /v1/models/{name}/files[/{g}] each export's graph files for it (COOP/COEP headers)
 *
 * What a model serves follows from its runtime capabilities: models that sample (DiffusionModel
 * exports with the solver table, DiffFlow exports on their exported grid) serve /samples, models
 * with a log-density graph /log-prob, and models that transport (NFBM bridges) /transport.
 *
 * Over sockets, compute requests beyond maxConcurrent + maxQueue are shed before fastify sees
 * them (admission.ts); Node's headers/request timeouts are the request deadline; client errors
 * (408, 431, malformed HTTP) are JSON with `Connection: close` (client-errors.ts); a known path
 * with another method is 405 with `Allow`; 503s are logged as one summary per window.
 */
import swagger from '@fastify/swagger';
import type { FastifyBaseLogger, FastifyInstance, FastifyServerOptions } from 'fastify';
import { Admission } from './admission.js';
import { installBatching } from './batch-install.js';
import { Compute } from './compute.js';
import { notFoundBody } from './error-mapping.js';
import { ServeConfigError } from './errors.js';
import { createFastify } from './fastify-app.js';
import { resolveLimits, type ServeLimits } from './limits.js';
import { ServeMetrics } from './metrics.js';
import { loadModels } from './models.js';
import { openapiOptions } from './openapi.js';
import { ComputePool } from './pool.js';
import { RouteTable } from './route-table.js';
import type { RouteContext } from './routes/context.js';
import { healthRoutes } from './routes/health.js';
import { logProbRoutes } from './routes/log-prob.js';
import { modelRoutes } from './routes/models.js';
import { playgroundRoutes } from './routes/playground.js';
import { samplesRoutes } from './routes/samples.js';
import { transportRoutes } from './routes/transport.js';
import { v2Routes } from './routes/v2.js';
import { buildSchemas } from './schemas.js';
import { installShutdown } from './shutdown.js';
import type { NfdmServer, ServeState } from './state.js';

export type { NfdmServer, ServeState } from './state.js';

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
  /**
   * Dynamic batching: runs of the same graph arriving within this many ms are merged into one
   * onnxruntime run (batching.ts); 0 (default) turns it off.
   */
  batchWindowMs?: number;
}

/** The route plugins, in the order of the OpenAPI document. */
const ROUTES = [healthRoutes, modelRoutes, samplesRoutes, logProbRoutes, transportRoutes, v2Routes, playgroundRoutes];

/**
 * Create the server: loads every model of `modelsDir` (rejects with a ServeConfigError when the
 * directory has none or a model fails to load), registers the routes and returns the fastify
 * instance (not listening: call `listen`, or use `inject` in tests). `close()` drains in-flight
 * requests and computations, then releases the onnxruntime sessions.
 */
export async function createServer(options: CreateServerOptions): Promise<NfdmServer> {
  const limits = resolveLimits(options.limits);
  const batchWindowMs = options.batchWindowMs ?? 0;
  if (!(Number.isSafeInteger(batchWindowMs) && batchWindowMs >= 0))
    throw new ServeConfigError(`batchWindowMs must be an integer ≥ 0, got ${batchWindowMs}`);
  for (const key of ['retryAfterMs', 'logSummaryMs'] as const) {
    const v = options[key];
    if (v !== undefined && !(Number.isSafeInteger(v) && v >= 1)) throw new ServeConfigError(`${key} must be an integer ≥ 1, got ${v}`);
  }
  const capacityText = `limits maxConcurrent ${limits.maxConcurrent} + maxQueue ${limits.maxQueue}`;
  const admission = new Admission(limits.maxConcurrent + limits.maxQueue, capacityText, options.retryAfterMs);
  const pool = new ComputePool(limits.maxConcurrent, limits.maxQueue);
  const metrics = new ServeMetrics({
    running: () => pool.running,
    queued: () => pool.queued,
    models: () => state.models.size,
    held: () => admission.holding,
  });
  const closing = () => state.closing;
  const compute = new Compute({ limits, pool, admission, metrics, closing, logSummaryMs: options.logSummaryMs });
  const app = createFastify(limits, options.logger ?? false, compute);
  const routes = new RouteTable();
  app.addHook('onRoute', (route) => routes.add(route.method, route.url ?? route.path));

  const models = await loadModels(options.modelsDir, {
    threads: options.threads ?? 1,
    allowPartial: options.allowPartial ?? false,
    warn: (message) => app.log.warn(message),
  });
  if (batchWindowMs > 0) installBatching(models, batchWindowMs, limits.maxN, metrics);
  const state: ServeState = { models, limits, metrics, pool, admission, closing: false };
  app.decorate('nfdm', state);
  compute.attach(app);
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    const allowed = routes.allowed(path);
    if (allowed.length > 0) reply.header('allow', allowed.join(', '));
    const body = notFoundBody(request.method, path, allowed);
    return reply.status(body.statusCode).send(body);
  });
  // JSON only: other media types get 415
  app.removeContentTypeParser('text/plain');

  await app.register(swagger, openapiOptions(limits));
  const maxDim = Math.max(...[...models.values()].map((m) => m.info.dim));
  const context: RouteContext = { state, compute, schemas: buildSchemas(limits, maxDim) };
  for (const plugin of ROUTES) await app.register(plugin, context);
  installShutdown(app, state, models, compute);
  return app as FastifyInstance as NfdmServer;
}
