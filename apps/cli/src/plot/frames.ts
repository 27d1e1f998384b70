/**
 * Image trajectories as a strip of frames: one row per particle, one column per chosen time,
 * each cell the whole image z_t (rather than one pixel over time).
 */
import { imageGridSvg } from './svg.js';

/**
 * `count` indices spread evenly over 0…T−1, both ends included (all T when count ≥ T);
 * round(k (T − 1) / (count − 1)) for k = 0…count−1, duplicates removed.
 */
export function frameIndices(T: number, count: number): number[] {
  if (T <= 0) return [];
  if (count >= T) return Array.from({ length: T }, (_, k) => k);
  if (count <= 1) return [T - 1];
  const picked = Array.from({ length: count }, (_, k) => Math.round((k * (T - 1)) / (count - 1)));
  return [...new Set(picked)];
}

/**
 * Image trajectories as a grid: `paths` row-major [T, n, h·w·c] at `times` (length T), pixels in
 * [−1, 1] (shown as (v + 1) / 2, clamped). Row r shows particle r (up to `rows`), column c its
 * image at time `times[idx[c]]` for `frames` evenly spread indices, labelled `t = …`.
 */
export function imageFramesSvg(
  paths: ArrayLike<number>,
  times: ArrayLike<number>,
  n: number,
  shape: [number, number] | [number, number, number],
  options: { rows?: number; frames?: number; title?: string } = {},
): string {
  const [h, w] = shape;
  const channels = shape[2] ?? 1;
  const D = h * w * channels;
  const T = times.length;
  if (paths.length !== T * n * D) throw new RangeError(`imageFramesSvg: paths must be [${T}, ${n}, ${D}], got ${paths.length} values`);
  const rows = Math.min(n, options.rows ?? 8);
  const idx = frameIndices(T, options.frames ?? 10);
  const pixels = new Float32Array(rows * idx.length * D);
  for (let r = 0; r < rows; r++) {
    idx.forEach((k, c) => {
      const from = (k * n + r) * D;
      const to = (r * idx.length + c) * D;
      for (let j = 0; j < D; j++) pixels[to + j] = (paths[from + j] + 1) / 2;
    });
  }
  const tLabel = (t: number) => `t = ${Math.abs(t) >= 0.01 || t === 0 ? t.toFixed(2) : Number(t.toPrecision(2))}`;
  return imageGridSvg(pixels, rows * idx.length, h, w, {
    channels,
    cols: idx.length,
    scale: Math.max(2, Math.round(56 / w)),
    title: options.title,
    columnLabels: idx.map((k) => tLabel(times[k])),
  });
}
