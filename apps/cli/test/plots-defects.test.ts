/**
 * Plot defects of issue 14 on the figure builders: equal aspect for 2-D data, data visible with
 * the samples, bridge obstacles and titles, a usable log-density colour range, image
 * trajectories as frames. The scenes are read from the SVG (data-layer / data-bounds attributes).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCsv } from '@nfdm/datasets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { samplesSvg, trajectoriesSvg } from '../src/cli/plotting.js';
import {
  densityHeatmapSvg,
  equalAspectBounds,
  frameIndices,
  imageFramesSvg,
  logDensityRange,
  scatterSvg,
  trajectorySvg,
  viridis,
} from '../src/index.js';
import { BIN, failure, json, runCli } from './harness.js';

/** Data units per pixel along x and y of every plot frame in `svg` (its data-bounds over its size). */
function unitsPerPixel(svg: string): Array<{ x: number; y: number }> {
  return [...svg.matchAll(/<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)" height="([\d.]+)"[^>]*data-bounds="([^"]+)"/g)].map((m) => {
    const [xMin, xMax, yMin, yMax] = m[3].split(',').map(Number);
    return { x: (xMax - xMin) / Number(m[1]), y: (yMax - yMin) / Number(m[2]) };
  });
}

/** The `<g data-layer="name" …>` groups of `svg` in drawing order, with their circles. */
function layers(svg: string): Array<{ name: string; attrs: string; circles: Array<{ cx: number; cy: number; r: number }> }> {
  return [...svg.matchAll(/<g ([^>]*)data-layer="([^"]+)"([^>]*)>(.*?)<\/g>/g)].map((m) => ({
    name: m[2],
    attrs: `${m[1]} ${m[3]}`,
    circles: [...m[4].matchAll(/<circle cx="([-\d.]+)" cy="([-\d.]+)" r="([\d.]+)"/g)].map((c) => ({
      cx: Number(c[1]),
      cy: Number(c[2]),
      r: Number(c[3]),
    })),
  }));
}

/** A wide cloud: x in [−6, 6], y in [−1, 1]. */
const wide = Float32Array.from({ length: 400 }, (_, i) => (i % 2 === 0 ? -6 + (12 * i) / 400 : Math.sin(i)));

describe('equal aspect', () => {
  it('equalAspectBounds widens the narrower range about its centre', () => {
    const b = equalAspectBounds({ xMin: -6, xMax: 6, yMin: -1, yMax: 1 }, 400, 200);
    expect(b.xMin).toBe(-6);
    expect(b.xMax).toBe(6);
    expect((b.xMax - b.xMin) / 400).toBeCloseTo((b.yMax - b.yMin) / 200, 12);
    expect((b.yMin + b.yMax) / 2).toBeCloseTo(0, 12);
  });

  it('2-D samples and trajectory paths have the same data units per pixel on both axes', () => {
    const samples = samplesSvg({ data: wide, n: 200, dim: 2 }, undefined, undefined, 'samples');
    const [s] = unitsPerPixel(samples);
    expect(s.x).toBeCloseTo(s.y, 9);
    // Without equal aspect this frame would be 5× stretched (range 12 vs 2 on a square canvas).
    expect(unitsPerPixel(scatterSvg([{ points: wide }]))[0].x / unitsPerPixel(scatterSvg([{ points: wide }]))[0].y).toBeGreaterThan(4);
    const paths = new Float32Array(3 * 200 * 2);
    for (let k = 0; k < 3; k++) paths.set(wide, k * 400);
    const [plane] = unitsPerPixel(trajectoriesSvg(paths, [1, 0.5, 0], 200, 2, 'generative'));
    expect(plane.x).toBeCloseTo(plane.y, 9);
  });

  it('the density heat map keeps its bounds and takes their aspect in its canvas', () => {
    const bounds = { xMin: -4, xMax: 4, yMin: -2, yMax: 2 };
    const svg = densityHeatmapSvg(new Float64Array(8), 4, 2, bounds, { width: 560, height: 560, equalAspect: true });
    const [u] = unitsPerPixel(svg);
    expect(u.x).toBeCloseTo(u.y, 9);
    expect(svg).toContain('data-bounds="-4,4,-2,2"');
  });
});

describe('samples over data', () => {
  it('draws the data on top of the samples, smaller and darker, and names both in the legend', () => {
    const samples = { data: Float32Array.from([0, 0, 1, 1, 2, 0]), n: 3, dim: 2 };
    const data = { data: Float32Array.from([0, 0, 1, 1]), n: 2, dim: 2 };
    const svg = samplesSvg(samples, data, undefined, 'nfdm samples (SDE)');
    const drawn = layers(svg);
    expect(drawn.map((l) => l.name)).toEqual(['samples (3)', 'data (2)', 'legend']);
    const [s, d] = drawn;
    expect(s.circles).toHaveLength(3);
    expect(d.circles).toHaveLength(2);
    expect(d.circles[0].r).toBeLessThan(s.circles[0].r);
    // Same data point, same pixel: the data dot sits on top of the sample dot at (0, 0).
    expect([d.circles[0].cx, d.circles[0].cy]).toEqual([s.circles[0].cx, s.circles[0].cy]);
    expect(s.attrs).toMatch(/fill-opacity="0.4"/);
    const legend = svg.split('data-layer="legend"')[1];
    expect(legend).toContain('>samples (3)<');
    expect(legend).toContain('>data (2)<');
  });
});

describe('bridge trajectories', () => {
  const T = 4;
  const n = 2;
  // Two straight paths from (−5, ±1) (source, t = 1) to (3, ±1) (target, t = 0).
  const paths = new Float32Array(T * n * 2);
  for (let k = 0; k < T; k++) for (let i = 0; i < n; i++) paths.set([-5 + (8 * k) / (T - 1), i === 0 ? 1 : -1], (k * n + i) * 2);
  const times = [1, 2 / 3, 1 / 3, 0];

  it('draw the obstacle as a circle of the right size, the target data, and name the ends', () => {
    const svg = trajectoriesSvg(paths, times, n, 2, 'transport source → target (ODE)', {
      disc: { center: [0, 0], radius: 1 },
      background: [{ points: [3, 1, 3, -1], label: 'target data', color: '#555555' }],
      ends: ['source', 'target'],
    });
    const disc = svg.match(/<ellipse data-layer="obstacle" cx="([-\d.]+)" cy="([-\d.]+)" rx="([\d.]+)" ry="([\d.]+)"/);
    expect(disc).not.toBeNull();
    const [cx, cy, rx, ry] = (disc as RegExpMatchArray).slice(1).map(Number);
    expect(rx).toBeCloseTo(ry, 0);
    const [u] = unitsPerPixel(svg);
    expect(rx * u.x).toBeCloseTo(1, 1);
    // The path at y = 1 runs 1 unit above the centre, tangent to the circle.
    const line = (svg.match(/<polyline points="([^"]+)"/) as RegExpMatchArray)[1].split(' ').map((p) => p.split(',').map(Number));
    expect(cy - line[0][1]).toBeCloseTo(rx, 0);
    expect(cx).toBeGreaterThan(line[0][0]);
    expect(svg).toContain('>transport source → target (ODE)<');
    expect(svg).not.toMatch(/prior/);
    expect(svg).toContain('>source, t = 1<');
    expect(svg).toContain('>target, t = 0<');
    expect(layers(svg).map((l) => l.name)).toContain('target data');
  });

  it('fit the picture around the obstacle even when no path comes near it', () => {
    const svg = trajectorySvg(paths, T, n, { disc: { center: [0, 6], radius: 2 }, equalAspect: true });
    const bounds = (svg.match(/data-bounds="([^"]+)"/) as RegExpMatchArray)[1].split(',').map(Number);
    expect(bounds[3]).toBeGreaterThanOrEqual(8);
  });
});

describe('log-density colours', () => {
  it('cover at most `span` nats under the peak, or the 1st percentile when the range is narrow', () => {
    // A peak at 1.5 nats and a far tail down to −4000 nats (as on a wide grid).
    const logp = Float64Array.from({ length: 1000 }, (_, i) => 1.5 - (i / 999) ** 2 * 4000);
    expect(logDensityRange(logp)).toEqual({ lo: 1.5 - 10, hi: 1.5, clippedBelow: true });
    expect(logDensityRange(logp, { span: 3 }).lo).toBe(-1.5);
    const narrow = Float64Array.from({ length: 101 }, (_, i) => -i / 100);
    const r = logDensityRange([...narrow, Number.NEGATIVE_INFINITY, Number.NaN]);
    expect([r.lo, Math.abs(r.hi), r.clippedBelow]).toEqual([-0.99, 0, true]);
  });

  it('the heat map paints values below the range in the lowest colour and the colour bar says so', () => {
    const values = [-4000, -9, -4, 1];
    const svg = densityHeatmapSvg(values, 2, 2, { xMin: 0, xMax: 1, yMin: 0, yMax: 1 }, { range: { lo: -9, hi: 1 }, caption: 'log p' });
    const cells = [...(svg.split('data-layer="cells">')[1] as string).split('</g>')[0].matchAll(/fill="(rgb\([^)]+\))"/g)].map((m) => m[1]);
    expect(cells).toEqual([viridis(0), viridis(0), viridis(0.5), viridis(1)]);
    const ticks = [...svg.matchAll(/data-tick="([-\d.e]+)">([^<]+)</g)].map((m) => [Number(m[1]), m[2]]);
    expect(ticks.map((t) => t[0])).toEqual([-9, -6.5, -4, -1.5, 1]);
    expect(ticks[0][1]).toBe('≤ -9.000');
    expect(ticks[4][1]).toBe('1.000');
  });
});

describe('image trajectories', () => {
  it('frameIndices spreads frames over the saved times, both ends included', () => {
    expect(frameIndices(31, 10)).toEqual([0, 3, 7, 10, 13, 17, 20, 23, 27, 30]);
    expect(frameIndices(4, 10)).toEqual([0, 1, 2, 3]);
    expect(frameIndices(5, 3)).toEqual([0, 2, 4]);
  });

  it('show whole images z_t per particle and time, not one pixel over time', () => {
    const [h, w] = [2, 3];
    const D = h * w;
    const T = 5;
    const n = 3;
    // Pixel j of particle i at step k: a value in [−1, 1] that encodes (k, i, j).
    const value = (k: number, i: number, j: number) => -1 + (2 * (k * n * D + i * D + j)) / (T * n * D - 1);
    const paths = Float32Array.from({ length: T * n * D }, (_, o) => value(Math.floor(o / (n * D)), Math.floor(o / D) % n, o % D));
    const times = [1, 0.75, 0.5, 0.25, 0];
    const svg = trajectoriesSvg(paths, times, n, D, 'generative (ODE)', { imageShape: [h, w, 1] });
    expect(svg).not.toContain('<polyline');
    expect(svg).not.toContain('z[0]');
    const direct = imageFramesSvg(paths, times, n, [h, w], { frames: 3, rows: 2 });
    const pixels = [...direct.matchAll(/<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="[\d.]+" fill="rgb\((\d+),/g)].map((m) =>
      Number(m[1]),
    );
    expect(pixels).toHaveLength(2 * 3 * D);
    // Row 1 (particle 1), column 2 (step 4 = t 0), pixel 5.
    const at = (r: number, c: number, j: number) => pixels[(r * 3 + c) * D + j];
    const grey = (v: number) => Math.round(255 * ((Math.fround(v) + 1) / 2));
    expect(at(1, 2, 5)).toBe(grey(value(4, 1, 5)));
    expect(at(0, 1, 0)).toBe(grey(value(2, 0, 0)));
    expect([...direct.matchAll(/data-column="\d+">([^<]+)</g)].map((m) => m[1])).toEqual(['t = 1.00', 't = 0.50', 't = 0.00']);
    expect(() => imageFramesSvg(paths.subarray(1), times, n, [h, w])).toThrow(/paths must be \[5, 3, 6\]/);
  });
});

describe('through the built nfdm', () => {
  let tmp: string;
  const nfdm = (args: string[]) => runCli(tmp, args);
  const TINY = ['--steps', '4', '--hidden', '16,16', '--batch', '64', '--eval-every', '4'];
  /** Each test spawns the CLI 3–5 times: room for a loaded machine (nothing here asserts a time). */
  const E2E = { timeout: 240_000 };
  const read = (file: string) => readFileSync(join(tmp, file), 'utf8');

  /** Pixel position of data point (x, y) in the first frame of `svg` (the plot area starts at 48, 32). */
  function toPixel(svg: string): (x: number, y: number) => [number, number] {
    const m = svg.match(/<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"[^>]*data-bounds="([^"]+)"/) as RegExpMatchArray;
    const [x0, y0, w, h] = m.slice(1, 5).map(Number);
    const [xMin, xMax, yMin, yMax] = m[5].split(',').map(Number);
    return (x, y) => [x0 + ((x - xMin) / (xMax - xMin)) * w, y0 + h - ((y - yMin) / (yMax - yMin)) * h];
  }

  beforeAll(() => {
    if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build the CLI first (cd apps/cli && npx tsup)`);
    tmp = mkdtempSync(join(tmpdir(), 'nfdm-plot-defects-'));
  });
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('DiffFlow: plot samples and trajectories run the model’s own 30-step chain, the same draws as sample', E2E, async () => {
    json(await nfdm(['train', '--model', 'diffflow', '--data', 'moons', ...TINY, '--out', 'df', '--json']));
    const [plotted, , traj] = (
      await Promise.all([
        nfdm(['plot', 'samples', '--model', 'df', '--n', '40', '--out', 's.svg', '--json']),
        nfdm(['sample', '--model', 'df', '--n', '40', '--out', 's.csv', '--json']),
        nfdm(['plot', 'trajectories', '--model', 'df', '--n', '6', '--out', 't.svg', '--json']),
        nfdm(['sample', '--model', 'df', '--n', '6', '--ode', '--out', 'e.csv', '--trajectories', 'e.npy', '--json']),
      ])
    ).map(json);
    expect(plotted).toMatchObject({ sampler: 'DiffFlow stochastic chain, 30 steps', nfe: 60 });
    const svg = read('s.svg');
    const pixel = toPixel(svg);
    const drawn = layers(svg).find((l) => l.name === 'samples (40)')?.circles ?? [];
    const csv = readCsv(join(tmp, 's.csv'));
    expect(drawn).toHaveLength(40);
    for (let i = 0; i < 40; i++) {
      const [px, py] = pixel(csv.data[2 * i], csv.data[2 * i + 1]);
      expect(Math.abs(drawn[i].cx - px)).toBeLessThan(0.06);
      expect(Math.abs(drawn[i].cy - py)).toBeLessThan(0.06);
    }

    expect(traj).toMatchObject({ n: 6, times: 31, sampler: 'DiffFlow probability-flow chain, 30 steps' });
    const lines = [...read('t.svg').matchAll(/<polyline points="([^"]+)"/g)].map((m) => m[1].split(' '));
    expect(lines).toHaveLength(12);
    for (const l of lines) expect(l).toHaveLength(31);
    // The paths end where `sample --ode` (same seed) puts its samples.
    const ends = readCsv(join(tmp, 'e.csv'));
    const plane = read('t.svg').split('<g transform')[1];
    const toPlane = toPixel(plane);
    const last = lines.slice(0, 6).map((l) => l[30].split(',').map(Number));
    for (let i = 0; i < 6; i++) {
      const [px, py] = toPlane(ends.data[2 * i], ends.data[2 * i + 1]);
      expect(Math.abs(last[i][0] - px)).toBeLessThan(0.06);
      expect(Math.abs(last[i][1] - py)).toBeLessThan(0.06);
    }
    expect(existsSync(join(tmp, 'e.times.npy'))).toBe(true);
  });

  it('bridges: plot trajectories and forward draw the obstacle and name source and target', E2E, async () => {
    json(
      await nfdm([
        'train',
        '--model',
        'nfbm',
        '--source',
        'moons@-5,0',
        '--target',
        '8gaussians',
        '--obstacle',
        '0,0,1',
        ...TINY,
        '--out',
        'br',
        '--json',
      ]),
    );
    const plots = await Promise.all([
      nfdm(['plot', 'trajectories', '--model', 'br', '--n', '20', '--steps', '5', '--out', 'bt.svg', '--json']),
      nfdm(['plot', 'forward', '--model', 'br', '--n', '20', '--times', '5', '--out', 'bf.svg', '--json']),
    ]);
    plots.forEach(json);
    for (const file of ['bt.svg', 'bf.svg']) {
      const svg = read(file);
      const plane = svg.split('<g transform')[1];
      const disc = plane.match(/<ellipse data-layer="obstacle" cx="([-\d.]+)" cy="([-\d.]+)" rx="([\d.]+)" ry="([\d.]+)"/);
      expect(disc, file).not.toBeNull();
      const [cx, cy, rx, ry] = (disc as RegExpMatchArray).slice(1).map(Number);
      const [px, py] = toPixel(plane)(0, 0);
      expect(Math.abs(cx - px)).toBeLessThan(0.06);
      expect(Math.abs(cy - py)).toBeLessThan(0.06);
      expect(Math.abs(rx - (toPixel(plane)(1, 0)[0] - px))).toBeLessThan(0.06);
      expect(Math.abs(rx - ry)).toBeLessThan(0.11);
      expect(layers(plane).map((l) => l.name)).toContain('target data');
      expect(svg).not.toMatch(/prior|generative/);
    }
    expect(read('bt.svg')).toContain('>transport source → target (ODE)<');
    expect(read('bt.svg')).toContain('>source, t = 1<');
    expect(read('bf.svg')).toContain('>target, t = 0<');
  });

  it('2-D samples keep the aspect and the data; density --log colours the top nats', E2E, async () => {
    json(await nfdm(['train', '--model', 'nfdm', '--data', 'moons', ...TINY, '--out', 'nf', '--json']));
    const density = [
      'plot',
      'density',
      '--model',
      'nf',
      '--log',
      '--grid',
      '8',
      '--bounds',
      '-30,30,-15,15',
      '--solver',
      'rk4',
      '--steps',
      '4',
    ];
    const [, r, narrow, bad] = await Promise.all([
      nfdm(['plot', 'samples', '--model', 'nf', '--n', '50', '--out', 'ns.svg', '--json']).then(json),
      nfdm([...density, '--out', 'd.svg', '--json']).then(json),
      nfdm([...density, '--log-span', '3', '--out', 'd3.svg', '--json']).then(json),
      nfdm(['plot', 'density', '--model', 'nf', '--log-span', '3', '--grid', '4', '--out', 'bad.svg']),
    ]);
    const samples = read('ns.svg');
    const [u] = unitsPerPixel(samples);
    expect(u.x).toBeCloseTo(u.y, 9);
    expect(layers(samples).map((l) => [l.name, l.circles.length])).toEqual([
      ['samples (50)', 50],
      ['data (50)', 50],
      ['legend', 2],
    ]);

    const colours = r.colours as { lo: number; hi: number; clippedBelow: boolean };
    // So far out log p spans hundreds of nats: the colours cover the top 10, and the bar says "≤".
    expect(colours.hi - colours.lo).toBeCloseTo(10, 9);
    expect(colours.clippedBelow).toBe(true);
    const svg = read('d.svg');
    const ticks = [...svg.matchAll(/data-tick="([-\d.e]+)">([^<]+)</g)].map((m) => [Number(m[1]), m[2]]);
    expect(ticks[0]).toEqual([colours.lo, `≤ ${colours.lo.toFixed(3)}`]);
    expect(ticks[ticks.length - 1][0]).toBeCloseTo(colours.hi, 12);
    const [d] = unitsPerPixel(svg);
    expect(d.x).toBeCloseTo(d.y, 9);
    const c3 = narrow.colours as { lo: number; hi: number };
    expect(c3.hi - c3.lo).toBeCloseTo(3, 9);
    failure(bad, /--log-span applies to --log/, 2);
    expect(existsSync(join(tmp, 'bad.svg'))).toBe(false);
  });

  it('an image model plots trajectories and its forward process as frames of whole images', E2E, async () => {
    // A 4-pixel "image" set: a CSV whose model metadata says [2, 2, 1] (no Fashion-MNIST needed).
    const rows = Array.from({ length: 64 }, (_, i) => [0, 1, 2, 3].map((j) => Math.sin(i + j).toFixed(4)).join(','));
    writeFileSync(join(tmp, 'pix.csv'), `${['p0', 'p1', 'p2', 'p3'].join(',')}\n${rows.join('\n')}\n`);
    json(await nfdm(['train', '--model', 'vp', '--data', 'pix.csv', ...TINY, '--out', 'img', '--json']));
    const metaFile = join(tmp, 'img', 'model', 'meta.json');
    const meta = JSON.parse(readFileSync(metaFile, 'utf8'));
    writeFileSync(metaFile, JSON.stringify({ ...meta, data: { ...meta.data, kind: 'image', imageShape: [2, 2, 1] } }));
    const plots = await Promise.all([
      nfdm(['plot', 'trajectories', '--model', 'img', '--n', '3', '--steps', '4', '--out', 'it.svg', '--json']),
      nfdm(['plot', 'forward', '--model', 'img', '--n', '3', '--times', '12', '--out', 'if.svg', '--json']),
    ]);
    plots.forEach(json);
    for (const [file, frames] of [
      ['it.svg', 5],
      ['if.svg', 10],
    ] as const) {
      const svg = read(file);
      expect(svg, file).not.toContain('<polyline');
      expect([...svg.matchAll(/data-column="\d+"/g)]).toHaveLength(frames);
      // 3 particles × frames × 4 pixels, plus the background.
      expect([...svg.matchAll(/<rect /g)]).toHaveLength(1 + 3 * frames * 4);
    }
  });
});
