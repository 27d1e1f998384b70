/** Activations implemented natively (the rest, e.g. gelu-tanh, stay on the tfjs path). */
export type NativeActivation = 'identity' | 'selu' | 'silu' | 'tanh' | 'softplus' | 'sigmoid' | 'relu';

export declare const NATIVE_ACTIVATIONS: readonly NativeActivation[];

/** Build-time facts and the thread count. */
export interface NativeInfo {
  /** Instruction set the GEMM kernels were compiled for: 'avx512' | 'avx2' | 'avx' | 'generic'. */
  isa: string;
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

/** The addon, or null when it is not built or cannot load on this machine (see nativeStatus). */
export declare function loadNative(): NativeAddon | null;

export declare function nativeStatus(): { available: boolean; reason: string | null; path: string };
