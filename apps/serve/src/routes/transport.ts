/**
 * POST /v1/models/{name}/transport: source points carried to targets by a model with
 * `capabilities.transport` (NFBM bridges), with a fixed-step ODE or SDE solver. Conditional
 * bridges take `condition` (one for every source or one per source) and `guidance`, checked as
 * on /samples (conditions.ts).
 */
import { canTransport, RUNTIME_FAMILIES } from '@nfdm/runtime';
import type { FastifyPluginAsync } from 'fastify';
import { type ConditionField, requestCondition } from '../conditions.js';
import { HttpError } from '../errors.js';
import { checkFormat, type PointsFormat, sendPng } from '../images.js';
import { type Mode, type RungeKuttaSolver, transportEngine } from '../models.js';
import { abortable } from '../pool.js';
import { checkRows, solvedRowsBody } from '../rows.js';
import { checkLoopNoise, solverChoice } from '../solver-choice.js';
import { lookup, type NameParams, type RouteContext, stepsOf } from './context.js';

interface TransportBody {
  sources: number[][];
  steps?: number;
  solver?: string; // a SOLVERS name or an alias (schema-checked)
  mode?: Mode;
  seed?: number;
  format?: PointsFormat;
  condition?: ConditionField;
  guidance?: number;
}

/** The families that transport, for messages ('an NFBM bridge'; 'NFBM bridges'). */
const TRANSPORTERS = RUNTIME_FAMILIES.filter((f) => f.capabilities.transport);
const TRANSPORTER = TRANSPORTERS.map((f) => f.aTitle).join(' or ');
const TRANSPORTER_PLURAL = TRANSPORTERS.map((f) => f.plural).join(' and ');

export const transportRoutes: FastifyPluginAsync<RouteContext> = async (app, { state, compute, schemas }) => {
  app.post<{ Params: NameParams; Body: TransportBody }>(
    '/v1/models/:name/transport',
    { schema: schemas.transport },
    async (request, reply) => {
      const entry = lookup(state, request.params.name);
      const model = entry.model;
      if (!canTransport(model)) {
        throw new HttpError(
          422,
          'UNSUPPORTED',
          `model '${entry.name}' is not ${TRANSPORTER} (kind '${entry.info.kind}'): only ${TRANSPORTER_PLURAL} transport sources; use POST /v1/models/${entry.name}/samples`,
        );
      }
      const body = request.body;
      checkFormat(body.format, entry);
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
      const steps = stepsOf(body, state);
      const seed = body.seed ?? 0;
      const n = sources.length;
      const cond = requestCondition(entry, body.condition, body.guidance, n, 'source');
      checkLoopNoise(engine, mode, steps, n, entry, 'sources');
      const answer = await compute.respond(request, {
        entry,
        operation: 'transport',
        count: n,
        // solverChoice refuses 'ddim' here (frozen = false)
        run: (signal) =>
          abortable(model, signal).transport(sources, { mode, steps, solver: solver as RungeKuttaSolver, seed, engine, ...cond }),
        body: (r) => solvedRowsBody(r, n, steps, seed, cond),
      });
      return body.format === 'png' ? sendPng(reply, entry, answer, sources) : answer;
    },
  );
};
