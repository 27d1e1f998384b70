/** Image sample grids as PNG files (pngjs; Node): the RGBA grid of pixels.ts, encoded. */
import { PNG } from 'pngjs';
import type { ImageShapeMeta } from './metadata.js';
import { type ImageGridOptions, imageGridRgba } from './pixels.js';

/**
 * A PNG of n image rows (values in [−1, 1), NHWC, row-major) laid out `columns` per grid row:
 * 1-channel images as grey, 3-channel as RGB. Returns the PNG file's bytes.
 */
export function imageGridPng(rows: ArrayLike<number>, n: number, image: ImageShapeMeta, options: ImageGridOptions = {}): Uint8Array {
  const grid = imageGridRgba(rows, n, image, options);
  const png = new PNG({ width: grid.width, height: grid.height });
  png.data.set(grid.data);
  return new Uint8Array(PNG.sync.write(png));
}
