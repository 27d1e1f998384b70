/**
 * SVG → PNG through resvg (@resvg/resvg-js, whose native binary ships through npm's optional
 * dependencies). System fonts are used when present; text falls back gracefully without them.
 */
import { Resvg } from '@resvg/resvg-js';

/** Render an SVG string to PNG bytes, `width` pixels wide (default: the SVG's own width). */
export function svgToPng(svg: string, width?: number): Uint8Array {
  const resvg = new Resvg(svg, {
    background: 'white',
    fitTo: width ? { mode: 'width', value: width } : { mode: 'original' },
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  });
  return resvg.render().asPng();
}
