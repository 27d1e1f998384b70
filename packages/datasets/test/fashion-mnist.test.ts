import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Rng } from '@nfdm/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DatasetError,
  dequantizationOffsetNats,
  downsample2x,
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_DEFAULT_DIR,
  fashionMnist,
  fashionMnistDir,
  type ImageSet,
  imagesToMatrix,
  loadFashionMnist,
  parseIdx,
  readIdx,
} from '../src/index.js';
import { byteSum, classCounts, FASHION_MNIST_FIXTURE } from './fixture.js';

/** Bitwise equality of two float arrays (vitest's deep equality is slow for 10⁵+ elements). */
function same(a: Float32Array, b: Float32Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

/** Catch the DatasetError thrown by `f`. */
function caught(f: () => unknown): DatasetError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DatasetError);
    return e as DatasetError;
  }
  throw new Error('expected a DatasetError, nothing was thrown');
}

// The full 60,000 / 10,000 files (Debian's dataset-fashion-mnist) are checked by the system
// suite, test/system/fashion-mnist-full.test.ts; these tests read the committed subset.
describe('Fashion-MNIST from the committed IDX subset (fixtures/fashion-mnist)', () => {
  let train: ImageSet;
  let test: ImageSet;
  beforeAll(() => {
    train = loadFashionMnist({ dir: FASHION_MNIST_FIXTURE, split: 'train' });
    test = loadFashionMnist({ dir: FASHION_MNIST_FIXTURE, split: 'test' });
  });

  it('has 300 / 200 images of 28×28×1 with their labels, read from the gzipped originals', () => {
    expect([train.n, train.height, train.width, train.channels, train.pixels.length]).toEqual([300, 28, 28, 1, 300 * 784]);
    expect([test.n, test.height, test.width, test.channels, test.pixels.length]).toEqual([200, 28, 28, 1, 200 * 784]);
    expect(classCounts(train.labels)).toEqual([32, 33, 31, 29, 29, 31, 33, 30, 27, 25]);
    expect(classCounts(test.labels)).toEqual([20, 27, 27, 17, 21, 16, 16, 20, 18, 18]);
    expect(train.files).toEqual({
      images: join(FASHION_MNIST_FIXTURE, 'train-images-idx3-ubyte.gz'),
      labels: join(FASHION_MNIST_FIXTURE, 'train-labels-idx1-ubyte.gz'),
    });
    expect(test.files.images).toBe(join(FASHION_MNIST_FIXTURE, 't10k-images-idx3-ubyte.gz'));
  });

  it('is real Fashion-MNIST: the published first labels and first-image checksums of both splits', () => {
    // Facts of the full data set (also checked against it by the system suite).
    expect(FASHION_MNIST_CLASSES[train.labels[0]]).toBe('Ankle boot');
    expect(Array.from(train.labels.subarray(0, 10))).toEqual([9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    expect(Array.from(test.labels.subarray(0, 10))).toEqual([9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
    expect(byteSum(train.pixels.subarray(0, 784))).toBe(76_247); // first training image
    expect(byteSum(test.pixels.subarray(0, 784))).toBe(33_456); // first test image
    // Checksums of the subset as committed.
    expect(byteSum(train.pixels)).toBe(17_481_620);
    expect(byteSum(test.pixels)).toBe(11_795_585);
    expect(byteSum(train.pixels.subarray(299 * 784))).toBe(58_490); // last image of the subset
    // Clothing on a black background: the border is almost empty, the centre is not.
    let border = 0;
    let centre = 0;
    for (let i = 0; i < test.n; i++) {
      border += test.pixels[i * 784] + test.pixels[i * 784 + 27];
      centre += test.pixels[i * 784 + 14 * 28 + 14];
    }
    expect(border / (2 * test.n)).toBeLessThan(5);
    expect(centre / test.n).toBeGreaterThan(60);
  });

  it('NFDM_FASHION_MNIST_DIR replaces the default directory', () => {
    const saved = process.env.NFDM_FASHION_MNIST_DIR;
    try {
      process.env.NFDM_FASHION_MNIST_DIR = FASHION_MNIST_FIXTURE;
      expect(fashionMnistDir()).toBe(FASHION_MNIST_FIXTURE);
      const viaEnv = loadFashionMnist({ split: 'test', limit: 3 });
      expect(viaEnv.files.images).toBe(join(FASHION_MNIST_FIXTURE, 't10k-images-idx3-ubyte.gz'));
      expect(Array.from(viaEnv.labels)).toEqual([9, 2, 1]);
      delete process.env.NFDM_FASHION_MNIST_DIR;
      expect(fashionMnistDir()).toBe(FASHION_MNIST_DEFAULT_DIR);
    } finally {
      if (saved === undefined) delete process.env.NFDM_FASHION_MNIST_DIR;
      else process.env.NFDM_FASHION_MNIST_DIR = saved;
    }
  });

  it('downsamples 2× by rounded 2×2 means to 14×14 uint8', () => {
    const small = downsample2x(test);
    expect([small.n, small.height, small.width, small.channels, small.pixels.length]).toEqual([200, 14, 14, 1, 200 * 196]);
    expect(small.labels).toBe(test.labels);
    for (const [i, y, x] of [
      [0, 0, 0],
      [0, 7, 7],
      [123, 13, 5],
      [199, 6, 13],
    ]) {
      const at = (yy: number, xx: number) => test.pixels[i * 784 + yy * 28 + xx];
      const s = at(2 * y, 2 * x) + at(2 * y, 2 * x + 1) + at(2 * y + 1, 2 * x) + at(2 * y + 1, 2 * x + 1);
      expect(small.pixels[i * 196 + y * 14 + x]).toBe(Math.floor((s + 2) / 4));
    }
    expect(Math.abs(byteSum(small.pixels) * 4 - byteSum(test.pixels)) / byteSum(test.pixels)).toBeLessThan(0.002);
  });

  it('dequantises into each pixel bin, scaled to [−1, 1), seeded', () => {
    const m = imagesToMatrix(test, { seed: 3 });
    expect([m.n, m.dim, m.imageShape]).toEqual([200, 784, [28, 28, 1]]);
    let lo = 1;
    let hi = -1;
    let outOfBin = 0;
    let offset = 0;
    for (let i = 0; i < m.data.length; i++) {
      const v = m.data[i];
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
      const u = (v + 1) * 128 - test.pixels[i];
      if (!(u >= 0 && u < 1)) outOfBin++;
      offset += u;
    }
    expect(outOfBin).toBe(0);
    expect(lo).toBeGreaterThanOrEqual(-1);
    expect(hi).toBeLessThan(1);
    expect(offset / m.data.length).toBeCloseTo(0.5, 2); // E u = 1/2
    expect(same(imagesToMatrix(test, { seed: 3 }).data, m.data)).toBe(true);
    expect(same(imagesToMatrix(test, { seed: 4 }).data, m.data)).toBe(false);
    const centres = imagesToMatrix(test, { dequantize: false });
    expect(centres.data[0]).toBe((test.pixels[0] + 0.5) / 128 - 1);
    expect(dequantizationOffsetNats(784)).toBeCloseTo(784 * Math.log(128), 9);
  });

  it('float32 rounding never lifts a value onto the upper edge of its bin (u → 1)', () => {
    const all: ImageSet = {
      pixels: Uint8Array.from({ length: 256 }, (_, p) => p),
      labels: new Uint8Array(1),
      n: 1,
      height: 16,
      width: 16,
      channels: 1,
      files: {},
    };
    const fixed = (u: number) => ({ uniform: () => u, normal: () => 0, int: () => 0 }) as unknown as Rng;
    const top = imagesToMatrix(all, { seed: fixed(1 - 2 ** -24) }).data; // the largest uniform Rng can return
    const bottom = imagesToMatrix(all, { seed: fixed(0) }).data;
    let bad = 0;
    for (let p = 0; p < 256; p++) {
      if (!(top[p] < (p + 1) / 128 - 1 && top[p] >= p / 128 - 1)) bad++;
      if (bottom[p] !== p / 128 - 1) bad++;
    }
    expect(bad).toBe(0);
    expect(top[255]).toBeLessThan(1);
    expect(top[255]).toBeGreaterThan(1 - 1e-7);
  });

  it('fashionMnist() loads, downsamples and flattens in one call', () => {
    const m = fashionMnist({ dir: FASHION_MNIST_FIXTURE, split: 'test', limit: 50, downsample: true, seed: 1 });
    expect([m.n, m.dim, m.imageShape, m.labels.length]).toEqual([50, 196, [14, 14, 1], 50]);
    expect(Math.min(...m.data)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...m.data)).toBeLessThan(1);
  });
});

describe('IDX reader errors (synthetic files)', () => {
  let dir: string;
  const idx = (magic: number, dims: number[], payload: Uint8Array) => {
    const head = new Uint8Array(4 + 4 * dims.length);
    const view = new DataView(head.buffer);
    view.setUint32(0, magic, false);
    dims.forEach((d, i) => {
      view.setUint32(4 + 4 * i, d, false);
    });
    const out = new Uint8Array(head.length + payload.length);
    out.set(head);
    out.set(payload, head.length);
    return out;
  };
  const images = (n: number) =>
    idx(
      0x803,
      [n, 4, 4],
      Uint8Array.from({ length: n * 16 }, (_, i) => (i * 7) % 256),
    );
  const labels = (values: number[]) => idx(0x801, [values.length], Uint8Array.from(values));
  const write = (name: string, bytes: Uint8Array, gzip = true) => {
    const sub = mkdtempSync(join(dir, `${name}-`));
    return (file: string, content: Uint8Array = bytes, gz = gzip) => {
      writeFileSync(join(sub, file), gz ? gzipSync(content) : content);
      return sub;
    };
  };
  /** A directory with a valid test split, with `override` replacing one file's bytes. */
  const split = (name: string, override?: { file: 'images' | 'labels'; bytes: Uint8Array; raw?: boolean }) => {
    const put = write(name, new Uint8Array());
    let sub = '';
    for (const kind of ['images', 'labels'] as const) {
      const file = `t10k-${kind}-idx${kind === 'images' ? 3 : 1}-ubyte.gz`;
      const bytes = override?.file === kind ? override.bytes : kind === 'images' ? images(3) : labels([0, 9, 4]);
      sub = put(file, bytes, !(override?.file === kind && override.raw));
    }
    return sub;
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'nfdm-idx-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a small valid split (gzip, and uncompressed files without .gz)', () => {
    const set = loadFashionMnist({ dir: split('ok'), split: 'test' });
    expect([set.n, set.height, set.width, Array.from(set.labels)]).toEqual([3, 4, 4, [0, 9, 4]]);
    expect(set.pixels[17]).toBe((17 * 7) % 256);
    const rawDir = mkdtempSync(join(dir, 'raw-'));
    writeFileSync(join(rawDir, 't10k-images-idx3-ubyte'), images(3));
    writeFileSync(join(rawDir, 't10k-labels-idx1-ubyte'), labels([1, 2, 3]));
    expect(Array.from(loadFashionMnist({ dir: rawDir, split: 'test' }).labels)).toEqual([1, 2, 3]);
    expect(loadFashionMnist({ dir: rawDir, split: 'test', limit: 2 }).n).toBe(2);
  });

  it('wrong magic number: names the file and byte offset 0', () => {
    const sub = split('magic', { file: 'images', bytes: labels([1, 2, 3]) });
    const e = caught(() => loadFashionMnist({ dir: sub, split: 'test' }));
    expect(e.code).toBe('bad_magic');
    expect(e.offset).toBe(0);
    expect(e.file).toBe(join(sub, 't10k-images-idx3-ubyte.gz'));
    expect(e.message).toBe(
      `${join(sub, 't10k-images-idx3-ubyte.gz')} (byte offset 0): wrong IDX magic number 0x00000801, expected 0x00000803 ` +
        '(that is an IDX labels file; images were expected)',
    );
    expect(() => parseIdx(Uint8Array.of(0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0), 0x801, 'x.idx')).toThrow(
      'x.idx (byte offset 0): wrong IDX magic number 0x12345678, expected 0x00000801',
    );
  });

  it('truncated data and header: the offset is where the data end', () => {
    const full = images(3);
    const sub = split('trunc', { file: 'images', bytes: full.subarray(0, full.length - 5) });
    const e = caught(() => loadFashionMnist({ dir: sub, split: 'test' }));
    expect([e.code, e.offset]).toEqual(['truncated', full.length - 5]);
    expect(e.message).toMatch(
      /t10k-images-idx3-ubyte\.gz \(byte offset 59\): truncated IDX data: the header \[3, 4, 4\] needs 48 bytes from byte offset 16/,
    );
    expect(e.message).toMatch(/2 of 3 complete items/);
    const h = caught(() => parseIdx(full.subarray(0, 10), 0x803, 'h.idx'));
    expect([h.code, h.offset]).toEqual(['truncated', 10]);
    expect(h.message).toMatch(/truncated IDX header/);
    expect(caught(() => parseIdx(Uint8Array.of(0, 0), 0x803)).code).toBe('truncated');
  });

  it('trailing bytes after the data', () => {
    const full = images(3);
    const longer = new Uint8Array(full.length + 3);
    longer.set(full);
    const e = caught(() => parseIdx(longer, 0x803, 'long.idx'));
    expect([e.code, e.offset]).toEqual(['trailing_bytes', full.length]);
  });

  it('count mismatch between images and labels', () => {
    const sub = split('count', { file: 'labels', bytes: labels([1, 2]) });
    const e = caught(() => loadFashionMnist({ dir: sub, split: 'test' }));
    expect(e.code).toBe('count_mismatch');
    expect(e.file).toBe(join(sub, 't10k-labels-idx1-ubyte.gz'));
    expect(e.message).toMatch(/labels file has 2 labels but the images file .*t10k-images-idx3-ubyte\.gz has 3 images/);
  });

  it('labels outside 0..9', () => {
    const sub = split('label', { file: 'labels', bytes: labels([1, 12, 3]) });
    const e = caught(() => loadFashionMnist({ dir: sub, split: 'test' }));
    expect([e.code, e.offset]).toEqual(['bad_value', 9]);
    expect(e.message).toMatch(/label 12 of item 1/);
  });

  it('a .gz file that is not gzip, and a corrupt gzip stream', () => {
    const sub = split('notgz', { file: 'images', bytes: images(3), raw: true });
    const e = caught(() => loadFashionMnist({ dir: sub, split: 'test' }));
    expect([e.code, e.offset]).toEqual(['not_gzip', 0]);
    expect(e.message).toMatch(/t10k-images-idx3-ubyte\.gz \(byte offset 0\): not a gzip file: it starts with 00 00 instead of 1f 8b/);
    const file = join(dir, 'cut.gz');
    const gz = gzipSync(images(3));
    writeFileSync(file, gz.subarray(0, gz.length - 12));
    const c = caught(() => readIdx(file, 0x803));
    expect(c.code).toBe('corrupt_gzip');
    expect(c.message).toMatch(/cut\.gz: the gzip stream \(\d+ compressed bytes\) is corrupt or truncated/);
  });

  it('a missing directory says which package to install', () => {
    const e = caught(() => loadFashionMnist({ dir: join(dir, 'nowhere') }));
    expect(e.code).toBe('not_found');
    expect(e.message).toMatch(/train-images-idx3-ubyte\.gz not found in .*nowhere; install the Debian package dataset-fashion-mnist/);
    expect(() => loadFashionMnist({ split: 'val' as 'test' })).toThrow(/split must be 'train' or 'test'/);
  });
});
