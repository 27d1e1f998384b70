/** The data behind `nfdm plot` and `nfdm demo` figures, and writing SVG / PNG files. */
import { Rng } from '@nfdm/core';
import type { DataMatrix } from '@nfdm/datasets';
import { standardize, unstandardize } from '@nfdm/models';
import * as tf from '@tensorflow/tfjs';
import { panelsSvg } from '../plot/compose.js';
import { imageFramesSvg } from '../plot/frames.js';
import { type ColourRange, densityHeatmapSvg, logDensityRange } from '../plot/heatmap.js';
import { svgToPng } from '../plot/png.js';
import {
  type Bounds,
  coordinateOverTimeSvg,
  type Disc,
  finiteRange,
  fitBounds,
  imageGridSvg,
  type PointSeries,
  scatterSvg,
  trajectorySvg,
} from '../plot/svg.js';
import { bridgeEvaluationData, type DataInfo, pairRows } from './data.js';
import { CliError } from './errors.js';
import { writeBytes } from './files.js';
import type { Progress } from './progress.js';
import { logDensity, type OpenedModel, operationsOf, standardizationOf } from './runtime.js';

/** Write an SVG as .svg, or render it to .png (optionally `width` pixels wide). */
export function writePlot(path: string, format: 'svg' | 'png', svg: string, width?: number): void {
  const bytes = format === 'svg' ? new TextEncoder().encode(svg) : svgToPng(svg, width);
  writeBytes(path, bytes);
}

/** [height, width, channels] of image data (known from the data the model was trained on). */
export function imageShapeOf(info: DataInfo | undefined): [number, number, number] | undefined {
  if (info?.imageShape) return [info.imageShape[0], info.imageShape[1], info.imageShape[2] ?? 1];
  return undefined;
}

/**
 * Samples over data (2-D, equal aspect), an image grid (images), or the first two coordinates
 * (other D). The data are drawn on top, small and dark, so both sets stay visible where they overlap.
 */
export function samplesSvg(
  samples: DataMatrix,
  data: DataMatrix | undefined,
  info: DataInfo | undefined,
  title: string,
  bounds?: Bounds,
): string {
  const image = imageShapeOf(info);
  if (image) {
    const [h, w, channels] = image;
    const n = Math.min(samples.n, 100);
    const pixels = Float32Array.from(samples.data.subarray(0, n * h * w * channels), (v) => (v + 1) / 2);
    return imageGridSvg(pixels, n, h, w, { title, channels, scale: Math.max(2, Math.round(96 / w)) });
  }
  const xy = (m: DataMatrix): Float32Array => {
    if (m.dim === 2) return m.data as Float32Array;
    const out = new Float32Array(m.n * 2);
    for (let i = 0; i < m.n; i++) {
      out[2 * i] = m.data[i * m.dim];
      out[2 * i + 1] = m.data[i * m.dim + Math.min(1, m.dim - 1)];
    }
    return out;
  };
  const series: PointSeries[] = [{ points: xy(samples), color: '#1f77b4', label: `samples (${samples.n})`, opacity: 0.4, radius: 1.8 }];
  if (data) series.push({ points: xy(data), color: '#222222', label: `data (${data.n})`, opacity: 0.55, radius: 0.9 });
  const names = info?.columns?.length === samples.dim ? info.columns : undefined;
  const frame = {
    title,
    bounds: bounds ?? fitBounds(series.map((s) => s.points)),
    xLabel: names?.[0] ?? (samples.dim === 2 ? undefined : 'x0'),
    yLabel: names?.[Math.min(1, samples.dim - 1)] ?? (samples.dim === 2 ? undefined : 'x1'),
    equalAspect: samples.dim === 2 && bounds === undefined,
  };
  return scatterSvg(series, frame);
}

export interface TrajectoryPlotOptions {
  maxPaths?: number;
  /** Image data [height, width]: a strip of frames z_t per particle instead of lines. */
  imageShape?: [number, number, number];
  /** What the first and last saved points are (e.g. noise, sample); the legend adds their times. */
  ends?: [string, string];
  /** 2-D: a disc to draw (a bridge's obstacle). */
  disc?: Disc;
  /** 2-D: faint point sets under the paths (e.g. a bridge's target data). */
  background?: PointSeries[];
}

/**
 * Trajectories [T, n, D] over their times: for 2-D data the paths in the plane (equal aspect)
 * next to coordinate 0 over time (as in the NFDM paper's figures); for images a strip of frames
 * (rows: particles, columns: times); otherwise coordinate 0 over time.
 */
export function trajectoriesSvg(
  paths: Float32Array,
  times: number[],
  n: number,
  dim: number,
  title: string,
  options: TrajectoryPlotOptions = {},
): string {
  const T = times.length;
  const maxPaths = options.maxPaths ?? 200;
  if (options.imageShape)
    return imageFramesSvg(paths, times, n, options.imageShape, { title: `${title}: z_t of ${Math.min(n, 8)} samples` });
  const over = coordinateOverTimeSvg(paths, times, n, dim, { dim: 0, maxPaths, title: 'x0 over time', width: 640, height: 480 });
  if (dim !== 2) return panelsSvg([over], { title });
  const at = (t: number) => `t = ${Number(t.toPrecision(3))}`;
  const [start, end] = options.ends ?? ['start', 'end'];
  const plane = trajectorySvg(paths, T, n, {
    maxPaths,
    title: 'paths',
    width: 480,
    height: 480,
    equalAspect: true,
    disc: options.disc,
    background: options.background,
    ends: [`${start}, ${at(times[0])}`, `${end}, ${at(times[T - 1])}`],
  });
  return panelsSvg([plane, over], { title });
}

/**
 * Image bridges: a grid of up to 50 (source, result) pairs side by side — columns alternate
 * source and transported result, 4 pairs a row (fewer for fewer pairs).
 */
export function bridgePairsSvg(sources: DataMatrix, results: DataMatrix, info: DataInfo | undefined, title: string): string {
  const image = imageShapeOf(info);
  if (!image) throw new CliError('a grid of image pairs needs an image bridge (trained on image sets)');
  const [h, w, channels] = image;
  const D = h * w * channels;
  const n = Math.min(sources.n, results.n, 50);
  const pixels = new Float32Array(2 * n * D);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < D; j++) {
      pixels[2 * i * D + j] = (sources.data[i * sources.dim + j] + 1) / 2;
      pixels[(2 * i + 1) * D + j] = (results.data[i * results.dim + j] + 1) / 2;
    }
  }
  const cols = 2 * Math.min(4, n);
  const labels = Array.from({ length: cols }, (_, c) => (c % 2 === 0 ? 'source' : 'result'));
  return imageGridSvg(pixels, 2 * n, h, w, { title, cols, channels, columnLabels: labels, scale: Math.max(2, Math.round(56 / w)) });
}

/** The obstacle of a bridge config (its first obstacle penalty), if any. */
export function obstacleOf(config: unknown): Disc | undefined {
  const penalties = (config as { penalties?: Array<{ kind: string; center: number[]; radius: number }> }).penalties;
  const p = penalties?.find((q) => q.kind === 'obstacle');
  return p ? { center: p.center, radius: p.radius } : undefined;
}

/** `n` target points of a bridge's data (the pair's target end), for drawing under its paths. */
export function bridgeTargets(opened: OpenedModel, n: number, seed: number): DataMatrix | undefined {
  const spec = opened.meta?.data?.spec;
  return spec ? bridgeEvaluationData(spec, { n, seed: seed + 2_000_003 }).targets : undefined;
}

/**
 * Forward trajectories of the family's forward process (`forwardTrajectories` operation) with one
 * ε per row, at `T` times from the process start to 1, in data units ([T, n, D]): for diffusion
 * models z_t = μ(x, t) + σ(x, t) ε of the data rows x; for bridges the paths between `n`
 * (target, source) pairs of the model's data, t from 0 (target) to 1 (source).
 */
export function forwardTrajectories(opened: OpenedModel, x: DataMatrix, T: number, seed: number): { paths: Float32Array; times: number[] } {
  const op = operationsOf(opened).forwardTrajectories;
  if (!opened.capabilities.forwardTrajectories || !op)
    throw new CliError(
      `a ${opened.descriptor.title} has no Gaussian forward process to plot (its forward SDE is learned); plot samples or trajectories`,
    );
  const rows = opened.capabilities.transport ? bridgePairs(opened, x.n, seed) : x;
  const D = opened.config.dim;
  const std = standardizationOf(opened.config);
  const raw = tf.tensor2d(rows.data, [rows.n, rows.dim]);
  const y = std ? standardize(raw, std) : raw;
  const eps = new Rng(seed).normalTensor([rows.n, D]) as tf.Tensor2D;
  try {
    const r = op(opened.model, y as tf.Tensor2D, T, eps);
    const flat = tf.tidy(() => {
      const t2 = tf.reshape(r.paths, [T * rows.n, D]);
      return std ? unstandardize(t2, std) : t2.clone();
    });
    r.paths.dispose();
    const paths = flat.dataSync() as Float32Array;
    flat.dispose();
    return { paths, times: r.times };
  } finally {
    tf.dispose([raw, y, eps]);
  }
}

/** Up to `n` (target, source) rows [n, 2D] of a bridge's data, drawn with the evaluation seed (image ends: held-out pairs). */
function bridgePairs(opened: OpenedModel, n: number, seed: number): DataMatrix {
  const spec = opened.meta?.data?.spec;
  if (!spec) throw new CliError('this bridge model does not say which data it was trained on (meta.json / run.json)');
  const { sources, targets } = bridgeEvaluationData(spec, { n, seed: seed + 2_000_003 });
  return pairRows(targets, sources);
}

/** Regular grid over `bounds`: centres of nx × ny cells, row-major with row 0 at yMin. */
export function gridPoints(bounds: Bounds, nx: number, ny: number): DataMatrix {
  const data = new Float32Array(nx * ny * 2);
  const cw = (bounds.xMax - bounds.xMin) / nx;
  const ch = (bounds.yMax - bounds.yMin) / ny;
  for (let r = 0; r < ny; r++) {
    for (let c = 0; c < nx; c++) {
      data[2 * (r * nx + c)] = bounds.xMin + (c + 0.5) * cw;
      data[2 * (r * nx + c) + 1] = bounds.yMin + (r + 0.5) * ch;
    }
  }
  return { data, n: nx * ny, dim: 2 };
}

/** Square bounds around 2-D points (so densities are not stretched), widened by `margin`. */
export function squareBounds(points: ArrayLike<number>, margin = 0.1): Bounds {
  const b = fitBounds([points], 0);
  const cx = (b.xMin + b.xMax) / 2;
  const cy = (b.yMin + b.yMax) / 2;
  const half = (Math.max(b.xMax - b.xMin, b.yMax - b.yMin) / 2) * (1 + 2 * margin);
  return { xMin: cx - half, xMax: cx + half, yMin: cy - half, yMax: cy + half };
}

/**
 * Exact log-density on a grid and its heat map (equal aspect): of p, or of log p with `log`,
 * whose colours cover [max(1st percentile, max − logSpan), max] nats (default span 10; lower
 * values take the lowest colour, the colour bar says "≤").
 */
export function densitySvg(
  opened: OpenedModel,
  bounds: Bounds,
  grid: number,
  solver: { solver: string; steps?: number; rtol: number; atol: number },
  options: { log?: boolean; logSpan?: number; title: string; axes?: readonly string[]; progress?: Progress },
): { svg: string; logp: Float64Array; nfe: number; range: ColourRange } {
  const points = gridPoints(bounds, grid, grid);
  const { logp, stats } = logDensity(opened, points, { ...solver, batch: 4096, progress: options.progress });
  const values = options.log ? logp : logp.map((v) => Math.exp(v));
  const range = options.log ? logDensityRange(logp, { span: options.logSpan }) : { ...finiteRange(values), clippedBelow: false };
  const svg = densityHeatmapSvg(values, grid, grid, bounds, {
    title: options.title,
    width: 560,
    height: 560,
    equalAspect: true,
    caption: options.log ? 'log p (nats)' : 'p(x)',
    range,
    xLabel: options.axes?.[0],
    yLabel: options.axes?.[1],
  });
  return { svg, logp, nfe: stats.nfe, range };
}
