/**
 * Optional native kernels for the MLP jet and the image convolutions (the package
 * `@nfdm/native`, a C++ N-API addon).
 *
 * When the addon is built and loads, {@link MLP.applyJet} runs the whole MLP — every Dense
 * layer and jet activation, value and time tangents — as ONE differentiable tf op whose
 * forward and backward are fused native loops (register-tiled GEMMs), instead of ~10 tfjs
 * kernels per layer; and every 'same' convolution of the U-Net ({@link nativeConv2d}:
 * `conv2dSame`, `Conv2d.apply`, `Conv2d.jet`) is one tf op with a native forward (bias on the
 * value block fused in) and a native backward (∂x, ∂kernel, ∂bias in one call); and GroupNorm
 * jets of order 0 and 1 — with the time-embedding add before them and SiLU after them fused in
 * ({@link nativeGroupNormJet}: `GroupNorm.jet`, `GroupNorm.jetFused`) — are one op each.
 * The tfjs path stays the fallback and is used when:
 *   - `@nfdm/native` is not installed, not built, or fails to load (`nativeKernelsStatus().reason`);
 *   - `NFDM_NATIVE=0` is set, or `setNativeKernels(false)` was called;
 *   - the backend is not `wasm` or `cpu`: on `tensorflow` libtensorflow's kernels are native already,
 *     on `webgpu` the tensors are in GPU memory;
 *   - an activation has no native version (today every registry activation has one), or the input is not float32;
 *   - for convolutions: the loaded addon predates them (`nativeKernelsStatus().conv2d` false);
 *   - for GroupNorm: jets of order 2, or an addon that predates it (`.groupNorm` false).
 * Precedence: `setNativeKernels(...)` wins over `NFDM_NATIVE`; one switch for both kinds.
 *
 * The native op reads its inputs with dataSync (a copy on wasm) and returns new tensors, so
 * it is exact first-order reverse mode only (no nested gradients — see architecture.md).
 */
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import type { ActivationName } from './activations.js';
import type { JetOrder } from './jet.js';

/** The subset of `@nfdm/native`'s API used here (declared locally: core does not depend on it). */
interface NativeAddonLike {
  readonly path: string;
  readonly activations: readonly string[];
  info(): { isa: string; vectorWidth: number; mr: number; nr: number; threads: number };
  setThreads(n: number): number;
  mlpJetForward(
    input: Float32Array,
    batch: number,
    order: number,
    weights: readonly Float32Array[],
    biases: readonly Float32Array[],
    activation: string,
    outputActivation: string | null,
    save?: boolean,
  ): { output: Float32Array; saved: Float32Array | null };
  mlpJetBackward(
    dOutput: Float32Array,
    saved: Float32Array,
    batch: number,
    order: number,
    weights: readonly Float32Array[],
    activation: string,
    outputActivation: string | null,
    release?: boolean,
  ): { dInput: Float32Array; dWeights: Float32Array[]; dBiases: Float32Array[] };
  /** Absent in builds that predate the convolution kernels. */
  conv2dForward?(
    x: Float32Array,
    shape: readonly [number, number, number, number],
    kernel: Float32Array,
    k: number,
    stride: number,
    bias: Float32Array | null,
    valueImages: number,
    out?: Float32Array | null,
  ): Float32Array;
  conv2dBackward?(
    dOutput: Float32Array,
    x: Float32Array,
    shape: readonly [number, number, number, number],
    kernel: Float32Array,
    k: number,
    stride: number,
    options: { bias?: boolean; valueImages?: number; input?: boolean; out?: Float32Array | null },
  ): { dInput: Float32Array | null; dKernel: Float32Array; dBias: Float32Array | null };
  /** Absent in builds that predate them. */
  concatChannels?(inputs: readonly Float32Array[], pixels: number, out?: Float32Array | null): Float32Array;
  splitChannels?(
    input: Float32Array,
    pixels: number,
    widths: readonly number[],
    outs?: readonly (Float32Array | null)[] | null,
  ): Float32Array[];
  /** Absent in builds that predate the GroupNorm kernels. */
  groupNormJetForward?(
    x: Float32Array,
    shape: readonly [number, number, number, number],
    order: number,
    groups: number,
    epsilon: number,
    gamma: Float32Array,
    beta: Float32Array,
    options: { shift?: Float32Array | null; silu?: boolean; out?: Float32Array | null },
  ): { output: Float32Array; stats: Float32Array };
  groupNormJetBackward?(
    dOutput: Float32Array,
    x: Float32Array,
    shape: readonly [number, number, number, number],
    order: number,
    groups: number,
    stats: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    options: { shift?: Float32Array | null; silu?: boolean; out?: Float32Array | null },
  ): { dInput: Float32Array; dGamma: Float32Array; dBeta: Float32Array; dShift: Float32Array | null };
}

/** Whether the native MLP kernels are in use, and why not. */
export interface NativeKernelsStatus {
  /** True when MLP jets run natively (addon loaded and enabled; backend wasm or cpu). */
  enabled: boolean;
  /** True when convolutions (conv2dSame, Conv2d) and channel concatenation (ImageJet.concatChannels) run natively too. */
  conv2d: boolean;
  /** True when GroupNorm(+SiLU) jets of order 0 and 1 run natively: enabled and the addon has them. */
  groupNorm: boolean;
  /** True when `@nfdm/native` loaded (a build of it). */
  available: boolean;
  /** The same as `available`. */
  loaded: boolean;
  /** Why the kernels are not used (null when enabled). */
  reason: string | null;
  /** Where the switch came from. */
  source: 'default' | 'env' | 'setNativeKernels';
  /** The loaded build: which one, why it was chosen, its instruction set and threads. */
  addon?: NativeBuild;
}

/** Which build of `@nfdm/native` runs (its `nativeStatus()`), with the kernels' instruction set and threads. */
export interface NativeBuild {
  /** The loaded .node file. */
  path: string;
  /** 'prebuilt' (a variant from a platform package such as @nfdm/native-linux-x64-gnu) or 'source' (built on this machine). */
  kind: 'prebuilt' | 'source';
  /** The package the binary came from. */
  package: string;
  /** 'native' (a build from source, -march=native) or the prebuilt variant's level: 'x86-64-v4', 'x86-64-v3', 'x86-64', 'armv8-a'. */
  variant: string;
  /** Why this build was chosen (this CPU's level, a build from source, or NFDM_NATIVE_VARIANT). */
  selection: string;
  /** Instruction set of the GEMM kernels: 'avx512', 'avx2', 'avx' or 'generic'. */
  isa: string;
  threads: number;
}

/** What `@nfdm/native`'s nativeStatus() reports about the build it chose. */
interface NativeStatusLike {
  reason: string | null;
  kind?: 'prebuilt' | 'source' | null;
  package?: string | null;
  variant?: string | null;
  selection?: string | null;
}

const SPECIFIER = '@nfdm/native';
let loaded: { addon: NativeAddonLike | null; reason: string | null; build?: NativeStatusLike } | undefined;
let override: boolean | undefined;

function nodeRequire(): NodeJS.Require {
  // Synchronous resolution from this module (tsup's `shims` provide import.meta.url in the CJS build).
  return createRequire(import.meta.url);
}

function loadAddon(): { addon: NativeAddonLike | null; reason: string | null; build?: NativeStatusLike } {
  if (loaded) return loaded;
  try {
    const mod = nodeRequire()(SPECIFIER) as {
      loadNative(): NativeAddonLike | null;
      nativeStatus(): NativeStatusLike;
    };
    const addon = mod.loadNative();
    const build = mod.nativeStatus();
    loaded = { addon, reason: addon ? null : (build.reason ?? 'the addon did not load'), build };
  } catch (error) {
    const code = (error as { code?: string } | null)?.code;
    loaded = {
      addon: null,
      reason:
        code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND'
          ? `${SPECIFIER} is not installed`
          : `${SPECIFIER} failed to load: ${String((error as Error)?.message ?? error).split('\n')[0]}`,
    };
  }
  return loaded;
}

function envDisabled(): boolean {
  const v = process.env.NFDM_NATIVE?.trim().toLowerCase();
  return v === '0' || v === 'false' || v === 'off' || v === 'no';
}

/**
 * Turn the native MLP kernels on or off for this process (overrides `NFDM_NATIVE`).
 * `undefined` returns to the default (on when available, unless `NFDM_NATIVE=0`).
 * Returns the resulting status.
 */
export function setNativeKernels(enabled: boolean | undefined): NativeKernelsStatus {
  override = enabled;
  return nativeKernelsStatus();
}

/**
 * Threads of the native kernels' pool (1 = the calling thread only): the big kernels (GEMM row
 * blocks, convolutions over images) split their work over them. Default `NFDM_NATIVE_THREADS` or
 * 1. Returns the count in force, 1 when the addon is not loaded; reported by describeBackend().
 */
export function setNativeThreads(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`native threads must be a positive integer, got ${n}`);
  const { addon } = loadAddon();
  return addon ? addon.setThreads(n) : 1;
}

/** Whether MLP jets run on the native kernels, and if not, why. Loads the addon on first call. */
export function nativeKernelsStatus(): NativeKernelsStatus {
  const { addon, reason, build } = loadAddon();
  const source: NativeKernelsStatus['source'] = override !== undefined ? 'setNativeKernels' : envDisabled() ? 'env' : 'default';
  const base = {
    available: addon !== null,
    loaded: addon !== null,
    source,
    ...(addon ? { addon: describeBuild(addon, build) } : {}),
  };
  const off = { enabled: false, conv2d: false, groupNorm: false };
  if (!addon) return { ...off, reason, ...base };
  if (override === false) return { ...off, reason: 'disabled by setNativeKernels(false)', ...base };
  if (override === undefined && envDisabled()) return { ...off, reason: 'disabled by NFDM_NATIVE=0', ...base };
  if (!onHostBackend()) return { ...off, reason: `not used on the '${tf.getBackend()}' backend`, ...base };
  return { enabled: true, conv2d: hasConv(addon), groupNorm: hasGroupNorm(addon), reason: null, ...base };
}

/**
 * Whether tensors live in this process's memory (wasm, cpu), where the native ops read and write
 * them. Not on 'tensorflow' (libtensorflow's kernels are native already) nor 'webgpu' (GPU memory;
 * no synchronous reads).
 */
function onHostBackend(): boolean {
  const backend = tf.getBackend();
  return backend === 'wasm' || backend === 'cpu';
}

function describeBuild(addon: NativeAddonLike, build: NativeStatusLike | undefined): NativeBuild {
  const info = addon.info();
  return {
    path: addon.path,
    kind: build?.kind ?? 'source',
    package: build?.package ?? SPECIFIER,
    variant: build?.variant ?? 'native',
    selection: build?.selection ?? 'the only build',
    isa: info.isa,
    threads: info.threads,
  };
}

function hasGroupNorm(addon: NativeAddonLike): boolean {
  return typeof addon.groupNormJetForward === 'function' && typeof addon.groupNormJetBackward === 'function';
}

function hasConv(addon: NativeAddonLike): boolean {
  return (
    typeof addon.conv2dForward === 'function' &&
    typeof addon.conv2dBackward === 'function' &&
    typeof addon.concatChannels === 'function' &&
    typeof addon.splitChannels === 'function'
  );
}

/** Summary for describeBackend(): `native MLP kernels:`, `native conv2d kernels:` and `native GroupNorm kernels:` lines. */
export function describeNativeKernels(status: NativeKernelsStatus = nativeKernelsStatus()): string {
  if (status.enabled && status.addon) {
    const stale = (what: string) => `off (this build of @nfdm/native has no ${what} kernels: rebuild it)`;
    return [
      `native MLP kernels: on (${status.addon.isa}, ${status.addon.threads} thread) ${status.addon.path}`,
      `native kernels build: ${status.addon.kind} ${status.addon.package}, variant ${status.addon.variant} (${status.addon.selection})`,
      `native conv2d kernels: ${status.conv2d ? 'on (and channel concatenation)' : stale('convolution')}`,
      `native GroupNorm kernels: ${status.groupNorm ? 'on (orders 0 and 1)' : stale('GroupNorm')}`,
    ].join('\n');
  }
  return ['MLP', 'conv2d', 'GroupNorm'].map((what) => `native ${what} kernels: off (${status.reason})`).join('\n');
}

/** The addon when MLP jets should use it now, else null (cheap after the first call). */
function activeAddon(): NativeAddonLike | null {
  const { addon } = loadAddon();
  if (!addon || override === false) return null;
  if (override === undefined && envDisabled()) return null;
  if (!onHostBackend()) return null;
  return addon;
}

/** Values read from variables, by data id: `assign` gives a variable a new data id, so an entry is never stale. */
const variableValues = new WeakMap<object, Float32Array>();

/**
 * The values of a weight or bias for the addon. A variable's read is kept until it is assigned
 * anew (an optimizer step), so the many network passes of one update (DiffFlow: ~90) read each
 * weight once; on wasm every dataSync is a copy out of the heap. The addon only reads them.
 */
function parameterValues(t: tf.Tensor): Float32Array {
  if (!(t instanceof tf.Variable)) return t.dataSync() as Float32Array;
  const key = t.dataId as object;
  let values = variableValues.get(key);
  if (!values) {
    values = t.dataSync() as Float32Array;
    variableValues.set(key, values);
  }
  return values;
}

type NativeMlpOp = (...tensors: tf.Tensor[]) => tf.Tensor2D;
const ops = new Map<string, NativeMlpOp>();

function makeOp(addon: NativeAddonLike, layers: number, order: JetOrder, activation: string, outputActivation: string | null): NativeMlpOp {
  const f = tf.customGrad((...args: unknown[]) => {
    const tensors = args.slice(0, 1 + 2 * layers) as tf.Tensor[];
    const x = tensors[0] as tf.Tensor2D;
    const weights = tensors.slice(1, 1 + layers) as tf.Tensor2D[];
    const biases = tensors.slice(1 + layers) as tf.Tensor1D[];
    const rows = x.shape[0];
    const batch = rows / (order + 1);
    const w = weights.map(parameterValues);
    const b = biases.map(parameterValues);
    let { output, saved } = addon.mlpJetForward(x.dataSync() as Float32Array, batch, order, w, b, activation, outputActivation, true);
    const outDim = weights[layers - 1].shape[1];
    return {
      value: tf.tensor2d(output, [rows, outDim]),
      gradFunc: (dy: tf.Tensor) => {
        // The saved buffer is handed back for reuse by the next forward pass (see @nfdm/native).
        if (!saved) throw new Error('native MLP op: its gradient was requested twice for one forward pass');
        const g = addon.mlpJetBackward(dy.dataSync() as Float32Array, saved, batch, order, w, activation, outputActivation, true);
        saved = null;
        return [
          tf.tensor2d(g.dInput, x.shape),
          ...g.dWeights.map((d, i) => tf.tensor2d(d, weights[i].shape)),
          ...g.dBiases.map((d) => tf.tensor1d(d)),
        ];
      },
    };
  });
  return f as unknown as NativeMlpOp;
}

/**
 * The MLP jet on the native kernels, or null when the fallback must run (see module doc).
 * `input` [(order+1)·B, in]; weights [in_l, out_l]; biases [out_l].
 */
export function nativeMlpJet(
  input: tf.Tensor2D,
  order: JetOrder,
  weights: readonly tf.Tensor2D[],
  biases: readonly tf.Tensor1D[],
  activation: ActivationName,
  outputActivation: ActivationName | null,
): tf.Tensor2D | null {
  const addon = activeAddon();
  if (!addon) return null;
  if (!addon.activations.includes(activation)) return null;
  if (outputActivation !== null && !addon.activations.includes(outputActivation)) return null;
  if (input.dtype !== 'float32' || input.shape[0] === 0) return null;
  if (tf.engine().state.gradientDepth === 0) {
    // No gradient tape is recording (inference, sampling): plain forward, nothing saved.
    const rows = input.shape[0];
    const { output } = addon.mlpJetForward(
      input.dataSync() as Float32Array,
      rows / (order + 1),
      order,
      weights.map(parameterValues),
      biases.map(parameterValues),
      activation,
      outputActivation,
      false,
    );
    return tf.tensor2d(output, [rows, weights[weights.length - 1].shape[1]]);
  }
  const key = `${weights.length}|${order}|${activation}|${outputActivation ?? ''}`;
  let op = ops.get(key);
  if (!op) {
    op = makeOp(addon, weights.length, order, activation, outputActivation);
    ops.set(key, op);
  }
  return op(input, ...weights, ...biases);
}

// ---------------------------------------------------------------------------------------
// Tensor memory for the image kernels. On tfjs's wasm backend, inputs are read as views of the
// wasm heap and outputs are allocated on it and written by the native kernel in place
// (`typedArrayFromHeap` / `makeOutput`, internals of @tensorflow/tfjs-backend-wasm 4.22, the
// version pinned here): no dataSync copy and no fresh JS buffer, whose first touch costs page
// faults (~0.5 ms per MB on our machine — as much as a GroupNorm pass). A heap view is valid until
// the next wasm allocation, so every output is allocated before any view is taken, and views
// are used at once. Elsewhere (cpu; or wasm internals not as expected): dataSync and tf.tensor,
// which on cpu neither copy.

interface HeapBackend {
  dataIdMap: { has(dataId: object): boolean };
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

function heapBackend(): HeapBackend | null {
  if (tf.getBackend() !== 'wasm') return null;
  const b = tf.backend() as unknown as Partial<HeapBackend>;
  return typeof b.makeOutput === 'function' && typeof b.typedArrayFromHeap === 'function' && typeof b.dataIdMap?.has === 'function'
    ? (b as HeapBackend)
    : null;
}

/** The values of `t`: a view of the wasm heap (valid until the next allocation), or dataSync. */
function readF32(heap: HeapBackend | null, t: tf.Tensor): Float32Array {
  return heap?.dataIdMap.has(t.dataId) ? heap.typedArrayFromHeap(t) : (t.dataSync() as Float32Array);
}

/** An output to be written by a native kernel: a heap tensor on wasm, else made from the returned buffer. */
class NativeOutput {
  readonly tensor: tf.Tensor | null;
  constructor(
    private readonly heap: HeapBackend | null,
    readonly shape: number[],
  ) {
    this.tensor = heap ? tf.engine().makeTensorFromTensorInfo(heap.makeOutput(shape, 'float32')) : null;
  }
  /** The buffer to pass as the kernel's `out` (null: the addon allocates one). Take it after every allocation. */
  buffer(): Float32Array | null {
    return this.heap && this.tensor ? this.heap.typedArrayFromHeap(this.tensor) : null;
  }
  /** The output tensor, given what the kernel returned. */
  result<T extends tf.Tensor>(returned: Float32Array): T {
    return (this.tensor ?? tf.tensor(returned, this.shape, 'float32')) as T;
  }
}

type NativeConvOp = (...tensors: tf.Tensor[]) => tf.Tensor4D;
const convOps = new Map<string, NativeConvOp>();

function convOutShape(shape: readonly number[], kernel: tf.Tensor4D, stride: 1 | 2): [number, number, number, number] {
  return [shape[0], Math.ceil(shape[1] / stride), Math.ceil(shape[2] / stride), kernel.shape[3]];
}

function convForward(
  addon: NativeAddonLike,
  x: tf.Tensor4D,
  kernel: tf.Tensor4D,
  bias: tf.Tensor1D | null,
  stride: 1 | 2,
  valueImages: number,
) {
  const heap = heapBackend();
  const out = new NativeOutput(heap, convOutShape(x.shape, kernel, stride));
  const y = (addon.conv2dForward as NonNullable<NativeAddonLike['conv2dForward']>)(
    readF32(heap, x),
    x.shape,
    readF32(heap, kernel),
    kernel.shape[0],
    stride,
    bias ? readF32(heap, bias) : null,
    valueImages,
    out.buffer(),
  );
  return out.result<tf.Tensor4D>(y);
}

function makeConvOp(addon: NativeAddonLike, stride: 1 | 2, withBias: boolean, blocks: number): NativeConvOp {
  const backward = addon.conv2dBackward as NonNullable<NativeAddonLike['conv2dBackward']>;
  const f = tf.customGrad((...args: unknown[]) => {
    const x = args[0] as tf.Tensor4D;
    const kernel = args[1] as tf.Tensor4D;
    const bias = withBias ? (args[2] as tf.Tensor1D) : null;
    const save = args[withBias ? 3 : 2] as tf.GradSaveFunc;
    const valueImages = x.shape[0] / blocks;
    save([x, kernel]);
    return {
      value: convForward(addon, x, kernel, bias, stride, valueImages),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
        const heap = heapBackend();
        const dx = new NativeOutput(heap, xs.shape);
        const g = backward(readF32(heap, dy), readF32(heap, xs), xs.shape, readF32(heap, ws), ws.shape[0], stride, {
          bias: withBias,
          valueImages,
          out: dx.buffer(),
        });
        const grads: tf.Tensor[] = [dx.result(g.dInput as Float32Array), tf.tensor4d(g.dKernel, ws.shape)];
        if (withBias) grads.push(tf.tensor1d(g.dBias as Float32Array));
        return grads;
      },
    };
  });
  return f as unknown as NativeConvOp;
}

/**
 * A 'same' convolution on the native kernels, or null when the tfjs path must run (see the
 * module doc): x [N, H, W, Cin], kernel [k, k, Cin, Cout] (HWIO, k ∈ {1, 3}), stride 1 or 2 →
 * [N, ⌈H/s⌉, ⌈W/s⌉, Cout], plus `bias` [Cout] (or null) on the first N/`blocks` images only —
 * the value block of an image jet with `blocks` = order + 1 (1: on every image). Inside a
 * gradient tape it is one `tf.customGrad` op: ∂x, ∂kernel and ∂bias come from one native call.
 */
export function nativeConv2d(x: tf.Tensor4D, kernel: tf.Tensor4D, bias: tf.Tensor1D | null, stride: 1 | 2, blocks = 1): tf.Tensor4D | null {
  const addon = activeAddon();
  if (!addon || !hasConv(addon)) return null;
  const k = kernel.shape[0];
  if ((k !== 1 && k !== 3) || kernel.shape[1] !== k || kernel.shape[2] !== x.shape[3]) return null;
  if (x.dtype !== 'float32' || kernel.dtype !== 'float32' || (bias && bias.dtype !== 'float32')) return null;
  if (x.shape[0] === 0 || x.shape[1] === 0 || x.shape[2] === 0 || x.shape[0] % blocks !== 0) return null;
  // No gradient tape recording (inference, sampling): one native forward.
  if (tf.engine().state.gradientDepth === 0) return convForward(addon, x, kernel, bias, stride, x.shape[0] / blocks);
  const key = `${stride}|${bias ? 1 : 0}|${blocks}`;
  let op = convOps.get(key);
  if (!op) {
    op = makeConvOp(addon, stride, bias !== null, blocks);
    convOps.set(key, op);
  }
  return bias ? op(x, kernel, bias) : op(x, kernel);
}

type NativeConcatOp = (...tensors: tf.Tensor[]) => tf.Tensor4D;
const concatOps = new Map<number, NativeConcatOp>();

function concatForward(addon: NativeAddonLike, xs: tf.Tensor4D[]): tf.Tensor4D {
  const [N, H, W] = xs[0].shape;
  const heap = heapBackend();
  const out = new NativeOutput(heap, [N, H, W, xs.reduce((c, x) => c + x.shape[3], 0)]);
  const y = (addon.concatChannels as NonNullable<NativeAddonLike['concatChannels']>)(
    xs.map((x) => readF32(heap, x)),
    N * H * W,
    out.buffer(),
  );
  return out.result<tf.Tensor4D>(y);
}

function makeConcatOp(addon: NativeAddonLike, count: number): NativeConcatOp {
  const split = addon.splitChannels as NonNullable<NativeAddonLike['splitChannels']>;
  const f = tf.customGrad((...args: unknown[]) => {
    const xs = args.slice(0, count) as tf.Tensor4D[];
    const shapes = xs.map((x) => x.shape);
    return {
      value: concatForward(addon, xs),
      gradFunc: (dy: tf.Tensor) => {
        const heap = heapBackend();
        const outs = shapes.map((shape) => new NativeOutput(heap, shape));
        const [N, H, W] = shapes[0];
        const parts = split(
          readF32(heap, dy),
          N * H * W,
          shapes.map((s) => s[3]),
          heap ? outs.map((o) => o.buffer()) : null,
        );
        return outs.map((o, i) => o.result(parts[i]));
      },
    };
  });
  return f as unknown as NativeConcatOp;
}

/**
 * Channel concatenation of NHWC tensors of one [N, H, W] on the native kernels (one op, its
 * gradient one native split), or null when the tfjs path must run (see the module doc).
 */
export function nativeConcatChannels(xs: readonly tf.Tensor4D[]): tf.Tensor4D | null {
  const addon = activeAddon();
  if (!addon || !hasConv(addon) || xs.length < 2) return null;
  const [N, H, W] = xs[0].shape;
  for (const x of xs) if (x.dtype !== 'float32' || x.size === 0 || x.shape[0] !== N || x.shape[1] !== H || x.shape[2] !== W) return null;
  if (tf.engine().state.gradientDepth === 0) return concatForward(addon, [...xs]);
  let op = concatOps.get(xs.length);
  if (!op) {
    op = makeConcatOp(addon, xs.length);
    concatOps.set(xs.length, op);
  }
  return op(...xs);
}

type NativeGroupNormOp = (...tensors: tf.Tensor[]) => tf.Tensor4D;
const groupNormOps = new Map<string, NativeGroupNormOp>();

interface GroupNormSpec {
  order: 0 | 1;
  groups: number;
  epsilon: number;
  silu: boolean;
}

function groupNormForward(
  addon: NativeAddonLike,
  spec: GroupNormSpec,
  x: tf.Tensor4D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  shift: tf.Tensor2D | null,
): { output: tf.Tensor4D; stats: Float32Array } {
  const heap = heapBackend();
  const out = new NativeOutput(heap, x.shape);
  const r = (addon.groupNormJetForward as NonNullable<NativeAddonLike['groupNormJetForward']>)(
    readF32(heap, x),
    x.shape,
    spec.order,
    spec.groups,
    spec.epsilon,
    readF32(heap, gamma),
    readF32(heap, beta),
    { shift: shift ? readF32(heap, shift) : null, silu: spec.silu, out: out.buffer() },
  );
  return { output: out.result<tf.Tensor4D>(r.output), stats: r.stats };
}

function makeGroupNormOp(addon: NativeAddonLike, spec: GroupNormSpec, withShift: boolean): NativeGroupNormOp {
  const backward = addon.groupNormJetBackward as NonNullable<NativeAddonLike['groupNormJetBackward']>;
  const f = tf.customGrad((...args: unknown[]) => {
    const [x, gamma, beta] = args as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D];
    const shift = withShift ? (args[3] as tf.Tensor2D) : null;
    const save = args[withShift ? 4 : 3] as tf.GradSaveFunc;
    save(shift ? [x, gamma, beta, shift] : [x, gamma, beta]);
    const { output, stats } = groupNormForward(addon, spec, x, gamma, beta, shift);
    return {
      value: output,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, gs, bs, ss] = saved as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.Tensor2D | undefined];
        const heap = heapBackend();
        const dx = new NativeOutput(heap, xs.shape);
        const r = backward(
          readF32(heap, dy),
          readF32(heap, xs),
          xs.shape,
          spec.order,
          spec.groups,
          stats,
          readF32(heap, gs),
          readF32(heap, bs),
          {
            shift: ss ? readF32(heap, ss) : null,
            silu: spec.silu,
            out: dx.buffer(),
          },
        );
        const grads: tf.Tensor[] = [dx.result(r.dInput), tf.tensor1d(r.dGamma), tf.tensor1d(r.dBeta)];
        if (ss) grads.push(tf.tensor2d(r.dShift as Float32Array, ss.shape));
        return grads;
      },
    };
  });
  return f as unknown as NativeGroupNormOp;
}

/**
 * φ(GroupNorm(x + shift)) of an image jet on the native kernels, or null when the tfjs path must
 * run (order 2, not float32, kernels off — see the module doc). x [(order+1)·B, H, W, C] (value
 * images, then ∂/∂t), γ, β [C], `groups` dividing C, `shift` [(order+1)·B, C] or null (a
 * per-image channel jet added to every pixel first), φ = SiLU when `silu`, else the identity.
 * The maths (and its reverse mode) is in group-norm.ts and @nfdm/native's source.
 */
export function nativeGroupNormJet(
  x: tf.Tensor4D,
  order: number,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  groups: number,
  epsilon: number,
  shift: tf.Tensor2D | null,
  silu: boolean,
): tf.Tensor4D | null {
  if (order !== 0 && order !== 1) return null;
  const addon = activeAddon();
  if (!addon || !hasGroupNorm(addon)) return null;
  if (x.dtype !== 'float32' || gamma.dtype !== 'float32' || beta.dtype !== 'float32' || (shift && shift.dtype !== 'float32')) return null;
  const [n, , , C] = x.shape;
  if (x.size === 0 || n % (order + 1) !== 0 || C % groups !== 0) return null;
  if (shift && (shift.shape[0] !== n || shift.shape[1] !== C)) return null;
  const spec: GroupNormSpec = { order, groups, epsilon, silu };
  if (tf.engine().state.gradientDepth === 0) return groupNormForward(addon, spec, x, gamma, beta, shift).output;
  const key = `${order}|${groups}|${epsilon}|${shift ? 1 : 0}|${silu ? 1 : 0}`;
  let op = groupNormOps.get(key);
  if (!op) {
    op = makeGroupNormOp(addon, spec, shift !== null);
    groupNormOps.set(key, op);
  }
  return shift ? op(x, gamma, beta, shift) : op(x, gamma, beta);
}
