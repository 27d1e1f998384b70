/** Activations implemented natively (every activation of @nfdm/core's registry). */
export type NativeActivation = 'identity' | 'selu' | 'silu' | 'tanh' | 'softplus' | 'sigmoid' | 'relu' | 'gelu-tanh';

export declare const NATIVE_ACTIVATIONS: readonly NativeActivation[];

/** Build-time facts and the thread count. */
export interface NativeInfo {
  /** Instruction set the GEMM kernels were compiled for: 'avx512' | 'avx2' | 'avx' | 'generic'. */
  isa: string;
  /** The build: 'native' (from source, -march=native) or a prebuilt variant's level ('x86-64-v4', 'x86-64-v3', 'x86-64', 'armv8-a'). */
  variant: string;
  /** The instruction-set levels this CPU supports, lowest first (e.g. ['x86-64', 'x86-64-v2', 'x86-64-v3']). */
  cpu: string[];
  vectorWidth: number;
  mr: number;
  nr: number;
  threads: number;
}

export interface NativeForwardResult {
  /** The output jet [(order+1)·batch, outDim], row-major. */
  output: Float32Array;
  /**
   * What the backward pass needs (layer inputs and activation derivatives), opaque: pass it to
   * mlpJetBackward unchanged. Null when called with `save = false` (inference).
   */
  saved: Float32Array | null;
}

export interface NativeBackwardResult {
  /** ∂L/∂input [(order+1)·batch, inDim]. */
  dInput: Float32Array;
  /** ∂L/∂W_l, each [in_l, out_l] row-major. */
  dWeights: Float32Array[];
  /** ∂L/∂b_l, each [out_l]. */
  dBiases: Float32Array[];
}

export interface NativeAddon {
  /** Absolute path of the loaded .node file. */
  readonly path: string;
  readonly activations: readonly NativeActivation[];
  info(): NativeInfo;
  /** Use n threads (1 = the calling thread only). Default: NFDM_NATIVE_THREADS or 1. */
  setThreads(n: number): number;
  /**
   * MLP forward on a jet: input [(order+1)·batch, in]; weights W_l [in_l, out_l] (row-major, as
   * tfjs stores them), biases b_l [out_l] (added to the value block only). `activation` follows
   * every hidden layer, `outputActivation` (or none) the last one. `save = false` keeps nothing
   * for a backward pass (inference: no per-call memory).
   */
  mlpJetForward(
    input: Float32Array,
    batch: number,
    order: 0 | 1 | 2,
    weights: readonly Float32Array[],
    biases: readonly Float32Array[],
    activation: NativeActivation,
    outputActivation?: NativeActivation | null,
    save?: boolean,
  ): NativeForwardResult;
  /**
   * 2-D convolution, NHWC float32, 'same' zero padding p = (k−1)/2, k ∈ {1, 3}, stride 1 or 2:
   *
   *   y[n, i, j, o] = Σ_{a,b<k} Σ_c xp[n, s·i + a, s·j + b, c] · kernel[a, b, c, o]  (+ bias[o] for n < valueImages)
   *
   * with xp the input padded by p zeros. x [n, h, w, c] (`shape`), kernel [k, k, c, o] (HWIO,
   * as tfjs stores it) → y [n, ⌈h/s⌉, ⌈w/s⌉, o] (PyTorch's Conv2d(k, stride=s, padding=p)).
   * The bias goes on the first `valueImages` images only (default all): on an image jet
   * [(order+1)·B, h, w, c] pass B, so the tangent blocks get none. Computed as an indirect GEMM
   * (every output pixel reads its k² input rows from one padded copy of its image; register
   * tiles accumulate over all taps), images split over the thread pool. `out` (a Float32Array of
   * the output's length, written in full and returned) replaces the new output buffer — e.g. a
   * view of a tensor on tfjs's wasm heap: a fresh multi-MB buffer costs page faults on first touch.
   */
  conv2dForward(
    x: Float32Array,
    shape: readonly [number, number, number, number],
    kernel: Float32Array,
    k: 1 | 3,
    stride?: 1 | 2,
    bias?: Float32Array | null,
    valueImages?: number,
    out?: Float32Array | null,
  ): Float32Array;
  /**
   * Reverse pass of conv2dForward for dOutput [n, ⌈h/s⌉, ⌈w/s⌉, o], with ďy = dOutput
   * (stride 1) or dOutput spread onto the even positions of zeros [n, h, w, o] (stride 2):
   *   ∂x = conv_same(ďy, W̃) with W̃[a, b, o, c] = kernel[k−1−a, k−1−b, c, o] (flipped, in/out swapped);
   *   ∂kernel[a, b, c, o] = Σ_{n,i,j} xp[n, i + a, j + b, c] · ďy[n, i, j, o];
   *   ∂bias[o] = Σ_{n < valueImages, i, j} dOutput[n, i, j, o]   (only with `bias: true`).
   * `input: false` skips ∂x (dInput is then null); `out` receives ∂x (see conv2dForward's `out`).
   */
  conv2dBackward(
    dOutput: Float32Array,
    x: Float32Array,
    shape: readonly [number, number, number, number],
    kernel: Float32Array,
    k: 1 | 3,
    stride?: 1 | 2,
    options?: { bias?: boolean; valueImages?: number; input?: boolean; out?: Float32Array | null },
  ): NativeConvBackwardResult;
  /**
   * Channel concatenation of row-major [pixels, c_i] arrays (NHWC tensors with pixels = N·H·W):
   * out[p, :] = [inputs[0][p, :], inputs[1][p, :], …] → [pixels, Σ c_i]. `out` as in conv2dForward.
   */
  concatChannels(inputs: readonly Float32Array[], pixels: number, out?: Float32Array | null): Float32Array;
  /** The reverse of concatChannels: input [pixels, Σ widths] → one [pixels, widths[i]] array each (into `outs` when given). */
  splitChannels(input: Float32Array, pixels: number, widths: readonly number[], outs?: readonly Float32Array[] | null): Float32Array[];
  /**
   * GroupNorm of an image jet of order 0 or 1, optionally after adding a per-image channel
   * vector `shift` [n, c] (a projected time embedding) and followed by SiLU:
   * x [(order+1)·B, h, w, c] (value images first, then their ∂/∂t), per image and group of
   * c/groups channels over its n = h·w·c/groups entries (h = x + shift, h′ = x′ + shift′):
   *
   *   μ = mean h,  s = √(mean (h − μ)² + ε),  ĥ = (h − μ)/s,  y = γ ĥ + β,
   *   c′ = h′ − mean h′,  s′ = mean(ĥ c′),  ĥ′ = (c′ − ĥ s′)/s,  y′ = γ ĥ′,
   *   out = φ(y), out′ = φ′(y) y′   (φ = SiLU with `silu: true`, else the identity).
   *
   * Returns the output jet and per-group statistics for the backward pass. `options.out`: write
   * the output there (as conv2dForward's `out`).
   */
  groupNormJetForward(
    x: Float32Array,
    shape: readonly [number, number, number, number],
    order: 0 | 1,
    groups: number,
    epsilon: number,
    gamma: Float32Array,
    beta: Float32Array,
    options?: { shift?: Float32Array | null; silu?: boolean; out?: Float32Array | null },
  ): NativeGroupNormForwardResult;
  /**
   * Reverse pass of groupNormJetForward (same x, shape, order, groups, γ, β and options):
   * dOutput (same shape as x) → ∂x, ∂γ, ∂β and ∂shift (the formulas are in src/nfdm_native.cc);
   * `options.out` receives ∂x.
   */
  groupNormJetBackward(
    dOutput: Float32Array,
    x: Float32Array,
    shape: readonly [number, number, number, number],
    order: 0 | 1,
    groups: number,
    stats: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    options?: { shift?: Float32Array | null; silu?: boolean; out?: Float32Array | null },
  ): NativeGroupNormBackwardResult;
  /**
   * Reverse pass of mlpJetForward: dOutput [(order+1)·batch, out] → input, weight and bias
   * gradients. `release = true` hands `saved` back for reuse by a later forward pass (do not
   * use it afterwards); otherwise it is simply garbage-collected.
   */
  mlpJetBackward(
    dOutput: Float32Array,
    saved: Float32Array,
    batch: number,
    order: 0 | 1 | 2,
    weights: readonly Float32Array[],
    activation: NativeActivation,
    outputActivation?: NativeActivation | null,
    release?: boolean,
  ): NativeBackwardResult;
}

/** Gradients of {@link NativeAddon.conv2dForward}. */
export interface NativeConvBackwardResult {
  /** ∂L/∂x [n, h, w, c]; null when called with `input: false`. */
  dInput: Float32Array | null;
  /** ∂L/∂kernel [k, k, c, o] (HWIO). */
  dKernel: Float32Array;
  /** ∂L/∂bias [o] (summed over the first `valueImages` images); null without `bias: true`. */
  dBias: Float32Array | null;
}

/** Result of {@link NativeAddon.groupNormJetForward}. */
export interface NativeGroupNormForwardResult {
  /** The output jet, same shape as x. */
  output: Float32Array;
  /** Per image (value block) and group: μ, s, μ′, s′ — opaque, for groupNormJetBackward. */
  stats: Float32Array;
}

/** Gradients of {@link NativeAddon.groupNormJetForward}. */
export interface NativeGroupNormBackwardResult {
  /** ∂L/∂x, same shape as x (value and tangent blocks). */
  dInput: Float32Array;
  /** ∂L/∂γ [c]. */
  dGamma: Float32Array;
  /** ∂L/∂β [c]. */
  dBeta: Float32Array;
  /** ∂L/∂shift [n, c]; null without a shift. */
  dShift: Float32Array | null;
}

/** The addon, or null when it is not built or cannot load on this machine (see nativeStatus). */
export declare function loadNative(): NativeAddon | null;

/** Which build of the addon runs, and why (see {@link nativeStatus}). */
export interface NativeStatus {
  /** True when a build loaded. */
  available: boolean;
  /** Why none loaded (null when one did). */
  reason: string | null;
  /** The loaded .node file (null when none loaded). */
  path: string | null;
  /** 'prebuilt' (a platform package's variant) or 'source' (build/nfdm_native.node from `nfdm-native-build`). */
  kind: 'prebuilt' | 'source' | null;
  /** The package the binary came from, e.g. '@nfdm/native-linux-x64-gnu'. */
  package: string | null;
  /** 'native' for a build from source, else the prebuilt variant's level ('x86-64-v4', 'x86-64-v3', 'x86-64', 'armv8-a'). */
  variant: string | null;
  /** Why this build was chosen (the CPU's level, or NFDM_NATIVE_VARIANT). */
  selection: string | null;
  /** This process's platform id, e.g. 'linux-x64-gnu'. */
  platform: string;
}

/**
 * Which build runs and why. The order: NFDM_NATIVE_VARIANT when set ('v4' | 'v3' | 'baseline' |
 * 'native'); else a build from source when present; else the best variant of the prebuilt
 * platform package that this CPU supports.
 */
export declare function nativeStatus(): NativeStatus;
