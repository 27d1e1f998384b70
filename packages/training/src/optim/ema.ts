/**
 * Exponential moving average of weights: at the n-th update (n = 0, 1, 2, … updates already
 * folded in), for each trainable parameter,
 *
 *   p̄ ← dₙ p̄ + (1 − dₙ) p,   dₙ = min(decay, (1 + n)/(10 + n))   (warm-up on, the default)
 *                             dₙ = decay                         (warm-up off),
 *
 * held in a separate set of float32 variables. The warm-up is that of diffusers' `EMAModel`
 * with `use_ema_warmup=False` (diffusers also uses d = 0 at its very first update; here the
 * first update uses d₀ = 0.1). Without it a decay of 0.999 keeps a weight of 0.999ᵏ on the
 * initial values after k updates (0.14 after 2,000); with it, while (1 + n)/(10 + n) < decay
 * (n < 9·decay/(1 − decay) − 1: 8,990 updates for 0.999, 1,790 for 0.995), the average after
 * k updates of the parameter values p₁ … p_k (p₀ the initial values) is exactly
 *
 *   p̄_k = Σ_{j=0..k} C(j + 8, 8) p_j / C(k + 9, 9),
 *
 * a polynomial (degree 8) weighting of the trajectory that forgets the start: the initial
 * values weigh 1/C(k + 9, 9) (2·10⁻¹⁷ after 300 updates) and a parameter moving by δ per
 * update is tracked with a lag of 0.1 k updates (p̄_k = p₀ + 0.9 k δ).
 *
 * Non-trainable variables (buffers) are copied once and never averaged, so the EMA set is a
 * complete weight set of the model: it saves to a weight file that loads into the model, and
 * {@link EMA.swapIn} / {@link EMA.withAverage} put it in the model's variables for evaluation or
 * export and restore the raw weights bit-exactly. {@link EMA.updates} (the n above) is part of
 * the state to checkpoint for an exact resume.
 */
import type { NamedVariables, StoredTensor } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';

export interface EMAOptions {
  /** Warm up the decay as min(decay, (1 + n)/(10 + n)) (default true). */
  warmup?: boolean;
  /** Updates already folded into the averages (restoring a checkpoint; default 0). */
  updates?: number;
}

/** The decay of the update after `updates` updates: min(decay, (1 + n)/(10 + n)) with warm-up, else decay. */
export function emaDecayAt(decay: number, updates: number, warmup: boolean): number {
  return warmup ? Math.min(decay, (1 + updates) / (10 + updates)) : decay;
}

export class EMA {
  /** The averaged variables, by the model's parameter names. */
  readonly averages: NamedVariables = new Map();
  /** Whether the decay is warmed up (see the module doc). */
  readonly warmup: boolean;
  private readonly targets: NamedVariables;
  private swapped: tf.Tensor[] | null = null;
  private count: number;

  /** Start the averages at the current values of `params`. */
  constructor(
    params: NamedVariables,
    readonly decay = 0.999,
    options: EMAOptions = {},
  ) {
    if (!(decay >= 0 && decay < 1)) throw new RangeError(`EMA decay must be in [0, 1), got ${decay}`);
    this.warmup = options.warmup ?? true;
    this.count = 0;
    this.updates = options.updates ?? 0;
    this.targets = new Map(params);
    // The averages start as the parameters' current data (shared, immutable; no copy).
    for (const [name, v] of params) this.averages.set(name, tf.variable(v, false));
  }

  /** Updates folded into the averages so far (the n of the warm-up). */
  get updates(): number {
    return this.count;
  }

  /** Set the update count (restoring a checkpoint). */
  set updates(n: number) {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`EMA update count must be an integer >= 0, got ${n}`);
    this.count = n;
  }

  /** The decay the next {@link update} uses. */
  get currentDecay(): number {
    return emaDecayAt(this.decay, this.count, this.warmup);
  }

  /** Fold the current parameter values into the averages (one tidy, no read-back). */
  update(): void {
    if (this.swapped) throw new Error('EMA.update() while the averages are swapped in');
    const decay = this.currentDecay;
    tf.tidy(() => {
      const d = tf.scalar(decay);
      const c = tf.scalar(1 - decay);
      for (const [name, p] of this.targets) {
        if (!p.trainable) continue;
        const a = this.averages.get(name) as tf.Variable;
        a.assign(tf.add(tf.mul(d, a), tf.mul(c, p)));
      }
    });
    this.count += 1;
  }

  /** True while the averages are in the model's variables. */
  get isSwapped(): boolean {
    return this.swapped !== null;
  }

  /** Put the averages into the model's variables (keeping the raw weights aside). */
  swapIn(): void {
    if (this.swapped) return;
    const saved: tf.Tensor[] = [];
    for (const [name, p] of this.targets) {
      saved.push(p.clone());
      p.assign(this.averages.get(name) as tf.Variable);
    }
    this.swapped = saved;
  }

  /** Restore the raw weights put aside by {@link swapIn} (bit-exact). */
  swapOut(): void {
    if (!this.swapped) return;
    const saved = this.swapped;
    let i = 0;
    for (const p of this.targets.values()) p.assign(saved[i++]);
    tf.dispose(saved);
    this.swapped = null;
  }

  /** Run `fn` with the averages swapped in; the raw weights come back even if `fn` throws. */
  async withAverage<T>(fn: () => T | Promise<T>): Promise<T> {
    const already = this.isSwapped;
    this.swapIn();
    try {
      return await fn();
    } finally {
      if (!already) this.swapOut();
    }
  }

  /** Copy the averages into another set of variables with the same names (e.g. a fresh model). */
  copyTo(target: NamedVariables): void {
    for (const [name, v] of target) {
      const a = this.averages.get(name);
      if (!a) throw new Error(`EMA has no average for '${name}'`);
      v.assign(a);
    }
  }

  /** A snapshot of the averages (copies). */
  snapshot(): Map<string, StoredTensor> {
    const out = new Map<string, StoredTensor>();
    for (const [name, a] of this.averages) out.set(name, { shape: [...a.shape], data: Float32Array.from(a.dataSync() as Float32Array) });
    return out;
  }

  /** Free the averages (and any weights put aside). */
  dispose(): void {
    if (this.swapped) this.swapOut();
    tf.dispose([...this.averages.values()]);
  }
}
