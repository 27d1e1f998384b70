/** Points in and out of the JSON API: rows of numbers ↔ row-major floats. */
import { HttpError } from './errors.js';
import type { LoadedModel } from './models.js';

export const finiteOrNull = (v: number): number | null => (Number.isFinite(v) ? v : null);

/** Row-major [n, D] floats as JSON rows (non-finite values → null). */
export function toRows(flat: ArrayLike<number>, n: number, D: number): Array<Array<number | null>> {
  const rows: Array<Array<number | null>> = new Array(n);
  for (let i = 0; i < n; i++) {
    const row: Array<number | null> = new Array(D);
    for (let d = 0; d < D; d++) row[d] = finiteOrNull(flat[i * D + d]);
    rows[i] = row;
  }
  return rows;
}

/** Every row has the model's dim (422 otherwise) and only finite numbers (400 otherwise). */
export function checkRows(rows: number[][], field: string, entry: LoadedModel): void {
  const D = entry.info.dim;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    if (row.length !== D) {
      throw new HttpError(422, 'WRONG_DIMENSION', `${field}[${i}] has ${row.length} coordinates; model '${entry.name}' has dim ${D}`);
    }
    for (let d = 0; d < D; d++) {
      if (!Number.isFinite(row[d])) throw new HttpError(400, 'NOT_FINITE', `${field}[${i}][${d}] is not a finite number`);
    }
  }
}

/** What a solved draw (samples or transport) reports about itself. */
export interface SolvedRows {
  samples: ArrayLike<number>;
  dim: number;
  solver: string;
  mode: string;
  engine: string;
}

/**
 * The JSON answer of /samples and /transport: the rows and how they were solved; a conditional
 * request (`condition` given) also echoes its guidance weight (0 when not given).
 */
export function solvedRowsBody(r: SolvedRows, n: number, steps: number, seed: number, cond: { condition?: unknown; guidance?: number }) {
  return {
    samples: toRows(r.samples, n, r.dim),
    n,
    dim: r.dim,
    steps,
    solver: r.solver,
    mode: r.mode,
    seed,
    engine: r.engine,
    ...(cond.condition === undefined ? {} : { guidance: cond.guidance ?? 0 }),
  };
}
