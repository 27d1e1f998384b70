/**
 * The fastify instance: Node's server with the request deadline as its headers / request
 * timeouts and the compute wrapper's admission in front of fastify; client errors (408, 431,
 * malformed HTTP) as JSON; strict ajv (no coercion, no defaults, no unknown fields).
 */
import { createServer as createHttpServer } from 'node:http';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify';
import { clientErrorHandler } from './client-errors.js';
import type { Compute } from './compute.js';
import type { ServeLimits } from './limits.js';

function isLoggerInstance(x: unknown): x is FastifyBaseLogger {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as FastifyBaseLogger).info === 'function' &&
    typeof (x as FastifyBaseLogger).child === 'function'
  );
}

/** How often Node checks connections for the headers / request timeouts: often enough to enforce `timeoutMs` within a quarter of it (at most 1 s late). */
function timeoutCheckInterval(timeoutMs: number): number {
  return Math.min(1000, Math.max(10, Math.floor(timeoutMs / 4)));
}

export function createFastify(
  limits: ServeLimits,
  logger: FastifyServerOptions['logger'] | FastifyBaseLogger,
  compute: Compute,
): FastifyInstance {
  return Fastify({
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
        (req, res) => compute.admit(req, res, handler),
      ),
    clientErrorHandler: clientErrorHandler(limits.timeoutMs, (socket, status) => compute.clientErrorStatus.set(socket, status)),
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: 'x-request-id',
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false, allowUnionTypes: true } },
  }) as unknown as FastifyInstance;
}
