/**
 * Two small SVG charts the plot module lacks: lines over a (log) x axis with error bars (a
 * metric against NFE), and 2-D trajectories with a disc obstacle drawn on top.
 */

import type { Bounds } from '@nfdm/cli';
import { clampPixel } from '@nfdm/cli';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const M = { left: 64, right: 130, top: 34, bottom: 44 };

function tickLabel(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-2 || a >= 1e4)) return v.toExponential(1);
  return Number(v.toPrecision(3)).toString();
}

export interface LineSeries {
  label: string;
  color: string;
  /** x, y and optional ± error per point. */
  points: Array<{ x: number; y: number; err?: number }>;
}

/** Lines with markers and error bars; log scales on request. */
export function lineChartSvg(
  series: LineSeries[],
  frame: { title: string; xLabel: string; yLabel: string; logX?: boolean; logY?: boolean; width?: number; height?: number },
): string {
  const W = frame.width ?? 720;
  const H = frame.height ?? 440;
  const fx = (x: number) => (frame.logX ? Math.log10(x) : x);
  const fy = (y: number) => (frame.logY ? Math.log10(Math.max(y, 1e-12)) : y);
  const xs: number[] = [];
  const ys: number[] = [];
  for (const s of series) {
    for (const p of s.points) {
      if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) continue;
      xs.push(fx(p.x));
      const e = Number.isFinite(p.err) ? (p.err as number) : 0;
      ys.push(fy(p.y + e), fy(Math.max(p.y - e, frame.logY ? p.y / 10 : p.y - e)));
    }
  }
  let x0 = xs.length ? Math.min(...xs) : 0;
  let x1 = xs.length ? Math.max(...xs) : 1;
  let y0 = ys.length ? Math.min(...ys) : 0;
  let y1 = ys.length ? Math.max(...ys) : 1;
  if (x1 - x0 < 1e-9) [x0, x1] = [x0 - 1, x1 + 1];
  if (y1 - y0 < 1e-9) [y0, y1] = [y0 - 1, y1 + 1];
  const padY = (y1 - y0) * 0.06;
  y0 -= padY;
  y1 += padY;
  const padX = (x1 - x0) * 0.04;
  x0 -= padX;
  x1 += padX;
  const px = (x: number) => clampPixel(M.left + ((fx(x) - x0) / (x1 - x0)) * (W - M.left - M.right), W);
  const py = (y: number) => clampPixel(H - M.bottom - ((fy(y) - y0) / (y1 - y0)) * (H - M.top - M.bottom), H);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">`,
    '<rect width="100%" height="100%" fill="white"/>',
    `<text x="${(W - M.right + M.left) / 2}" y="20" font-size="14" text-anchor="middle" fill="#111">${esc(frame.title)}</text>`,
    `<rect x="${M.left}" y="${M.top}" width="${W - M.left - M.right}" height="${H - M.top - M.bottom}" fill="none" stroke="#444"/>`,
  ];
  // Ticks: at the distinct x values (NFE), and five y ticks.
  const xTicks = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)).filter(Number.isFinite))].sort((a, b) => a - b);
  for (const x of xTicks) {
    out.push(`<line x1="${px(x)}" y1="${H - M.bottom}" x2="${px(x)}" y2="${H - M.bottom + 4}" stroke="#444"/>`);
    out.push(`<text x="${px(x)}" y="${H - M.bottom + 16}" font-size="11" text-anchor="middle" fill="#444">${tickLabel(x)}</text>`);
  }
  for (let k = 0; k <= 4; k++) {
    const v = y0 + ((y1 - y0) * k) / 4;
    const y = frame.logY ? 10 ** v : v;
    const yy = py(y);
    out.push(`<line x1="${M.left}" y1="${yy}" x2="${W - M.right}" y2="${yy}" stroke="#ddd"/>`);
    out.push(`<text x="${M.left - 4}" y="${yy + 4}" font-size="11" text-anchor="end" fill="#444">${tickLabel(y)}</text>`);
  }
  out.push(
    `<text x="${(W - M.right + M.left) / 2}" y="${H - 8}" font-size="12" text-anchor="middle" fill="#222">${esc(frame.xLabel)}</text>`,
    `<text x="14" y="${H / 2}" font-size="12" text-anchor="middle" fill="#222" transform="rotate(-90 14 ${H / 2})">${esc(frame.yLabel)}</text>`,
  );
  series.forEach((s, k) => {
    const pts = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
    if (pts.length > 1)
      out.push(
        `<polyline points="${pts.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"/>`,
      );
    for (const p of pts) {
      const e = p.err;
      if (e !== undefined && Number.isFinite(e) && e > 0) {
        const lo = frame.logY ? Math.max(p.y - e, p.y / 10) : p.y - e;
        out.push(`<line x1="${px(p.x)}" y1="${py(lo)}" x2="${px(p.x)}" y2="${py(p.y + e)}" stroke="${s.color}" stroke-width="1.2"/>`);
      }
      out.push(`<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3.5" fill="${s.color}"/>`);
    }
    const ly = M.top + 16 + 18 * k;
    out.push(
      `<line x1="${W - M.right + 10}" y1="${ly - 4}" x2="${W - M.right + 30}" y2="${ly - 4}" stroke="${s.color}" stroke-width="3"/>`,
    );
    out.push(`<text x="${W - M.right + 36}" y="${ly}" font-size="12" fill="#222">${esc(s.label)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

/**
 * 2-D trajectories [T, n, 2] (up to `maxPaths`) over faint source/target points, with the disc
 * obstacle outlined in red.
 */
export function trajectoriesWithDiscSvg(
  paths: ArrayLike<number>,
  T: number,
  n: number,
  options: {
    title: string;
    bounds: Bounds;
    disc?: { center: [number, number]; radius: number };
    background?: Array<{ points: ArrayLike<number>; color: string }>;
    maxPaths?: number;
    width?: number;
  },
): string {
  const W = options.width ?? 480;
  const H = W;
  const m = 12;
  const top = 28;
  const { xMin, xMax, yMin, yMax } = options.bounds;
  const size = W - 2 * m;
  const px = (x: number) => clampPixel(m + ((x - xMin) / (xMax - xMin)) * size, size);
  const py = (y: number) => clampPixel(top + size - ((y - yMin) / (yMax - yMin)) * size, size);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H + top - m}" viewBox="0 0 ${W} ${H + top - m}">`,
    '<rect width="100%" height="100%" fill="white"/>',
    `<text x="${W / 2}" y="19" font-size="13" text-anchor="middle" fill="#111">${esc(options.title)}</text>`,
    `<rect x="${m}" y="${top}" width="${size}" height="${size}" fill="none" stroke="#444"/>`,
  ];
  for (const bg of options.background ?? []) {
    const dots: string[] = [];
    for (let i = 0; i + 1 < bg.points.length; i += 2)
      dots.push(`<circle cx="${px(bg.points[i]).toFixed(1)}" cy="${py(bg.points[i + 1]).toFixed(1)}" r="1.6"/>`);
    out.push(`<g fill="${bg.color}" fill-opacity="0.45">${dots.join('')}</g>`);
  }
  const k = Math.min(n, options.maxPaths ?? 150);
  for (let i = 0; i < k; i++) {
    const pts: string[] = [];
    for (let s = 0; s < T; s++) {
      const o = (s * n + i) * 2;
      if (Number.isFinite(paths[o]) && Number.isFinite(paths[o + 1])) pts.push(`${px(paths[o]).toFixed(1)},${py(paths[o + 1]).toFixed(1)}`);
    }
    out.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="#1f77b4" stroke-opacity="0.35" stroke-width="0.8"/>`);
  }
  if (options.disc) {
    const [cx, cy] = options.disc.center;
    const r = (options.disc.radius / (xMax - xMin)) * size;
    out.push(
      `<circle cx="${px(cx).toFixed(1)}" cy="${py(cy).toFixed(1)}" r="${r.toFixed(1)}" fill="#d62728" fill-opacity="0.12" stroke="#d62728" stroke-width="2"/>`,
    );
  }
  out.push('</svg>');
  return out.join('\n');
}
