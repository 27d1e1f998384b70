import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '@nfdm/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DataMatrix,
  DatasetError,
  encodeNpy,
  formatCsv,
  formatFloat32,
  parseCsv,
  parseNpy,
  readCsv,
  readNpy,
  writeCsv,
  writeNpy,
} from '../src/index.js';

const fixtures = new URL('./fixtures/', import.meta.url).pathname;

function caught(f: () => unknown): DatasetError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DatasetError);
    return e as DatasetError;
  }
  throw new Error('expected a DatasetError, nothing was thrown');
}

/** Awkward float32 values: tiny, huge, negative zero, subnormal, many digits. */
function awkward(n: number, dim: number): DataMatrix {
  const rng = new Rng(9);
  const data = new Float32Array(n * dim);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal() * 10 ** (rng.int(60) - 30);
  data.set([0.1, -0, 1e-45, 3.4028234663852886e38, -1.1754943508222875e-38, 16777217, 1 / 3]);
  return { data, n, dim };
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nfdm-tables-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('CSV', () => {
  it('round-trips float32 data bit for bit, with and without a header', () => {
    const m = awkward(200, 3);
    const file = join(dir, 'a.csv');
    writeCsv(file, m);
    const back = readCsv(file);
    expect([back.n, back.dim, back.columns]).toEqual([200, 3, null]);
    expect(Buffer.from(back.data.buffer).equals(Buffer.from(m.data.buffer))).toBe(true);
    writeCsv(file, m, { header: ['x', 'y', 'z'], delimiter: ';' });
    const withHeader = readCsv(file, { delimiter: ';' });
    expect(withHeader.columns).toEqual(['x', 'y', 'z']);
    expect(Buffer.from(withHeader.data.buffer).equals(Buffer.from(m.data.buffer))).toBe(true);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]); // atomic write cleaned up
  });

  it('writes the shortest text that reads back to the same float32', () => {
    expect(['0.1', '0.5', '-0', '1e-45', '3.4028235e+38', '16777216', '0.33333334'].map((s) => formatFloat32(Number(s)))).toEqual([
      '0.1',
      '0.5',
      '-0',
      '1e-45',
      '3.4028235e+38',
      '16777216',
      '0.33333334',
    ]);
    expect(formatCsv({ data: Float32Array.of(1, 2.5, -0.1, 100), n: 2, dim: 2 }, { header: ['a', 'b'] })).toBe('a,b\n1,2.5\n-0.1,100\n');
  });

  it('detects headers, skips blank and # lines, accepts CRLF, quotes and a BOM', () => {
    expect(parseCsv('x,y\n1,2\n3,4\n')).toMatchObject({ n: 2, dim: 2, columns: ['x', 'y'] });
    expect(parseCsv('1,2\n3,4')).toMatchObject({ n: 2, dim: 2, columns: null });
    expect(Array.from(parseCsv('# written by numpy\r\n\r\n "1.5" , -2e3\r\n\r\n.5,+7\r\n').data)).toEqual([1.5, -2000, 0.5, 7]);
    expect(parseCsv('0,1\n2,3', { header: true })).toMatchObject({ n: 1, columns: ['0', '1'] });
    expect(parseCsv('a\n1\n2', { header: true }).n).toBe(2);
    const file = join(dir, 'bom.csv');
    writeFileSync(file, '\ufeffu,v\n1,2\n');
    expect(readCsv(file).columns).toEqual(['u', 'v']);
    expect(parseCsv('5\n6\n').dim).toBe(1);
  });

  it('ragged rows: file:line and the expected count', () => {
    const file = join(dir, 'ragged.csv');
    writeFileSync(file, 'x,y\n1,2\n\n3,4,5\n');
    const e = caught(() => readCsv(file));
    expect([e.code, e.file, e.line]).toEqual(['ragged_row', file, 4]);
    expect(e.message).toBe(`${file}:4: expected 2 cells (as on line 1) but found 3`);
    expect(caught(() => parseCsv('1,2\n3\n')).message).toBe('<csv>:2: expected 2 cells (as on line 1) but found 1');
  });

  it('non-numeric and empty cells: file:line:column', () => {
    const e = caught(() => parseCsv('x,y\n1,2\n3,abc\n', { file: 'd.csv' }));
    expect([e.code, e.line, e.column]).toEqual(['non_numeric', 3, 2]);
    expect(e.message).toBe(`d.csv:3:2: cell 2 (column 'y') is not a number: "abc"`);
    expect(caught(() => parseCsv('1,,3\n', { file: 'e.csv' })).message).toBe('e.csv:1:2: cell 2 is empty');
    expect(caught(() => parseCsv('1,2,\n')).code).toBe('non_numeric'); // trailing delimiter = empty cell
    expect(caught(() => parseCsv('1,1.2.3\n')).column).toBe(2);
    expect(caught(() => parseCsv('0x10,1\n')).code).toBe('non_numeric');
    // A first line mixing numbers and words is data, with a hint about headers.
    expect(caught(() => parseCsv('x1,2\n3,4\n')).message).toMatch(
      /<csv>:1:1: cell 1 is not a number: "x1"; if this line is a header, read with header: true/,
    );
    expect(caught(() => parseCsv('1,2\n', { header: false, delimiter: '' })).code).toBe('invalid_argument');
  });

  it('NaN, Inf and float32 overflow are rejected', () => {
    for (const [text, col] of [
      ['1,nan\n', 2],
      ['NaN,1\n', 1],
      ['1,inf\n', 2],
      ['-Infinity,0\n', 1],
    ] as const) {
      const e = caught(() => parseCsv(`0,0\n${text}`, { file: 'f.csv' }));
      expect([e.code, e.line, e.column]).toEqual(['non_finite', 2, col]);
      expect(e.message).toMatch(/NaN and Inf are not allowed/);
    }
    const big = caught(() => parseCsv('1,1e39\n', { file: 'g.csv' }));
    expect(big.message).toBe('g.csv:1:2: cell 2 = 1e39 overflows float32 (|x| > 3.4e38)');
    expect(() => formatCsv({ data: Float32Array.of(1, Number.NaN), n: 1, dim: 2 })).toThrow(/\[0, 1\] is NaN/);
  });

  it('empty files, header-only files and missing files', () => {
    expect(caught(() => parseCsv('\n\n# nothing\n', { file: 'h.csv' })).message).toBe('h.csv: the file has no data rows');
    expect(caught(() => parseCsv('x,y\n')).message).toBe('<csv>: the file has a header but no data rows');
    const missing = join(dir, 'missing.csv');
    expect(caught(() => readCsv(missing)).message).toBe(`${missing}: no such file`);
    expect(() => formatCsv({ data: Float32Array.of(1, 2), n: 1, dim: 2 }, { header: ['only-one'] })).toThrow(/header has 1 names/);
  });
});

describe('NPY', () => {
  it('reads files written by NumPy: v1/v2/v3, <f4, <f8, <i4, <i8, 1-D and 2-D', () => {
    const f4 = readNpy(join(fixtures, 'f4_2d.npy'));
    expect([f4.n, f4.dim, f4.dtype, f4.shape, f4.version]).toEqual([2, 3, '<f4', [2, 3], [1, 0]]);
    expect(Array.from(f4.data)).toEqual(Array.from(Float32Array.of(1.5, -2.25, 3, 0.1, 1e-7, -4e30)));
    const f8 = readNpy(join(fixtures, 'f8_1d.npy'));
    expect([f8.n, f8.dim, f8.shape]).toEqual([4, 1, [4]]);
    expect(Array.from(f8.data)).toEqual([0.5, -1, Math.fround(Math.PI), 2]);
    expect(Array.from(readNpy(join(fixtures, 'i8_2d.npy')).data)).toEqual([1, -2, 3, 2 ** 40]);
    expect(Array.from(readNpy(join(fixtures, 'i4_2d.npy')).data)).toEqual([7, -8, 9]);
    const v2 = readNpy(join(fixtures, 'f4_v2.npy'));
    expect([v2.version, v2.shape, Array.from(v2.data)]).toEqual([
      [2, 0],
      [3, 2],
      [0, 1, 2, 3, 4, 5],
    ]);
    const v3 = readNpy(join(fixtures, 'f8_v3.npy'));
    expect([v3.version, Array.from(v3.data)]).toEqual([
      [3, 0],
      [0, 0.25, 0.5, 0.75],
    ]);
  });

  it('writes the same bytes as NumPy and round-trips <f4, <f8 and flat arrays', () => {
    const numpy = new Uint8Array(readFileSync(join(fixtures, 'f4_2d.npy')));
    expect(Buffer.from(encodeNpy(parseNpy(numpy))).equals(Buffer.from(numpy))).toBe(true);
    const m = awkward(100, 4);
    const file = join(dir, 'a.npy');
    writeNpy(file, m);
    const back = readNpy(file);
    expect([back.n, back.dim, back.dtype]).toEqual([100, 4, '<f4']);
    expect(Buffer.from(back.data.buffer).equals(Buffer.from(m.data.buffer))).toBe(true);
    writeNpy(file, m, { dtype: '<f8' });
    const wide = readNpy(file);
    expect(wide.dtype).toBe('<f8');
    expect(Buffer.from(wide.data.buffer).equals(Buffer.from(m.data.buffer))).toBe(true);
    expect((10 + new DataView(encodeNpy(m).buffer).getUint16(8, true)) % 64).toBe(0); // data aligned to 64 bytes
    writeNpy(file, { data: Float32Array.of(1, 2, 3), n: 3, dim: 1 }, { flat: true });
    expect(readNpy(file).shape).toEqual([3]);
    expect(() => encodeNpy(m, { flat: true })).toThrow(/single column/);
    expect(() => encodeNpy({ data: Float32Array.of(Number.POSITIVE_INFINITY), n: 1, dim: 1 })).toThrow(/refusing to write NaN\/Inf/);
  });

  /** A version-`major` NPY file with a hand-written header and payload. */
  function npy(header: string, payload: Uint8Array, major = 1): Uint8Array {
    const lenBytes = major === 1 ? 2 : 4;
    const out = new Uint8Array(8 + lenBytes + header.length + payload.length);
    out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
    const view = new DataView(out.buffer);
    if (major === 1) view.setUint16(8, header.length, true);
    else view.setUint32(8, header.length, true);
    for (let i = 0; i < header.length; i++) out[8 + lenBytes + i] = header.charCodeAt(i);
    out.set(payload, 8 + lenBytes + header.length);
    return out;
  }
  const head = (descr: string, shape: string, fortran = 'False') =>
    `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }\n`;
  const f32 = (...v: number[]) => new Uint8Array(Float32Array.from(v).buffer);

  it('bad magic, unknown version, malformed header: byte offsets', () => {
    const e = caught(() => parseNpy(new TextEncoder().encode('PK\u0003\u0004 not npy'), 'z.npy'));
    expect([e.code, e.offset]).toEqual(['bad_magic', 0]);
    expect(e.message).toMatch(/^z\.npy \(byte offset 0\): not an NPY file: it starts with 50 4b 03 04 20 6e instead of 93 4e 55 4d 50 59/);
    const good = npy(head('<f4', '(1,)'), f32(1));
    const bad = good.slice();
    bad[3] = 0;
    expect(caught(() => parseNpy(bad)).offset).toBe(3);
    const v9 = good.slice();
    v9[6] = 9;
    expect(caught(() => parseNpy(v9, 'v.npy')).message).toBe(
      'v.npy (byte offset 6): unsupported NPY format version 9.0 (1.0, 2.0 and 3.0 are supported)',
    );
    const noShape = caught(() => parseNpy(npy("{'descr': '<f4', 'fortran_order': False}\n", new Uint8Array()), 'm.npy'));
    expect([noShape.code, noShape.offset]).toEqual(['bad_header', 10]);
    expect(noShape.message).toMatch(/malformed NPY header \(missing shape\)/);
    expect(caught(() => parseNpy(npy(head('<f4', '(a, 2)'), new Uint8Array()))).code).toBe('bad_header');
  });

  it('unsupported dtypes and Fortran order', () => {
    const e = caught(() => parseNpy(npy(head('>f4', '(1,)'), f32(1)), 'be.npy'));
    expect([e.code, e.offset]).toEqual(['unsupported_dtype', 10]);
    expect(e.message).toMatch(
      /unsupported NPY dtype '>f4' \(big-endian data: convert with arr\.astype\("<f4"\)\); supported: <f4, <f8, <i4, <i8/,
    );
    for (const d of ['<f2', '|u1', '<c8', '|b1', '<U3'])
      expect(caught(() => parseNpy(npy(head(d, '(1,)'), f32(1)))).code).toBe('unsupported_dtype');
    const f = caught(() => readNpy(join(fixtures, 'fortran.npy')));
    expect([f.code, f.offset]).toEqual(['fortran_order', 10]);
    expect(f.message).toMatch(/Fortran \(column-major\) order; save it with np\.ascontiguousarray/);
    // A single row or column is the same in both orders.
    expect(Array.from(parseNpy(npy(head('<f4', '(1, 2)', 'True'), f32(1, 2))).data)).toEqual([1, 2]);
  });

  it('0-D and >2-D shapes are rejected', () => {
    expect(caught(() => parseNpy(npy(head('<f4', '()'), f32(1)))).message).toMatch(/shape \(\); only 1-D \(n,\) or 2-D \(n, d\)/);
    expect(caught(() => parseNpy(npy(head('<f4', '(1, 2, 2)'), f32(1, 2, 3, 4)))).code).toBe('bad_shape');
  });

  it('truncated preamble, header and data; trailing bytes', () => {
    const full = npy(head('<f4', '(3, 2)'), f32(1, 2, 3, 4, 5, 6));
    const cut = caught(() => parseNpy(full.subarray(0, full.length - 5), 't.npy'));
    expect([cut.code, cut.offset]).toEqual(['truncated', full.length - 5]);
    expect(cut.message).toMatch(
      /truncated NPY data: shape \(3, 2\) of <f4 needs 24 bytes from byte offset \d+, but the file ends at byte offset \d+ \(2 of 3 complete rows\)/,
    );
    expect(caught(() => parseNpy(full.subarray(0, 20))).message).toMatch(/truncated NPY header/);
    expect(caught(() => parseNpy(full.subarray(0, 9))).message).toMatch(/truncated NPY preamble/);
    expect(caught(() => parseNpy(full.subarray(0, 7))).offset).toBe(7);
    const long = new Uint8Array(full.length + 4);
    long.set(full);
    const t = caught(() => parseNpy(long));
    expect([t.code, t.offset]).toEqual(['trailing_bytes', full.length]);
    expect(caught(() => parseNpy(npy(head('<f4', '(2,)'), f32(1)), 'v2.npy')).code).toBe('truncated');
    expect(parseNpy(npy(head('<f4', '(2,)'), f32(1, 2), 2)).version).toEqual([2, 0]);
  });

  it('NaN, Inf and float64 overflow name the element and its byte offset', () => {
    const bytes = npy(head('<f4', '(2, 2)'), f32(1, 2, 3, Number.NaN));
    const e = caught(() => parseNpy(bytes, 'n.npy'));
    expect([e.code, e.offset]).toEqual(['non_finite', bytes.length - 4]);
    expect(e.message).toMatch(/element \[1, 1\] is NaN; NaN and Inf are not allowed in data/);
    const big = npy(head('<f8', '(1,)'), new Uint8Array(Float64Array.of(1e300).buffer));
    expect(caught(() => parseNpy(big)).message).toMatch(/element \[0\] is 1e\+300 overflows float32/);
    expect(caught(() => readNpy(join(dir, 'none.npy'))).code).toBe('not_found');
  });
});
