/**
 * A heat map for densities: {@link heatmapSvg} drawn with crisp cell edges (no anti-aliasing
 * seams between cells) next to a colour bar with value ticks.
 */
import { panelsSvg, svgSize } from './compose.js';
import { type Bounds, type Frame, finiteRange, heatmapSvg, viridis } from './svg.js';

const label = (v: number) => (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-2 && v !== 0) ? v.toExponential(2) : v.toFixed(3));

/** Colours [lo, hi] of a heat map; `clippedBelow`: some values lie under lo (drawn in the lowest colour). */
export interface ColourRange {
  lo: number;
  hi: number;
  clippedBelow: boolean;
}

/**
 * Colour range of log-densities (nats): hi = max log p, lo = max(q-quantile of log p, hi − span).
 * Far from the data log p falls to −10³ and below; a min–max scale would paint everything that
 * matters in one colour, so colours cover at most `span` nats (a density ratio of e^span) under
 * the peak. Non-finite values are ignored.
 */
export function logDensityRange(logp: ArrayLike<number>, options: { span?: number; quantile?: number } = {}): ColourRange {
  const span = options.span ?? 10;
  const q = options.quantile ?? 0.01;
  const finite = Array.from(logp)
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  if (finite.length === 0) return { lo: 0, hi: 1, clippedBelow: false };
  const hi = finite[finite.length - 1];
  const quantile = finite[Math.min(finite.length - 1, Math.floor(q * (finite.length - 1)))];
  const lo = Math.max(quantile, hi - span);
  return { lo, hi, clippedBelow: finite[0] < lo };
}

/**
 * Vertical colour bar from `lo` (bottom) to `hi` (top), `height` tall, with `ticks` value labels
 * (the bottom one reads "≤ lo" when values below were clipped) and a caption.
 */
export function colorBarSvg(
  lo: number,
  hi: number,
  options: { height?: number; caption?: string; ticks?: number; clippedBelow?: boolean } = {},
): string {
  const height = options.height ?? 560;
  const width = 96;
  const top = 32;
  const bottom = 36;
  const steps = 64;
  const h = (height - top - bottom) / steps;
  const cells: string[] = [];
  for (let k = 0; k < steps; k++) {
    const y = height - bottom - (k + 1) * h;
    cells.push(`<rect x="8" y="${y.toFixed(2)}" width="16" height="${(h + 0.5).toFixed(2)}" fill="${viridis((k + 0.5) / steps)}"/>`);
  }
  const ticks = Math.max(2, options.ticks ?? 5);
  const labels: string[] = [];
  for (let k = 0; k < ticks; k++) {
    const v = lo + ((hi - lo) * k) / (ticks - 1);
    const y = height - bottom - ((height - top - bottom) * k) / (ticks - 1);
    const text = k === 0 && options.clippedBelow ? `≤ ${label(v)}` : label(v);
    labels.push(`<line x1="24" y1="${y.toFixed(2)}" x2="28" y2="${y.toFixed(2)}" stroke="#444"/>`);
    labels.push(`<text x="30" y="${(y + 4).toFixed(2)}" font-size="11" fill="#444" data-tick="${v}">${text}</text>`);
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    '<rect width="100%" height="100%" fill="white"/>',
    `<g shape-rendering="crispEdges">${cells.join('')}</g>`,
    `<rect x="8" y="${top}" width="16" height="${height - top - bottom}" fill="none" stroke="#444"/>`,
    ...labels,
    options.caption ? `<text x="8" y="${top - 10}" font-size="11" fill="#444">${options.caption}</text>` : '',
    '</svg>',
  ]
    .filter((l) => l.length > 0)
    .join('\n');
}

/**
 * Heat map of `values` (row-major [ny, nx], row 0 at yMin) over `bounds` with a colour bar;
 * colours span `range` (default: the finite min and max), values outside take the end colours.
 */
export function densityHeatmapSvg(
  values: ArrayLike<number>,
  nx: number,
  ny: number,
  bounds: Bounds,
  frame: Frame & { caption?: string; range?: { lo: number; hi: number } } = {},
): string {
  const all = finiteRange(values);
  const { lo, hi } = frame.range ?? all;
  const map = heatmapSvg(values, nx, ny, bounds, { ...frame, range: { lo, hi } }).replace(
    '<g clip-path="url(#plot)">',
    '<g clip-path="url(#plot)" shape-rendering="crispEdges">',
  );
  const bar = colorBarSvg(lo, hi, { height: svgSize(map).height, caption: frame.caption, clippedBelow: all.lo < lo });
  return panelsSvg([map, bar], { gap: 0 });
}
