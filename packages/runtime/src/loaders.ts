/**
 * The loaders over the family table: {@link loadExportedModel} reads an export's metadata and
 * hands it to its family's loader (a map family id → runtime class); `loadOnnxModel`,
 * `loadOnnxBridge`, `loadOnnxDiffFlow` and `loadOnnxCFM` load one family and refuse the others.
 */
import type * as ort from 'onnxruntime-node';
import { OnnxBridgeModel } from './bridge.js';
import { OnnxCFMModel } from './cfm.js';
import { OnnxDiffFlowModel } from './diffflow.js';
import { OnnxModel } from './diffusion.js';
import { BRIDGE, CFM, DIFFFLOW, DIFFUSION, type ExportedModel, type FamilyId, familyOfKind, type RuntimeFamily } from './families.js';
import {
  familySessions,
  type GraphEntry,
  type LoadOnnxOptions,
  type ModelMetadata,
  type OnnxModelSource,
  OnnxRuntimeError,
  readEntries,
} from './load.js';

type Create<M> = (metadata: ModelMetadata, sessions: Map<string, ort.InferenceSession>) => M;

/** Family id → the family and the constructor of its runtime class. */
const LOADERS: ReadonlyMap<FamilyId, { family: RuntimeFamily; create: Create<ExportedModel> }> = new Map([
  [DIFFUSION.id, { family: DIFFUSION, create: (m, s) => new OnnxModel(m, s) }],
  [BRIDGE.id, { family: BRIDGE, create: (m, s) => new OnnxBridgeModel(m, s) }],
  [DIFFFLOW.id, { family: DIFFFLOW, create: (m, s) => new OnnxDiffFlowModel(m, s) }],
  [CFM.id, { family: CFM, create: (m, s) => new OnnxCFMModel(m, s) }],
] satisfies Array<[FamilyId, { family: RuntimeFamily; create: Create<ExportedModel> }]>);

/** Sessions for `entries` as `family` (refusing other families' graphs), then the runtime model. */
async function loadAs<M>(entries: GraphEntry[], options: LoadOnnxOptions, family: RuntimeFamily, create: Create<M>): Promise<M> {
  const { metadata, sessions } = await familySessions(entries, options, family);
  return create(metadata, sessions);
}

/**
 * Load an exported DiffusionModel (nfdm, ndm, fixed, or a downstream forward process; see
 * {@link OnnxModelSource}); creates one session per graph. NFBM and DiffFlow exports are loaded
 * with {@link loadOnnxBridge} and {@link loadOnnxDiffFlow}, or any of them with {@link loadExportedModel}.
 */
export async function loadOnnxModel(source: OnnxModelSource, options: LoadOnnxOptions = {}): Promise<OnnxModel> {
  return loadAs(readEntries(source), options, DIFFUSION, (m, s) => new OnnxModel(m, s));
}

/** Load an exported NFBM bridge (a directory from `exportBridge`, graph bytes, or `{ graphs }`). */
export async function loadOnnxBridge(source: OnnxModelSource, options: LoadOnnxOptions = {}): Promise<OnnxBridgeModel> {
  return loadAs(readEntries(source), options, BRIDGE, (m, s) => new OnnxBridgeModel(m, s));
}

/** Load an exported DiffFlow model (a directory from `exportDiffFlow`, graph bytes, or `{ graphs }`). */
export async function loadOnnxDiffFlow(source: OnnxModelSource, options: LoadOnnxOptions = {}): Promise<OnnxDiffFlowModel> {
  return loadAs(readEntries(source), options, DIFFFLOW, (m, s) => new OnnxDiffFlowModel(m, s));
}

/** Load an exported flow-matching model (a directory from `exportCFM`, graph bytes, or `{ graphs }`). */
export async function loadOnnxCFM(source: OnnxModelSource, options: LoadOnnxOptions = {}): Promise<OnnxCFMModel> {
  return loadAs(readEntries(source), options, CFM, (m, s) => new OnnxCFMModel(m, s));
}

/**
 * Load any nfdm export and return its family's runtime class ({@link OnnxModel},
 * {@link OnnxCFMModel}, {@link OnnxBridgeModel} or {@link OnnxDiffFlowModel}), told apart by `capabilities` and the
 * guards of families.ts (or by `family`, the on-disk name in `EXPORT_FAMILIES`).
 */
export async function loadExportedModel(source: OnnxModelSource, options: LoadOnnxOptions = {}): Promise<ExportedModel> {
  const entries = readEntries(source);
  const families = new Set(entries.map((e) => familyOfKind(e.meta.kind)));
  if (families.size > 1) throw new OnnxRuntimeError(`the graphs mix model families (${[...families].map((f) => f.exportName).join(', ')})`);
  const [family] = families;
  const loader = LOADERS.get(family.id);
  if (!loader) throw new OnnxRuntimeError(`no runtime loader for the ${family.title} family ('${family.id}')`);
  return loadAs(entries, options, loader.family, loader.create);
}
