/**
 * Condition embeddings emb(y) for conditional networks (class labels or continuous vectors),
 * with a learned "null" condition ∅ so one network is both conditional and unconditional
 * (classifier-free guidance; Ho & Salimans 2022).
 *
 * A batch of conditions is ONE float tensor y [B, w]:
 * - label (K classes): w = 1, the class index k ∈ {0, …, K−1} as a number, and k = K for ∅;
 *   emb(y) = table[k], a learned table [K + 1, e] (row K is the null embedding), computed as
 *   onehot(k) · table so that its gradient is a plain matMul.
 * - vector (m values): w = m; a row containing NaN is ∅; emb(y) = y W + b (Dense(m, e)) for the
 *   other rows and a learned null vector n [e] for the null rows. NaN rows are replaced by zeros
 *   before the Dense layer, so no NaN reaches a value or a gradient.
 *
 * emb(y) does not depend on t: in a jet it is a constant (zero tangents).
 * Parameters: label `table` [K + 1, e]; vector `proj.weight` [m, e], `proj.bias` [e], `null` [e].
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../random.js';
import { Dense } from './dense.js';
import { Jet, type JetOrder } from './jet.js';
import { collectParameters, type Module, type NamedVariables } from './module.js';

/** What a network is conditioned on: K class labels, or vectors of m continuous values. */
export type ConditionSpec = { kind: 'label'; classes: number } | { kind: 'vector'; dim: number };

/** Columns w of a condition tensor y [B, w]: 1 for labels, m for vectors. */
export function conditionWidth(spec: ConditionSpec): number {
  return spec.kind === 'label' ? 1 : spec.dim;
}

/** Throw unless `spec` is a valid condition (K ≥ 1 classes or m ≥ 1 values). */
export function checkConditionSpec(spec: ConditionSpec): void {
  const n = spec.kind === 'label' ? spec.classes : spec.kind === 'vector' ? spec.dim : Number.NaN;
  if (!Number.isInteger(n) || n < 1)
    throw new RangeError(`a condition needs kind 'label' with classes ≥ 1 or kind 'vector' with dim ≥ 1, got ${JSON.stringify(spec)}`);
}

/** The null condition ∅ for B rows: [B, 1] filled with K (labels) or [B, m] of NaN (vectors). */
export function nullCondition(spec: ConditionSpec, rows: number): tf.Tensor2D {
  return spec.kind === 'label' ? tf.fill([rows, 1], spec.classes) : tf.fill([rows, spec.dim], Number.NaN);
}

/** y [B, w] as given, or an error naming the expected shape. */
export function checkConditionShape(spec: ConditionSpec, y: tf.Tensor, rows: number, who: string): tf.Tensor2D {
  const w = conditionWidth(spec);
  if (y.rank !== 2 || y.shape[0] !== rows || y.shape[1] !== w)
    throw new RangeError(`${who} expects a condition [${rows}, ${w}] (${describeSpec(spec)}), got [${y.shape}]`);
  return y as tf.Tensor2D;
}

function describeSpec(spec: ConditionSpec): string {
  return spec.kind === 'label' ? `labels 0…${spec.classes - 1}, ${spec.classes} = null` : `${spec.dim} values, a NaN row = null`;
}

/**
 * Replace y by ∅ in the rows where `drop` [B] is true (condition dropout): labels become K,
 * vectors NaN. Returns a new tensor [B, w].
 */
export function dropConditionRows(spec: ConditionSpec, y: tf.Tensor2D, drop: ArrayLike<boolean>): tf.Tensor2D {
  return tf.tidy(() => {
    const mask = tf.broadcastTo(
      tf.tensor2d(
        Array.from(drop, (d) => (d ? 1 : 0)),
        [y.shape[0], 1],
        'bool',
      ),
      y.shape,
    );
    return tf.where(mask, nullCondition(spec, y.shape[0]), y) as tf.Tensor2D;
  });
}

/** The embedding emb(y) [B, e] of the module doc. */
export class ConditionEmbedding implements Module {
  /** label: the table [K + 1, e]. */
  readonly table: tf.Variable<tf.Rank.R2> | null = null;
  /** vector: Dense(m, e) and the null vector [e]. */
  readonly proj: Dense | null = null;
  readonly nullVector: tf.Variable<tf.Rank.R1> | null = null;

  constructor(
    readonly spec: ConditionSpec,
    /** Embedding width e. */
    readonly dim: number,
    rng: Rng | number = 0,
  ) {
    checkConditionSpec(spec);
    if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`condition embedding width must be a positive integer, got ${dim}`);
    const r = rng instanceof Rng ? rng : new Rng(rng);
    if (spec.kind === 'label') {
      // N(0, 1) entries, as torch.nn.Embedding (ADM's label_emb).
      this.table = tf.tidy(() => tf.variable(tf.tensor2d(r.normalArray((spec.classes + 1) * dim), [spec.classes + 1, dim]), true));
    } else {
      this.proj = new Dense(spec.dim, dim, { rng: r });
      this.nullVector = tf.tidy(() => tf.variable(tf.tensor1d(r.normalArray(dim)), true));
    }
  }

  /** Columns w of the condition input. */
  get width(): number {
    return conditionWidth(this.spec);
  }

  /** emb(y), y [B, w] → [B, e]. */
  apply(y: tf.Tensor2D): tf.Tensor2D {
    if (y.rank !== 2 || y.shape[1] !== this.width)
      throw new RangeError(`ConditionEmbedding expects y [B, ${this.width}] (${describeSpec(this.spec)}), got [${y.shape}]`);
    return tf.tidy(() => {
      if (this.table) {
        const K1 = this.table.shape[0];
        const onehot = tf.oneHot(tf.cast(tf.reshape(tf.round(y), [-1]), 'int32'), K1);
        return tf.matMul(tf.cast(onehot, 'float32'), this.table) as tf.Tensor2D;
      }
      const isNull = tf.any(tf.isNaN(y), 1, true); // [B, 1]
      const clean = tf.where(tf.isNaN(y), tf.zerosLike(y), y) as tf.Tensor2D;
      const projected = (this.proj as Dense).apply(clean);
      const nul = tf.broadcastTo(tf.reshape(this.nullVector as tf.Tensor1D, [1, this.dim]), projected.shape);
      return tf.where(tf.broadcastTo(isNull, projected.shape), nul, projected) as tf.Tensor2D;
    });
  }

  parameters(): NamedVariables {
    if (this.table) return new Map<string, tf.Variable>([['table', this.table]]);
    const out = collectParameters({ proj: this.proj });
    out.set('null', this.nullVector as tf.Variable);
    return out;
  }

  dispose(): void {
    this.table?.dispose();
    this.proj?.dispose();
    this.nullVector?.dispose();
  }
}

/**
 * emb(y) as a constant jet (zero tangents) for B rows, or null for a network without a
 * condition. A conditional network needs y [B, w]; one without a condition refuses it.
 */
export function conditionJet(
  condition: ConditionEmbedding | null,
  y: tf.Tensor2D | null | undefined,
  rows: number,
  order: JetOrder,
  who: string,
): Jet | null {
  if (!condition) {
    if (y) throw new RangeError(`${who} has no condition input, but a condition [${y.shape}] was given`);
    return null;
  }
  if (!y) throw new RangeError(`${who} is conditional: give a condition y [${rows}, ${condition.width}] (the null condition for ∅)`);
  if (y.shape[0] !== rows) throw new RangeError(`${who} expects a condition of ${rows} rows, got [${y.shape}]`);
  return Jet.constant(condition.apply(y), order);
}
