/**
 * @nfdm/serve — an HTTP server (fastify) for exported nfdm models on onnxruntime-node:
 * samples, log-densities, health, Prometheus metrics and an OpenAPI document. Loads models
 * through `@nfdm/runtime` only (no tfjs).
 */
export { type CliConfig, CliUsageError, main, parseCli, USAGE } from './cli.js';
export { type ErrorBody, HttpError, ServeConfigError } from './errors.js';
export { DEFAULT_LIMITS, resolveLimits, type ServeLimits } from './limits.js';
export { Counter, Gauge, Histogram, ServeMetrics } from './metrics.js';
export {
  capabilities,
  disposeModels,
  FROZEN_SOLVER,
  isModelName,
  type LoadedModel,
  type LoadModelsOptions,
  loadModels,
  MODEL_NAME_PATTERN,
  type Mode,
  type ModelCapabilities,
  type ModelInfo,
  type RungeKuttaSolver,
  SOLVERS,
  type Solver,
} from './models.js';
export { abortable, ComputePool } from './pool.js';
export { type CreateServerOptions, createServer, type NfdmServer, type ServeState } from './server.js';
export { SERVE_VERSION } from './version.js';
