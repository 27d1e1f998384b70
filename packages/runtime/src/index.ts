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
 * The browser entry `@nfdm/runtime/web` runs the same code on onnxruntime-web.
 */
import * as ort from 'onnxruntime-node';
import type { OnnxModelSource } from './load.js';
import { createLoaders } from './loaders.js';
import { collectNode } from './sources-node.js';

export { imageGridPng } from './images.js';
export * from './shared.js';

/** The loaders on onnxruntime-node, reading directories and files as well as bytes. */
const node = createLoaders<OnnxModelSource>({
  collect: collectNode,
  createSession: (bytes, options) => ort.InferenceSession.create(bytes, options),
});

/**
 * Load an exported DiffusionModel (nfdm, ndm, fixed, or a downstream forward process) from a
 * directory, a file or bytes ({@link OnnxModelSource}); creates one session per graph. NFBM and
 * DiffFlow exports are loaded with {@link loadOnnxBridge} and {@link loadOnnxDiffFlow}, or any
 * of them with {@link loadExportedModel}.
 */
export const loadOnnxModel = node.loadOnnxModel;
/** Load an exported NFBM bridge (a directory from `exportBridge`, graph bytes, or `{ graphs }`). */
export const loadOnnxBridge = node.loadOnnxBridge;
/** Load an exported DiffFlow model (a directory from `exportDiffFlow`, graph bytes, or `{ graphs }`). */
export const loadOnnxDiffFlow = node.loadOnnxDiffFlow;
/** Load an exported flow-matching model (a directory from `exportCFM`, graph bytes, or `{ graphs }`). */
export const loadOnnxCFM = node.loadOnnxCFM;
/**
 * Load any nfdm export and return its family's runtime class (`OnnxModel`, `OnnxCFMModel`,
 * `OnnxBridgeModel` or `OnnxDiffFlowModel`), told apart by `capabilities` and the guards of
 * families.ts (or by `family`, the on-disk name in `EXPORT_FAMILIES`).
 */
export const loadExportedModel = node.loadExportedModel;
