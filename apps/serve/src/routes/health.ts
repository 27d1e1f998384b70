/** GET /healthz (liveness), /readyz (readiness), /metrics (Prometheus text) and /openapi.json. */
import type { FastifyPluginAsync } from 'fastify';
import type { RouteContext } from './context.js';

export const healthRoutes: FastifyPluginAsync<RouteContext> = async (app, { state, schemas }) => {
  app.get('/healthz', { schema: schemas.healthz }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: schemas.readyz }, async (_request, reply) => {
    const ready = !state.closing && state.models.size > 0;
    return reply
      .status(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : state.closing ? 'shutting down' : 'no models', models: state.models.size });
  });

  app.get('/metrics', { schema: schemas.metrics }, async (_request, reply) => {
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(state.metrics.render());
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
};
