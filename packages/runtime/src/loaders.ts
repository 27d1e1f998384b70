/**
 * The loaders over the family table, for an environment (Node or a browser, see
 * {@link createLoaders}): `loadExportedModel` reads an export's metadata and hands it to its
 * family's loader (a map family id → runtime class); `loadOnnxModel`, `loadOnnxBridge`,
 * `loadOnnxDiffFlow` and `loadOnnxCFM` load one family and refuse the others.
 */
import type * as ort from 'onnxruntime-common';
import { OnnxBridgeModel } from './bridge.js';
import { OnnxCFMModel } from './cfm.js';
import { OnnxDiffFlowModel } from './diffflow.js';
import { OnnxModel } from './diffusion.js';
import { BRIDGE, CFM, DIFFFLOW, DIFFUSION, type ExportedModel, type FamilyId, familyOfKind, type RuntimeFamily } from './families.js';
import {
  type CreateSession,
  familySessions,
  type GraphBytes,
  type LoadOnnxOptions,
  type ModelMetadata,
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

/** What a runtime entry point supplies: how it reads a source, and how it makes a session. */
export interface RuntimeEnvironment<S> {
  /** The graphs of a source (Node: paths too; browsers: bytes only). */
  collect(source: S): GraphBytes[];
  /** One onnxruntime session (onnxruntime-node's or onnxruntime-web's `InferenceSession.create`). */
  createSession: CreateSession;
}

/** The loaders of one runtime entry point (see {@link createLoaders}). */
export interface Loaders<S> {
  /**
   * Load an exported DiffusionModel (nfdm, ndm, fixed, or a downstream forward process); creates
   * one session per graph. NFBM and DiffFlow exports are loaded with `loadOnnxBridge` and
   * `loadOnnxDiffFlow`, or any of them with `loadExportedModel`.
   */
  loadOnnxModel(source: S, options?: LoadOnnxOptions): Promise<OnnxModel>;
  /** Load an exported NFBM bridge (a directory from `exportBridge`, graph bytes, or `{ graphs }`). */
  loadOnnxBridge(source: S, options?: LoadOnnxOptions): Promise<OnnxBridgeModel>;
  /** Load an exported DiffFlow model (a directory from `exportDiffFlow`, graph bytes, or `{ graphs }`). */
  loadOnnxDiffFlow(source: S, options?: LoadOnnxOptions): Promise<OnnxDiffFlowModel>;
  /** Load an exported flow-matching model (a directory from `exportCFM`, graph bytes, or `{ graphs }`). */
  loadOnnxCFM(source: S, options?: LoadOnnxOptions): Promise<OnnxCFMModel>;
  /**
   * Load any nfdm export and return its family's runtime class (`OnnxModel`, `OnnxCFMModel`,
   * `OnnxBridgeModel` or `OnnxDiffFlowModel`), told apart by `capabilities` and the guards of
   * families.ts (or by `family`, the on-disk name in `EXPORT_FAMILIES`).
   */
  loadExportedModel(source: S, options?: LoadOnnxOptions): Promise<ExportedModel>;
}

/**
 * The five loaders over the family table for one environment: `loadExportedModel` reads an
 * export's metadata and hands it to its family's loader; the others load one family and refuse
 * the rest.
 */
export function createLoaders<S>(env: RuntimeEnvironment<S>): Loaders<S> {
  const loadAs = async <M>(source: S, options: LoadOnnxOptions, family: RuntimeFamily, create: Create<M>): Promise<M> => {
    const { metadata, sessions } = await familySessions(readEntries(env.collect(source)), options, family, env.createSession);
    return create(metadata, sessions);
  };
  return {
    loadOnnxModel: (source, options = {}) => loadAs(source, options, DIFFUSION, (m, s) => new OnnxModel(m, s)),
    loadOnnxBridge: (source, options = {}) => loadAs(source, options, BRIDGE, (m, s) => new OnnxBridgeModel(m, s)),
    loadOnnxDiffFlow: (source, options = {}) => loadAs(source, options, DIFFFLOW, (m, s) => new OnnxDiffFlowModel(m, s)),
    loadOnnxCFM: (source, options = {}) => loadAs(source, options, CFM, (m, s) => new OnnxCFMModel(m, s)),
    async loadExportedModel(source, options = {}) {
      const entries = readEntries(env.collect(source));
      const families = new Set(entries.map((e) => familyOfKind(e.meta.kind)));
      if (families.size > 1)
        throw new OnnxRuntimeError(`the graphs mix model families (${[...families].map((f) => f.exportName).join(', ')})`);
      const [family] = families;
      const loader = LOADERS.get(family.id);
      if (!loader) throw new OnnxRuntimeError(`no runtime loader for the ${family.title} family ('${family.id}')`);
      const { metadata, sessions } = await familySessions(entries, options, loader.family, env.createSession);
      return loader.create(metadata, sessions);
    },
  };
}
