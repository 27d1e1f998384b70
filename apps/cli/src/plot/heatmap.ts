/**
 * A heat map for densities: {@link heatmapSvg} drawn with crisp cell edges (no anti-aliasing
 * seams between cells) next to a colour bar labelled with the value range.
 */
import { panelsSvg } from './compose.js';
import { type Bounds, type Frame, heatmapSvg, viridis } from './svg.js';

const label = (v: number) => (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-2 && v !== 0) ? v.toExponential(2) : v.toFixed(3));

/** Vertical colour bar from `lo` (bottom) to `hi` (top), `height` tall, with a caption. */
export function colorBarSvg(lo: number, hi: number, options: { height?: number; caption?: string } = {}): string {
  const height = options.height ?? 560;
  const width = 84;
  const top = 32;
  const bottom = 36;
  const steps = 64;
  const h = (height - top - bottom) / steps;
  const cells: string[] = [];
  for (let k = 0; k < steps; k++) {
    const y = height - bottom - (k + 1) * h;
    cells.push(`<rect x="8" y="${y.toFixed(2)}" width="16" height="${(h + 0.5).toFixed(2)}" fill="${viridis((k + 0.5) / steps)}"/>`);
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    '<rect width="100%" height="100%" fill="white"/>',
    `<g shape-rendering="crispEdges">${cells.join('')}</g>`,
    `<rect x="8" y="${top}" width="16" height="${height - top - bottom}" fill="none" stroke="#444"/>`,
    `<text x="28" y="${top + 10}" font-size="11" fill="#444">${label(hi)}</text>`,
    `<text x="28" y="${height - bottom}" font-size="11" fill="#444">${label(lo)}</text>`,
    options.caption ? `<text x="28" y="${height / 2}" font-size="11" fill="#444">${options.caption}</text>` : '',
    '</svg>',
  ]
    .filter((l) => l.length > 0)
    .join('\n');
}

/**
 * Heat map of `values` (row-major [ny, nx], row 0 at yMin) over `bounds` with a colour bar;
 * colours span the finite min and max.
 */
export function densityHeatmapSvg(
  values: ArrayLike<number>,
  nx: number,
  ny: number,
  bounds: Bounds,
  frame: Frame & { caption?: string } = {},
): string {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    if (Number.isFinite(values[i])) {
      lo = Math.min(lo, values[i]);
      hi = Math.max(hi, values[i]);
    }
  }
  if (!Number.isFinite(lo)) {
    lo = 0;
    hi = 1;
  }
  const map = heatmapSvg(values, nx, ny, bounds, frame).replace(
    '<g clip-path="url(#plot)">',
    '<g clip-path="url(#plot)" shape-rendering="crispEdges">',
  );
  return panelsSvg([map, colorBarSvg(lo, hi, { height: frame.height ?? 640, caption: frame.caption })], { gap: 0 });
}
