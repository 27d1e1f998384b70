/**
 * JSON schemas of every route: validated by fastify's ajv (types are strict — no coercion, no
 * unknown fields) and turned into the OpenAPI document by @fastify/swagger.
 */
import { EXPORT_FAMILIES, EXPORT_KINDS } from '@nfdm/runtime';
import { conditionProperty, guidanceProperty } from './conditions.js';
import type { ServeLimits } from './limits.js';
import { MODEL_NAME_PATTERN, SOLVER_ALIASES, SOLVERS } from './models.js';

const errorSchema = {
  type: 'object',
  description: 'Every error response: the reason phrase, a message, the status code and a machine-readable code.',
  properties: {
    error: { type: 'string', examples: ['Bad Request'] },
    message: { type: 'string' },
    statusCode: { type: 'integer' },
    code: { type: 'string', examples: ['FST_ERR_VALIDATION'] },
  },
  required: ['error', 'message', 'statusCode'],
} as const;

const errors = { '4xx': errorSchema, '5xx': errorSchema };

const nameParams = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: {
    name: {
      type: 'string',
      pattern: MODEL_NAME_PATTERN,
      description: 'A model name from GET /v1/models (letters, digits, ".", "_", "-").',
    },
  },
} as const;

const modelInfo = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    dim: { type: 'integer', description: 'Data dimension D.' },
    kind: {
      type: 'string',
      description: `Kind of the exported model: ${EXPORT_KINDS.join(', ')}, or the kind of a downstream forward process (a diffusion model).`,
    },
    family: {
      type: 'string',
      enum: [...EXPORT_FAMILIES],
      description: 'diffusion, diffflow and cfm models draw samples (POST /samples); nfbm bridges transport sources (POST /transport).',
    },
    forwardKind: { type: 'string' },
    graphs: { type: 'array', items: { type: 'string' }, description: 'Graphs loaded into onnxruntime sessions.' },
    capabilities: {
      type: 'object',
      properties: {
        samples: {
          type: 'object',
          properties: {
            ode: { type: 'array', items: { type: 'string' } },
            sde: { type: 'array', items: { type: 'string' } },
          },
        },
        logProb: { type: 'boolean' },
        transport: {
          type: 'object',
          properties: {
            ode: { type: 'array', items: { type: 'string' } },
            sde: { type: 'array', items: { type: 'string' } },
          },
        },
      },
    },
    standardized: { type: 'boolean', description: 'Samples are returned (and points expected) in data space.' },
    priorStd: { type: 'number' },
    tStart: { type: 'number' },
    exportVersion: { type: 'string' },
    source: { type: 'string', enum: ['directory', 'file'] },
    delta: { type: 'number', description: 'NFBM only: z(1) = source + δ ε.' },
    image: {
      type: 'object',
      description:
        'Image models only: each row of dim = height·width·channels values is an NHWC image in [−1, 1); /samples and /transport can answer with a PNG grid ("format": "png").',
      properties: { height: { type: 'integer' }, width: { type: 'integer' }, channels: { type: 'integer' } },
    },
    condition: {
      type: 'object',
      description:
        'Conditional models only: what the `condition` field of /samples, /log-prob and /transport holds — K class labels ' +
        '({"kind": "label", "classes": K}; K is the null condition) or vectors of dim values ({"kind": "vector", "dim": m}).',
      properties: { kind: { type: 'string', enum: ['label', 'vector'] }, classes: { type: 'integer' }, dim: { type: 'integer' } },
    },
    grid: {
      type: 'object',
      description: 'DiffFlow only: the fixed sampling grid baked into the export.',
      properties: { steps: { type: 'integer' }, tMin: { type: 'number' }, tMax: { type: 'number' } },
    },
  },
} as const;

/** Most values in one row of a vector `condition`. */
const MAX_CONDITION_WIDTH = 4096;

/** A number, or null where a computed value is not finite. */
const numberOrNull = { type: ['number', 'null'] } as const;

/** The 200 body of /samples and /transport: the points and how they were computed. */
function pointsResponse(samplesDescription: string) {
  return {
    type: 'object',
    properties: {
      model: { type: 'string' },
      samples: { type: 'array', items: { type: 'array', items: numberOrNull }, description: samplesDescription },
      n: { type: 'integer' },
      dim: { type: 'integer' },
      steps: { type: 'integer' },
      solver: { type: 'string' },
      mode: { type: 'string' },
      seed: { type: 'integer' },
      engine: { type: 'string', enum: ['stepwise', 'loop'] },
      guidance: { type: 'number', description: 'Conditional models: the guidance weight used.' },
      nfe: { type: 'integer', description: 'Field evaluations.' },
      ms: { type: 'number', description: 'Computation time in milliseconds (excluding queueing).' },
    },
  } as const;
}

/** The body properties `steps`, `solver`, `mode` and `seed` of /samples and /transport (seeds up to `maxSeed`). */
function solverProperties(limits: ServeLimits, maxSeed: number) {
  return {
    steps: {
      type: 'integer',
      minimum: 1,
      maximum: limits.maxSteps,
      description: `Fixed solver steps (1–${limits.maxSteps}; default ${Math.min(100, limits.maxSteps)}).`,
    },
    solver: {
      type: 'string',
      enum: [...SOLVERS, ...Object.keys(SOLVER_ALIASES)],
      description:
        "Default 'euler' for ODE, 'euler_maruyama' for SDE ('euler-maruyama' is accepted as an alias). 'ddim': " +
        'frozen-prediction ODE steps of diffusion models (POST /samples, mode "ode"; the frozen_step or sampler_ddim_ode graph).',
    },
    mode: {
      type: 'string',
      enum: ['ode', 'sde'],
      description: "Default 'ode' when an ODE solver (euler, heun, rk4, ddim) is named or the model has no SDE (cfm), else 'sde'.",
    },
    seed: { type: 'integer', minimum: 0, maximum: maxSeed, description: 'Seed (default 0).' },
    format: {
      type: 'string',
      enum: ['json', 'png'],
      description:
        "'json' (default): rows of numbers. 'png': for image models (modelInfo.image), the points as one PNG grid " +
        '(image/png; transport: each source beside its target), pixel p = ⌊128 (x + 1)⌋ clipped to 0..255; ' +
        'n, steps, solver, mode, seed, engine, nfe and ms come as x-nfdm-* headers.',
    },
  } as const;
}

/** 1–`maxRows` rows of at most `maxDim` numbers. */
function rowsProperty(maxRows: number, maxDim: number, description: string) {
  return {
    type: 'array',
    minItems: 1,
    maxItems: maxRows,
    items: { type: 'array', minItems: 1, maxItems: maxDim, items: { type: 'number' } },
    description,
  } as const;
}

/** Fresh per server, like every route schema. */
const health = () =>
  ({
    healthz: {
      summary: 'Liveness: the process is up',
      tags: ['health'],
      response: { 200: { type: 'object', properties: { status: { type: 'string', enum: ['ok'] } } } },
    },
    readyz: {
      summary: 'Readiness: models are loaded and the server is not shutting down',
      tags: ['health'],
      response: {
        200: { type: 'object', properties: { status: { type: 'string' }, models: { type: 'integer' } } },
        503: { type: 'object', properties: { status: { type: 'string' }, models: { type: 'integer' } } },
      },
    },
    metrics: {
      summary: 'Prometheus metrics (text format 0.0.4)',
      tags: ['health'],
      produces: ['text/plain'],
      response: { 200: { type: 'string', description: 'Prometheus text exposition' } },
    },
  }) as const;

const models = () =>
  ({
    listModels: {
      summary: 'The loaded models',
      tags: ['models'],
      response: { 200: { type: 'object', properties: { models: { type: 'array', items: modelInfo } } }, ...errors },
    },
    getModel: {
      summary: 'One loaded model',
      tags: ['models'],
      params: nameParams,
      response: { 200: modelInfo, ...errors },
    },
  }) as const;

/** A POST route on a model: JSON body with `required` and exactly `properties`, `ok` as the 200 body. */
function modelPost<P extends Record<string, unknown>, R>(summary: string, description: string, required: string, properties: P, ok: R) {
  return {
    summary,
    description,
    tags: ['models'],
    params: nameParams,
    body: { type: 'object', required: [required], additionalProperties: false, properties },
    response: { 200: ok, ...errors },
  } as const;
}

function samplesSchema(limits: ServeLimits) {
  return modelPost(
    'Draw samples',
    'Integrates from t = 1 (z ~ N(0, priorStd² I), drawn from `seed`) to the process start with a fixed-step ' +
      'solver: the probability-flow ODE (mode "ode": euler, heun, rk4, or ddim — frozen-prediction steps, diffusion models ' +
      'exported with the frozen_step or sampler_ddim_ode graph) or the reverse SDE (mode "sde": ' +
      'euler_maruyama, heun; "euler" and "euler-maruyama" are aliases of euler_maruyama). The same seed gives the same samples as ' +
      '`loadOnnxModel(...).sample(...)` and as the tfjs model. Samples are in data space. DiffFlow models sample on ' +
      'their exported grid (mode "sde": stochastic steps, the last one returning its mean; "ode": probability-flow ' +
      'steps); `steps` and `solver` do not apply to them. NFBM bridges do not sample from a prior: use /transport. ' +
      'Conditional models (modelInfo.condition) need `condition` — a label (or one per sample) or a vector (or one per ' +
      'sample) — and take a classifier-free guidance weight `guidance` (default 0).',
    'n',
    {
      n: { type: 'integer', minimum: 1, maximum: limits.maxN, description: `Number of samples (1–${limits.maxN}).` },
      ...solverProperties(limits, Number.MAX_SAFE_INTEGER),
      condition: conditionProperty(limits.maxN, MAX_CONDITION_WIDTH),
      guidance: guidanceProperty,
    },
    pointsResponse('n rows of dim numbers (float32 values).'),
  );
}

function logProbSchema(limits: ServeLimits, maxDim: number) {
  return modelPost(
    'Log-densities of points',
    'log p(x) in nats per point through the probability-flow ODE with the exact divergence: fixed steps ' +
      "(`steps`, with `solver`, default 'rk4') or, without `steps`, adaptive Dormand–Prince (rtol = atol = 1e-5, " +
      `at most ${limits.maxSteps} steps). Needs the model's velocity_divergence graph (capabilities.logProb). ` +
      'Points are in data space; each row must have exactly dim coordinates. Conditional models need `condition` (one ' +
      'for every point, or one per point) and give log p(x | y) of the unguided model.',
    'points',
    {
      points: rowsProperty(limits.maxPoints, maxDim, `1–${limits.maxPoints} rows of dim finite numbers.`),
      steps: { type: 'integer', minimum: 1, maximum: limits.maxSteps, description: `Fixed steps (1–${limits.maxSteps}).` },
      solver: { type: 'string', enum: ['euler', 'heun', 'rk4'], description: "Fixed-step solver (needs steps; default 'rk4')." },
      condition: conditionProperty(limits.maxPoints, MAX_CONDITION_WIDTH),
    },
    {
      type: 'object',
      properties: {
        model: { type: 'string' },
        logProb: { type: 'array', items: numberOrNull, description: 'log p(x) in nats, one per point.' },
        n: { type: 'integer' },
        dim: { type: 'integer' },
        steps: { type: ['integer', 'null'], description: 'Fixed steps, or null (adaptive).' },
        solver: { type: 'string', description: "euler, heun, rk4, or 'dopri5' (adaptive)." },
        adaptive: { type: 'boolean' },
        nfe: { type: 'integer' },
        ms: { type: 'number' },
      },
    },
  );
}

function transportSchema(limits: ServeLimits, maxDim: number) {
  return modelPost(
    'Transport source points through an NFBM bridge',
    'For NFBM bridges (family "nfbm"): each source x1 starts at z(1) = x1 + δ ε (ε drawn from `seed`) and is ' +
      'integrated from t = 1 to 0 with a fixed-step solver — the probability-flow ODE (mode "ode": euler, heun, ' +
      'rk4) or the reverse SDE (mode "sde", default: euler_maruyama, heun; Brownian increments from seed + 1). The ' +
      'same request gives the same numbers as `loadOnnxBridge(...).transport(...)` and, up to float32 rounding, ' +
      '`BridgeModel.sample` with that seed. Sources and samples are in data space; each row must have dim finite ' +
      `numbers; at most ${limits.maxN} rows (this server's maxN limit). Conditional bridges (modelInfo.condition) ` +
      'need `condition` — a label (or one per source) or a vector (or one per source) — and take a classifier-free ' +
      'guidance weight `guidance` (default 0).',
    'sources',
    {
      sources: rowsProperty(limits.maxN, maxDim, `1–${limits.maxN} source points, each dim finite numbers.`),
      ...solverProperties(limits, Number.MAX_SAFE_INTEGER - 1),
      condition: conditionProperty(limits.maxN, MAX_CONDITION_WIDTH),
      guidance: guidanceProperty,
    },
    pointsResponse('One generated target per source (float32 values, data space).'),
  );
}

/** The schema of every route, for these limits and the largest model dimension. */
export function buildSchemas(limits: ServeLimits, maxDim: number) {
  return {
    ...health(),
    ...models(),
    samples: samplesSchema(limits),
    logProb: logProbSchema(limits, maxDim),
    transport: transportSchema(limits, maxDim),
  };
}
