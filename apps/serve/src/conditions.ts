/**
 * Conditions in requests: the `condition` (and, on /samples and /transport, `guidance`) fields of
 * conditional models and bridges (`modelInfo.condition`, the export's nfdm.condition). The JSON forms, after the schema
 * (schemas.ts) has checked the types:
 *
 * - labels (`{kind: 'label', classes: K}`): one integer for every row, or an array with one
 *   integer per row; K is the null condition (the unconditional model);
 * - vectors (`{kind: 'vector', dim: m}`): one row of m numbers for every row, or one row per
 *   row; a `null` entry (JSON has no NaN) makes the row the null condition.
 *
 * `guidance` is the classifier-free guidance weight w (default 0). Errors: a condition or
 * guidance for a model without a condition → 422 UNCONDITIONAL_MODEL; a conditional model
 * without a condition → 400 CONDITION_REQUIRED; a label out of range, a wrong vector length or
 * a wrong number of rows → 400 INVALID_CONDITION.
 */
import { type ConditionMeta, type ConditionValues, conditionInput, describeCondition, OnnxConditionError } from '@nfdm/runtime';
import { HttpError } from './errors.js';
import type { LoadedModel } from './models.js';

/** The `condition` field as JSON: a label, labels, a vector row (null = NaN) or vector rows. */
export type ConditionField = number | Array<number | null> | Array<Array<number | null>>;

/** What the runtime takes: the conditions of `rows` rows and the guidance weight (absent for an unconditional model). */
export interface RequestCondition {
  condition?: ConditionValues;
  guidance?: number;
}

const nullToNaN = (v: number | null) => (v === null ? Number.NaN : v);

/** The runtime form of a schema-valid `condition` field for `spec` (400 when its shape does not fit). */
function toValues(spec: ConditionMeta, field: ConditionField, rows: number, what: string): ConditionValues {
  const nested = Array.isArray(field) && field.some((v) => Array.isArray(v));
  if (spec.kind === 'label') {
    if (nested || (Array.isArray(field) && field.some((v) => v === null)))
      throw new HttpError(400, 'INVALID_CONDITION', `condition must be one label or one label per ${what} (${describeCondition(spec)})`);
    return field as number | number[];
  }
  if (typeof field === 'number')
    throw new HttpError(
      400,
      'INVALID_CONDITION',
      `condition must be a row of ${spec.dim} values or one row per ${what} (${describeCondition(spec)})`,
    );
  if (!nested) return [(field as Array<number | null>).map(nullToNaN)];
  const list = field as Array<Array<number | null> | number | null>;
  const bad = list.findIndex((row) => !Array.isArray(row));
  if (bad >= 0) throw new HttpError(400, 'INVALID_CONDITION', `condition[${bad}] must be a row of ${spec.dim} values`);
  if (list.length !== 1 && list.length !== rows)
    throw new HttpError(
      400,
      'INVALID_CONDITION',
      `condition has ${list.length} rows for ${rows} ${what}s (give one row, or one per ${what})`,
    );
  return (list as Array<Array<number | null>>).map((row) => row.map(nullToNaN));
}

/**
 * The condition and guidance of a request on `entry` for `rows` rows, checked against the
 * model's condition (module doc); `guidance` is undefined on routes that take none.
 */
export function requestCondition(
  entry: LoadedModel,
  field: ConditionField | undefined,
  guidance: number | undefined,
  rows: number,
  what: 'sample' | 'point' | 'source',
): RequestCondition {
  const spec = entry.model.condition;
  if (!spec) {
    if (field !== undefined || guidance !== undefined) {
      const given = field !== undefined ? "'condition'" : "'guidance'";
      throw new HttpError(422, 'UNCONDITIONAL_MODEL', `model '${entry.name}' is unconditional: it takes no ${given}`);
    }
    return {};
  }
  if (field === undefined)
    throw new HttpError(400, 'CONDITION_REQUIRED', `model '${entry.name}' is conditional: give 'condition' (${describeCondition(spec)})`);
  const values = toValues(spec, field, rows, what);
  try {
    conditionInput(spec, values, rows, what);
  } catch (error) {
    if (error instanceof OnnxConditionError) throw new HttpError(400, 'INVALID_CONDITION', error.message);
    throw error;
  }
  return guidance === undefined ? { condition: values } : { condition: values, guidance };
}

/** The JSON schema of a `condition` field of at most `maxRows` rows (see the module doc). */
export function conditionProperty(maxRows: number, maxWidth: number) {
  return {
    type: ['integer', 'array'],
    minimum: 0,
    minItems: 1,
    maxItems: maxRows,
    items: { type: ['number', 'null', 'array'], minItems: 1, maxItems: maxWidth, items: { type: ['number', 'null'] } },
    description:
      'Conditional models only (modelInfo.condition). Labels: one integer for every row, or one per row (classes = the ' +
      'null condition). Vectors: one row of dim values for every row, or one row per row; a null entry makes the row the ' +
      'null condition.',
  } as const;
}

/** The JSON schema of the `guidance` field. */
export const guidanceProperty = {
  type: 'number',
  description:
    'Conditional models only: the classifier-free guidance weight w (default 0, the conditional model); the samplers use ' +
    'x̂_w = (1 + w) x̂(z, t, y) − w x̂(z, t, ∅) (bridges: x̂(z, t, x1, y) and x̂(z, t, x1, ∅)).',
} as const;
