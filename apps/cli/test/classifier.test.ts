/**
 * The in-repo image classifier through the built CLI, on the committed Fashion-MNIST subset of
 * @nfdm/datasets (300 train / 200 test images; NFDM_FASHION_MNIST_DIR): `classifier train` writes
 * the classifier and its test accuracy, `classifier eval` reproduces it, `eval --metrics
 * sample-accuracy,frechet` judges a label-conditional image model's samples, `sample --labels all`
 * draws a class-by-class grid whose pixels are the samples; and the one-line refusals.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readImageFolder, readNpy } from '@nfdm/datasets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLASS_COLOURS, classSamplesSvg, rowsByClass } from '../src/cli/class-plots.js';
import { classGridLayout } from '../src/plot/class-grid.js';
import { BIN, failure, json, runCli } from './harness.js';

const FASHION_MNIST_FIXTURE = fileURLToPath(new URL('../../../packages/datasets/test/fixtures/fashion-mnist', import.meta.url));
let tmp: string;
let savedDataDir: string | undefined;
const nfdm = (args: string[]) => runCli(tmp, args);

beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build the CLI first (cd apps/cli && npx tsup)`);
  tmp = mkdtempSync(join(tmpdir(), 'nfdm-cli-classifier-'));
  savedDataDir = process.env.NFDM_FASHION_MNIST_DIR;
  process.env.NFDM_FASHION_MNIST_DIR = FASHION_MNIST_FIXTURE; // runCli passes the environment on
});

afterAll(() => {
  if (savedDataDir === undefined) delete process.env.NFDM_FASHION_MNIST_DIR;
  else process.env.NFDM_FASHION_MNIST_DIR = savedDataDir;
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const COND = [
  '--model',
  'vp',
  '--data',
  'fashion-mnist-14',
  '--arch',
  'unet',
  '--base',
  '8',
  '--steps',
  '2',
  '--batch',
  '8',
  '--eval-every',
  '0',
];

describe('nfdm classifier', () => {
  it('trains, reports and stores its test accuracy, and eval reproduces it; refuses what cannot work', async () => {
    const run = json(
      await nfdm(['classifier', 'train', '--data', 'fashion-mnist-14', '--out', 'clf', '--steps', '60', '--batch', '32', '--json']),
    );
    const test = run.test as { n: number; accuracy: number; perClass: (number | null)[] };
    expect(test.n).toBe(200);
    expect(test.accuracy).toBeGreaterThan(0.3); // chance is 0.1
    expect(test.perClass).toHaveLength(10);
    const stored = JSON.parse(readFileSync(join(tmp, 'clf', 'run.json'), 'utf8'));
    expect(stored.test.accuracy).toBe(test.accuracy);
    expect(JSON.parse(readFileSync(join(tmp, 'clf', 'config.json'), 'utf8'))).toMatchObject({
      format: 'nfdm-classifier/1',
      image: { height: 14, width: 14, channels: 1 },
      classes: 10,
    });
    const again = json(await nfdm(['classifier', 'eval', '--classifier', 'clf', '--json']));
    expect(again.accuracy).toBe(test.accuracy);
    const human = await nfdm(['classifier', 'eval', '--classifier', 'clf', '--n', '50']);
    expect(human.stdout).toMatch(/test accuracy \S+ on 50 test images of fashion-mnist-14/);
    expect(human.stdout).toMatch(/9\s+\S+\s+Ankle boot/);

    failure(
      await nfdm(['classifier', 'train', '--data', 'fashion-mnist-14', '--out', 'clf', '--steps', '1']),
      /clf already holds a classifier; pass --force/,
    );
    failure(
      await nfdm(['classifier', 'train', '--data', 'moons', '--out', 'x', '--steps', '1']),
      /a classifier needs labelled images: --data fashion-mnist/,
      2,
    );
    failure(
      await nfdm(['classifier', 'eval', '--classifier', 'clf', '--data', 'fashion-mnist']),
      /the classifier clf reads 14×14×1 images, but --data fashion-mnist holds 28×28×1 images/,
    );
    failure(await nfdm(['classifier', 'eval', '--classifier', 'nowhere']), /--classifier nowhere: no classifier there/);
  }, 120_000);

  it('eval --metrics sample-accuracy,frechet judges a label-conditional image model; the refusals name the problem', async () => {
    json(await nfdm(['classifier', 'train', '--data', 'fashion-mnist-14', '--out', 'c14', '--steps', '5', '--batch', '16', '--json']));
    json(await nfdm(['train', ...COND, '--condition', 'label', '--out', 'fmc', '--json']));
    const args = [
      'eval',
      '--model',
      'fmc',
      '--metrics',
      'sample-accuracy,frechet',
      '--classifier',
      'c14',
      '--n-per-class',
      '2',
      '--steps',
      '2',
    ];
    const ev = json(await nfdm([...args, '--guidance', '2', '--json']));
    const m = ev.metrics as {
      'sample-accuracy': { perClass: number[]; counts: number[]; mean: number; guidance: number };
      frechet: { value: number; samples: number; reference: number; note: string };
    };
    expect(m['sample-accuracy'].counts).toEqual(new Array(10).fill(2));
    expect(m['sample-accuracy'].perClass).toHaveLength(10);
    expect(m['sample-accuracy'].mean).toBeCloseTo(m['sample-accuracy'].perClass.reduce((s, a) => s + a, 0) / 10, 12);
    expect(m['sample-accuracy'].guidance).toBe(2);
    expect(m.frechet.value).toBeGreaterThanOrEqual(0);
    expect([m.frechet.samples, m.frechet.reference]).toEqual([20, 200]);
    expect(m.frechet.note).toMatch(/NOT Inception FID/);
    const human = await nfdm(args);
    expect(human.stdout).toMatch(/sample-accuracy\s+\S+\s+mean over classes/);
    expect(human.stdout).toMatch(/frechet\s+\S+\s+.*NOT Inception FID/);
    expect(human.stdout).toMatch(/sample accuracy by class \(guidance 0;/);

    failure(await nfdm(['eval', '--model', 'fmc', '--metrics', 'sample-accuracy']), /--metrics sample-accuracy needs --classifier DIR/, 2);
    failure(
      await nfdm(['eval', '--model', 'fmc', '--metrics', 'nelbo', '--guidance', '2']),
      /--guidance applies to --metrics sample-accuracy or frechet/,
      2,
    );
    json(await nfdm(['classifier', 'train', '--data', 'fashion-mnist', '--out', 'c28', '--steps', '1', '--batch', '4', '--json']));
    failure(
      await nfdm(['eval', '--model', 'fmc', '--metrics', 'frechet', '--classifier', 'c28']),
      /the classifier c28 reads 28×28×1 images, but the model fmc makes 14×14×1 images/,
    );
    json(await nfdm(['train', ...COND, '--out', 'plain', '--json']));
    failure(
      await nfdm(['eval', '--model', 'plain', '--metrics', 'sample-accuracy', '--classifier', 'c14']),
      /sample-accuracy needs a label-conditional model .* this model is unconditional/,
      2,
    );
    const plain = json(
      await nfdm(['eval', '--model', 'plain', '--metrics', 'frechet', '--classifier', 'c14', '--n', '6', '--steps', '2', '--json']),
    );
    expect((plain.metrics as { frechet: { samples: number } }).frechet.samples).toBe(6);
    json(
      await nfdm([
        'train',
        '--model',
        'nfdm',
        '--data',
        '8gaussians',
        '--steps',
        '2',
        '--hidden',
        '8',
        '--eval-every',
        '0',
        '--out',
        'toy',
        '--json',
      ]),
    );
    failure(
      await nfdm(['eval', '--model', 'toy', '--metrics', 'frechet', '--classifier', 'c14']),
      /judges images; toy .*was not trained on images/,
      2,
    );
  }, 180_000);

  it('sample --labels all writes one row per class whose pixels are the samples', async () => {
    if (!existsSync(join(tmp, 'fmc'))) json(await nfdm(['train', ...COND, '--condition', 'label', '--out', 'fmc', '--json']));
    mkdirSync(join(tmp, 'grid'));
    const base = ['sample', '--model', 'fmc', '--labels', 'all', '--n', '20', '--steps', '2', '--seed', '4'];
    const s = json(await nfdm([...base, '--out', 'grid/by-class.png', '--json']));
    expect(s.labels).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    json(await nfdm([...base, '--out', 'same.npy', '--json']));
    const samples = readNpy(join(tmp, 'same.npy'));
    const png = readImageFolder(join(tmp, 'grid'));
    const scale = 4; // max(2, round(56 / 14))
    const { gap, labelWidth, top, cellW, cellH } = classGridLayout(14, 14, { scale, title: 'a title' });
    expect(png.height).toBe(top + gap + 10 * cellH);
    const at = (x: number, y: number) => png.pixels[y * png.width + x];
    for (const [k, c, i, j] of [
      [0, 0, 3, 4],
      [3, 1, 7, 7],
      [9, 1, 10, 2],
      [5, 0, 13, 13],
    ]) {
      // Class k's c-th sample is sample c·10 + k (labels 0…9 in turn); row k, column c of the grid.
      const v = samples.data[(c * 10 + k) * 196 + i * 14 + j];
      const x = labelWidth + gap + c * cellW + j * scale + scale / 2;
      const y = top + gap + k * cellH + i * scale + scale / 2;
      expect(at(x, y)).toBe(Math.round(255 * Math.min(1, Math.max(0, (v + 1) / 2))));
    }
  }, 120_000);
});

describe('class plots', () => {
  it('2-D label-conditional samples: one dot layer per class in its colour, holding that class’s points', () => {
    const labels = [2, 0, 2, 1, 0, 2];
    expect([...rowsByClass(labels).entries()]).toEqual([
      [0, [1, 4]],
      [1, [3]],
      [2, [0, 2, 5]],
    ]);
    const data = Float32Array.from([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
    const svg = classSamplesSvg({ data, n: 6, dim: 2 }, labels, undefined, 'by label') as string;
    for (const [k, count] of [
      [0, 2],
      [1, 1],
      [2, 3],
    ]) {
      const layer = svg.match(new RegExp(`<g fill="${CLASS_COLOURS[k]}"[^>]*data-layer="class ${k} \\(${count}\\)">(.*?)</g>`));
      expect(layer, `class ${k}`).not.toBeNull();
      expect((layer?.[1].match(/<circle/g) ?? []).length).toBe(count);
    }
    expect(classSamplesSvg({ data: new Float32Array(9), n: 3, dim: 3 }, [0, 1, 2], undefined, 't')).toBeUndefined();
  });

  it('a 2-D label-conditional toy model draws its PNG scatter by label through the CLI', async () => {
    const train = ['train', '--model', 'nfdm', '--data', '8gaussians', '--condition', 'label', '--steps', '2', '--hidden', '8'];
    json(await nfdm([...train, '--eval-every', '0', '--out', 'c8', '--json']));
    const s = json(await nfdm(['sample', '--model', 'c8', '--labels', 'all', '--n', '40', '--steps', '3', '--out', 'toy.png', '--json']));
    expect(s.labels).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect([...readFileSync(join(tmp, 'toy.png')).subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
    failure(
      await nfdm(['sample', '--model', 'c8', '--n', '4', '--out', 'u.png']),
      /a PNG grid needs an image model .*or a 2-D label-conditional model with --labels/,
      2,
    );
  }, 60_000);
});
