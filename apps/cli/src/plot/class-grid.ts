/**
 * A class-by-class grid of images: one row per class, the class's samples left to right, its
 * name on the left. Pixel values in [0, 1] (clamped), grey for 1 channel, RGB for 3.
 *
 * Layout (SVG units): a `labelWidth` column of names, then columns of `w·scale` pixels with a
 * `gap` between; row r starts at y = top + gap + r·(h·scale + gap); image c of a row at
 * x = labelWidth + gap + c·(w·scale + gap). Missing samples (a class with fewer) stay background.
 */

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export interface ClassGridRow {
  label: string;
  /** Row-major [count, h, w, channels] values in [0, 1]. */
  pixels: ArrayLike<number>;
  count: number;
}

export interface ClassGridOptions {
  scale?: number;
  title?: string;
  channels?: number;
  /** Images per row (default: the largest class count). */
  cols?: number;
}

/** Geometry of a class grid (exported for tests that read pixels back). */
export function classGridLayout(h: number, w: number, options: { scale: number; title?: string }) {
  const gap = 2;
  const labelWidth = 96;
  const top = options.title ? 24 : 0;
  return { gap, labelWidth, top, cellW: w * options.scale + gap, cellH: h * options.scale + gap };
}

/** The grid as SVG (see the module doc). */
export function classGridSvg(rows: ClassGridRow[], h: number, w: number, options: ClassGridOptions = {}): string {
  const C = options.channels ?? 1;
  const s = options.scale ?? 3;
  const cols = options.cols ?? Math.max(1, ...rows.map((r) => r.count));
  const { gap, labelWidth, top, cellW, cellH } = classGridLayout(h, w, { scale: s, title: options.title });
  const gridW = labelWidth + gap + cols * cellW;
  const W = Math.max(gridW, options.title ? Math.ceil(options.title.length * 7.5) + 16 : 0);
  const H = top + gap + rows.length * cellH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">`,
    `<rect width="100%" height="100%" fill="#222"/>`,
  ];
  if (options.title) out.push(`<text x="${W / 2}" y="17" font-size="14" text-anchor="middle" fill="#eee">${esc(options.title)}</text>`);
  rows.forEach((row, r) => {
    const oy = top + gap + r * cellH;
    out.push(
      `<text x="${labelWidth - 6}" y="${oy + (h * s) / 2 + 4}" font-size="11" text-anchor="end" fill="#ddd" data-row="${r}">${esc(row.label)}</text>`,
    );
    for (let c = 0; c < Math.min(row.count, cols); c++) {
      const ox = labelWidth + gap + c * cellW;
      for (let i = 0; i < h; i++)
        for (let j = 0; j < w; j++) {
          const at = ((c * h + i) * w + j) * C;
          const level = (k: number) => Math.round(255 * Math.min(1, Math.max(0, row.pixels[at + k])));
          const [red, green, blue] = C === 3 ? [level(0), level(1), level(2)] : [level(0), level(0), level(0)];
          out.push(`<rect x="${ox + j * s}" y="${oy + i * s}" width="${s}" height="${s}" fill="rgb(${red},${green},${blue})"/>`);
        }
    }
  });
  out.push('</svg>');
  return out.join('\n');
}
