/**
 * Image rows as pictures: a model whose metadata has `nfdm.image` draws rows of D = H·W·C
 * values, each an NHWC image in [−1, 1) (the data convention of @nfdm/datasets: a pixel p of
 * 0..255 was dequantised to x = 2(p + u)/256 − 1, u ∈ [0, 1)). These helpers undo that map —
 * p = ⌊128 (x + 1)⌋ clipped to 0..255 — and lay samples out as an RGBA grid (no Node built-ins:
 * a browser draws it as ImageData, images.ts encodes it as PNG).
 */
import type { ImageShapeMeta } from './metadata.js';
/** The 0..255 pixel of a data value x ∈ [−1, 1): ⌊128 (x + 1)⌋, clipped (non-finite values → 0). */
export function pixelOf(x: number): number {
  if (!Number.isFinite(x)) return 0;
  return Math.max(0, Math.min(255, Math.floor(128 * (x + 1))));
}

/** Rows [n, H·W·C] → pixels [n, H, W, C] as bytes (see {@link pixelOf}). */
export function rowsToPixels(rows: ArrayLike<number>, n: number, image: ImageShapeMeta): Uint8Array {
  const size = n * image.height * image.width * image.channels;
  if (rows.length < size)
    throw new RangeError(`${n} images of ${image.height}×${image.width}×${image.channels} need ${size} values, got ${rows.length}`);
  return Uint8Array.from({ length: size }, (_, i) => pixelOf(rows[i]));
}

/** Options of {@link imageGridRgba} and `imageGridPng`. */
export interface ImageGridOptions {
  /** Images per grid row (default ⌈√n⌉). */
  columns?: number;
  /** Pixels between images (default 2), filled with `background`. */
  gap?: number;
  /** Every image pixel becomes a scale × scale block (default 1). */
  scale?: number;
  /** Grey level of the gaps, 0..255 (default 255). */
  background?: number;
}

/** An RGBA picture: `data` holds width·height·4 bytes, row-major (the layout of ImageData and PNG). */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/**
 * n image rows (values in [−1, 1), NHWC, row-major) laid out `columns` per grid row as RGBA:
 * 1-channel images as grey, 3-channel as RGB.
 */
export function imageGridRgba(rows: ArrayLike<number>, n: number, image: ImageShapeMeta, options: ImageGridOptions = {}): RgbaImage {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`imageGrid: n must be a positive integer, got ${n}`);
  const { height: H, width: W, channels: C } = image;
  if (C !== 1 && C !== 3) throw new RangeError(`imageGrid draws 1-channel (grey) or 3-channel (RGB) images, not ${C} channels`);
  const columns = Math.min(n, options.columns ?? Math.ceil(Math.sqrt(n)));
  const gridRows = Math.ceil(n / columns);
  const gap = options.gap ?? 2;
  const scale = options.scale ?? 1;
  if (!Number.isInteger(columns) || columns < 1 || !Number.isInteger(gap) || gap < 0 || !Number.isInteger(scale) || scale < 1)
    throw new RangeError('imageGrid: columns and scale must be positive integers and gap a non-negative integer');
  const pixels = rowsToPixels(rows, n, image);
  const cellW = W * scale;
  const cellH = H * scale;
  const width = columns * cellW + (columns + 1) * gap;
  const height = gridRows * cellH + (gridRows + 1) * gap;
  const data = new Uint8Array(width * height * 4).fill(options.background ?? 255);
  for (let k = 0; k < n; k++) {
    const x0 = gap + (k % columns) * (cellW + gap);
    const y0 = gap + Math.floor(k / columns) * (cellH + gap);
    for (let y = 0; y < cellH; y++) {
      for (let x = 0; x < cellW; x++) {
        const src = ((k * H + Math.floor(y / scale)) * W + Math.floor(x / scale)) * C;
        const dst = ((y0 + y) * width + x0 + x) * 4;
        data[dst] = pixels[src];
        data[dst + 1] = pixels[src + (C === 3 ? 1 : 0)];
        data[dst + 2] = pixels[src + (C === 3 ? 2 : 0)];
        data[dst + 3] = 255;
      }
    }
  }
  return { width, height, data };
}
