/**
 * Several SVG plots in one SVG: side by side (e.g. 2-D paths next to a coordinate over time)
 * or stacked. Element ids are made unique per panel, so clip paths of equal name do not
 * collide.
 */

/** Width and height of an SVG document (its root attributes). */
export function svgSize(svg: string): { width: number; height: number } {
  const open = svg.match(/<svg\b[^>]*>/)?.[0] ?? '';
  const width = Number(open.match(/\bwidth="([\d.]+)"/)?.[1] ?? 640);
  const height = Number(open.match(/\bheight="([\d.]+)"/)?.[1] ?? 640);
  return { width, height };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Lay `panels` out in a row (default) or a column, `gap` units apart, with an optional
 * title above. Panels keep their own size; the result is as large as needed.
 */
export function panelsSvg(panels: string[], options: { title?: string; gap?: number; direction?: 'row' | 'column' } = {}): string {
  const gap = options.gap ?? 8;
  const column = options.direction === 'column';
  const top = options.title ? 28 : 0;
  const sizes = panels.map(svgSize);
  const along = (s: { width: number; height: number }) => (column ? s.height : s.width);
  const across = (s: { width: number; height: number }) => (column ? s.width : s.height);
  const length = sizes.reduce((acc, s) => acc + along(s), 0) + gap * (panels.length - 1);
  const breadth = Math.max(...sizes.map(across));
  const width = column ? breadth : length;
  const height = (column ? length : breadth) + top;
  const body: string[] = [];
  let offset = 0;
  panels.forEach((svg, k) => {
    const renamed = svg
      .replace(/<\?xml[^>]*\?>/, '')
      .replace(/\bid="([^"]+)"/g, (_, id) => `id="p${k}-${id}"`)
      .replace(/url\(#([^)]+)\)/g, (_, id) => `url(#p${k}-${id})`);
    const [x, y] = column ? [0, top + offset] : [offset, top];
    body.push(`<g transform="translate(${x},${y})">${renamed}</g>`);
    offset += along(sizes[k]) + gap;
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    '<rect width="100%" height="100%" fill="white"/>',
    options.title ? `<text x="${width / 2}" y="20" font-size="15" text-anchor="middle" fill="#111">${esc(options.title)}</text>` : '',
    ...body,
    '</svg>',
  ]
    .filter((l) => l.length > 0)
    .join('\n');
}
