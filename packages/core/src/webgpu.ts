/**
 * tfjs's WebGPU backend in Node: `@tensorflow/tfjs-backend-webgpu` on Dawn's Node binding (the
 * npm package `webgpu`, whose binaries ship inside its tarball), both optional peers.
 *
 * Node has no `navigator.gpu`, and the backend registers itself at import time only when it
 * finds one: so this module first creates Dawn's GPU object, asks it for an adapter (none: the
 * backend is unavailable, with one line saying so), installs Dawn's WebGPU globals
 * (`GPUBufferUsage`, …) and `navigator.gpu` on `globalThis`, and only then imports the backend.
 *
 * Limits: tfjs's synchronous reads (`dataSync`, `arraySync`) need `OffscreenCanvas` on this
 * backend, which Node lacks; they throw {@link WEBGPU_SYNC_READ_ERROR} here instead of a
 * ReferenceError deep inside tfjs. Read results with `await tensor.data()`. `'auto'` never picks
 * this backend (initBackend), because most of nfdm's training and sampling code reads
 * synchronously.
 */
import * as tf from '@tensorflow/tfjs';

/** The message of the error a synchronous read raises on the webgpu backend. */
export const WEBGPU_SYNC_READ_ERROR =
  "synchronous reads (dataSync/arraySync) are not available on tfjs's webgpu backend in Node; read with await tensor.data(), or use the wasm backend";

/** Dawn's Node binding, as the `webgpu` package exports it. */
interface DawnModule {
  create(options: string[]): { requestAdapter(options?: object): Promise<unknown | null> };
  globals: Record<string, unknown>;
}

/** Options of Dawn's `create`, from `NFDM_WEBGPU_OPTIONS` (comma separated, e.g. `backend=vulkan`). */
function dawnOptions(env: Record<string, string | undefined>): string[] {
  return (env.NFDM_WEBGPU_OPTIONS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Make `navigator.gpu` (and Dawn's WebGPU globals) visible to the backend package. */
function installGlobals(dawn: DawnModule, gpu: unknown): void {
  const g = globalThis as Record<string, unknown>;
  for (const [name, value] of Object.entries(dawn.globals)) if (!(name in g)) g[name] = value;
  const nav = g.navigator as Record<string, unknown> | undefined;
  if (nav === undefined) g.navigator = { gpu };
  else if (!nav.gpu) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
}

/**
 * Start the webgpu backend. Resolves when it runs; rejects with a one-line Error saying why not
 * (a package missing, no adapter, the backend failing to start).
 */
export async function startWebGpu(
  importer: (specifier: string) => Promise<unknown>,
  env: Record<string, string | undefined>,
): Promise<void> {
  const dawn = (await importer('webgpu')) as DawnModule;
  if (typeof dawn?.create !== 'function') throw new Error("the 'webgpu' package has no create() (expected Dawn's Node binding)");
  const gpu = dawn.create(dawnOptions(env));
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter: Dawn found no usable GPU (Vulkan, Metal or D3D12 device)');
  installGlobals(dawn, gpu);
  await importer('@tensorflow/tfjs-backend-webgpu');
  if (tf.findBackendFactory('webgpu') === null) throw new Error('@tensorflow/tfjs-backend-webgpu registered no webgpu backend');
  if (!(await tf.setBackend('webgpu'))) throw new Error('the webgpu backend failed to initialise');
  await tf.ready();
  refuseGpuSyncReads(tf.backend() as unknown as WebGpuBackendLike);
}

/** What refuseGpuSyncReads touches of tfjs's WebGPUBackend. */
interface WebGpuBackendLike {
  readSync(dataId: object): unknown;
  tensorMap: { get(dataId: object): { values?: unknown; dtype?: string } | undefined };
}

/**
 * Synchronous reads of data that lives on the GPU throw WEBGPU_SYNC_READ_ERROR (tfjs would
 * reach for OffscreenCanvas, absent in Node). Data still on the CPU side — small tensors tfjs
 * keeps there, strings, complex tensors (whose parts go through this check) — reads as before.
 */
function refuseGpuSyncReads(backend: WebGpuBackendLike): void {
  const read = backend.readSync.bind(backend);
  backend.readSync = (dataId: object) => {
    const data = backend.tensorMap.get(dataId);
    if (data && (data.values != null || data.dtype === 'string' || data.dtype === 'complex64')) return read(dataId);
    throw new Error(WEBGPU_SYNC_READ_ERROR);
  };
}
