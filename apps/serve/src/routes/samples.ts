/**
 * POST /v1/models/{name}/samples: samples of a model that draws from its prior
 * (`capabilities.sample`) — with the fixed-step solver table (`solvers`), or on the model's own
 * exported grid (no solver table: DiffFlow). A model that transports instead gets 422 pointing
 * to /transport.
 */
import { canTransport, type OnnxDiffFlowModel, type OnnxModel, samplesOnGrid, samplesWithSolvers } from '@nfdm/runtime';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Compute } from '../compute.js';
import { type ConditionField, requestCondition } from '../conditions.js';
import { HttpError } from '../errors.js';
import { checkFormat, type PointsFormat, sendPng } from '../images.js';
import { type LoadedModel, type Mode, sampleEngine } from '../models.js';
import { abortable } from '../pool.js';
import { solvedRowsBody, toRows } from '../rows.js';
import { checkLoopNoise, MAX_LOOP_NOISE, solverChoice } from '../solver-choice.js';
import type { ServeState } from '../state.js';
import { lookup, type NameParams, type RouteContext, stepsOf } from './context.js';

interface SamplesBody {
  n: number;
  steps?: number;
  solver?: string; // a SOLVERS name or an alias (schema-checked)
  mode?: Mode;
  seed?: number;
  format?: PointsFormat;
  condition?: ConditionField;
  guidance?: number;
}

type SamplesRequest = FastifyRequest<{ Params: NameParams; Body: SamplesBody }>;

export const samplesRoutes: FastifyPluginAsync<RouteContext> = async (app, { state, compute, schemas }) => {
  app.post<{ Params: NameParams; Body: SamplesBody }>('/v1/models/:name/samples', { schema: schemas.samples }, async (request, reply) => {
    const entry = lookup(state, request.params.name);
    const model = entry.model;
    if (!model.capabilities.sample && canTransport(model)) {
      throw new HttpError(
        422,
        'USE_TRANSPORT',
        `model '${entry.name}' is ${model.runtimeFamily.aTitle}: it transports source points to targets; use POST /v1/models/${entry.name}/transport`,
      );
    }
    checkFormat(request.body.format, entry);
    const body = samplesOnGrid(model)
      ? await gridSamples(compute, request, entry, model)
      : await solverSamples(compute, state, request, entry, samplesWithSolvers(model) ? model : null);
    return answer(reply, entry, request.body.format, body);
  });
};

/** The JSON body, or its samples as a PNG grid (`format: 'png'`). */
function answer(reply: FastifyReply, entry: LoadedModel, format: PointsFormat | undefined, body: Record<string, unknown>) {
  return format === 'png' ? sendPng(reply, entry, body) : body;
}

/** Samples with a (solver, mode) of the solver table, stepwise or with a Loop graph. */
async function solverSamples(compute: Compute, state: ServeState, request: SamplesRequest, entry: LoadedModel, model: OnnxModel | null) {
  const body = request.body;
  const { mode, solver } = solverChoice(body, model?.capabilities.sde ?? true, true);
  const engine = model === null ? null : sampleEngine(model, solver, mode);
  if (model === null || engine === null) {
    throw new HttpError(
      422,
      'UNSUPPORTED',
      `model '${entry.name}' cannot sample with ${solver}/${mode}: it has no graph for it (graphs: ${entry.info.graphs.join(', ')})`,
    );
  }
  const steps = stepsOf(body, state);
  const seed = body.seed ?? 0;
  const { n } = body;
  const cond = requestCondition(entry, body.condition, body.guidance, n, 'sample');
  checkLoopNoise(engine, mode, steps, n, entry, 'samples');
  return compute.respond(request, {
    entry,
    operation: 'samples',
    count: n,
    run: (signal) => abortable(model, signal).sample({ n, steps, solver, mode, seed, engine, ...cond }),
    body: (r) => solvedRowsBody(r, n, steps, seed, cond),
  });
}

/** Samples on the model's exported grid: `steps` and `solver` do not apply. */
async function gridSamples(compute: Compute, request: SamplesRequest, entry: LoadedModel, model: OnnxDiffFlowModel) {
  const body = request.body;
  if (body.steps !== undefined || body.solver !== undefined) {
    throw new HttpError(
      400,
      'INVALID_OPTION',
      `model '${entry.name}' is ${model.runtimeFamily.aTitle}: it samples on its exported ${model.steps}-step grid, so 'steps' and 'solver' do not apply (use n, mode, seed)`,
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
  requestCondition(entry, body.condition, body.guidance, n, 'sample');
  if (engine === 'loop' && mode === 'sde' && (model.steps - 1) * n * entry.info.dim > MAX_LOOP_NOISE) {
    throw new HttpError(
      400,
      'TOO_LARGE',
      `grid steps × n × dim exceeds ${MAX_LOOP_NOISE} for the one-call SDE sampler of '${entry.name}'; use fewer samples`,
    );
  }
  return compute.respond(request, {
    entry,
    operation: 'samples',
    count: n,
    run: (signal) => abortable(model, signal).sample({ n, mode, seed, engine }),
    body: (r) => ({
      samples: toRows(r.samples, n, r.dim),
      n,
      dim: r.dim,
      steps: model.steps,
      solver: 'grid',
      mode,
      seed,
      engine: r.engine,
    }),
  });
}
