/** GET /v1/models (the loaded models) and /v1/models/{name} (one). */
import type { FastifyPluginAsync } from 'fastify';
import { lookup, type NameParams, type RouteContext } from './context.js';

export const modelRoutes: FastifyPluginAsync<RouteContext> = async (app, { state, schemas }) => {
  app.get('/v1/models', { schema: schemas.listModels }, async () => ({ models: [...state.models.values()].map((m) => m.info) }));

  app.get<{ Params: NameParams }>(
    '/v1/models/:name',
    { schema: schemas.getModel },
    async (request) => lookup(state, request.params.name).info,
  );
};
