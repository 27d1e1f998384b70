/** Image models: a grid of samples and a strip of z_t frames, drawn from `imageGridRgba` (@nfdm/runtime/web). */
import { type ImageShapeMeta, imageGridRgba, type Trajectory } from '@nfdm/runtime/web';

/** Draw an RGBA grid of `n` image rows into a canvas (sized to it). */
export function drawGrid(canvas: HTMLCanvasElement, rows: ArrayLike<number>, n: number, image: ImageShapeMeta, columns?: number): void {
  const scale = Math.max(1, Math.floor(96 / Math.max(image.height, image.width)));
  const grid = imageGridRgba(rows, n, image, { columns, scale, gap: 2 });
  canvas.width = grid.width;
  canvas.height = grid.height;
  canvas.getContext('2d')?.putImageData(new ImageData(new Uint8ClampedArray(grid.data), grid.width, grid.height), 0, 0);
}

/**
 * The z_t frames of the first `rows` samples at `frames` evenly spaced steps of a trajectory
 * ([steps + 1, n, D], t = 1 first): one grid row per sample, t decreasing to the right.
 */
export function stripRows(
  trajectory: Trajectory,
  n: number,
  dim: number,
  rows: number,
  frames: number,
): { data: Float32Array; count: number } {
  const steps = trajectory.times.length - 1;
  const picks = Array.from({ length: frames }, (_, j) => Math.round((j * steps) / (frames - 1)));
  const r = Math.min(rows, n);
  const data = new Float32Array(r * frames * dim);
  for (let i = 0; i < r; i++) {
    picks.forEach((k, j) => {
      data.set(trajectory.states.subarray((k * n + i) * dim, (k * n + i + 1) * dim), (i * frames + j) * dim);
    });
  }
  return { data, count: r * frames };
}
