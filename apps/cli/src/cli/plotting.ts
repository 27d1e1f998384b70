/** The data behind `nfdm plot` and `nfdm demo` figures, and writing SVG / PNG files. */
import { Rng } from '@nfdm/core';
import type { DataMatrix } from '@nfdm/datasets';
import { BridgeModel, DiffusionModel, standardize, unstandardize } from '@nfdm/models';
import * as tf from '@tensorflow/tfjs';
import { panelsSvg } from '../plot/compose.js';
import { densityHeatmapSvg } from '../plot/heatmap.js';
import { svgToPng } from '../plot/png.js';
import { type Bounds, coordinateOverTimeSvg, fitBounds, imageGridSvg, scatterSvg, trajectorySvg } from '../plot/svg.js';
import { bridgeEvaluationData, type DataInfo } from './data.js';
import { CliError } from './errors.js';
import { writeBytes } from './files.js';
import type { Progress } from './progress.js';
import { logDensity, type OpenedModel, standardizationOf } from './runtime.js';

/** Write an SVG as .svg, or render it to .png (optionally `width` pixels wide). */
export function writePlot(path: string, format: 'svg' | 'png', svg: string, width?: number): void {
  const bytes = format === 'svg' ? new TextEncoder().encode(svg) : svgToPng(svg, width);
  writeBytes(path, bytes);
}

/** [height, width] of image data (known from the data the model was trained on). */
function imageShapeOf(info: DataInfo | undefined): [number, number] | undefined {
  if (info?.imageShape) return [info.imageShape[0], info.imageShape[1]];
  return undefined;
}

/** Samples over data (2-D), an image grid (images), or the first two coordinates (other D). */
export function samplesSvg(
  samples: DataMatrix,
  data: DataMatrix | undefined,
  info: DataInfo | undefined,
  title: string,
  bounds?: Bounds,
): string {
  const image = imageShapeOf(info);
  if (image) {
    const [h, w] = image;
    const n = Math.min(samples.n, 100);
    const pixels = Float32Array.from(samples.data.subarray(0, n * h * w), (v) => (v + 1) / 2);
    return imageGridSvg(pixels, n, h, w, { title, scale: Math.max(2, Math.round(96 / w)) });
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
  const series = [];
  if (data) series.push({ points: xy(data), color: '#9a9a9a', label: 'data', opacity: 0.35 });
  series.push({ points: xy(samples), color: '#1f77b4', label: 'samples', opacity: 0.5 });
  const names = info?.columns?.length === samples.dim ? info.columns : undefined;
  const frame = {
    title,
    bounds: bounds ?? fitBounds(series.map((s) => s.points)),
    xLabel: names?.[0] ?? (samples.dim === 2 ? undefined : 'x0'),
    yLabel: names?.[Math.min(1, samples.dim - 1)] ?? (samples.dim === 2 ? undefined : 'x1'),
  };
  return scatterSvg(series, frame);
}

/**
 * Trajectories [T, n, D] over their times: for 2-D data the paths in the plane next to
 * coordinate 0 over time (as in the NFDM paper's figures); otherwise coordinate 0 over time.
 */
export function trajectoriesSvg(paths: Float32Array, times: number[], n: number, dim: number, title: string, maxPaths = 200): string {
  const T = times.length;
  const over = coordinateOverTimeSvg(paths, times, n, dim, { dim: 0, maxPaths, title: `${title}: x0 over time`, width: 640, height: 480 });
  if (dim !== 2) return over;
  const plane = trajectorySvg(paths, T, n, { maxPaths, title: `${title}: paths (○ start, ● end)`, width: 480, height: 480 });
  return panelsSvg([plane, over]);
}

/**
 * Forward trajectories z_t = μ(x, t) + σ(x, t) ε of data rows x with one ε per row, at `T`
 * times from the process start to 1, in data units ([T, n, D]).
 */
export function forwardTrajectories(opened: OpenedModel, x: DataMatrix, T: number, seed: number): { paths: Float32Array; times: number[] } {
  const { config } = opened;
  if (opened.model instanceof BridgeModel) return bridgeForwardTrajectories(opened, opened.model, x.n, T, seed);
  if (!(opened.model instanceof DiffusionModel))
    throw new CliError(
      'a DiffFlow model has no Gaussian forward process to plot (its forward SDE is learned); plot samples or trajectories',
    );
  const model = opened.model;
  const std = standardizationOf(config);
  const t0 = model.forward.start.t;
  const times = Array.from({ length: T }, (_, k) => t0 + ((1 - t0) * k) / (T - 1));
  const paths = new Float32Array(T * x.n * x.dim);
  const rng = new Rng(seed);
  const raw = tf.tensor2d(x.data, [x.n, x.dim]);
  const y = std ? standardize(raw, std) : raw;
  const eps = rng.normalTensor([x.n, x.dim]);
  try {
    times.forEach((t, k) => {
      const z = tf.tidy(() => {
        const p = model.forward.params(y, tf.fill([x.n, 1], t), 0);
        const zt = tf.add(p.mu, tf.mul(p.sigma, eps));
        return std ? unstandardize(zt, std) : zt;
      });
      paths.set(z.dataSync() as Float32Array, k * x.n * x.dim);
      z.dispose();
    });
  } finally {
    tf.dispose([raw, y, eps]);
  }
  return { paths, times };
}

/**
 * Bridge forward paths z_t = μ(x0, x1, t) + σ(x0, x1, t) ε between `n` (target, source) pairs of
 * the model's data (one ε per pair), t from 0 (target) to 1 (source); [T, n, D].
 */
function bridgeForwardTrajectories(opened: OpenedModel, model: BridgeModel, n: number, T: number, seed: number) {
  const spec = opened.meta?.data?.spec;
  if (!spec) throw new CliError('this bridge model does not say which data it was trained on (meta.json / run.json)');
  const { sources, targets } = bridgeEvaluationData(spec, { n, seed: seed + 2_000_003 });
  const times = Array.from({ length: T }, (_, k) => k / (T - 1));
  const x0 = tf.tensor2d(targets.data, [n, model.dim]);
  const x1 = tf.tensor2d(sources.data, [n, model.dim]);
  const eps = new Rng(seed).normalTensor([n, model.dim]);
  const traj = model.forwardTrajectories(x0, x1, times, eps);
  const paths = traj.dataSync() as Float32Array;
  tf.dispose([x0, x1, eps, traj]);
  return { paths, times };
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

/** Exact log-density on a grid and its heat map (of p, or of log p with `log`). */
export function densitySvg(
  opened: OpenedModel,
  bounds: Bounds,
  grid: number,
  solver: { solver: string; steps?: number; rtol: number; atol: number },
  options: { log?: boolean; title: string; axes?: readonly string[]; progress?: Progress },
): { svg: string; logp: Float64Array; nfe: number } {
  const points = gridPoints(bounds, grid, grid);
  const { logp, stats } = logDensity(opened, points, { ...solver, batch: 4096, progress: options.progress });
  const values = options.log ? logp : logp.map((v) => Math.exp(v));
  const svg = densityHeatmapSvg(values, grid, grid, bounds, {
    title: options.title,
    width: 560,
    height: 560,
    caption: options.log ? 'log p' : 'p(x)',
    xLabel: options.axes?.[0],
    yLabel: options.axes?.[1],
  });
  return { svg, logp, nfe: stats.nfe };
}
