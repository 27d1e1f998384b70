/**
 * One error type for everything that can be wrong with data on disk or a dataset request.
 *
 * Messages are complete sentences that say *where* (file, and line/column for text formats or
 * byte offset for binary ones) and *what* — the CLI prints `message` and exits; nothing else
 * is needed to fix the input. The fields repeat the location for programs.
 */

/** Stable machine-readable failure codes. */
export type DatasetErrorCode =
  | 'not_found'
  | 'unknown_dataset'
  | 'not_gzip'
  | 'corrupt_gzip'
  | 'bad_magic'
  | 'bad_header'
  | 'truncated'
  | 'trailing_bytes'
  | 'count_mismatch'
  | 'bad_value'
  | 'unsupported_dtype'
  | 'fortran_order'
  | 'bad_shape'
  | 'ragged_row'
  | 'non_numeric'
  | 'non_finite'
  | 'empty'
  | 'invalid_argument';

/** Where in a file a problem was found. All fields are optional; `line`/`column` are 1-based. */
export interface DatasetErrorLocation {
  file?: string;
  line?: number;
  column?: number;
  /** Byte offset from the start of the (decompressed) file content. */
  offset?: number;
}

/** A problem with a dataset file or a dataset request. */
export class DatasetError extends Error {
  override readonly name = 'DatasetError';
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
  readonly offset?: number;

  /**
   * **Arguments:**
   * - `code`: stable identifier of the failure.
   * - `reason`: one sentence saying what is wrong (without the location).
   * - `where`: location; it is prefixed to the message as `file:line:column: ` for text
   *   files or `file (byte offset N): ` for binary files.
   */
  constructor(
    readonly code: DatasetErrorCode,
    readonly reason: string,
    where: DatasetErrorLocation = {},
  ) {
    super(`${formatLocation(where)}${reason}`);
    this.file = where.file;
    this.line = where.line;
    this.column = where.column;
    this.offset = where.offset;
  }
}

function formatLocation(w: DatasetErrorLocation): string {
  const file = w.file ?? '<input>';
  if (w.line !== undefined) return `${file}:${w.line}${w.column !== undefined ? `:${w.column}` : ''}: `;
  if (w.offset !== undefined) return `${file} (byte offset ${w.offset}): `;
  if (w.file !== undefined) return `${file}: `;
  return '';
}
