/**
 * Conditions of exported conditional models (metadata `nfdm.condition`): the `condition` input
 * y [n, w] of their graphs, built from what a user passes, and the guidance weight w.
 *
 * Encoding (as in @nfdm/core): labels of K classes are one column (w = 1) holding the class
 * index k ∈ {0, …, K − 1} as a float, k = K being the null condition ∅ (the unconditional
 * model); vectors of m values are m columns, a row containing NaN being ∅.
 *
 * Accepted forms for n rows: labels — one number (every row), or n numbers (one per row);
 * vectors — one row of m numbers (every row), n rows of m numbers, or a flat row-major array of
 * n·m numbers. Labels must be integers in 0…K; vector entries finite or NaN.
 */
import * as ort from 'onnxruntime-common';
import type { ConditionMeta } from './metadata.js';

/** A model's conditions as given by a user (see the module doc). */
export type ConditionValues = number | ArrayLike<number> | ReadonlyArray<ArrayLike<number>>;

/** A condition or guidance weight that does not fit the model (missing, ill-shaped, out of range). */
export class OnnxConditionError extends RangeError {
  override readonly name = 'OnnxConditionError';
}

/** Columns w of the condition input: 1 for labels, m for vectors. */
export function conditionColumns(spec: ConditionMeta): number {
  return spec.kind === 'label' ? 1 : spec.dim;
}

/** A one-line description of what the condition holds. */
export function describeCondition(spec: ConditionMeta): string {
  return spec.kind === 'label'
    ? `a class label 0…${spec.classes - 1} (${spec.classes} = the null condition)`
    : `a vector of ${spec.dim} values (a row containing NaN = the null condition)`;
}

function isRows(values: ConditionValues): values is ReadonlyArray<ArrayLike<number>> {
  return Array.isArray(values) && values.length > 0 && typeof values[0] === 'object' && values[0] !== null;
}

/** The flat values of `values` and how many rows they hold (1 means: repeat for every row). */
function flatRows(spec: ConditionMeta, values: ConditionValues): { flat: Float32Array; rows: number } {
  const w = conditionColumns(spec);
  if (typeof values === 'number') {
    if (spec.kind !== 'label')
      throw new OnnxConditionError(`this model's condition is ${describeCondition(spec)}: give rows of ${w} values, not one number`);
    return { flat: Float32Array.of(values), rows: 1 };
  }
  if (isRows(values)) {
    const flat = new Float32Array(values.length * w);
    values.forEach((row, i) => {
      if (row.length !== w)
        throw new OnnxConditionError(`condition row ${i} has ${row.length} values; this model's condition is ${describeCondition(spec)}`);
      for (let j = 0; j < w; j++) flat[i * w + j] = row[j];
    });
    return { flat, rows: values.length };
  }
  const arr = values as ArrayLike<number>;
  if (typeof arr.length !== 'number' || arr.length === 0 || arr.length % w !== 0)
    throw new OnnxConditionError(`the condition needs a multiple of ${w} values (${describeCondition(spec)}), got ${arr.length ?? 'none'}`);
  return { flat: Float32Array.from(arr), rows: arr.length / w };
}

/** Throw unless every label is an integer in 0…K and every vector entry is finite or NaN. */
function checkValues(spec: ConditionMeta, flat: Float32Array, raw: ConditionValues): void {
  const w = conditionColumns(spec);
  const source = typeof raw === 'number' ? [raw] : isRows(raw) ? null : (raw as ArrayLike<number>);
  for (let i = 0; i < flat.length; i++) {
    const v = source ? source[i] : flat[i];
    if (spec.kind === 'label') {
      if (!(typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= spec.classes))
        throw new OnnxConditionError(`labels must be integers in 0…${spec.classes} (${spec.classes} = the null condition), got ${v}`);
    } else if (typeof v !== 'number' || v === Number.POSITIVE_INFINITY || v === Number.NEGATIVE_INFINITY) {
      throw new OnnxConditionError(`condition row ${Math.floor(i / w)} has a non-numeric or infinite value (NaN marks the null condition)`);
    }
  }
}

/**
 * The condition input y [n, w] row-major for a model conditioned on `spec` (undefined: an
 * unconditional model). A conditional model needs `values`; an unconditional one refuses them.
 * `what` names the rows in messages ('sample'; a bridge's transport: 'source').
 */
export function conditionInput(
  spec: ConditionMeta | undefined,
  values: ConditionValues | undefined,
  n: number,
  what = 'sample',
): Float32Array | null {
  if (!spec) {
    if (values !== undefined) throw new OnnxConditionError('this model is unconditional: it takes no condition');
    return null;
  }
  if (values === undefined)
    throw new OnnxConditionError(`this model is conditional: give a condition per row or one for all (${describeCondition(spec)})`);
  const { flat, rows } = flatRows(spec, values);
  checkValues(spec, flat, values);
  if (rows === n) return flat;
  if (rows !== 1) throw new OnnxConditionError(`the condition has ${rows} rows for ${n} ${what}s (give one row, or one per ${what})`);
  const w = conditionColumns(spec);
  const out = new Float32Array(n * w);
  for (let i = 0; i < n; i++) out.set(flat, i * w);
  return out;
}

/** The guidance weight w (default 0): finite, and only for a conditional model. */
export function guidanceWeight(spec: ConditionMeta | undefined, guidance: number | undefined): number {
  if (guidance === undefined) return 0;
  if (typeof guidance !== 'number' || !Number.isFinite(guidance))
    throw new OnnxConditionError(`guidance must be a finite number, got ${String(guidance)}`);
  if (!spec && guidance !== 0) throw new OnnxConditionError('guidance needs a conditional model (this model is unconditional)');
  return guidance;
}

/**
 * The `condition` [n, w] (and, for guided graphs, `guidance` [1]) feeds of a model conditioned
 * on `spec`; none for an unconditional model (which refuses a condition or a guidance weight ≠ 0).
 * Throws {@link OnnxConditionError} on a missing or ill-shaped condition.
 */
export function conditionFeeds(
  spec: ConditionMeta | undefined,
  n: number,
  condition: ConditionValues | undefined,
  guidance: number | undefined,
  guided = true,
  what = 'sample',
): Record<string, ort.Tensor> {
  const w = guidanceWeight(spec, guidance);
  if (!guided && w !== 0) throw new OnnxConditionError('the divergence (log-density) graph is unguided: guidance must be 0');
  const y = conditionInput(spec, condition, n, what);
  if (!spec || !y) return {};
  const feeds: Record<string, ort.Tensor> = { condition: new ort.Tensor('float32', y, [n, conditionColumns(spec)]) };
  if (guided) feeds.guidance = new ort.Tensor('float32', Float32Array.of(w), [1]);
  return feeds;
}

/** `condition` or its alias `labels` (not both; labels only for a label-conditional model). */
export function conditionOrLabels(
  options: { condition?: ConditionValues; labels?: number | ArrayLike<number> },
  spec: ConditionMeta | undefined,
): ConditionValues | undefined {
  if (options.labels === undefined) return options.condition;
  if (spec && spec.kind !== 'label')
    throw new OnnxConditionError(`this model is conditioned on vectors of ${spec.dim} values, not labels: use 'condition'`);
  if (options.condition !== undefined) throw new OnnxConditionError("give the conditions as 'condition' or 'labels', not both");
  return options.labels;
}
