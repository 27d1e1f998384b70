/**
 * Image ↔ image bridges (nfbm between two image sets) on the committed Fashion-MNIST subset of
 * @nfdm/datasets (NFDM_FASHION_MNIST_DIR) and on PNG folders: the pairs the trainer sees
 * (independent, drawn afresh every batch; held-out pairs from the held-out images), then through
 * the built CLI `train --arch unet` (U-Nets of both images), `sample` (a PNG grid of sources and
 * their results), `plot trajectories` (frame strips), `eval` (the bound in bits/dim and endpoint
 * metrics on held-out images), `--resume`; bad ends fail with one line.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend, Rng } from '@nfdm/core';
import { type DataMatrix, loadDataset, readImageFolder, readNpy } from '@nfdm/datasets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bridgeEvaluationData, trainingData } from '../src/cli/data.js';
import { svgToPng } from '../src/plot/png.js';
import { BIN, failure, json, runCli } from './harness.js';

const FASHION_MNIST_FIXTURE = fileURLToPath(new URL('../../../packages/datasets/test/fixtures/fashion-mnist', import.meta.url));
const SANDALS = 'fashion-mnist-14:label=5';
const SNEAKERS = 'fashion-mnist-14:label=7';
const PNG = [0x89, 0x50, 0x4e, 0x47];
let tmp: string;
let savedDataDir: string | undefined;
const nfdm = (args: string[]) => runCli(tmp, args);

beforeAll(async () => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build the CLI first (cd apps/cli && npx tsup)`);
  tmp = mkdtempSync(join(tmpdir(), 'nfdm-cli-image-bridges-'));
  savedDataDir = process.env.NFDM_FASHION_MNIST_DIR;
  process.env.NFDM_FASHION_MNIST_DIR = FASHION_MNIST_FIXTURE; // read here and passed on by runCli
  await initBackend('cpu');
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  if (savedDataDir === undefined) delete process.env.NFDM_FASHION_MNIST_DIR;
  else process.env.NFDM_FASHION_MNIST_DIR = savedDataDir;
});

/** `dim` values of row i (rows of `stride` values, from column `offset`) as a string key (exact float32 values). */
const rowKey = (data: ArrayLike<number>, i: number, dim: number, stride = dim, offset = 0) =>
  Array.from({ length: dim }, (_, j) => data[i * stride + offset + j]).join(',');
const keys = (m: DataMatrix) => new Set(Array.from({ length: m.n }, (_, i) => rowKey(m.data, i, m.dim)));

/** A folder of `count` 16×16 grey PNGs: a bar of `k`-dependent brightness, `wide` or tall. */
function pngFolder(name: string, count: number, wide: boolean): string {
  const folder = join(tmp, name);
  mkdirSync(folder);
  for (let k = 0; k < count; k++) {
    const [w, h] = wide ? [12, 4] : [4, 12];
    const g = 60 + 15 * k;
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16"><rect width="16" height="16" fill="black"/><rect x="${2 + (k % 2)}" y="2" width="${w}" height="${h}" fill="rgb(${g},${g},${g})"/></svg>`;
    writeFileSync(join(folder, `img-${String(k).padStart(2, '0')}.png`), svgToPng(svg));
  }
  return folder;
}

describe('image bridge data', () => {
  it('pairs independent training images afresh every batch (target | source), held-out pairs from the test images', () => {
    const data = trainingData(`${SANDALS}->${SNEAKERS}`, { seed: 3 });
    expect(data.info).toMatchObject({ kind: 'image', dim: 196, imageShape: [14, 14, 1], bitsOffset: 7, pair: { source: SANDALS } });
    expect(data.source.dim).toBe(392);
    // The trainer's images: target dequantised with the run's seed, source with seed + 1.
    const targets = keys(loadDataset(SNEAKERS, { split: 'train', seed: 3 }));
    const sources = keys(loadDataset(SANDALS, { split: 'train', seed: 4 }));
    const rng = new Rng(11);
    const batches = [0, 1].map(() => {
      const t = data.source.batch(rng, 16);
      const rows = t.dataSync();
      t.dispose();
      return Array.from({ length: 16 }, (_, i) => [rowKey(rows, i, 196, 392), rowKey(rows, i, 196, 392, 196)]);
    });
    for (const [target, source] of batches.flat()) {
      expect(targets.has(target)).toBe(true);
      expect(sources.has(source)).toBe(true);
    }
    // A fresh pairing every batch: the second batch does not repeat the first one's pairs.
    const first = new Set(batches[0].map((p) => p.join('|')));
    expect(batches[1].filter((p) => first.has(p.join('|'))).length).toBeLessThan(4);

    // Held-out pairs: all test sandals (in order) with test sneakers in a fixed shuffle.
    const held = data.heldOut as DataMatrix;
    const testSandals = loadDataset(SANDALS, { split: 'test', seed: 0 });
    const testSneakers = keys(loadDataset(SNEAKERS, { split: 'test', seed: 0 }));
    expect(held.n).toBe(Math.min(testSandals.n, testSneakers.size));
    expect(held.dim).toBe(392);
    for (let i = 0; i < held.n; i++) {
      expect(rowKey(held.data, i, 196, 392, 196)).toBe(rowKey(testSandals.data, i, 196));
      expect(testSneakers.has(rowKey(held.data, i, 196, 392))).toBe(true);
    }
    const shuffled = bridgeEvaluationData(`${SANDALS}->${SNEAKERS}`, { n: 5, seed: 1 });
    expect([shuffled.sources.n, shuffled.targets.n, shuffled.imageShape]).toEqual([5, 5, [14, 14, 1]]);
    const other = bridgeEvaluationData(`${SANDALS}->${SNEAKERS}`, { n: 5, seed: 2 });
    expect(Array.from(other.sources.data)).toEqual(Array.from(shuffled.sources.data));
    expect(Array.from(other.targets.data)).not.toEqual(Array.from(shuffled.targets.data));
  });
});

describe('image bridges through the CLI', () => {
  it('trains a U-Net bridge between two classes, writes a grid of (source, result) pairs, plots frame strips, evaluates, resumes', async () => {
    const train = ['train', '--model', 'nfbm', '--arch', 'unet', '--base', '8', '--source', SANDALS, '--target', SNEAKERS];
    const summary = json(await nfdm([...train, '--batch', '4', '--steps', '2', '--eval-every', '0', '--out', 'b', '--json']));
    expect(summary.status).toBe('completed');
    expect(summary.config).toMatchObject({ model: 'nfbm', data: `${SANDALS}->${SNEAKERS}`, arch: 'unet', base: 8 });
    expect(summary.data).toMatchObject({ kind: 'image', dim: 196, imageShape: [14, 14, 1], bitsOffset: 7 });
    const config = summary.modelConfig as { dim: number; process: { network: object }; predictor: { network: object } };
    expect(config.dim).toBe(196);
    expect(config.process.network).toMatchObject({ arch: 'unet', image: { height: 14, width: 14, channels: 1 }, attentionResolutions: [] });
    expect(config.predictor.network).toMatchObject({ arch: 'unet', base: 8, multipliers: [1, 2], attentionResolutions: [7] });
    const bound = summary.bound as { kind: string; mean: number };
    expect(bound.kind).toBe('bridge');
    expect(Number.isFinite(bound.mean)).toBe(true);

    // A grid of 6 pairs: 4 pairs (8 images) a row, the held-out sandals in the source columns.
    mkdirSync(join(tmp, 'grid'));
    const grid = json(await nfdm(['sample', '--model', 'b', '--n', '6', '--steps', '3', '--out', 'grid/pairs.png', '--json']));
    expect([grid.n, grid.dim, grid.mode]).toEqual([6, 196, 'sde']);
    const png = readImageFolder(join(tmp, 'grid'));
    const scale = 4; // max(2, round(56 / 14))
    const cell = 14 * scale + 2;
    expect([png.width, png.height, png.channels]).toEqual([8 * cell + 2, 2 * cell + 2 + 40, 1]);
    const sandals = loadDataset(SANDALS, { split: 'test', n: 6, seed: 0 });
    const at = (x: number, y: number) => png.pixels[y * png.width + x];
    for (const [k, i, j] of [
      [0, 3, 4],
      [1, 7, 7],
      [5, 10, 2],
    ]) {
      // Pair k: its source in column 2·(k mod 4), row ⌊k/4⌋; pixel (i, j) at the centre of its square.
      const x = 2 + 2 * (k % 4) * cell + j * scale + scale / 2;
      const y = 40 + 2 + Math.floor(k / 4) * cell + i * scale + scale / 2;
      expect(at(x, y)).toBe(Math.round(255 * Math.min(1, Math.max(0, (sandals.data[k * 196 + i * 14 + j] + 1) / 2))));
    }
    const arrays = json(await nfdm(['sample', '--model', 'b', '--n', '3', '--steps', '2', '--out', 'moved.npy', '--json']));
    expect([arrays.n, arrays.dim]).toEqual([3, 196]);
    expect(readNpy(join(tmp, 'moved.npy')).n).toBe(3);
    // Other sources: bags.
    json(
      await nfdm([
        'sample',
        '--model',
        'b',
        '--source',
        'fashion-mnist-14:label=8',
        '--n',
        '2',
        '--steps',
        '2',
        '--out',
        'bags.png',
        '--json',
      ]),
    );
    expect([...readFileSync(join(tmp, 'bags.png')).subarray(0, 4)]).toEqual(PNG);
    failure(
      await nfdm(['sample', '--model', 'b', '--source', 'fashion-mnist:label=8', '--n', '2', '--out', 'x.png']),
      /--source fashion-mnist:label=8 holds 28×28×1 images, the bridge transports 14×14×1 images/,
    );

    const traj = json(await nfdm(['plot', 'trajectories', '--model', 'b', '--n', '2', '--steps', '3', '--out', 'traj.png', '--json']));
    expect([traj.n, traj.times]).toEqual([2, 4]);
    expect([...readFileSync(join(tmp, 'traj.png')).subarray(0, 4)]).toEqual(PNG);
    json(await nfdm(['plot', 'forward', '--model', 'b', '--n', '2', '--times', '3', '--out', 'forward.svg', '--json']));
    // Frames of whole images: 2 pairs × 3 times of 14×14 pixels, no 2-D paths.
    const forward = readFileSync(join(tmp, 'forward.svg'), 'utf8');
    expect(forward).not.toContain('<polyline');
    expect(forward.match(/<rect x=/g)?.length).toBe(2 * 3 * 196);

    const ev = json(await nfdm(['eval', '--model', 'b', '--n', '4', '--steps', '2', '--draws', '2', '--json']));
    expect(ev.data).toMatchObject({ n: 4, spec: `${SANDALS}->${SNEAKERS}` });
    expect((ev.data as { source: string }).source).toMatch(/4 held-out pairs \(14×14×1 images\)/);
    const metrics = ev.metrics as Record<string, number | { mean: number; bitsPerDim: number; n: number }>;
    expect(Object.keys(metrics).sort()).toEqual(['bound', 'energy', 'mmd', 'swd']);
    const b = metrics.bound as { mean: number; bitsPerDim: number; n: number };
    expect(b.n).toBe(4);
    expect(Number.isFinite(b.mean)).toBe(true);
    // bits/dim = nats / (D ln 2) + 7 (8-bit images dequantised to [−1, 1]).
    expect(b.bitsPerDim).toBeCloseTo(b.mean / (196 * Math.LN2) + 7, 6);
    for (const m of ['swd', 'mmd', 'energy']) expect(Number.isFinite(metrics[m])).toBe(true);
    const na = json(await nfdm(['eval', '--model', 'b', '--metrics', 'nelbo,bound', '--n', '2', '--draws', '1', '--json']));
    expect((na.notAvailable as Record<string, string>).nelbo).toMatch(/use the bound metric/);

    const resumed = json(await nfdm(['train', '--out', 'b', '--resume', '--steps', '3', '--eval-every', '0', '--json']));
    expect([resumed.status, resumed.step]).toEqual(['completed', 3]);
  }, 600_000);

  it('bridges two PNG folders resized to one shape (--data <source>-><target>)', async () => {
    const wide = pngFolder('wide', 12, true);
    const tall = pngFolder('tall', 12, false);
    const summary = json(
      await nfdm([
        'train',
        '--model',
        'nfbm',
        '--data',
        `${wide}@8x8->${tall}@8x8`,
        '--arch',
        'unet',
        '--base',
        '8',
        '--batch',
        '4',
        '--steps',
        '1',
        '--out',
        'folders',
        '--json',
      ]),
    );
    expect(summary.config).toMatchObject({ source: `${wide}@8x8`, target: `${tall}@8x8` });
    expect(summary.data).toMatchObject({ kind: 'image', dim: 64, imageShape: [8, 8, 1] });
    expect((summary.data as { source: string }).source).toMatch(/11 training images.*11 training images.*1 held-out pairs/);
    const ev = json(await nfdm(['eval', '--model', 'folders', '--metrics', 'bound', '--draws', '1', '--json']));
    expect((ev.metrics as { bound: { n: number } }).bound.n).toBe(1);
    failure(
      await nfdm(['train', '--model', 'nfbm', '--source', `${wide}@8x8`, '--target', SNEAKERS, '--steps', '1', '--out', 'x0']),
      /--source .*wide@8x8 holds 8×8×1 images but --target fashion-mnist-14:label=7 holds 14×14×1: a bridge needs images of one shape/,
    );
  }, 300_000);

  it('refuses bad ends with one line and no run folder', async () => {
    const bridge = (source: string, target: string, extra: string[] = []) =>
      nfdm(['train', '--model', 'nfbm', '--source', source, '--target', target, '--steps', '1', ...extra, '--out', 'bad']);
    failure(await bridge('fashion-mnist:label=5', SNEAKERS), /holds 28×28×1 images but --target .* holds 14×14×1/, 1);
    failure(
      await bridge(SANDALS, 'fashion-mnist-14:label=12'),
      /^nfdm: --target 'fashion-mnist-14:label=12': '12' is not a Fashion-MNIST label; the classes are 0 T-shirt\/top, .*9 Ankle boot$/,
      1,
    );
    failure(await bridge(SANDALS, 'fashion-mnist-14:class=7'), /select classes as fashion-mnist-14:label=7/, 1);
    failure(await bridge('moons', SNEAKERS), /--source moons is a 2-D toy set but --target .* is an image set/, 1);
    failure(await bridge(SANDALS, 'moons@3,0'), /--source .* is an image set but --target moons@3,0 is a 2-D toy set/, 1);
    failure(await bridge(SANDALS, SNEAKERS, ['--obstacle', '0,0,1']), /--obstacle is a disc in the plane/, 2);
    failure(await bridge('moons', 'circles', ['--arch', 'unet']), /--arch unet needs image data/, 2);
    expect(existsSync(join(tmp, 'bad'))).toBe(false);
  }, 120_000);
});
