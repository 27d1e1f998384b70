/**
 * The Open Inference Protocol (KServe v2 / Triton HTTP) over every loaded graph:
 *
 *   GET  /v2                                        server metadata
 *   GET  /v2/health/live, /v2/health/ready          liveness, readiness (503 while shutting down)
 *   GET  /v2/models/{name}[/versions/1]             graph metadata: inputs and outputs (datatype, shape; -1 = dynamic)
 *   GET  /v2/models/{name}[/versions/1]/ready       graph readiness
 *   POST /v2/models/{name}[/versions/1]/infer       { id?, parameters?, inputs, outputs? } → { model_name, model_version, id?, outputs }
 *
 * `{name}` is `<model>_<graph>` (oip/graphs.ts), the directory name of the graph in a Triton
 * repository written by `nfdm export --format triton`. Inference runs the graph once on the
 * given tensors, through the same admission, pool, deadline and metrics as /v1; errors are
 * `{ "error": "…" }` with the status /v1 would give.
 */
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from '../errors.js';
import { v2Datatype, v2Shape } from '../oip/datatypes.js';
import { V2_VERSION, type V2Graph, v2Graphs } from '../oip/graphs.js';
import { V2_SCHEMAS } from '../oip/schemas.js';
import { decodeInputs, encodeOutputs, requestedOutputs, type V2RequestTensor } from '../oip/tensors.js';
import { MAX_LOOP_NOISE } from '../solver-choice.js';
import type { ServeState } from '../state.js';
import { SERVE_VERSION } from '../version.js';
import type { RouteContext } from './context.js';

interface V2Params {
  name: string;
  version?: string;
}

interface InferBody {
  id?: string;
  parameters?: Record<string, unknown>;
  inputs: V2RequestTensor[];
  outputs?: Array<{ name: string; parameters?: Record<string, unknown> }>;
}

/** The v2-served graph `name` (and `version`): 404 when none (503 while shutting down). */
function lookupGraph(graphs: ReadonlyMap<string, V2Graph>, state: ServeState, params: V2Params): V2Graph {
  const graph = graphs.get(params.name);
  if (!graph && state.closing) throw new HttpError(503, 'SHUTTING_DOWN', 'the server is shutting down');
  if (!graph)
    throw new HttpError(404, 'MODEL_NOT_FOUND', `no model named '${params.name}' (v2 names are <model>_<graph>; see GET /v1/models)`);
  if (params.version !== undefined && params.version !== V2_VERSION) {
    throw new HttpError(404, 'VERSION_NOT_FOUND', `model '${params.name}' has only version ${V2_VERSION}, not '${params.version}'`);
  }
  return graph;
}

/** The v2 model metadata of a graph. */
function metadata(graph: V2Graph) {
  const tensor = (t: { name: string; type: string; shape: Array<number | string> }) => ({
    name: t.name,
    datatype: v2Datatype(t.type),
    shape: v2Shape(t.shape),
  });
  return {
    name: graph.name,
    versions: [V2_VERSION],
    platform: 'onnxruntime_onnx',
    inputs: graph.signature.inputs.map(tensor),
    outputs: graph.signature.outputs.map(tensor),
  };
}

export const v2Routes: FastifyPluginAsync<RouteContext> = async (app, { state, compute }) => {
  const graphs = v2Graphs(state.models, (message) => app.log.warn(message));
  // errors of these routes in the protocol's shape
  app.setErrorHandler((error: FastifyError, request, reply) => compute.replyError(error, request, reply, (b) => ({ error: b.message })));

  app.get('/v2', { schema: V2_SCHEMAS.server }, async () => ({ name: 'nfdm', version: SERVE_VERSION, extensions: [] }));
  app.get('/v2/health/live', { schema: V2_SCHEMAS.live }, async () => ({ live: true }));
  app.get('/v2/health/ready', { schema: V2_SCHEMAS.ready }, async (_request, reply) => {
    const ready = !state.closing && graphs.size > 0;
    return reply.status(ready ? 200 : 503).send({ ready });
  });

  const readyHandler = async (request: FastifyRequest<{ Params: V2Params }>, reply: FastifyReply) => {
    lookupGraph(graphs, state, request.params);
    const ready = !state.closing;
    return reply.status(ready ? 200 : 503).send({ name: request.params.name, ready });
  };
  app.get<{ Params: V2Params }>('/v2/models/:name/ready', { schema: V2_SCHEMAS.modelReady }, readyHandler);
  app.get<{ Params: V2Params }>('/v2/models/:name/versions/:version/ready', { schema: V2_SCHEMAS.modelVersionReady }, readyHandler);

  const metadataHandler = async (request: FastifyRequest<{ Params: V2Params }>) => metadata(lookupGraph(graphs, state, request.params));
  app.get<{ Params: V2Params }>('/v2/models/:name', { schema: V2_SCHEMAS.model }, metadataHandler);
  app.get<{ Params: V2Params }>('/v2/models/:name/versions/:version', { schema: V2_SCHEMAS.modelVersion }, metadataHandler);

  const limits = { maxElements: MAX_LOOP_NOISE, maxSteps: state.limits.maxSteps };
  const inferHandler = async (request: FastifyRequest<{ Params: V2Params; Body: InferBody }>) => {
    const graph = lookupGraph(graphs, state, request.params);
    const body = request.body;
    const feeds = decodeInputs(graph, body.inputs, limits);
    const outputs = requestedOutputs(graph, body.outputs);
    let seconds = 0;
    const results = await compute.run(request, async () => {
      const t0 = performance.now();
      const out = await graph.entry.model.run(graph.graph, feeds).catch(rejected);
      seconds = (performance.now() - t0) / 1000;
      return out;
    });
    state.metrics.computeSeconds.inc({ model: graph.name, operation: 'infer' }, seconds);
    return {
      model_name: graph.name,
      model_version: V2_VERSION,
      ...(body.id === undefined ? {} : { id: body.id }),
      outputs: encodeOutputs(graph, results, outputs),
    };
  };
  app.post<{ Params: V2Params; Body: InferBody }>('/v2/models/:name/infer', { schema: V2_SCHEMAS.infer }, inferHandler);
  app.post<{ Params: V2Params; Body: InferBody }>(
    '/v2/models/:name/versions/:version/infer',
    { schema: V2_SCHEMAS.inferVersion },
    inferHandler,
  );
};

/** onnxruntime refusing the feeds (what the signature checks cannot see) is the client's error: 400. */
function rejected(error: unknown): never {
  if (error instanceof HttpError) throw error;
  throw new HttpError(400, 'INFERENCE_FAILED', `onnxruntime could not run the graph on these inputs: ${(error as Error).message}`);
}
