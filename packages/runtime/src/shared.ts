/**
 * Everything of the runtime that both entry points export — the model classes, the family
 * table, metadata, conditions, pixels and the seeded generator — with no Node built-ins and no
 * onnxruntime backend: `@nfdm/runtime` (index.ts) adds onnxruntime-node, paths and PNG files,
 * `@nfdm/runtime/web` (web.ts) onnxruntime-web.
 */
export { type GraphSignature, type GraphTensor, LoadedOnnxModel, type RunFn } from './base.js';
export { OnnxBridgeModel, type TransportOptions, type TransportResult } from './bridge.js';
export { type CFMTrajectoryOptions, type CFMTrajectoryResult, OnnxCFMModel } from './cfm.js';
export {
  type ConditionValues,
  conditionColumns,
  conditionInput,
  describeCondition,
  guidanceWeight,
  OnnxConditionError,
} from './conditions.js';
export { type DiffFlowRuntimeSampleOptions, type DiffFlowRuntimeSampleResult, OnnxDiffFlowModel } from './diffflow.js';
export {
  OnnxModel,
  type RuntimeFieldOptions,
  type RuntimeLogProbOptions,
  type RuntimeLogProbResult,
  type RuntimeSampleOptions,
  type RuntimeSampleResult,
  type RuntimeSolver,
} from './diffusion.js';
export {
  canTransport,
  EXPORT_FAMILIES,
  EXPORT_KINDS,
  type ExportedModel,
  type ExportFamily,
  type FamilyId,
  familyOfKind,
  hasLogProb,
  RUNTIME_FAMILIES,
  type RuntimeCapabilities,
  type RuntimeFamily,
  runtimeFamily,
  samplesOnGrid,
  samplesWithSolvers,
} from './families.js';
export { type IntegrationStats, OnnxSolveError, type SolveFailure } from './integrate.js';
export {
  type CreateSession,
  type LoadOnnxOptions,
  type ModelMetadata,
  type ModelSource,
  type OnnxModelSource,
  OnnxRuntimeError,
  type Points,
} from './load.js';
export { createLoaders, type Loaders, type RuntimeEnvironment } from './loaders.js';
export * from './metadata.js';
export { type ImageGridOptions, imageGridRgba, pixelOf, type RgbaImage, rowsToPixels } from './pixels.js';
export { Rng } from './rng.js';
export { FROZEN_PREDICTION_SOLVER, isFrozenPredictionSolver, type Trajectory } from './sampling.js';
