/**
 * Exponential moving average of weights: after every update, for each trainable parameter,
 *
 *   p̄ ← d p̄ + (1 − d) p        (d = `decay`, e.g. 0.999),
 *
 * held in a separate set of float32 variables. Non-trainable variables (buffers) are copied
 * once and never averaged, so the EMA set is a complete weight set of the model: it saves to a
 * weight file that loads into the model, and {@link EMA.swap} / {@link EMA.withAverage} put it
 * in the model's variables for evaluation or export and restore the raw weights bit-exactly.
 */
import type { NamedVariables, StoredTensor } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';

export class EMA {
  /** The averaged variables, by the model's parameter names. */
  readonly averages: NamedVariables = new Map();
  private readonly targets: NamedVariables;
  private swapped: tf.Tensor[] | null = null;

  /** Start the averages at the current values of `params`. */
  constructor(
    params: NamedVariables,
    readonly decay = 0.999,
  ) {
    if (!(decay >= 0 && decay < 1)) throw new RangeError(`EMA decay must be in [0, 1), got ${decay}`);
    this.targets = new Map(params);
    // The averages start as the parameters' current data (shared, immutable; no copy).
    for (const [name, v] of params) this.averages.set(name, tf.variable(v, false));
  }

  /** Fold the current parameter values into the averages (one tidy, no read-back). */
  update(): void {
    if (this.swapped) throw new Error('EMA.update() while the averages are swapped in');
    tf.tidy(() => {
      const d = tf.scalar(this.decay);
      const c = tf.scalar(1 - this.decay);
      for (const [name, p] of this.targets) {
        if (!p.trainable) continue;
        const a = this.averages.get(name) as tf.Variable;
        a.assign(tf.add(tf.mul(d, a), tf.mul(c, p)));
      }
    });
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
