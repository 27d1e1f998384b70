/**
 * PNG folders: decoding, grey/RGB channels, alpha over black, area resizing (block means for
 * integer factors — an exact oracle), the `DIR@HxW[xC]` spec, dequantisation into each pixel's bin,
 * and one clear error per bad input.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataset, parseImageFolderSpec, readImageFolder, resizeArea } from '../src/index.js';

let dir: string;

/** Write an RGBA PNG from a function of (x, y) → [r, g, b, a]. */
function writePng(path: string, w: number, h: number, px: (x: number, y: number) => [number, number, number, number]): void {
  const png = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) png.data.set(px(x, y), 4 * (y * w + x));
  writeFileSync(path, PNG.sync.write(png));
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nfdm-png-'));
  const grey = join(dir, 'grey');
  const rgb = join(dir, 'rgb');
  for (const d of [grey, rgb, join(dir, 'empty'), join(dir, 'bad')]) mkdirSync(d);
  // 4×4 grey images with values 16·(y·4 + x) + k.
  for (let k = 0; k < 3; k++)
    writePng(join(grey, `img-${k}.png`), 4, 4, (x, y) => [16 * (y * 4 + x) + k, 16 * (y * 4 + x) + k, 16 * (y * 4 + x) + k, 255]);
  writePng(join(rgb, 'a.png'), 2, 2, (x) => (x === 0 ? [200, 100, 50, 255] : [10, 20, 30, 128]));
  writeFileSync(join(dir, 'bad', 'x.png'), 'not a png');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('PNG image folders', () => {
  it('grey images: one channel, pixels as written, sorted by name', () => {
    const set = readImageFolder(join(dir, 'grey'));
    expect([set.n, set.height, set.width, set.channels]).toEqual([3, 4, 4, 1]);
    expect(Array.from(set.pixels.subarray(16, 32))).toEqual(Array.from({ length: 16 }, (_, i) => 16 * i + 1));
  });

  it('area resizing by 2 gives 2×2 block means (rounded to 8 bits)', () => {
    const set = readImageFolder(join(dir, 'grey'), { size: [2, 2] });
    const v = (x: number, y: number) => 16 * (y * 4 + x);
    const block = (bx: number, by: number) =>
      Math.round((v(2 * bx, 2 * by) + v(2 * bx + 1, 2 * by) + v(2 * bx, 2 * by + 1) + v(2 * bx + 1, 2 * by + 1)) / 4);
    expect(Array.from(set.pixels.subarray(0, 4))).toEqual([block(0, 0), block(1, 0), block(0, 1), block(1, 1)]);
    // Fractional areas: a 3-wide row resized to 2 averages 1.5 pixels each.
    expect(Array.from(resizeArea(Float64Array.from([0, 30, 60]), 1, 3, 1, 2))).toEqual([10, 50]);
  });

  it('colour images: three channels by default; alpha composited over black; luminance when one channel is asked', () => {
    const rgb = readImageFolder(join(dir, 'rgb'));
    expect(rgb.channels).toBe(3);
    expect(Array.from(rgb.pixels.subarray(0, 6))).toEqual([
      200,
      100,
      50,
      Math.round((10 * 128) / 255),
      Math.round((20 * 128) / 255),
      Math.round((30 * 128) / 255),
    ]);
    const grey = readImageFolder(join(dir, 'rgb'), { channels: 1 });
    expect(grey.pixels[0]).toBe(Math.round(0.299 * 200 + 0.587 * 100 + 0.114 * 50));
  });

  it('loadDataset: DIR@HxW[xC] rows dequantised into each pixel bin; image shape and source', () => {
    const d = loadDataset(`${join(dir, 'grey')}@2x2`, { seed: 3 });
    expect(d.kind).toBe('image');
    expect(d.imageShape).toEqual([2, 2, 1]);
    const set = readImageFolder(join(dir, 'grey'), { size: [2, 2] });
    for (let i = 0; i < d.data.length; i++) {
      const p = set.pixels[i];
      expect(d.data[i]).toBeGreaterThanOrEqual(p / 128 - 1);
      expect(d.data[i]).toBeLessThan((p + 1) / 128 - 1);
    }
    expect(d.source).toMatch(/PNG folder .*: 3 images 2×2×1 → 3 × 4/);
    expect(parseImageFolderSpec(`${join(dir, 'rgb')}@8x6x3`)).toEqual({ dir: join(dir, 'rgb'), size: [8, 6], channels: 3 });
    expect(parseImageFolderSpec(join(dir, 'nope'))).toBeUndefined();
  });

  it('refuses bad sizes, empty folders and files that are not PNGs', () => {
    expect(() => parseImageFolderSpec(`${join(dir, 'grey')}@28`)).toThrow(/must look like DIR@28x28/);
    expect(() => readImageFolder(join(dir, 'empty'))).toThrow(/no \.png images/);
    expect(() => readImageFolder(join(dir, 'bad'))).toThrow(/x\.png: .*not a readable PNG image/);
  });
});
