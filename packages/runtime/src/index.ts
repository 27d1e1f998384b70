/**
 * @nfdm/runtime — sample from and evaluate exported nfdm models with onnxruntime-node
 * only (no tfjs): this module imports onnxruntime-node, Node built-ins and plain JS.
 *
 * ```ts
 * import { loadOnnxModel } from '@nfdm/runtime';
 * const model = await loadOnnxModel('out/onnx');            // a directory written by writeOnnxExport
 * const { samples } = await model.sample({ n: 1000, steps: 100, solver: 'euler', mode: 'ode', seed: 0 });
 * const { logp } = await model.logProb(samples, { steps: 50 });
 * await model.dispose();
 * ```
 *
 * Which family an export belongs to, and what a loaded model can do (`model.capabilities`), is
 * decided by the family table (families.ts); {@link loadExportedModel} dispatches through it.
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
export { type ImageGridOptions, imageGridPng, pixelOf, rowsToPixels } from './images.js';
export { type IntegrationStats, OnnxSolveError, type SolveFailure } from './integrate.js';
export { type LoadOnnxOptions, type ModelMetadata, type OnnxModelSource, OnnxRuntimeError, type Points } from './load.js';
export { loadExportedModel, loadOnnxBridge, loadOnnxCFM, loadOnnxDiffFlow, loadOnnxModel } from './loaders.js';
export * from './metadata.js';
export { Rng } from './rng.js';
