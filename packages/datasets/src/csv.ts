/**
 * CSV tables of numbers: one row per sample, one column per dimension.
 *
 * Reading rules:
 * - cells are separated by `delimiter` (default `,`) and trimmed; a cell may be wrapped in
 *   double quotes; lines end in `\n` or `\r\n`;
 * - blank lines and lines starting with `#` (numpy `savetxt` headers) are skipped;
 * - header: `'auto'` (default) treats the first line as a header when *none* of its cells is
 *   a number; `true` / `false` force it;
 * - every other cell must be a decimal number (`1`, `-2.5`, `.5`, `3e-4`) that is finite in
 *   float32. Errors name `file:line:column`: `ragged_row` (cell count differs from the first
 *   row), `non_numeric` (including empty cells), `non_finite` (NaN, Inf, or beyond ±3.4e38),
 *   `empty` (no data rows).
 *
 * Writing uses the shortest text that reads back to the identical float32, so
 * `readCsv(writeCsv(m))` reproduces `m` bit for bit.
 */
import { DatasetError } from './errors.js';
import { writeFileAtomic } from './files.js';
import { formatFloat32 } from './float-format.js';
import { readBytes } from './idx.js';
import type { DataMatrix } from './matrix.js';

/** Options of {@link parseCsv} / {@link readCsv}. */
export interface CsvReadOptions {
  /** Is the first line a header? `'auto'` (default): yes when none of its cells is a number. */
  header?: boolean | 'auto';
  /** Cell separator (default `,`). */
  delimiter?: string;
  /** Name used in error messages (default `<csv>`; {@link readCsv} passes the path). */
  file?: string;
}

/** A parsed CSV: the data and, if there was a header, its column names. */
export interface CsvTable extends DataMatrix {
  columns: string[] | null;
}

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const NON_FINITE = /^[+-]?(?:nan|inf|infinity)$/i;

function unquote(cell: string): string {
  const t = cell.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).trim() : t;
}

function checkDelimiter(delimiter: string): void {
  if (delimiter.length === 0 || /[0-9.+\-eE"\r\n]/.test(delimiter)) {
    throw new DatasetError('invalid_argument', `delimiter ${JSON.stringify(delimiter)} cannot separate numbers`);
  }
}

/** Parse CSV text into a float32 matrix; see the module docs for the rules and errors. */
export function parseCsv(text: string, options: CsvReadOptions = {}): CsvTable {
  const file = options.file ?? '<csv>';
  const delimiter = options.delimiter ?? ',';
  checkDelimiter(delimiter);
  const headerMode = options.header ?? 'auto';
  const lines = text.split('\n');
  const values: number[] = [];
  let columns: string[] | null = null;
  let dim = -1;
  let firstLine = 0;
  let n = 0;
  let seenFirst = false;

  for (let li = 0; li < lines.length; li++) {
    const line = lines[li].endsWith('\r') ? lines[li].slice(0, -1) : lines[li];
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const lineNo = li + 1;
    const cells = line.split(delimiter).map(unquote);
    if (!seenFirst) {
      seenFirst = true;
      const isHeader = headerMode === 'auto' ? cells.every((c) => !NUMBER.test(c) && !NON_FINITE.test(c)) : headerMode;
      dim = cells.length;
      firstLine = lineNo;
      if (isHeader) {
        columns = cells;
        continue;
      }
    }
    if (cells.length !== dim) {
      throw new DatasetError(
        'ragged_row',
        `expected ${dim} cell${dim === 1 ? '' : 's'} (as on line ${firstLine}) but found ${cells.length}`,
        { file, line: lineNo },
      );
    }
    for (let j = 0; j < dim; j++) {
      const cell = cells[j];
      const where = { file, line: lineNo, column: j + 1 };
      const name = columns ? ` (column '${columns[j]}')` : '';
      if (NON_FINITE.test(cell)) {
        throw new DatasetError('non_finite', `cell ${j + 1}${name} is ${cell}; NaN and Inf are not allowed in data`, where);
      }
      if (!NUMBER.test(cell)) {
        const hint =
          n === 0 && cell !== '' && columns === null && headerMode === 'auto' ? '; if this line is a header, read with header: true' : '';
        const what = cell === '' ? 'is empty' : `is not a number: ${JSON.stringify(cell.length > 40 ? `${cell.slice(0, 40)}…` : cell)}`;
        throw new DatasetError('non_numeric', `cell ${j + 1}${name} ${what}${hint}`, where);
      }
      const v = Number(cell);
      if (!Number.isFinite(Math.fround(v))) {
        throw new DatasetError('non_finite', `cell ${j + 1}${name} = ${cell} overflows float32 (|x| > 3.4e38)`, where);
      }
      values.push(v);
    }
    n++;
  }
  if (n === 0) {
    throw new DatasetError('empty', columns ? 'the file has a header but no data rows' : 'the file has no data rows', { file });
  }
  return { data: Float32Array.from(values), n, dim, columns };
}

/** Read a CSV file; see {@link parseCsv}. Errors name the path and line. */
export function readCsv(file: string, options: Omit<CsvReadOptions, 'file'> = {}): CsvTable {
  const text = new TextDecoder('utf-8').decode(readBytes(file)); // strips a UTF-8 BOM
  return parseCsv(text, { ...options, file });
}

/** Options of {@link formatCsv} / {@link writeCsv}. */
export interface CsvWriteOptions {
  /** Column names for a header line (length `dim`); none by default. */
  header?: readonly string[];
  /** Cell separator (default `,`). */
  delimiter?: string;
}

/** CSV text for `m`: one line per row, shortest float32 round-trip numbers, final newline. */
export function formatCsv(m: DataMatrix, options: CsvWriteOptions = {}): string {
  const delimiter = options.delimiter ?? ',';
  checkDelimiter(delimiter);
  const { data, n, dim } = m;
  if (data.length !== n * dim) throw new DatasetError('bad_shape', `a [${n}, ${dim}] matrix needs ${n * dim} values, got ${data.length}`);
  const out: string[] = [];
  if (options.header) {
    if (options.header.length !== dim) {
      throw new DatasetError('invalid_argument', `header has ${options.header.length} names but the data has ${dim} columns`);
    }
    out.push(options.header.join(delimiter));
  }
  const row: string[] = new Array(dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) {
      const v = data[i * dim + j];
      if (!Number.isFinite(v)) {
        throw new DatasetError('non_finite', `value [${i}, ${j}] is ${v}; refusing to write NaN/Inf to a data file`);
      }
      row[j] = formatFloat32(v);
    }
    out.push(row.join(delimiter));
  }
  return `${out.join('\n')}\n`;
}

/** Write `m` as CSV to `file` atomically (temporary file + rename); see {@link formatCsv}. */
export function writeCsv(file: string, m: DataMatrix, options: CsvWriteOptions = {}): void {
  writeFileAtomic(file, formatCsv(m, options));
}
