/**
 * Adam and AdamW on tf.Variables, with state that checkpoints and restores exactly.
 *
 * For parameter p with gradient g at update number k = 1, 2, … (PyTorch's formulation):
 *
 *   m ← β₁ m + (1 − β₁) g,        v ← β₂ v + (1 − β₂) g²,
 *   p ← p − (lr / (1 − β₁ᵏ)) · m / (√v / √(1 − β₂ᵏ) + ε),
 *
 * and AdamW first decays the weights, decoupled from the gradient: p ← p (1 − lr · λ).
 * (Adam with `weightDecay` λ > 0 instead adds λ p to the gradient: classic L2.)
 *
 * The moments m, v are float32 variables (one pair per parameter, created up front so the
 * tensor count never changes); the update count k is a JS integer and the bias corrections
 * are computed in float64 then rounded once to float32. {@link Adam.state} /
 * {@link Adam.loadState} move m, v (bit-exact float32) and k through a checkpoint.
 */
import type { NamedVariables, StoredTensor } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';

export type OptimizerKind = 'adam' | 'adamw';

/** Hyper-parameters (the learning rate comes from the schedule, per update). */
export interface AdamConfig {
  kind: OptimizerKind;
  /** Default 0.9. */
  beta1: number;
  /** Default 0.999. */
  beta2: number;
  /** Default 1e-8. */
  epsilon: number;
  /** λ: decoupled decay for AdamW (default 0.01), L2 penalty for Adam (default 0). */
  weightDecay: number;
}

/** Serialisable optimizer state: hyper-parameters, update count, and m/v as `m.<name>`, `v.<name>`. */
export interface OptimizerState {
  config: AdamConfig;
  step: number;
  tensors: Map<string, StoredTensor>;
}

/** Optimizer state that does not fit the parameters (names the tensor). */
export class OptimizerStateError extends Error {
  override readonly name = 'OptimizerStateError';
}

/** Fill in defaults and validate. */
export function resolveAdamConfig(raw: Partial<AdamConfig> = {}): AdamConfig {
  const kind = raw.kind ?? 'adam';
  if (kind !== 'adam' && kind !== 'adamw') throw new RangeError(`optimizer kind must be 'adam' or 'adamw', got ${JSON.stringify(kind)}`);
  const config: AdamConfig = {
    kind,
    beta1: raw.beta1 ?? 0.9,
    beta2: raw.beta2 ?? 0.999,
    epsilon: raw.epsilon ?? 1e-8,
    weightDecay: raw.weightDecay ?? (kind === 'adamw' ? 0.01 : 0),
  };
  for (const key of ['beta1', 'beta2'] as const) {
    if (!(config[key] >= 0 && config[key] < 1)) throw new RangeError(`optimizer ${key} must be in [0, 1), got ${config[key]}`);
  }
  if (!(config.epsilon > 0)) throw new RangeError(`optimizer epsilon must be > 0, got ${config.epsilon}`);
  if (!(config.weightDecay >= 0 && Number.isFinite(config.weightDecay)))
    throw new RangeError(`optimizer weightDecay must be a finite number >= 0, got ${config.weightDecay}`);
  return config;
}

/** A non-trainable flat variable of `n` zeros (the temporary zeros are freed). */
function zerosVariable(n: number): tf.Variable {
  const zeros = tf.zeros([n]);
  const v = tf.variable(zeros, false);
  zeros.dispose();
  return v;
}

/** All tensors flattened and concatenated, [Σ size]. */
function flatten(tensors: readonly tf.Tensor[]): tf.Tensor1D {
  const flat = tensors.map((t) => tf.reshape(t, [-1]));
  return (flat.length === 1 ? flat[0] : tf.concat(flat)) as tf.Tensor1D;
}

export class Adam {
  readonly config: AdamConfig;
  /** Updates applied so far (k of the last update). */
  step = 0;
  private readonly names: string[];
  private readonly params: tf.Variable[];
  /** Element counts of the parameters, in order (the moments are stored flat, concatenated). */
  private readonly sizes: number[];
  private readonly offsets: number[];
  /** m and v of all parameters as two flat [Σ size] variables: one fused update per step. */
  private readonly m: tf.Variable;
  private readonly v: tf.Variable;

  /**
   * `params`: the variables to optimise, by name (non-trainable variables are ignored).
   * The names key the state, so they must be stable across runs (module parameter names are).
   */
  constructor(params: NamedVariables, config: Partial<AdamConfig> = {}) {
    this.config = resolveAdamConfig(config);
    this.names = [...params.entries()].filter(([, v]) => v.trainable).map(([n]) => n);
    this.params = this.names.map((n) => params.get(n) as tf.Variable);
    this.sizes = this.params.map((p) => p.size);
    this.offsets = [];
    let total = 0;
    for (const n of this.sizes) {
      this.offsets.push(total);
      total += n;
    }
    this.m = zerosVariable(total);
    this.v = zerosVariable(total);
  }

  /** The names of the optimised variables, in update order. */
  get parameterNames(): string[] {
    return [...this.names];
  }

  /** The optimised variables, in the order of {@link parameterNames}. */
  get variables(): tf.Variable[] {
    return [...this.params];
  }

  /**
   * Apply one update with learning rate `lr` and gradients aligned with {@link variables}.
   * Runs in its own tidy (or in the caller's); the gradients are not disposed.
   */
  apply(grads: readonly tf.Tensor[], lr: number): void {
    if (grads.length !== this.params.length) throw new RangeError(`expected ${this.params.length} gradients, got ${grads.length}`);
    const { beta1, beta2, epsilon, weightDecay, kind } = this.config;
    const k = this.step + 1;
    const stepSize = lr / (1 - beta1 ** k);
    const invSqrtBc2 = 1 / Math.sqrt(1 - beta2 ** k);
    tf.tidy(() => {
      const b1 = tf.scalar(beta1);
      const c1 = tf.scalar(1 - beta1);
      const b2 = tf.scalar(beta2);
      const c2 = tf.scalar(1 - beta2);
      const eps = tf.scalar(epsilon);
      const s = tf.scalar(stepSize);
      const r = tf.scalar(invSqrtBc2);
      const decay = kind === 'adamw' && weightDecay > 0 ? tf.scalar(1 - lr * weightDecay) : null;
      const l2 = kind === 'adam' && weightDecay > 0 ? tf.scalar(weightDecay) : null;
      // One fused update over the concatenated gradients (a few large kernels instead of
      // ~13 small ones per parameter); elementwise, so bitwise equal to per-parameter updates.
      let g: tf.Tensor = flatten(grads);
      if (l2) g = tf.add(g, tf.mul(l2, flatten(this.params)));
      const m = tf.add(tf.mul(b1, this.m), tf.mul(c1, g));
      const v = tf.add(tf.mul(b2, this.v), tf.mul(c2, tf.square(g)));
      const update = tf.div(tf.mul(s, m), tf.add(tf.mul(tf.sqrt(v), r), eps));
      this.m.assign(m);
      this.v.assign(v);
      const pieces = this.params.length === 1 ? [update] : tf.split(update, this.sizes);
      this.params.forEach((p, i) => {
        const base = decay ? tf.mul(p, decay) : p;
        p.assign(tf.sub(base, tf.reshape(pieces[i], p.shape)));
      });
    });
    this.step = k;
  }

  /** A snapshot of the state (copies, safe to keep). */
  state(): OptimizerState {
    const tensors = new Map<string, StoredTensor>();
    const m = this.m.dataSync() as Float32Array;
    const v = this.v.dataSync() as Float32Array;
    const slice = (flat: Float32Array, i: number) => Float32Array.from(flat.subarray(this.offsets[i], this.offsets[i] + this.sizes[i]));
    this.names.forEach((name, i) => {
      tensors.set(`m.${name}`, { shape: [...this.params[i].shape], data: slice(m, i) });
    });
    this.names.forEach((name, i) => {
      tensors.set(`v.${name}`, { shape: [...this.params[i].shape], data: slice(v, i) });
    });
    return { config: { ...this.config }, step: this.step, tensors };
  }

  /**
   * Restore a state from {@link state} (e.g. read from a checkpoint). Every moment must be
   * present with the right shape and nothing else may be there; nothing changes unless all
   * checks pass. The hyper-parameters of `state.config` are not adopted (the constructor's are
   * kept) — they are only compared for the optimizer kind.
   */
  loadState(state: { step: number; tensors: Map<string, StoredTensor>; config?: Partial<AdamConfig> }): void {
    if (!Number.isInteger(state.step) || state.step < 0)
      throw new OptimizerStateError(`step must be a non-negative integer, got ${state.step}`);
    if (state.config?.kind !== undefined && state.config.kind !== this.config.kind) {
      throw new OptimizerStateError(`state is for '${state.config.kind}', this optimizer is '${this.config.kind}'`);
    }
    const expected = new Set<string>();
    this.names.forEach((name, i) => {
      for (const prefix of ['m', 'v']) {
        const key = `${prefix}.${name}`;
        expected.add(key);
        const t = state.tensors.get(key);
        if (!t) throw new OptimizerStateError(`tensor '${key}' is missing from the optimizer state`);
        const shape = this.params[i].shape;
        if (t.shape.length !== shape.length || t.shape.some((d, j) => d !== shape[j])) {
          throw new OptimizerStateError(`tensor '${key}' has shape [${t.shape}], the parameter has [${shape}]`);
        }
      }
    });
    for (const key of state.tensors.keys()) {
      if (!expected.has(key)) throw new OptimizerStateError(`tensor '${key}' in the optimizer state matches no parameter`);
    }
    const total = this.m.size;
    const m = new Float32Array(total);
    const v = new Float32Array(total);
    this.names.forEach((name, i) => {
      m.set((state.tensors.get(`m.${name}`) as StoredTensor).data, this.offsets[i]);
      v.set((state.tensors.get(`v.${name}`) as StoredTensor).data, this.offsets[i]);
    });
    tf.tidy(() => {
      this.m.assign(tf.tensor1d(m));
      this.v.assign(tf.tensor1d(v));
    });
    this.step = state.step;
  }

  /** Free m and v (the parameters belong to the caller). */
  dispose(): void {
    tf.dispose([this.m, this.v]);
  }
}

/** Adam with decoupled weight decay (Loshchilov & Hutter); λ defaults to 0.01. */
export class AdamW extends Adam {
  constructor(params: NamedVariables, config: Partial<Omit<AdamConfig, 'kind'>> = {}) {
    super(params, { ...config, kind: 'adamw' });
  }
}

/** Build the optimizer a config names. */
export function createOptimizer(params: NamedVariables, config: Partial<AdamConfig> = {}): Adam {
  return new Adam(params, config);
}

/**
 * Clip gradients by their global norm ‖g‖ = √(Σᵢ ‖gᵢ‖²): with c = min(1, maxNorm / (‖g‖ + 1e-6))
 * every gradient is scaled by c (PyTorch's clip_grad_norm_). Returns the clipped gradients and
 * the pre-clip norm as a scalar tensor (no read-back). `maxNorm` undefined or ∞ only measures
 * (the gradients are then returned as they are, not copied).
 */
export function clipByGlobalNorm(grads: readonly tf.Tensor[], maxNorm?: number | null): { grads: tf.Tensor[]; norm: tf.Scalar } {
  if (maxNorm != null && !(maxNorm > 0)) throw new RangeError(`maxNorm must be > 0, got ${maxNorm}`);
  return tf.tidy(() => {
    // ‖g‖ over the concatenation: two kernels instead of two per parameter.
    const norm = (grads.length === 0 ? tf.scalar(0) : tf.sqrt(tf.sum(tf.square(flatten(grads))))) as tf.Scalar;
    if (maxNorm == null || maxNorm === Number.POSITIVE_INFINITY) return { grads: [...grads], norm };
    const scale = tf.minimum(tf.scalar(1), tf.div(tf.scalar(maxNorm), tf.add(norm, tf.scalar(1e-6))));
    return { grads: grads.map((g) => tf.mul(g, scale)), norm };
  });
}
