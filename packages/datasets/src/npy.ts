/**
 * NumPy `.npy` files (format versions 1.0, 2.0 and 3.0) holding a 1-D or 2-D array.
 *
 * Layout: the magic `\x93NUMPY` (bytes 0–5), major and minor version (bytes 6, 7), the header
 * length L as a little-endian uint16 (v1, bytes 8–9) or uint32 (v2/v3, bytes 8–11), then L
 * bytes of a Python dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (n, d), }`
 * (latin-1; UTF-8 in v3) padded with spaces and a newline, then the data in C order.
 *
 * Supported dtypes: `<f4`, `<f8`, `<i4`, `<i8` (little-endian), C order. Shape `(n,)` is read
 * as an n × 1 matrix, `(n, d)` as n × d; values become float32. Errors
 * ({@link DatasetError}, with the byte offset): `bad_magic`, `bad_header` (unknown version,
 * malformed dict), `unsupported_dtype`, `fortran_order`, `bad_shape` (0-D or > 2-D),
 * `truncated`, `trailing_bytes`, `non_finite` (NaN/Inf, or a float64 beyond float32's range).
 *
 * {@link writeNpy} writes version 1.0 with the header padded so the data start at a multiple
 * of 64 bytes, as NumPy does.
 */
import { DatasetError } from './errors.js';
import { writeFileAtomic } from './files.js';
import { readBytes } from './idx.js';
import type { DataMatrix } from './matrix.js';

/** The element types this reader understands. */
export type NpyDtype = '<f4' | '<f8' | '<i4' | '<i8';

const ITEM_SIZE: Record<NpyDtype, number> = { '<f4': 4, '<f8': 8, '<i4': 4, '<i8': 8 };
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** A parsed `.npy` array. */
export interface NpyArray extends DataMatrix {
  /** The dtype in the file (the data are converted to float32). */
  dtype: NpyDtype;
  /** The shape in the file: `[n]` or `[n, d]`. */
  shape: number[];
  /** Format version `[major, minor]`. */
  version: [number, number];
}

/** Parse `.npy` bytes; `file` is used in error messages only. */
export function parseNpy(bytes: Uint8Array, file = '<npy>'): NpyArray {
  const fail = (code: ConstructorParameters<typeof DatasetError>[0], reason: string, offset: number): never => {
    throw new DatasetError(code, reason, { file, offset });
  };
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) {
      const got = Array.from(bytes.subarray(0, 6), (b) => b.toString(16).padStart(2, '0')).join(' ');
      fail('bad_magic', `not an NPY file: it starts with ${got || '(nothing)'} instead of 93 4e 55 4d 50 59 ("\\x93NUMPY")`, i);
    }
  }
  if (bytes.length < 8) fail('truncated', `truncated NPY preamble: the file ends at byte ${bytes.length} before the version`, bytes.length);
  const major = bytes[6];
  const minor = bytes[7];
  if (major < 1 || major > 3) fail('bad_header', `unsupported NPY format version ${major}.${minor} (1.0, 2.0 and 3.0 are supported)`, 6);
  const lenBytes = major === 1 ? 2 : 4;
  const headerStart = 8 + lenBytes;
  if (bytes.length < headerStart) {
    fail(
      'truncated',
      `truncated NPY preamble: the header length needs bytes 8–${headerStart - 1}, the file has ${bytes.length}`,
      bytes.length,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = headerStart + headerLen;
  if (bytes.length < dataStart) {
    fail(
      'truncated',
      `truncated NPY header: it needs bytes ${headerStart}–${dataStart - 1}, the file ends at byte ${bytes.length}`,
      bytes.length,
    );
  }
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, dataStart));

  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(header)?.[1];
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    const missing = [descr === undefined && 'descr', fortran === undefined && 'fortran_order', shapeText === undefined && 'shape'].filter(
      Boolean,
    );
    fail('bad_header', `malformed NPY header (missing ${missing.join(', ')}): ${JSON.stringify(header.trim().slice(0, 120))}`, headerStart);
  }
  if (!Object.hasOwn(ITEM_SIZE, descr as string)) {
    const hint = (descr as string).startsWith('>') ? ' (big-endian data: convert with arr.astype("<f4"))' : '';
    fail('unsupported_dtype', `unsupported NPY dtype '${descr}'${hint}; supported: ${Object.keys(ITEM_SIZE).join(', ')}`, headerStart);
  }
  const dtype = descr as NpyDtype;
  const shape: number[] = [];
  for (const part of (shapeText as string).split(',')) {
    const t = part.trim();
    if (t === '') continue;
    if (!/^\d+L?$/.test(t)) fail('bad_header', `malformed NPY shape (${shapeText})`, headerStart);
    shape.push(Number.parseInt(t, 10));
  }
  if (shape.length < 1 || shape.length > 2) {
    fail(
      'bad_shape',
      `NPY array has shape (${shape.join(', ')}); only 1-D (n,) or 2-D (n, d) arrays are data tables (reshape to (n, -1) first)`,
      headerStart,
    );
  }
  if (fortran === 'True' && shape.length === 2 && shape[0] > 1 && shape[1] > 1) {
    fail('fortran_order', 'NPY array is in Fortran (column-major) order; save it with np.ascontiguousarray(arr) first', headerStart);
  }
  const n = shape[0];
  const dim = shape.length === 2 ? shape[1] : 1;
  if (shape.length === 2 && dim === 0) fail('bad_shape', `NPY array has shape (${n}, 0): rows need at least one column`, headerStart);
  const size = ITEM_SIZE[dtype];
  const count = n * dim;
  const dataBytes = count * size;
  const available = bytes.length - dataStart;
  if (available < dataBytes) {
    fail(
      'truncated',
      `truncated NPY data: shape (${shape.join(', ')}) of ${dtype} needs ${dataBytes} bytes from byte offset ${dataStart}, ` +
        `but the file ends at byte offset ${bytes.length} (${Math.floor(available / (size * dim))} of ${n} complete rows)`,
      bytes.length,
    );
  }
  if (available > dataBytes) {
    fail(
      'trailing_bytes',
      `${available - dataBytes} unexpected bytes after the NPY data, which ends at byte offset ${dataStart + dataBytes}`,
      dataStart + dataBytes,
    );
  }

  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const off = dataStart + i * size;
    let v: number;
    if (dtype === '<f4') v = view.getFloat32(off, true);
    else if (dtype === '<f8') v = view.getFloat64(off, true);
    else if (dtype === '<i4') v = view.getInt32(off, true);
    else v = Number(view.getBigInt64(off, true));
    const f = Math.fround(v);
    if (!Number.isFinite(f)) {
      const at = dim === 1 && shape.length === 1 ? `[${i}]` : `[${Math.floor(i / dim)}, ${i % dim}]`;
      const why = Number.isFinite(v) ? `${v} overflows float32` : `${v}; NaN and Inf are not allowed in data`;
      fail('non_finite', `element ${at} is ${why}`, off);
    }
    data[i] = f;
  }
  return { data, n, dim, dtype, shape, version: [major, minor] };
}

/** Read a `.npy` file; see {@link parseNpy}. */
export function readNpy(file: string): NpyArray {
  return parseNpy(readBytes(file), file);
}

/** Options of {@link encodeNpy} / {@link writeNpy}. */
export interface NpyWriteOptions {
  /** `<f4` (default: exact for float32 data) or `<f8`. */
  dtype?: '<f4' | '<f8';
  /** Write shape `(n,)` instead of `(n, 1)` for single-column data (default false). */
  flat?: boolean;
}

/** The bytes of a version-1.0 `.npy` file holding `m` (C order, data aligned to 64 bytes). */
export function encodeNpy(m: DataMatrix, options: NpyWriteOptions = {}): Uint8Array {
  const dtype = options.dtype ?? '<f4';
  if (dtype !== '<f4' && dtype !== '<f8')
    throw new DatasetError('invalid_argument', `writeNpy writes '<f4' or '<f8', not '${dtype as string}'`);
  const { data, n, dim } = m;
  if (data.length !== n * dim) throw new DatasetError('bad_shape', `a [${n}, ${dim}] matrix needs ${n * dim} values, got ${data.length}`);
  if (options.flat && dim !== 1) throw new DatasetError('invalid_argument', `flat: true needs a single column, the data have ${dim}`);
  const shape = options.flat ? `(${n},)` : `(${n}, ${dim})`;
  let header = `{'descr': '${dtype}', 'fortran_order': False, 'shape': ${shape}, }`;
  const unpadded = 10 + header.length + 1;
  header += `${' '.repeat((64 - (unpadded % 64)) % 64)}\n`;
  const size = dtype === '<f4' ? 4 : 8;
  const out = new Uint8Array(10 + header.length + n * dim * size);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  const view = new DataView(out.buffer);
  view.setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  const start = 10 + header.length;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new DatasetError(
        'non_finite',
        `value [${Math.floor(i / dim)}, ${i % dim}] is ${data[i]}; refusing to write NaN/Inf to a data file`,
      );
    }
    if (dtype === '<f4') view.setFloat32(start + 4 * i, data[i], true);
    else view.setFloat64(start + 8 * i, data[i], true);
  }
  return out;
}

/** Write `m` as a `.npy` file atomically (temporary file + rename); see {@link encodeNpy}. */
export function writeNpy(file: string, m: DataMatrix, options: NpyWriteOptions = {}): void {
  writeFileAtomic(file, encodeNpy(m, options));
}
