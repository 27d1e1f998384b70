/**
 * Plots as SVG strings, written by hand (no DOM, no canvas) so they are deterministic and
 * snapshot-testable; {@link svgToPng} renders them with resvg.
 *
 * Coordinates: data (x, y) map linearly into the plot area with y pointing up. Every plot
 * takes explicit `bounds` or fits them to its data with a 5% margin; `equalAspect` widens the
 * narrower range so one data unit is as many pixels along x as along y (for 2-D data). Layers
 * carry `data-layer` names and the frame its `data-bounds`, so tests can read the scene.
 */

export interface Bounds {
  xMin: number;
  xMax: number;
  yMin: number;
  yMax: number;
}

export interface Frame {
  width?: number;
  height?: number;
  title?: string;
  bounds?: Bounds;
  xLabel?: string;
  yLabel?: string;
  /** Same data units per pixel on both axes: the narrower range of `bounds` is widened about its centre. */
  equalAspect?: boolean;
}

/** A disc in data units (e.g. a bridge's obstacle), drawn as a translucent red outline. */
export interface Disc {
  center: ArrayLike<number>;
  radius: number;
}

/** Points as a row-major [n, 2] Float32Array (or any ArrayLike). */
export interface PointSeries {
  points: ArrayLike<number>;
  color?: string;
  label?: string;
  radius?: number;
  opacity?: number;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];
const MARGIN = { left: 48, right: 16, top: 32, bottom: 36 };

const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(2));
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Bounds of 2-D points (row-major), widened by `margin` of the span on each side. */
export function fitBounds(arrays: ArrayLike<number>[], margin = 0.05): Bounds {
  let xMin = Number.POSITIVE_INFINITY;
  let xMax = Number.NEGATIVE_INFINITY;
  let yMin = Number.POSITIVE_INFINITY;
  let yMax = Number.NEGATIVE_INFINITY;
  for (const a of arrays) {
    for (let i = 0; i + 1 < a.length; i += 2) {
      const x = a[i];
      const y = a[i + 1];
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      xMin = Math.min(xMin, x);
      xMax = Math.max(xMax, x);
      yMin = Math.min(yMin, y);
      yMax = Math.max(yMax, y);
    }
  }
  if (!Number.isFinite(xMin)) return { xMin: -1, xMax: 1, yMin: -1, yMax: 1 };
  const dx = Math.max(xMax - xMin, 1e-9) * margin;
  const dy = Math.max(yMax - yMin, 1e-9) * margin;
  return { xMin: xMin - dx, xMax: xMax + dx, yMin: yMin - dy, yMax: yMax + dy };
}

/**
 * `bounds` widened about their centre so that a `plotWidth` × `plotHeight` pixel area shows
 * the same data units per pixel along x and y: (xMax − xMin) / plotWidth = (yMax − yMin) / plotHeight.
 */
export function equalAspectBounds(bounds: Bounds, plotWidth: number, plotHeight: number): Bounds {
  const perPixel = Math.max((bounds.xMax - bounds.xMin) / plotWidth, (bounds.yMax - bounds.yMin) / plotHeight);
  const cx = (bounds.xMin + bounds.xMax) / 2;
  const cy = (bounds.yMin + bounds.yMax) / 2;
  const hx = (perPixel * plotWidth) / 2;
  const hy = (perPixel * plotHeight) / 2;
  return { xMin: cx - hx, xMax: cx + hx, yMin: cy - hy, yMax: cy + hy };
}

/** Pixel size [width, height] of the plot area inside a canvas of `width` × `height`. */
export function plotArea(width: number, height: number): [number, number] {
  return [width - MARGIN.left - MARGIN.right, height - MARGIN.top - MARGIN.bottom];
}

class Canvas {
  readonly width: number;
  readonly height: number;
  readonly bounds: Bounds;
  private readonly body: string[] = [];
  constructor(frame: Frame, bounds: Bounds) {
    this.width = frame.width ?? 640;
    this.height = frame.height ?? 640;
    this.bounds = frame.equalAspect ? equalAspectBounds(bounds, ...plotArea(this.width, this.height)) : bounds;
  }
  /**
   * Pixel coordinates. Points far outside the bounds (a diverged sample at 1e30) are clamped to a
   * few canvas sizes away, still off the picture: huge coordinates make the rasteriser fail.
   */
  px(x: number): number {
    const { xMin, xMax } = this.bounds;
    return clampPixel(MARGIN.left + ((x - xMin) / (xMax - xMin)) * (this.width - MARGIN.left - MARGIN.right), this.width);
  }
  py(y: number): number {
    const { yMin, yMax } = this.bounds;
    return clampPixel(this.height - MARGIN.bottom - ((y - yMin) / (yMax - yMin)) * (this.height - MARGIN.top - MARGIN.bottom), this.height);
  }
  add(element: string): void {
    this.body.push(element);
  }
  render(frame: Frame): string {
    const { xMin, xMax, yMin, yMax } = this.bounds;
    const x0 = MARGIN.left;
    const x1 = this.width - MARGIN.right;
    const y0 = MARGIN.top;
    const y1 = this.height - MARGIN.bottom;
    const axes = [
      `<rect x="${x0}" y="${y0}" width="${x1 - x0}" height="${y1 - y0}" fill="none" stroke="#444" stroke-width="1" data-bounds="${xMin},${xMax},${yMin},${yMax}"/>`,
      `<text x="${x0}" y="${y1 + 16}" font-size="11" fill="#444">${fmt(xMin)}</text>`,
      `<text x="${x1}" y="${y1 + 16}" font-size="11" fill="#444" text-anchor="end">${fmt(xMax)}</text>`,
      `<text x="${x0 - 4}" y="${y1}" font-size="11" fill="#444" text-anchor="end">${fmt(yMin)}</text>`,
      `<text x="${x0 - 4}" y="${y0 + 10}" font-size="11" fill="#444" text-anchor="end">${fmt(yMax)}</text>`,
    ];
    if (frame.title)
      axes.push(`<text x="${this.width / 2}" y="20" font-size="14" text-anchor="middle" fill="#111">${esc(frame.title)}</text>`);
    if (frame.xLabel)
      axes.push(
        `<text x="${(x0 + x1) / 2}" y="${this.height - 6}" font-size="12" text-anchor="middle" fill="#222">${esc(frame.xLabel)}</text>`,
      );
    if (frame.yLabel) {
      axes.push(
        `<text x="12" y="${(y0 + y1) / 2}" font-size="12" text-anchor="middle" fill="#222" transform="rotate(-90 12 ${(y0 + y1) / 2})">${esc(frame.yLabel)}</text>`,
      );
    }
    const clip = `<clipPath id="plot"><rect x="${x0}" y="${y0}" width="${x1 - x0}" height="${y1 - y0}"/></clipPath>`;
    return [
      `<svg xmlns="http://www.w3.org/2000/svg" width="${this.width}" height="${this.height}" viewBox="0 0 ${this.width} ${this.height}">`,
      `<defs>${clip}</defs>`,
      `<rect width="100%" height="100%" fill="white"/>`,
      `<g clip-path="url(#plot)">${this.body.join('')}</g>`,
      ...axes,
      '</svg>',
    ].join('\n');
  }
}

/** A legend entry: a marker as drawn (colour, size, opacity; `hollow`: an outline) and its label. */
interface LegendEntry {
  label?: string;
  color: string;
  radius: number;
  opacity: number;
  hollow?: boolean;
}

/** A legend box in the top right corner, one line per labelled entry. */
function legend(canvas: Canvas, entries: LegendEntry[]): void {
  const shown = entries.filter((e) => e.label);
  if (shown.length === 0) return;
  const longest = Math.max(...shown.map((e) => (e.label as string).length));
  const boxWidth = 30 + 7 * longest;
  const x = canvas.width - MARGIN.right - boxWidth - 6;
  const items = [
    `<rect x="${x}" y="${MARGIN.top + 4}" width="${boxWidth}" height="${8 + 16 * shown.length}" fill="white" fill-opacity="0.85" stroke="#bbb"/>`,
  ];
  let y = MARGIN.top + 20;
  for (const e of shown) {
    const r = Math.max(3, e.radius * 2);
    const paint = e.hollow ? `fill="none" stroke="${e.color}"` : `fill="${e.color}" fill-opacity="${Math.max(0.6, e.opacity)}"`;
    items.push(`<circle cx="${x + 12}" cy="${y - 4}" r="${r}" ${paint}/>`);
    items.push(`<text x="${x + 22}" y="${y}" font-size="12" fill="#222">${esc(e.label as string)}</text>`);
    y += 16;
  }
  canvas.add(`<g data-layer="legend">${items.join('')}</g>`);
}

/** Clamp a pixel coordinate to [−4·size, 5·size] (NaN stays NaN, for the callers' finiteness checks). */
export function clampPixel(v: number, size: number): number {
  return Number.isNaN(v) ? v : Math.min(5 * size, Math.max(-4 * size, v));
}

/** Dots of one point series as a `<g data-layer="label">` group (non-finite points skipped). */
function dotsLayer(canvas: Canvas, s: PointSeries, color: string): string {
  const r = s.radius ?? 1.6;
  const dots: string[] = [];
  for (let i = 0; i + 1 < s.points.length; i += 2) {
    const x = s.points[i];
    const y = s.points[i + 1];
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    dots.push(`<circle cx="${canvas.px(x).toFixed(1)}" cy="${canvas.py(y).toFixed(1)}" r="${r}"/>`);
  }
  const name = s.label ? ` data-layer="${esc(s.label)}"` : '';
  return `<g fill="${color}" fill-opacity="${s.opacity ?? 0.5}"${name}>${dots.join('')}</g>`;
}

/** A disc as an ellipse in pixels (a circle when the aspect is equal), translucent red. */
function discLayer(canvas: Canvas, disc: Disc): string {
  const [cx, cy] = [disc.center[0], disc.center[1]];
  const rx = Math.abs(canvas.px(cx + disc.radius) - canvas.px(cx));
  const ry = Math.abs(canvas.py(cy + disc.radius) - canvas.py(cy));
  return `<ellipse data-layer="obstacle" cx="${canvas.px(cx).toFixed(1)}" cy="${canvas.py(cy).toFixed(1)}" rx="${rx.toFixed(1)}" ry="${ry.toFixed(1)}" fill="#d62728" fill-opacity="0.12" stroke="#d62728" stroke-width="2"/>`;
}

/** Scatter plot of one or more 2-D point sets (e.g. samples over data), drawn in order, with a legend. */
export function scatterSvg(series: PointSeries[], frame: Frame = {}): string {
  const canvas = new Canvas(frame, frame.bounds ?? fitBounds(series.map((s) => s.points)));
  const entries: LegendEntry[] = [];
  series.forEach((s, k) => {
    const color = s.color ?? PALETTE[k % PALETTE.length];
    canvas.add(dotsLayer(canvas, s, color));
    entries.push({ label: s.label, color, radius: s.radius ?? 1.6, opacity: s.opacity ?? 0.5 });
  });
  legend(canvas, entries);
  return canvas.render(frame);
}

/** Corners of a disc as 2-D points, so fitted bounds include it. */
const discCorners = (d: Disc): number[] => [d.center[0] - d.radius, d.center[1] - d.radius, d.center[0] + d.radius, d.center[1] + d.radius];

/**
 * 2-D trajectories: `paths` is row-major [T, n, 2] (T saved times, n particles). Draws faint
 * `background` point sets first (e.g. the target data), then each particle's polyline, its start
 * (hollow red) and end (filled green), and `disc` (e.g. an obstacle) on top. The legend names
 * the ends (`ends`, default start and end), the background sets and the disc.
 */
export function trajectorySvg(
  paths: ArrayLike<number>,
  T: number,
  n: number,
  frame: Frame & { color?: string; maxPaths?: number; disc?: Disc; background?: PointSeries[]; ends?: [string, string] } = {},
): string {
  const m = Math.min(n, frame.maxPaths ?? 200);
  const fitted = [paths, ...(frame.background ?? []).map((b) => b.points), ...(frame.disc ? [discCorners(frame.disc)] : [])];
  const canvas = new Canvas(frame, frame.bounds ?? fitBounds(fitted));
  for (const [k, b] of (frame.background ?? []).entries()) canvas.add(dotsLayer(canvas, b, b.color ?? PALETTE[(k + 2) % PALETTE.length]));
  const color = frame.color ?? '#1f77b4';
  const lines: string[] = [];
  for (let i = 0; i < m; i++) {
    const pts: string[] = [];
    for (let k = 0; k < T; k++) {
      const o = (k * n + i) * 2;
      pts.push(`${canvas.px(paths[o]).toFixed(1)},${canvas.py(paths[o + 1]).toFixed(1)}`);
    }
    lines.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${color}" stroke-opacity="0.35" stroke-width="0.8"/>`);
    const s = 2 * i;
    const e = ((T - 1) * n + i) * 2;
    lines.push(
      `<circle cx="${canvas.px(paths[s]).toFixed(1)}" cy="${canvas.py(paths[s + 1]).toFixed(1)}" r="2" fill="none" stroke="#d62728"/>`,
    );
    lines.push(`<circle cx="${canvas.px(paths[e]).toFixed(1)}" cy="${canvas.py(paths[e + 1]).toFixed(1)}" r="2" fill="#2ca02c"/>`);
  }
  canvas.add(`<g data-layer="paths">${lines.join('')}</g>`);
  if (frame.disc) canvas.add(discLayer(canvas, frame.disc));
  const [start, end] = frame.ends ?? ['start', 'end'];
  const entries: LegendEntry[] = [
    { label: start, color: '#d62728', radius: 2, opacity: 1, hollow: true },
    { label: end, color: '#2ca02c', radius: 2, opacity: 1 },
    ...(frame.background ?? []).map((b, k) => ({
      label: b.label,
      color: b.color ?? PALETTE[(k + 2) % PALETTE.length],
      radius: b.radius ?? 1.6,
      opacity: b.opacity ?? 0.5,
    })),
  ];
  if (frame.disc) entries.push({ label: 'obstacle', color: '#d62728', radius: 2, opacity: 0.3 });
  legend(canvas, entries);
  return canvas.render(frame);
}

/**
 * One coordinate of trajectories against time (as in the NFDM paper's figures): `paths`
 * row-major [T, n, D], `times` length T, plotting coordinate `dim` of up to `maxPaths` particles.
 */
export function coordinateOverTimeSvg(
  paths: ArrayLike<number>,
  times: ArrayLike<number>,
  n: number,
  D: number,
  frame: Frame & { dim?: number; maxPaths?: number; color?: string } = {},
): string {
  const T = times.length;
  const dim = frame.dim ?? 0;
  const m = Math.min(n, frame.maxPaths ?? 100);
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let k = 0; k < T; k++) {
    for (let i = 0; i < m; i++) {
      const v = paths[(k * n + i) * D + dim];
      if (Number.isFinite(v)) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    }
  }
  const tMin = Math.min(times[0], times[T - 1]);
  const tMax = Math.max(times[0], times[T - 1]);
  const pad = Math.max(hi - lo, 1e-9) * 0.05;
  const canvas = new Canvas(frame, frame.bounds ?? { xMin: tMin, xMax: tMax, yMin: lo - pad, yMax: hi + pad });
  const lines: string[] = [];
  for (let i = 0; i < m; i++) {
    const pts: string[] = [];
    for (let k = 0; k < T; k++) pts.push(`${canvas.px(times[k]).toFixed(1)},${canvas.py(paths[(k * n + i) * D + dim]).toFixed(1)}`);
    lines.push(
      `<polyline points="${pts.join(' ')}" fill="none" stroke="${frame.color ?? '#1f77b4'}" stroke-opacity="0.4" stroke-width="0.8"/>`,
    );
  }
  canvas.add(lines.join(''));
  return canvas.render({ xLabel: 't', yLabel: `z[${dim}]`, ...frame });
}

/** Viridis-like colour ramp for v in [0, 1]. */
export function viridis(v: number): string {
  const stops = [
    [68, 1, 84],
    [59, 82, 139],
    [33, 145, 140],
    [94, 201, 98],
    [253, 231, 37],
  ];
  const x = Math.min(1, Math.max(0, Number.isFinite(v) ? v : 0)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const c = stops[i].map((a, j) => Math.round(a + f * (stops[i + 1][j] - a)));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

/** Finite min and max of `values` ([0, 1] when none is finite). */
export function finiteRange(values: ArrayLike<number>): { lo: number; hi: number } {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    if (Number.isFinite(values[i])) {
      lo = Math.min(lo, values[i]);
      hi = Math.max(hi, values[i]);
    }
  }
  return Number.isFinite(lo) ? { lo, hi } : { lo: 0, hi: 1 };
}

/**
 * Canvas size for a fixed-bounds picture with equal aspect: the plot area of a `width` ×
 * `height` canvas shrinks along one side to the bounds' aspect ratio (the bounds do not change).
 */
export function equalAspectSize(bounds: Bounds, width: number, height: number): { width: number; height: number } {
  const [w, h] = plotArea(width, height);
  const ratio = (bounds.yMax - bounds.yMin) / (bounds.xMax - bounds.xMin);
  if (w * ratio <= h) return { width, height: Math.round(height - h + w * ratio) };
  return { width: Math.round(width - w + h / ratio), height };
}

/**
 * Heat map of values on a regular grid: `values` row-major [ny, nx], row 0 at yMin, over
 * `bounds`. Colours span `range` (default: the finite min and max); values outside it take the
 * end colours. With `equalAspect` the canvas, not the bounds, takes the data's aspect.
 */
export function heatmapSvg(
  values: ArrayLike<number>,
  nx: number,
  ny: number,
  bounds: Bounds,
  frame: Frame & { range?: { lo: number; hi: number } } = {},
): string {
  const size = frame.equalAspect ? equalAspectSize(bounds, frame.width ?? 640, frame.height ?? 640) : {};
  const canvas = new Canvas({ ...frame, ...size, equalAspect: false }, bounds);
  const { lo, hi } = frame.range ?? finiteRange(values);
  const span = hi > lo ? hi - lo : 1;
  const cw = (bounds.xMax - bounds.xMin) / nx;
  const ch = (bounds.yMax - bounds.yMin) / ny;
  const cells: string[] = [];
  for (let r = 0; r < ny; r++) {
    for (let c = 0; c < nx; c++) {
      const x = bounds.xMin + c * cw;
      const y = bounds.yMin + (r + 1) * ch;
      const w = canvas.px(x + cw) - canvas.px(x);
      const h = canvas.py(y - ch) - canvas.py(y);
      cells.push(
        `<rect x="${canvas.px(x).toFixed(2)}" y="${canvas.py(y).toFixed(2)}" width="${(w + 0.3).toFixed(2)}" height="${(h + 0.3).toFixed(2)}" fill="${viridis((values[r * nx + c] - lo) / span)}"/>`,
      );
    }
  }
  canvas.add(`<g data-layer="cells">${cells.join('')}</g>`);
  return canvas.render(frame);
}

/**
 * Grid of images: `pixels` row-major [n, h, w, channels] with values in [0, 1] (clamped): grey for
 * 1 channel, RGB for 3 (other counts: the first channel in grey); `cols` images per row, each
 * pixel `scale` SVG units; at least as wide as the title, with the grid centred.
 */
export function imageGridSvg(
  pixels: ArrayLike<number>,
  n: number,
  h: number,
  w: number,
  options: { cols?: number; scale?: number; title?: string; columnLabels?: string[]; channels?: number } = {},
): string {
  const C = options.channels ?? 1;
  const cols = options.cols ?? Math.ceil(Math.sqrt(n));
  const rows = Math.ceil(n / cols);
  const s = options.scale ?? 3;
  const gap = 2;
  const labelled = options.columnLabels !== undefined && options.columnLabels.length > 0;
  const top = (options.title ? 24 : 0) + (labelled ? 16 : 0);
  const gridW = cols * (w * s + gap) + gap;
  // Wide enough for the title (about 7.5 px a character at 14 px); the grid is centred under it.
  const W = Math.max(gridW, options.title ? Math.ceil(options.title.length * 7.5) + 16 : 0);
  const left = (W - gridW) / 2;
  const H = rows * (h * s + gap) + gap + top;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">`,
    `<rect width="100%" height="100%" fill="#222"/>`,
  ];
  if (options.title) out.push(`<text x="${W / 2}" y="17" font-size="14" text-anchor="middle" fill="#eee">${esc(options.title)}</text>`);
  (options.columnLabels ?? []).slice(0, cols).forEach((text, c) => {
    const x = left + gap + c * (w * s + gap) + (w * s) / 2;
    out.push(`<text x="${x}" y="${top - 4}" font-size="11" text-anchor="middle" fill="#ddd" data-column="${c}">${esc(text)}</text>`);
  });
  for (let k = 0; k < n; k++) {
    const ox = left + gap + (k % cols) * (w * s + gap);
    const oy = top + gap + Math.floor(k / cols) * (h * s + gap);
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const at = ((k * h + i) * w + j) * C;
        const level = (c: number) => Math.round(255 * Math.min(1, Math.max(0, pixels[at + c])));
        const [r, g, b] = C === 3 ? [level(0), level(1), level(2)] : [level(0), level(0), level(0)];
        out.push(`<rect x="${ox + j * s}" y="${oy + i * s}" width="${s}" height="${s}" fill="rgb(${r},${g},${b})"/>`);
      }
    }
  }
  out.push('</svg>');
  return out.join('\n');
}
