/**
 * IDX files (the MNIST / Fashion-MNIST container), optionally gzip-compressed.
 *
 * Layout (all integers big-endian):
 *
 * | bytes          | content                                                       |
 * | -------------- | ------------------------------------------------------------- |
 * | 0–1            | 0x00 0x00                                                     |
 * | 2              | element type (0x08 = unsigned byte; the only one supported)   |
 * | 3              | number of dimensions r                                        |
 * | 4 … 4 + 4r − 1 | r uint32 sizes d₀ … d_{r−1}                                   |
 * | 4 + 4r …       | d₀ · … · d_{r−1} bytes, C order                               |
 *
 * So images have magic 0x00000803 (`[n, rows, cols]`) and labels 0x00000801 (`[n]`).
 * Byte offsets in errors count from the start of the *decompressed* content.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { DatasetError } from './errors.js';

/** Magic number of an IDX file of unsigned bytes with 3 dimensions (images). */
export const IDX_IMAGES_MAGIC = 0x00000803;
/** Magic number of an IDX file of unsigned bytes with 1 dimension (labels). */
export const IDX_LABELS_MAGIC = 0x00000801;

/** A parsed IDX file of unsigned bytes. */
export interface IdxArray {
  /** The sizes from the header, e.g. `[60000, 28, 28]`. */
  dims: number[];
  /** The payload, C order (a view into the decompressed buffer). */
  data: Uint8Array;
  /** Byte offset of the payload (4 + 4r). */
  dataOffset: number;
}

const hex = (v: number) => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;

/**
 * Read a file's bytes, gunzipping when it starts with the gzip magic 1f 8b. A file whose name
 * ends in `.gz` must be gzip (error `not_gzip` otherwise); other files are returned as they are.
 */
export function readMaybeGzip(file: string): Uint8Array {
  const raw = readBytes(file);
  const isGzip = raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b;
  if (!isGzip) {
    if (file.endsWith('.gz')) {
      const got = Array.from(raw.subarray(0, 2), (b) => b.toString(16).padStart(2, '0')).join(' ');
      throw new DatasetError('not_gzip', `not a gzip file: it starts with ${got || '(nothing)'} instead of 1f 8b`, { file, offset: 0 });
    }
    return raw;
  }
  try {
    const out = gunzipSync(raw);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (e) {
    throw new DatasetError(
      'corrupt_gzip',
      `the gzip stream (${raw.length} compressed bytes) is corrupt or truncated: ${(e as Error).message}`,
      { file },
    );
  }
}

/** `readFileSync` with a {@link DatasetError} (`not_found`) for a missing file. */
export function readBytes(file: string): Uint8Array {
  try {
    const b = readFileSync(file);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new DatasetError('not_found', 'no such file', { file });
    if (err.code === 'EISDIR') throw new DatasetError('not_found', 'is a directory, not a file', { file });
    throw new DatasetError('not_found', `cannot read the file: ${err.message}`, { file });
  }
}

/**
 * Parse IDX bytes and check the magic number. `file` is used in error messages only.
 *
 * Errors (all {@link DatasetError}, with the byte offset): `bad_magic` (offset 0),
 * `truncated` (header or payload shorter than the header says; the offset is where the data
 * ends), `trailing_bytes` (more bytes than the header says).
 */
export function parseIdx(bytes: Uint8Array, expectedMagic: number, file = '<idx>'): IdxArray {
  if (bytes.length < 4) {
    throw new DatasetError('truncated', `truncated IDX header: need 4 bytes for the magic number, the file has ${bytes.length}`, {
      file,
      offset: bytes.length,
    });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  if (magic !== expectedMagic) {
    const what = (m: number) => (m === IDX_IMAGES_MAGIC ? 'images' : m === IDX_LABELS_MAGIC ? 'labels' : 'unknown');
    const hint = what(magic) !== 'unknown' ? ` (that is an IDX ${what(magic)} file; ${what(expectedMagic)} were expected)` : '';
    throw new DatasetError('bad_magic', `wrong IDX magic number ${hex(magic)}, expected ${hex(expectedMagic)}${hint}`, { file, offset: 0 });
  }
  const rank = magic & 0xff;
  const dataOffset = 4 + 4 * rank;
  if (bytes.length < dataOffset) {
    throw new DatasetError(
      'truncated',
      `truncated IDX header: ${rank} dimension sizes need bytes 4–${dataOffset - 1}, the file ends at byte ${bytes.length}`,
      { file, offset: bytes.length },
    );
  }
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < rank; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    count *= d;
  }
  const available = bytes.length - dataOffset;
  if (available < count) {
    const item = dims.slice(1).reduce((a, b) => a * b, 1);
    const complete = item > 0 ? Math.floor(available / item) : 0;
    throw new DatasetError(
      'truncated',
      `truncated IDX data: the header [${dims.join(', ')}] needs ${count} bytes from byte offset ${dataOffset}, ` +
        `but the data ends at byte offset ${bytes.length} (${available} bytes, ${complete} of ${dims[0]} complete items)`,
      { file, offset: bytes.length },
    );
  }
  if (available > count) {
    throw new DatasetError(
      'trailing_bytes',
      `${available - count} unexpected bytes after the IDX data [${dims.join(', ')}], which ends at byte offset ${dataOffset + count}`,
      { file, offset: dataOffset + count },
    );
  }
  return { dims, data: bytes.subarray(dataOffset, dataOffset + count), dataOffset };
}

/** Read (and gunzip if needed) an IDX file and parse it; see {@link parseIdx}. */
export function readIdx(file: string, expectedMagic: number): IdxArray {
  return parseIdx(readMaybeGzip(file), expectedMagic, file);
}
