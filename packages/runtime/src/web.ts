/**
 * @nfdm/runtime/web — the same runtime in a browser, on onnxruntime-web's WebAssembly backend:
 * the same model classes, samplers and seeded generator as `@nfdm/runtime` (so the same seed
 * gives the same samples within float32 rounding), loading graph bytes (fetched or dropped
 * files) instead of paths. No Node built-ins; onnxruntime-web is a peer dependency.
 *
 * ```ts
 * import { configureWasm, loadExportedModel } from '@nfdm/runtime/web';
 * configureWasm({ wasmPaths: '/ort/', numThreads: 1 });   // where ort-wasm-simd-threaded.{mjs,wasm} are served
 * const bytes = new Uint8Array(await (await fetch('model/velocity.onnx')).arrayBuffer());
 * const model = await loadExportedModel([bytes]);
 * ```
 */
import * as ort from 'onnxruntime-web/wasm';
import { collectBytes, type ModelSource } from './load.js';
import { createLoaders } from './loaders.js';

export * from './shared.js';

/** Options of {@link configureWasm}. */
export interface WasmOptions {
  /** URL prefix (ending in '/') where onnxruntime-web's `ort-wasm-simd-threaded.mjs` and `.wasm` are served. */
  wasmPaths?: string;
  /** WebAssembly threads (> 1 needs cross-origin isolation: COOP/COEP headers). */
  numThreads?: number;
}

/** Set onnxruntime-web's WebAssembly options; call before the first load. */
export function configureWasm(options: WasmOptions): void {
  if (options.wasmPaths !== undefined) ort.env.wasm.wasmPaths = options.wasmPaths;
  if (options.numThreads !== undefined) ort.env.wasm.numThreads = options.numThreads;
}

/** The loaders on onnxruntime-web's wasm backend, reading graph bytes. */
const web = createLoaders<ModelSource>({
  collect: (source) => collectBytes(source),
  createSession: (bytes, options) => ort.InferenceSession.create(bytes, { ...options, executionProviders: ['wasm'] }),
});

/** Load an exported DiffusionModel from graph bytes; see `@nfdm/runtime`'s `loadOnnxModel`. */
export const loadOnnxModel = web.loadOnnxModel;
/** Load an exported NFBM bridge from graph bytes. */
export const loadOnnxBridge = web.loadOnnxBridge;
/** Load an exported DiffFlow model from graph bytes. */
export const loadOnnxDiffFlow = web.loadOnnxDiffFlow;
/** Load an exported flow-matching model from graph bytes. */
export const loadOnnxCFM = web.loadOnnxCFM;
/** Load any nfdm export from graph bytes (an array of `.onnx` files' bytes, or `{ graphs }`). */
export const loadExportedModel = web.loadExportedModel;
