/**
 * CSV columns as conditions (`nfdm train --data file.csv --condition-column NAME`, repeatable):
 * the named columns are cut from every row and become the row's condition y; the other columns
 * are the data x.
 *
 * - Without `--condition label`: a vector condition of m = (number of columns) values, standardised
 *   with the data's method (mean/std, or median/IQR with `--standardize robust`) fitted on the
 *   training rows; the standardisation is stored with the run's data description (meta.json
 *   `data.condition`), and `nfdm sample --condition v1,v2` takes values in data units.
 * - With `--condition label`: ONE column of class labels 0…K−1 (integers; K = the largest + 1), a
 *   label condition. An integer column is never made a label on its own: without `--condition
 *   label` it is a continuous value like any other.
 *
 * Non-numeric or missing cells are refused by the CSV reader (naming line and column); unknown
 * columns, a table without a header, no data column left and non-integer labels are UsageErrors.
 */
import {
  applyStandardization,
  type DataMatrix,
  fitRobustStandardization,
  fitStandardization,
  type LoadedDataset,
  type Standardization,
} from '@nfdm/datasets';
import { type DataInfo, firstRows, tableParts } from './data.js';
import type { StandardizeMethod } from './data-options.js';
import { UsageError } from './errors.js';

/** What a run's condition columns are (stored in DataInfo.condition, hence meta.json and run.json). */
export interface ColumnCondition {
  /** The CSV columns, in the order of y's values. */
  columns: string[];
  kind: 'label' | 'vector';
  /** Labels: K. */
  classes?: number;
  /** Vectors: the standardisation of y (data units → model units), fitted on the training rows. */
  standardization?: Standardization;
}

/** Training / held-out rows cut into x and y. */
export interface ConditionedTable {
  train: DataMatrix;
  heldOut?: DataMatrix;
  /** y of the training rows, [n, w] row-major (standardised vectors, or labels). */
  trainY: Float32Array;
  heldOutY?: Float32Array;
  /** The data columns left in x. */
  columns: string[];
  condition: ColumnCondition;
}

/** The indices of `names` among the table's columns; UsageErrors for a table without a header or an unknown name. */
export function conditionColumnIndices(table: LoadedDataset, names: readonly string[], spec: string): number[] {
  const header = table.columns;
  if (!header) throw new UsageError(`--condition-column needs named columns: ${spec} has no header line`);
  const indices = names.map((name) => {
    const i = header.indexOf(name);
    if (i < 0) throw new UsageError(`--condition-column ${name}: ${spec} has no such column (columns: ${header.join(', ')})`);
    return i;
  });
  if (indices.length >= header.length)
    throw new UsageError(`--condition-column: every column of ${spec} would be a condition; leave at least one as data`);
  return indices;
}

/** The columns `cols` of every row of `m`, [n, cols.length]. */
export function takeColumns(m: DataMatrix, cols: readonly number[]): DataMatrix {
  const w = cols.length;
  const out = new Float32Array(m.n * w);
  for (let i = 0; i < m.n; i++) for (let j = 0; j < w; j++) out[i * w + j] = m.data[i * m.dim + cols[j]];
  return { data: out, n: m.n, dim: w };
}

/** The rows of `m` (all of the table's columns) without the condition columns `names`. */
export function withoutConditionColumns(table: LoadedDataset, m: DataMatrix, names: readonly string[], spec: string): DataMatrix {
  const ys = conditionColumnIndices(table, names, spec);
  return takeColumns(
    m,
    (table.columns as string[]).map((_, i) => i).filter((i) => !ys.includes(i)),
  );
}

/**
 * Cut the condition columns out of the training and held-out rows: x keeps the other columns
 * (unstandardised; the caller standardises them), y is a label column (checked: integers ≥ 0) or a
 * vector standardised with `method` fitted on the training rows.
 */
export function cutConditionColumns(
  table: LoadedDataset,
  parts: { train: DataMatrix; heldOut?: DataMatrix },
  options: { names: readonly string[]; label: boolean; method: StandardizeMethod; spec: string },
): ConditionedTable {
  const ys = conditionColumnIndices(table, options.names, options.spec);
  const header = table.columns as string[];
  const xs = header.map((_, i) => i).filter((i) => !ys.includes(i));
  const trainY = takeColumns(parts.train, ys);
  const heldY = parts.heldOut ? takeColumns(parts.heldOut, ys) : undefined;
  const base = {
    train: takeColumns(parts.train, xs),
    heldOut: parts.heldOut ? takeColumns(parts.heldOut, xs) : undefined,
    columns: xs.map((i) => header[i]),
  };
  if (options.label) {
    const name = options.names[0];
    const classes = labelCount([trainY, ...(heldY ? [heldY] : [])], name, options.spec);
    return { ...base, trainY: trainY.data, heldOutY: heldY?.data, condition: { columns: [name], kind: 'label', classes } };
  }
  const standardization = options.method === 'robust' ? fitRobustStandardization(trainY) : fitStandardization(trainY);
  return {
    ...base,
    trainY: applyStandardization(trainY, standardization).data,
    heldOutY: heldY ? applyStandardization(heldY, standardization).data : undefined,
    condition: { columns: [...options.names], kind: 'vector', standardization },
  };
}

/** K = the largest label + 1, after checking that every value is an integer ≥ 0. */
function labelCount(columns: DataMatrix[], name: string, spec: string): number {
  let top = 0;
  for (const m of columns)
    for (const v of m.data) {
      if (!(Number.isInteger(v) && v >= 0))
        throw new UsageError(
          `--condition label --condition-column ${name}: ${spec} has the value ${Number(v.toPrecision(7))} there; class labels are integers 0…K−1 (leave out --condition label for a continuous condition)`,
        );
      top = Math.max(top, v);
    }
  return top + 1;
}

/**
 * `nfdm sample --condition v1,v2,…` of a vector-conditional model: m values in data units,
 * standardised with the stored statistics, as one row y [m].
 */
export function conditionVector(values: readonly number[], condition: ColumnCondition | undefined, dim: number): number[] {
  if (values.length !== dim) {
    const names = condition ? ` (${condition.columns.join(', ')})` : '';
    throw new UsageError(`--condition: this model is conditioned on ${dim} values${names}; got ${values.length}`);
  }
  const s = condition?.standardization;
  return s ? values.map((v, j) => (v - s.mean[j]) / s.std[j]) : [...values];
}

/**
 * The held-out rows (at most n) of the CSV file a `--condition label --condition-column` model was
 * trained on: x (its data columns) and the labels of the label column, for `nfdm eval`.
 */
export function heldOutLabelledRows(
  trained: DataInfo,
  n: number | undefined,
): { data: DataMatrix; labels: Float32Array; info: DataInfo & { heldOut?: boolean } } {
  const condition = trained.condition as ColumnCondition;
  const parts = tableParts(trained.spec, { seed: trained.split?.seed ?? 0, outliers: trained.outliers?.policy ?? 'keep' });
  if (!parts.heldOut) throw new UsageError(`${trained.spec} has too few rows to hold any out; there is nothing to evaluate on`);
  const held = firstRows(parts.heldOut, n ?? Number.POSITIVE_INFINITY);
  const data = withoutConditionColumns(parts.table, held, condition.columns, trained.spec);
  const labels = takeColumns(held, conditionColumnIndices(parts.table, condition.columns, trained.spec)).data;
  const source = `the ${held.n} held-out rows (not used in training) of ${trained.source}, labelled by column ${condition.columns[0]}`;
  return { data, labels, info: { ...trained, source, heldOut: true } };
}
