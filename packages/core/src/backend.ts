/**
 * Backend selection: pick the TensorFlow.js backend once, and say why.
 *
 * Order for `'auto'`: `tensorflow` (native libtensorflow through the optional peers
 * `@tensorflow/tfjs-node-gpu`, then `@tensorflow/tfjs-node`) → `wasm`
 * (`@tensorflow/tfjs-backend-wasm`, SIMD, one thread in Node) → `cpu` (plain JS).
 * `webgpu` (tfjs's WebGPU backend on Dawn's Node binding, optional peers; see webgpu.ts) runs
 * only when asked for by name: `'auto'` skips it, since it cannot read tensors synchronously.
 *
 * Precedence of the choice: an explicit argument other than `'auto'` wins; otherwise the
 * environment variable `NFDM_BACKEND` (one of `auto | tensorflow | wasm | cpu | webgpu`) if set;
 * otherwise `'auto'`. A backend that was asked for by name and cannot start throws
 * {@link BackendUnavailableError}; in `'auto'` mode each failure is recorded and the next
 * backend is tried.
 */
import * as tf from '@tensorflow/tfjs';
import { describeNativeKernels, type NativeKernelsStatus, nativeKernelsStatus } from './nn/native.js';
import { startWebGpu } from './webgpu.js';

/** A concrete tfjs backend nfdm can run on. */
export type BackendName = 'tensorflow' | 'wasm' | 'cpu' | 'webgpu';
/** What a caller may ask for. */
export type BackendPreference = 'auto' | BackendName;

/** One attempt to start a backend (or to import one of its packages). */
export interface BackendAttempt {
  backend: BackendName;
  /** The package imported for this attempt, if any. */
  module?: string;
  ok: boolean;
  /** Why the attempt failed (the error message), or why it was not tried. */
  reason?: string;
}

/** What {@link initBackend} chose and why. */
export interface BackendReport {
  backend: BackendName;
  requested: BackendPreference;
  /** Where the request came from. */
  source: 'argument' | 'env' | 'default';
  attempts: BackendAttempt[];
  /** wasm only: SIMD support and thread count. */
  wasm?: { simd: boolean; threads: number };
  tfjsVersion: string;
  /** The optional native MLP kernels (`@nfdm/native`): used or not, and why. */
  nativeKernels: NativeKernelsStatus;
}

/** Raised when a backend that was asked for by name cannot start. */
export class BackendUnavailableError extends Error {
  override readonly name = 'BackendUnavailableError';
  constructor(
    readonly backend: BackendName,
    readonly attempts: BackendAttempt[],
  ) {
    const why = attempts
      .filter((a) => !a.ok)
      .map((a) => `${a.module ?? a.backend}: ${a.reason}`)
      .join('; ');
    super(`backend '${backend}' is not available (${why})`);
  }
}

/** Options mainly for tests and embedders. */
export interface InitBackendOptions {
  /** Environment to read `NFDM_BACKEND` from (default `process.env`). */
  env?: Record<string, string | undefined>;
  /** Module loader (default: dynamic `import`). Lets tests simulate broken native bindings. */
  importer?: (specifier: string) => Promise<unknown>;
}

const PREFERENCES: readonly BackendPreference[] = ['auto', 'tensorflow', 'wasm', 'cpu', 'webgpu'];
const NATIVE_MODULES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

let current: BackendReport | undefined;

function isPreference(value: string): value is BackendPreference {
  return (PREFERENCES as readonly string[]).includes(value);
}

function message(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0].trim();
}

/** True when an import failed because the package is absent (not because it is broken). */
function isMissingModule(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return true;
  return /Cannot find (module|package)|Could not resolve|Failed to load url/.test(message(error));
}

function importFailure(module: string, error: unknown): string {
  return isMissingModule(error) ? `not installed (optional peer dependency: npm install ${module}@4.22.0)` : message(error);
}

function resolvePreference(
  preference: BackendPreference | undefined,
  env: Record<string, string | undefined>,
): { requested: BackendPreference; source: BackendReport['source'] } {
  if (preference !== undefined && !isPreference(preference)) {
    throw new TypeError(`unknown backend '${preference}': expected one of ${PREFERENCES.join(', ')}`);
  }
  if (preference !== undefined && preference !== 'auto') return { requested: preference, source: 'argument' };
  const fromEnv = env.NFDM_BACKEND?.trim();
  if (fromEnv) {
    if (!isPreference(fromEnv)) {
      throw new TypeError(`NFDM_BACKEND='${fromEnv}' is not a backend: expected one of ${PREFERENCES.join(', ')}`);
    }
    return { requested: fromEnv, source: 'env' };
  }
  return { requested: 'auto', source: preference === 'auto' ? 'argument' : 'default' };
}

async function tryTensorflow(importer: (s: string) => Promise<unknown>, attempts: BackendAttempt[]): Promise<boolean> {
  for (const module of NATIVE_MODULES) {
    try {
      await importer(module);
      // Importing tfjs-node registers the 'tensorflow' backend with the shared engine.
      if (tf.findBackendFactory('tensorflow') === null) {
        throw new Error('the package loaded but registered no tensorflow backend (is it built for @tensorflow/tfjs 4.22.0?)');
      }
      if (!(await tf.setBackend('tensorflow'))) throw new Error('the native binding failed to initialise');
      await tf.ready();
      attempts.push({ backend: 'tensorflow', module, ok: true });
      return true;
    } catch (error) {
      attempts.push({ backend: 'tensorflow', module, ok: false, reason: importFailure(module, error) });
    }
  }
  return false;
}

async function tryWasm(importer: (s: string) => Promise<unknown>, attempts: BackendAttempt[]): Promise<boolean> {
  const module = '@tensorflow/tfjs-backend-wasm';
  try {
    await importer(module);
    if (tf.findBackendFactory('wasm') === null) throw new Error('the package registered no wasm backend');
    if (!(await tf.setBackend('wasm'))) throw new Error('the WebAssembly module failed to initialise');
    await tf.ready();
    attempts.push({ backend: 'wasm', module, ok: true });
    return true;
  } catch (error) {
    attempts.push({ backend: 'wasm', module, ok: false, reason: importFailure(module, error) });
    return false;
  }
}

async function tryWebGpu(
  importer: (s: string) => Promise<unknown>,
  env: Record<string, string | undefined>,
  attempts: BackendAttempt[],
): Promise<boolean> {
  const module = '@tensorflow/tfjs-backend-webgpu';
  try {
    await startWebGpu(importer, env);
    attempts.push({ backend: 'webgpu', module, ok: true });
    return true;
  } catch (error) {
    const reason = isMissingModule(error)
      ? 'not installed (optional peer dependencies: npm install webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@4.22.0)'
      : message(error);
    attempts.push({ backend: 'webgpu', module, ok: false, reason });
    return false;
  }
}

async function tryCpu(attempts: BackendAttempt[]): Promise<boolean> {
  try {
    // The plain-JS backend warns on first use in Node; library code never prints.
    tf.env().set('PROD', true);
    if (!(await tf.setBackend('cpu'))) throw new Error('setBackend returned false');
    await tf.ready();
    attempts.push({ backend: 'cpu', ok: true });
    return true;
  } catch (error) {
    attempts.push({ backend: 'cpu', ok: false, reason: message(error) });
    return false;
  }
}

/**
 * Select and initialise the tfjs backend.
 *
 * **Arguments:** `preference` — `'auto'` (default) or a backend name; `options` — see
 * {@link InitBackendOptions}.
 *
 * **Returns:** a {@link BackendReport}: the backend that runs and, for every backend tried
 * or skipped, why.
 *
 * **Raises:** {@link BackendUnavailableError} if a named backend cannot start;
 * `TypeError` for an unknown name (argument or `NFDM_BACKEND`).
 */
export async function initBackend(preference?: BackendPreference, options: InitBackendOptions = {}): Promise<BackendReport> {
  const env = options.env ?? process.env;
  const importer = options.importer ?? ((specifier: string) => import(specifier));
  const { requested, source } = resolvePreference(preference, env);
  const attempts: BackendAttempt[] = [];

  const order: BackendName[] = requested === 'auto' ? ['tensorflow', 'wasm', 'cpu'] : [requested];
  let chosen: BackendName | undefined;
  for (const backend of order) {
    const ok =
      backend === 'tensorflow'
        ? await tryTensorflow(importer, attempts)
        : backend === 'wasm'
          ? await tryWasm(importer, attempts)
          : backend === 'webgpu'
            ? await tryWebGpu(importer, env, attempts)
            : await tryCpu(attempts);
    if (ok) {
      chosen = backend;
      break;
    }
  }
  if (chosen === undefined) {
    throw new BackendUnavailableError(requested === 'auto' ? 'cpu' : requested, attempts);
  }
  if (requested !== 'auto') {
    for (const other of ['tensorflow', 'wasm', 'cpu'] as const) {
      if (other !== chosen) attempts.push({ backend: other, ok: false, reason: `not tried: '${chosen}' was requested (${source})` });
    }
  }
  current = {
    backend: chosen,
    requested,
    source,
    attempts,
    tfjsVersion: tf.version.tfjs,
    nativeKernels: nativeKernelsStatus(),
    ...(chosen === 'wasm' ? { wasm: { simd: Boolean(tf.env().getBool('WASM_HAS_SIMD_SUPPORT')), threads: wasmThreads() } } : {}),
  };
  return current;
}

function wasmThreads(): number {
  // Node builds of the wasm backend are single-threaded (tfjs#3830).
  return tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') ? 0 : 1;
}

/** The report of the last {@link initBackend} call, or `undefined` before the first. */
export function backendReport(): BackendReport | undefined {
  return current;
}

/**
 * One human-readable paragraph: which backend runs and why the others were skipped.
 * Before {@link initBackend} it names tfjs's own default backend.
 */
export function describeBackend(report: BackendReport | undefined = current): string {
  if (!report) return `backend not initialised by nfdm (tfjs is using '${tf.getBackend()}'); call initBackend()`;
  const how = report.source === 'default' ? 'auto' : `${report.requested} (from ${report.source === 'env' ? 'NFDM_BACKEND' : 'argument'})`;
  const extra = report.wasm ? ` [SIMD ${report.wasm.simd ? 'on' : 'off'}, ${report.wasm.threads} thread]` : '';
  const lines = [`backend: ${report.backend}${extra}, tfjs ${report.tfjsVersion}, requested ${how}`];
  for (const a of report.attempts) {
    const name = a.module ? `${a.backend} (${a.module})` : a.backend;
    lines.push(`  ${a.ok ? 'ok     ' : 'skipped'} ${name}${a.ok ? '' : `: ${a.reason}`}`);
  }
  if (report.nativeKernels) lines.push(describeNativeKernels(report.nativeKernels));
  return lines.join('\n');
}
