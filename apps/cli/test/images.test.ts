/**
 * Image models end to end through the built CLI, on the committed Fashion-MNIST subset of
 * @nfdm/datasets (NFDM_FASHION_MNIST_DIR; no Debian data set needed): `train --arch unet` (U-Nets
 * for the predictor and NFDM's forward process), `info`, `plot samples` (a PNG grid),
 * `plot trajectories` and `plot forward` (frame strips), `eval` (NELBO and exact NLL in bits/dim),
 * `--resume`; `export` writes ONNX graphs that record the image shape and that onnxruntime samples
 * as a PNG grid; bad `--arch` uses are refused; `--dropout` reaches the predictor U-Net and is
 * refused without `--arch unet`. DiffFlow with U-Net drift and score (a short grid, N = 4, through
 * --config): train, a PNG sample grid, its NLL bound and probability-flow NLL in bits/dim, `export`
 * refused with one line.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ImageShapeMeta, imageGridPng, loadOnnxModel } from '@nfdm/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { svgToPng } from '../src/plot/png.js';
import { BIN, failure, json, runCli } from './harness.js';

const FASHION_MNIST_FIXTURE = fileURLToPath(new URL('../../../packages/datasets/test/fixtures/fashion-mnist', import.meta.url));
let tmp: string;
let savedDataDir: string | undefined;
const nfdm = (args: string[]) => runCli(tmp, args);
const PNG = [0x89, 0x50, 0x4e, 0x47];

beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build the CLI first (cd apps/cli && npx tsup)`);
  tmp = mkdtempSync(join(tmpdir(), 'nfdm-cli-images-'));
  savedDataDir = process.env.NFDM_FASHION_MNIST_DIR;
  process.env.NFDM_FASHION_MNIST_DIR = FASHION_MNIST_FIXTURE; // runCli passes the environment on
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  if (savedDataDir === undefined) delete process.env.NFDM_FASHION_MNIST_DIR;
  else process.env.NFDM_FASHION_MNIST_DIR = savedDataDir;
});

describe('U-Net image models', () => {
  it('trains NFDM with U-Nets on 14×14 images, plots sample grids and frame strips, evaluates bits/dim, resumes', async () => {
    const train = ['train', '--model', 'nfdm', '--data', 'fashion-mnist-14', '--arch', 'unet', '--base', '8', '--batch', '4'];
    const summary = json(await nfdm([...train, '--steps', '2', '--eval-every', '0', '--checkpoint-every', '2', '--out', 'u', '--json']));
    expect(summary.status).toBe('completed');
    const config = summary.modelConfig as {
      predictor: { network: Record<string, unknown> };
      forward: { network: Record<string, unknown> };
    };
    expect(config.predictor.network).toMatchObject({
      arch: 'unet',
      image: { height: 14, width: 14, channels: 1 },
      base: 8,
      multipliers: [1, 2],
      attentionResolutions: [7],
    });
    expect(config.forward.network).toMatchObject({
      arch: 'unet',
      base: 8,
      attentionResolutions: [],
      embedding: { minFrequency: 2 * Math.PI },
    });
    expect(Number.isFinite((summary.nelbo as { mean: number }).mean)).toBe(true);

    const info = json(await nfdm(['info', '--model', 'u', '--json']));
    expect(info.family).toBe('diffusion');

    for (const [kind, extra] of [
      ['samples', ['--n', '4', '--steps', '3']],
      ['trajectories', ['--n', '2', '--steps', '3']],
      ['forward', ['--n', '2', '--times', '4']],
    ] as const) {
      const r = json(await nfdm(['plot', kind, '--model', 'u', ...extra, '--out', `${kind}.png`, '--json']));
      expect(r.plot).toBe(kind);
      expect([...readFileSync(join(tmp, `${kind}.png`)).subarray(0, 4)]).toEqual(PNG);
    }

    const grid = json(await nfdm(['sample', '--model', 'u', '--n', '4', '--steps', '3', '--out', 's.png', '--json']));
    expect(grid.n).toBe(4);
    expect([...readFileSync(join(tmp, 's.png')).subarray(0, 4)]).toEqual(PNG);
    const arrays = json(await nfdm(['sample', '--model', 'u', '--n', '3', '--steps', '3', '--out', 's.npy', '--json']));
    expect([arrays.n, arrays.dim]).toEqual([3, 196]);

    const ev = json(
      await nfdm([
        'eval',
        '--model',
        'u',
        '--metrics',
        'nelbo,nll',
        '--n',
        '4',
        '--draws',
        '1',
        '--nll-solver',
        'rk4',
        '--nll-steps',
        '2',
        '--json',
      ]),
    );
    const metrics = ev.metrics as Record<string, { mean: number; bitsPerDim: number }>;
    for (const m of ['nelbo', 'nll']) {
      expect(Number.isFinite(metrics[m].mean)).toBe(true);
      // bits/dim = nats / (D ln 2) + 7 (8-bit images dequantised to [−1, 1]).
      expect(metrics[m].bitsPerDim).toBeCloseTo(metrics[m].mean / (196 * Math.LN2) + 7, 6);
    }

    const resumed = json(await nfdm(['train', '--out', 'u', '--resume', '--steps', '3', '--eval-every', '0', '--json']));
    expect(resumed.status).toBe('completed');
    expect(resumed.step).toBe(3);

    const exported = json(await nfdm(['export', '--model', 'u', '--out', 'onnx', '--json']));
    expect(exported.files).toContain(join('onnx', 'sampler_euler_ode.onnx'));
    const manifest = JSON.parse(readFileSync(join(tmp, 'onnx', 'nfdm-onnx.json'), 'utf8'));
    expect(manifest.image).toEqual({ height: 14, width: 14, channels: 1 });
    const runtime = await loadOnnxModel(join(tmp, 'onnx'), { graphs: ['sampler_euler_ode'] });
    try {
      const { samples } = await runtime.sample({ n: 2, steps: 3, solver: 'euler', mode: 'ode', seed: 1, engine: 'loop' });
      expect(samples.length).toBe(2 * 196);
      expect(samples.every(Number.isFinite)).toBe(true);
      const png = imageGridPng(samples, 2, runtime.image as ImageShapeMeta, { gap: 0 });
      expect([...png.subarray(0, 4)]).toEqual(PNG);
    } finally {
      await runtime.dispose();
    }
  }, 600_000);

  it('trains on a folder of PNG images (DIR@HxW), holding out the last tenth for eval', async () => {
    const folder = join(tmp, 'pngs');
    mkdirSync(folder);
    for (let k = 0; k < 12; k++) {
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16"><rect width="16" height="16" fill="black"/><rect x="${k % 8}" y="4" width="6" height="8" fill="rgb(${20 * k},${20 * k},${20 * k})"/></svg>`;
      writeFileSync(join(folder, `img-${String(k).padStart(2, '0')}.png`), svgToPng(svg));
    }
    const summary = json(
      await nfdm([
        'train',
        '--model',
        'vp',
        '--data',
        `${folder}@8x8`,
        '--arch',
        'unet',
        '--base',
        '8',
        '--batch',
        '4',
        '--steps',
        '2',
        '--eval-every',
        '0',
        '--out',
        'f',
        '--json',
      ]),
    );
    expect(summary.data).toMatchObject({ kind: 'image', imageShape: [8, 8, 1], rows: { train: 11, heldOut: 1 }, bitsOffset: 7 });
    expect((summary.modelConfig as { predictor: { network: { image: unknown } } }).predictor.network.image).toEqual({
      height: 8,
      width: 8,
      channels: 1,
    });
    const ev = json(await nfdm(['eval', '--model', 'f', '--metrics', 'nelbo', '--draws', '1', '--json']));
    expect((ev.data as { n: number; source: string }).n).toBe(1);
    expect((ev.data as { source: string }).source).toMatch(/held-out images/);
  }, 300_000);

  it('--dropout P gives the predictor U-Net dropout (stored with the model and the run)', async () => {
    const args = ['train', '--model', 'vp', '--data', 'fashion-mnist-14', '--arch', 'unet', '--base', '8', '--dropout', '0.25'];
    const summary = json(await nfdm([...args, '--batch', '2', '--steps', '1', '--eval-every', '0', '--out', 'drop', '--json']));
    expect(summary.status).toBe('completed');
    expect((summary.config as { dropout: number }).dropout).toBe(0.25);
    expect((summary.modelConfig as { predictor: { network: { dropout: number } } }).predictor.network.dropout).toBe(0.25);
    const saved = JSON.parse(readFileSync(join(tmp, 'drop', 'model', 'config.json'), 'utf8'));
    expect(saved.predictor.network.dropout).toBe(0.25);
  }, 300_000);

  it('trains DiffFlow with U-Net drift and score on 14×14 images, samples a PNG grid, evaluates bits/dim, exports', async () => {
    // A short grid (N = 4 instead of 30) and one held-out draw keep the U-Net chain cheap.
    writeFileSync(join(tmp, 'short-diffflow.json'), JSON.stringify({ modelConfig: { time: { N: 4 } }, trainer: { evalDraws: 1 } }));
    const train = ['train', '--model', 'diffflow', '--data', 'fashion-mnist-14', '--arch', 'unet', '--base', '8', '--batch', '4'];
    const summary = json(
      await nfdm([...train, '--steps', '2', '--eval-every', '0', '--config', 'short-diffflow.json', '--out', 'df', '--json']),
    );
    expect(summary.status).toBe('completed');
    expect(summary.modelConfig).toMatchObject({
      format: 'nfdm-diffflow/1',
      dim: 196,
      network: {
        arch: 'unet',
        image: { height: 14, width: 14, channels: 1 },
        base: 8,
        multipliers: [1, 2],
        attentionResolutions: [7],
        embedding: { minFrequency: 2, maxFrequency: 600 },
      },
      time: { N: 4 },
    });
    expect(summary.bound).toMatchObject({ kind: 'diffflow' });
    expect(Number.isFinite((summary.bound as { mean: number }).mean)).toBe(true);

    const grid = json(await nfdm(['sample', '--model', 'df', '--n', '4', '--out', 'df.png', '--json']));
    expect(grid).toMatchObject({ n: 4, dim: 196, solver: 'diffflow-chain', steps: 4 });
    expect([...readFileSync(join(tmp, 'df.png')).subarray(0, 4)]).toEqual(PNG);

    const ev = json(
      await nfdm([
        'eval',
        '--model',
        'df',
        '--metrics',
        'nelbo,nll',
        '--n',
        '4',
        '--draws',
        '1',
        '--nll-solver',
        'rk4',
        '--nll-steps',
        '2',
        '--json',
      ]),
    );
    const metrics = ev.metrics as Record<string, { mean: number; bitsPerDim: number }>;
    for (const m of ['nelbo', 'nll']) {
      // nelbo is DiffFlow's chain bound; bits/dim = nats / (D ln 2) + 7 (8-bit images dequantised to [−1, 1]).
      expect(Number.isFinite(metrics[m].mean)).toBe(true);
      expect(metrics[m].bitsPerDim).toBeCloseTo(metrics[m].mean / (196 * Math.LN2) + 7, 6);
    }

    const exported = json(await nfdm(['export', '--model', 'df', '--out', 'df-onnx', '--json']));
    expect(exported.files).toContain(join('df-onnx', 'diffflow_sampler_sde.onnx'));
    const manifest = JSON.parse(readFileSync(join(tmp, 'df-onnx', 'nfdm-onnx.json'), 'utf8'));
    expect(manifest).toMatchObject({ kind: 'diffflow', image: { height: 14, width: 14, channels: 1 } });
  }, 600_000);

  it('refuses --arch unet where it does not apply, with one line', async () => {
    failure(
      await nfdm(['train', '--model', 'nfdm', '--data', '8gaussians', '--arch', 'unet', '--steps', '2', '--out', 'x1']),
      /--arch unet needs image data/,
      2,
    );
    failure(
      await nfdm([
        'train',
        '--model',
        'nfbm',
        '--source',
        'moons',
        '--target',
        '8gaussians',
        '--arch',
        'unet',
        '--steps',
        '2',
        '--out',
        'x2',
      ]),
      /--arch unet needs image data/,
      2,
    );
    failure(
      await nfdm(['train', '--model', 'nfdm', '--data', 'fashion-mnist-14', '--base', '8', '--steps', '2', '--out', 'x3']),
      /--base .* needs --arch unet/,
      2,
    );
    failure(
      await nfdm(['train', '--model', 'nfdm', '--data', 'fashion-mnist-14', '--dropout', '0.1', '--steps', '2', '--out', 'x4']),
      /--dropout .* needs --arch unet/,
      2,
    );
    failure(
      await nfdm([
        'train',
        '--model',
        'vp',
        '--data',
        'fashion-mnist-14',
        '--arch',
        'unet',
        '--dropout',
        '1',
        '--steps',
        '2',
        '--out',
        'x5',
      ]),
      /dropout rate in \[0, 1\)/,
      2,
    );
    failure(
      await nfdm([
        'train',
        '--model',
        'diffflow',
        '--data',
        'fashion-mnist-14',
        '--arch',
        'unet',
        '--dropout',
        '0.1',
        '--steps',
        '2',
        '--out',
        'x6',
      ]),
      /--dropout applies to the U-Net predictor of diffusion models and bridges, not diffflow/,
      2,
    );
    expect(existsSync(join(tmp, 'x1'))).toBe(false);
    await nfdm(['train', '--model', 'nfdm', '--data', '8gaussians', '--steps', '2', '--hidden', '4', '--eval-every', '0', '--out', 'toy']);
    failure(await nfdm(['sample', '--model', 'toy', '--n', '4', '--out', 't.png']), /a PNG grid needs an image model/, 2);
  }, 120_000);
});
