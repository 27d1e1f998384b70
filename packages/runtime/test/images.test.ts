/**
 * Image rows as pictures: the pixel map inverts the datasets' dequantisation (every pixel
 * p ∈ 0..255 and every u ∈ [0, 1) come back as p), the PNG grid decodes to the laid-out pixels
 * (grey and RGB, gaps, scale), and `nfdm.image` metadata round-trips and rejects bad shapes.
 */
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { imageGridPng, metadataToProps, type OnnxGraphMetadata, OnnxMetadataError, pixelOf, propsToMetadata } from '../src/index.js';

describe('pixelOf', () => {
  it('inverts x = 2(p + u)/256 − 1 for every pixel and several u', () => {
    for (let p = 0; p < 256; p++) for (const u of [0, 0.25, 0.5, 0.999]) expect(pixelOf(Math.fround((2 * (p + u)) / 256 - 1))).toBe(p);
  });
  it('clips out-of-range and non-finite values', () => {
    expect([pixelOf(-3), pixelOf(1), pixelOf(7), pixelOf(Number.NaN), pixelOf(Number.POSITIVE_INFINITY)]).toEqual([0, 255, 255, 0, 0]);
  });
});

describe('imageGridPng', () => {
  const value = (p: number) => (2 * (p + 0.5)) / 256 - 1;
  it('lays out grey images columns per row, with gaps and scale', () => {
    const H = 2;
    const W = 3;
    const n = 5;
    const rows = Float32Array.from({ length: n * H * W }, (_, i) => value((i * 7) % 256));
    const png = PNG.sync.read(
      Buffer.from(imageGridPng(rows, n, { height: H, width: W, channels: 1 }, { columns: 2, gap: 1, scale: 2, background: 9 })),
    );
    expect([png.width, png.height]).toEqual([2 * 6 + 3, 3 * 4 + 4]);
    for (let k = 0; k < n; k++) {
      const x0 = 1 + (k % 2) * 7;
      const y0 = 1 + Math.floor(k / 2) * 5;
      for (let y = 0; y < 2 * H; y++)
        for (let x = 0; x < 2 * W; x++) {
          const at = ((y0 + y) * png.width + x0 + x) * 4;
          const p = (((k * H + Math.floor(y / 2)) * W + Math.floor(x / 2)) * 7) % 256;
          expect([png.data[at], png.data[at + 1], png.data[at + 2], png.data[at + 3]]).toEqual([p, p, p, 255]);
        }
    }
    // the sixth cell is empty background, and so are the gaps
    expect(png.data[((1 + 2 * 5) * png.width + 1 + 7) * 4]).toBe(9);
    expect(png.data[0]).toBe(9);
  });

  it('writes RGB images channel by channel', () => {
    const rows = Float32Array.from([value(10), value(20), value(30), value(40), value(50), value(60)]);
    const png = PNG.sync.read(Buffer.from(imageGridPng(rows, 1, { height: 1, width: 2, channels: 3 }, { gap: 0 })));
    expect([png.width, png.height]).toEqual([2, 1]);
    expect(Array.from(png.data)).toEqual([10, 20, 30, 255, 40, 50, 60, 255]);
  });

  it('rejects too few values and bad options', () => {
    expect(() => imageGridPng(new Float32Array(3), 1, { height: 2, width: 2, channels: 1 })).toThrow(/need 4 values, got 3/);
    expect(() => imageGridPng(new Float32Array(4), 0, { height: 2, width: 2, channels: 1 })).toThrow(/positive integer/);
    expect(() => imageGridPng(new Float32Array(4), 1, { height: 2, width: 2, channels: 1 }, { scale: 0 })).toThrow(/scale/);
    expect(() => imageGridPng(new Float32Array(8), 1, { height: 2, width: 2, channels: 2 })).toThrow(/not 2 channels/);
  });
});

describe('nfdm.image metadata', () => {
  const base: OnnxGraphMetadata = {
    format: 'nfdm-onnx/1',
    version: '0',
    graph: 'velocity',
    kind: 'fixed',
    dim: 12,
    forwardKind: 'fixed',
    forward: {},
    volatility: {},
    priorStd: 1,
    tStart: 0,
    signature: { inputs: [], outputs: [] },
  };
  it('round-trips (any channel count: a 2-channel model has no PNG, but its rows are still images)', () => {
    const m = { ...base, image: { height: 2, width: 2, channels: 3 } };
    expect(propsToMetadata(metadataToProps(m)).image).toEqual({ height: 2, width: 2, channels: 3 });
    expect(propsToMetadata(metadataToProps({ ...base, image: { height: 2, width: 3, channels: 2 } })).image).toEqual({
      height: 2,
      width: 3,
      channels: 2,
    });
    expect(propsToMetadata(metadataToProps(base)).image).toBeUndefined();
  });
  it('rejects shapes that do not make D or are not positive integers', () => {
    for (const image of [
      { height: 2, width: 3, channels: 1 },
      { height: 3, width: 1, channels: 5 },
      { height: 2, width: 4, channels: 1.5 },
      { height: 0, width: 12, channels: 1 },
    ]) {
      const props = { ...metadataToProps(base), 'nfdm.image': JSON.stringify(image) };
      expect(() => propsToMetadata(props)).toThrow(OnnxMetadataError);
      expect(() => propsToMetadata(props)).toThrow(/height·width·channels = 12/);
    }
  });
});
