/**
 * POST /v1/models/{name}/log-prob: log-densities of points, for models with
 * `capabilities.logProb` (the probability-flow ODE with the exact divergence, fixed-step or
 * adaptive Dormand–Prince).
 */
import { hasLogProb } from '@nfdm/runtime';
import type { FastifyPluginAsync } from 'fastify';
import { type ConditionField, requestCondition } from '../conditions.js';
import { HttpError } from '../errors.js';
import { abortable } from '../pool.js';
import { checkRows, finiteOrNull } from '../rows.js';
import { lookup, type NameParams, type RouteContext } from './context.js';

interface LogProbBody {
  points: number[][];
  steps?: number;
  solver?: 'euler' | 'heun' | 'rk4';
  condition?: ConditionField;
}

export const logProbRoutes: FastifyPluginAsync<RouteContext> = async (app, { state, compute, schemas }) => {
  app.post<{ Params: NameParams; Body: LogProbBody }>('/v1/models/:name/log-prob', { schema: schemas.logProb }, async (request) => {
    const entry = lookup(state, request.params.name);
    const model = entry.model;
    if (!model.runtimeFamily.capabilities.logProb) {
      throw new HttpError(422, 'UNSUPPORTED', `log-densities are not supported for ${model.runtimeFamily.plural} ('${entry.name}')`);
    }
    if (!hasLogProb(model)) {
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
    checkRows(points, 'points', entry);
    const { condition } = requestCondition(entry, request.body.condition, undefined, points.length, 'point');
    const solve = steps !== undefined ? { steps, solver: solver ?? 'rk4' } : { adaptive: { maxSteps: state.limits.maxSteps } };
    const options = condition === undefined ? solve : { ...solve, condition };
    return compute.respond(request, {
      entry,
      operation: 'log_prob',
      count: points.length,
      run: (signal) => abortable(model, signal).logProb(points, options),
      body: (r) => ({
        logProb: Array.from(r.logp, finiteOrNull),
        n: points.length,
        dim: entry.info.dim,
        steps: steps ?? null,
        solver: steps !== undefined ? (solver ?? 'rk4') : 'dopri5',
        adaptive: steps === undefined,
      }),
    });
  });
};
