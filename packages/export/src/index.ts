/**
 * @nfdm/export — ONNX export of nfdm models (opset 17, IR 8, dynamic batch) and an
 * onnxruntime-node runtime that samples and evaluates log-densities from the exported files.
 *
 * The runtime lives in `@nfdm/runtime` (no tfjs) and is re-exported here for convenience;
 * the `@nfdm/export/runtime` entry point is a deprecated alias of `@nfdm/runtime`.
 */

export {
  type DiffFlowRuntimeSampleOptions,
  type DiffFlowRuntimeSampleResult,
  type ExportedModel,
  type ExportKind,
  type GraphName,
  type LoadOnnxOptions,
  loadExportedModel,
  loadOnnxBridge,
  loadOnnxDiffFlow,
  loadOnnxModel,
  metadataToProps,
  ONNX_EXPORT_FORMAT,
  OnnxBridgeModel,
  OnnxDiffFlowModel,
  type OnnxGraphMetadata,
  OnnxMetadataError,
  OnnxModel,
  type OnnxModelSource,
  OnnxRuntimeError,
  type Points,
  propsToMetadata,
  type RuntimeLogProbOptions,
  type RuntimeLogProbResult,
  type RuntimeSampleOptions,
  type RuntimeSampleResult,
  type RuntimeSolver,
  readMetadataProps,
  readOnnxMetadata,
  type StandardizationMeta,
  type TensorSignature,
  type TransportOptions,
  type TransportResult,
} from '@nfdm/runtime';
export {
  BRIDGE_GRAPHS,
  type BridgeExportOptions,
  type BridgeGraphName,
  bridgeExporter,
  bridgeMetadata,
  exportBridge,
  exportBridgeOnnx,
} from './bridge.js';
export { CFM_SAMPLERS, type CFMExportOptions, cfmExporter, cfmMetadata, exportCFM, exportCFMOnnx } from './cfm.js';
export {
  DIFFFLOW_GRAPHS,
  type DiffFlowExportOptions,
  type DiffFlowGraphName,
  diffflowExporter,
  diffflowMetadata,
  exportDiffFlow,
  exportDiffFlowOnnx,
} from './diffflow.js';
export { emitBridgeField, emitBridgeSampler } from './emit/bridge.js';
export { assertCFMExportable, cfmLoopFields, emitCFMVelocity, emitCFMVelocityDivergence } from './emit/cfm.js';
export { emitDiffFlowSampler, emitFourierMLP } from './emit/diffflow.js';
export type { EmittedParams, ForwardProcessEmitter } from './emit/forward/emitter.js';
export { fixedForwardEmitter } from './emit/forward/fixed.js';
export { ndmForwardEmitter } from './emit/forward/ndm.js';
export { neuralForwardEmitter } from './emit/forward/neural.js';
export { forwardProcessEmitter, registerForwardProcessEmitter } from './emit/forward/registry.js';
export type { GJet } from './emit/jet.js';
export { emitField, emitForward, emitFrozenStep, emitG2, emitPredictor } from './emit/model.js';
export { emitTimeMLP, emitTimeNetwork } from './emit/nets.js';
export { emitLoopSampler, type LoopFields, type LoopSolver, type SamplerMode, type SamplerSolver } from './emit/sampler.js';
export {
  DEFAULT_SAMPLER_GRAPHS,
  diffusionExporter,
  type ExportOptions,
  exportDrift,
  exportForwardProcess,
  exportFrozenStep,
  exportOnnx,
  exportPredictor,
  exportSampler,
  exportVelocity,
  exportVelocityDivergence,
  exportVolatility,
  ONNX_MANIFEST_FILE,
  type OnnxExport,
  type OnnxExportOptions,
  type SamplerExportOptions,
  writeOnnxExport,
} from './export.js';
export { exportAnyModel, familyExporter, registerFamilyExporter, writeAnyExport } from './families.js';
export type { FamilyExporter, FamilyExportOptions } from './family-exporter.js';
export { type Attr, attr, type BuildModelOptions, buildModel, Graph, modelProto, type Operand } from './onnx/builder.js';
export { ONNX_OPSET17_OPS, type OnnxAttributeKind, type OnnxOpSchema } from './onnx/ops.js';
export {
  DataType,
  decodeModel,
  encodeModel,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  ONNX_IR_VERSION,
  ONNX_OPSET,
  type TensorProto,
  tensorFloat32,
} from './onnx/proto.js';
export { ONNX_SCHEMA } from './onnx/schema.js';
export { validateOnnxModel } from './onnx/validate.js';
export {
  batchDimOf,
  graphTensors,
  type TritonConfigOptions,
  type TritonModelConfig,
  type TritonTensor,
  tritonConfig,
} from './triton/config.js';
export { tritonModelName, writeTritonRepository } from './triton/repository.js';
export { NFDM_EXPORT_VERSION } from './version.js';
