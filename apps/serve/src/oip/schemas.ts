/** JSON schemas of the Open Inference Protocol (KServe v2) routes (validated by fastify's strict ajv, shown in OpenAPI). */

/** v2 model names: `<model>_<graph>` (model names are at most 100 characters). */
export const V2_NAME_PATTERN = '^[A-Za-z0-9._-]{1,200}$';

const error = { type: 'object', properties: { error: { type: 'string' } }, required: ['error'] } as const;
const tags = ['v2 (Open Inference Protocol)'];
const nameParams = { type: 'object', properties: { name: { type: 'string', pattern: V2_NAME_PATTERN } }, required: ['name'] } as const;
const versionParams = {
  type: 'object',
  properties: { name: { type: 'string', pattern: V2_NAME_PATTERN }, version: { type: 'string', maxLength: 32 } },
  required: ['name', 'version'],
} as const;

const tensorMeta = {
  type: 'object',
  properties: { name: { type: 'string' }, datatype: { type: 'string' }, shape: { type: 'array', items: { type: 'integer' } } },
} as const;

const parameters = { type: 'object', additionalProperties: true } as const;

const inferInput = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'shape', 'datatype', 'data'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 256 },
    shape: { type: 'array', maxItems: 8, items: { type: 'integer', minimum: 0 } },
    datatype: { type: 'string', maxLength: 16 },
    parameters,
    data: { type: 'array' },
  },
} as const;

const inferBody = {
  type: 'object',
  additionalProperties: false,
  required: ['inputs'],
  properties: {
    id: { type: 'string', maxLength: 256 },
    parameters,
    inputs: { type: 'array', minItems: 1, maxItems: 64, items: inferInput },
    outputs: {
      type: 'array',
      maxItems: 64,
      items: { type: 'object', additionalProperties: false, required: ['name'], properties: { name: { type: 'string' }, parameters } },
    },
  },
} as const;

const inferResponse = {
  type: 'object',
  properties: {
    model_name: { type: 'string' },
    model_version: { type: 'string' },
    id: { type: 'string' },
    parameters,
    outputs: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          name: { type: 'string' },
          datatype: { type: 'string' },
          shape: { type: 'array', items: { type: 'integer' } },
          data: { type: 'array', items: {} },
        },
      },
    },
  },
} as const;

const modelMetadata = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    versions: { type: 'array', items: { type: 'string' } },
    platform: { type: 'string' },
    inputs: { type: 'array', items: tensorMeta },
    outputs: { type: 'array', items: tensorMeta },
  },
} as const;

const readiness = (key: string) => ({ type: 'object', properties: { [key]: { type: 'boolean' } } }) as const;

export const V2_SCHEMAS = {
  server: {
    tags,
    summary: 'Server metadata',
    response: {
      200: {
        type: 'object',
        properties: { name: { type: 'string' }, version: { type: 'string' }, extensions: { type: 'array', items: { type: 'string' } } },
      },
    },
  },
  live: { tags, summary: 'Server liveness', response: { 200: readiness('live') } },
  ready: { tags, summary: 'Server readiness', response: { 200: readiness('ready'), 503: readiness('ready') } },
  modelReady: {
    tags,
    summary: 'Model readiness',
    params: nameParams,
    response: { 200: readiness('ready'), 404: error, 503: readiness('ready') },
  },
  modelVersionReady: {
    tags,
    summary: 'Model version readiness',
    params: versionParams,
    response: { 200: readiness('ready'), 404: error, 503: readiness('ready') },
  },
  model: { tags, summary: 'Model metadata (a graph of an nfdm model)', params: nameParams, response: { 200: modelMetadata, 404: error } },
  modelVersion: { tags, summary: 'Model version metadata', params: versionParams, response: { 200: modelMetadata, 404: error } },
  infer: {
    tags,
    summary: 'Inference on named typed tensors',
    params: nameParams,
    body: inferBody,
    response: { 200: inferResponse, 400: error },
  },
  inferVersion: {
    tags,
    summary: 'Inference on one model version',
    params: versionParams,
    body: inferBody,
    response: { 200: inferResponse, 400: error },
  },
};
