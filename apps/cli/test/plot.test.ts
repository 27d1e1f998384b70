import { describe, expect, it } from 'vitest';
import { coordinateOverTimeSvg, fitBounds, heatmapSvg, imageGridSvg, scatterSvg, svgToPng, trajectorySvg, viridis } from '../src/index.js';

/** Width and height from a PNG's IHDR chunk. */
function pngSize(png: Uint8Array): { width: number; height: number } {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

const circles = (svg: string) =>
  [...svg.matchAll(/<circle cx="([\d.-]+)" cy="([\d.-]+)" r="[\d.]+"\/>/g)].map((m) => [Number(m[1]), Number(m[2])]);

describe('plots', () => {
  it('scatter maps data coordinates into the frame with y up, and skips non-finite points', () => {
    const svg = scatterSvg([{ points: [0, 0, 1, 1, Number.NaN, 3] }], {
      width: 200,
      height: 100,
      bounds: { xMin: 0, xMax: 1, yMin: 0, yMax: 1 },
    });
    const pts = circles(svg);
    expect(pts).toHaveLength(2);
    // Plot area: x in [48, 184], y in [32, 64] (margins 48/16/32/36), y flipped.
    expect(pts[0]).toEqual([48, 64]);
    expect(pts[1]).toEqual([184, 32]);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
  });

  it('fitBounds covers all finite points with a margin', () => {
    const b = fitBounds([[-1, 2, 3, -4, Number.POSITIVE_INFINITY, 0]], 0.1);
    expect(b).toEqual({ xMin: -1.4, xMax: 3.4, yMin: -4.6, yMax: 2.6 });
  });

  it('trajectories draw one polyline per particle with T vertices', () => {
    const T = 5;
    const n = 3;
    const paths = new Float32Array(T * n * 2).map((_, i) => Math.sin(i));
    const svg = trajectorySvg(paths, T, n);
    const lines = [...svg.matchAll(/<polyline points="([^"]+)"/g)];
    expect(lines).toHaveLength(n);
    for (const l of lines) expect(l[1].split(' ')).toHaveLength(T);
    const over = coordinateOverTimeSvg(paths, [1, 0.75, 0.5, 0.25, 0], n, 2, { dim: 1 });
    expect([...over.matchAll(/<polyline/g)]).toHaveLength(n);
    expect(over).toContain('z[1]');
  });

  it('heat map colours span the value range; viridis endpoints', () => {
    expect(viridis(0)).toBe('rgb(68,1,84)');
    expect(viridis(1)).toBe('rgb(253,231,37)');
    const svg = heatmapSvg([0, 1, 2, 3], 2, 2, { xMin: 0, xMax: 1, yMin: 0, yMax: 1 });
    const fills = [...svg.matchAll(/<rect x="[^"]+" y="[^"]+" width="[^"]+" height="[^"]+" fill="(rgb\([^)]+\))"/g)].map((m) => m[1]);
    expect(fills).toHaveLength(4);
    expect(fills[0]).toBe('rgb(68,1,84)');
    expect(fills[3]).toBe('rgb(253,231,37)');
  });

  it('image grid has one rect per pixel plus the background', () => {
    const svg = imageGridSvg(new Float32Array(2 * 3 * 4).fill(0.5), 2, 3, 4, { cols: 2 });
    expect([...svg.matchAll(/<rect /g)]).toHaveLength(1 + 2 * 3 * 4);
    expect(svg).toContain('fill="rgb(128,128,128)"');
  });

  it('RGB images: each pixel takes its three channels (NHWC), in order', () => {
    // 2 images of 1×2 pixels, 3 channels: image k, pixel j, channel c = (6k + 3j + c)/11.
    const pixels = Float32Array.from({ length: 12 }, (_, i) => i / 11);
    const svg = imageGridSvg(pixels, 2, 1, 2, { cols: 2, channels: 3 });
    const fills = [...svg.matchAll(/fill="rgb\((\d+),(\d+),(\d+)\)"/g)].map((m) => [Number(m[1]), Number(m[2]), Number(m[3])]);
    expect(fills).toEqual([0, 1, 2, 3].map((p) => [0, 1, 2].map((c) => Math.round((255 * (3 * p + c)) / 11))));
  });

  it('renders to a PNG of the requested width', () => {
    const png = svgToPng(scatterSvg([{ points: [0, 0, 1, 1], label: 'samples' }], { width: 300, height: 200, title: 'test' }), 600);
    expect(Array.from(png.subarray(0, 8))).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
    expect(pngSize(png)).toEqual({ width: 600, height: 400 });
  });

  it('renders points far outside the bounds (a diverged sample) without failing, off the picture', () => {
    const bounds = { xMin: -1, xMax: 1, yMin: -1, yMax: 1 };
    const svg = scatterSvg([{ points: [0, 0, 1e30, -1e30, -3e38, 5] }], { width: 300, height: 300, bounds });
    for (const m of svg.matchAll(/c[xy]="([-\d.e+]+)"/g)) expect(Math.abs(Number(m[1]))).toBeLessThanOrEqual(1500);
    const png = svgToPng(svg, 300);
    expect(pngSize(png)).toEqual({ width: 300, height: 300 });
    const paths = new Float32Array([0, 0, 1e30, 1e30]);
    expect(pngSize(svgToPng(trajectorySvg(paths, 2, 1, { width: 200, height: 200, bounds }), 200)).width).toBe(200);
  });
});
