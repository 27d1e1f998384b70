/**
 * `nfdm sample --labels … --out FILE.png` for label-conditional models: image models get a
 * class-by-class grid (one row per class asked, that class's samples left to right); 2-D models a
 * scatter plot of the samples coloured by their label.
 */
import type { DataMatrix } from '@nfdm/datasets';
import { type ClassGridRow, classGridSvg } from '../plot/class-grid.js';
import { fitBounds, type PointSeries, scatterSvg } from '../plot/svg.js';
import type { DataInfo } from './data.js';
import { imageShapeOf } from './plotting.js';

/** Ten distinguishable colours (one per class; more classes reuse them). */
export const CLASS_COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

/** The rows of each class in order of first appearance: class → row indices. */
export function rowsByClass(labels: readonly number[]): Map<number, number[]> {
  const by = new Map<number, number[]>();
  labels.forEach((k, i) => {
    const rows = by.get(k) ?? [];
    rows.push(i);
    by.set(k, rows);
  });
  return new Map([...by.entries()].sort((a, b) => a[0] - b[0]));
}

/** A class's name for the plot: `k name` when names are known, else `class k`. */
const className = (k: number, names?: readonly string[]) => (names?.[k] ? `${k} ${names[k]}` : `class ${k}`);

/**
 * The plot of labelled samples (data units; `labels[i]` is the label of row i): a class grid for
 * images (pixels (v + 1)/2), a scatter coloured by label for 2-D data. Undefined for other data.
 */
export function classSamplesSvg(
  samples: DataMatrix,
  labels: readonly number[],
  info: DataInfo | undefined,
  title: string,
  names?: readonly string[],
): string | undefined {
  const byClass = rowsByClass(labels);
  const image = imageShapeOf(info);
  if (image) {
    const [h, w, C] = image;
    const D = h * w * C;
    const rows: ClassGridRow[] = [...byClass.entries()].map(([k, idx]) => {
      const pixels = new Float32Array(idx.length * D);
      idx.forEach((i, c) => {
        for (let d = 0; d < D; d++) pixels[c * D + d] = (samples.data[i * D + d] + 1) / 2;
      });
      return { label: className(k, names), pixels, count: idx.length };
    });
    return classGridSvg(rows, h, w, { title, channels: C, scale: Math.max(2, Math.round(56 / w)) });
  }
  if (samples.dim !== 2) return undefined;
  const series: PointSeries[] = [...byClass.entries()].map(([k, idx]) => {
    const points = new Float32Array(idx.length * 2);
    idx.forEach((i, j) => {
      points[2 * j] = samples.data[2 * i];
      points[2 * j + 1] = samples.data[2 * i + 1];
    });
    return {
      points,
      color: CLASS_COLOURS[k % CLASS_COLOURS.length],
      label: `${className(k, names)} (${idx.length})`,
      opacity: 0.6,
      radius: 1.8,
    };
  });
  return scatterSvg(series, { title, bounds: fitBounds(series.map((s) => s.points)), equalAspect: true });
}
