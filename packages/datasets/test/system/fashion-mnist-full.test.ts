/**
 * System suite: the full Fashion-MNIST files of Debian's dataset-fashion-mnist in
 * /usr/share/datasets/fashion-mnist (60,000 train / 10,000 test), and the committed subset
 * checked against them. Run with `npm run test:system`.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  downsample2x,
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_DEFAULT_DIR,
  type ImageSet,
  listDatasets,
  loadDataset,
  loadFashionMnist,
} from '../../src/index.js';
import { byteSum, classCounts, FASHION_MNIST_FIXTURE, FIXTURE_COUNTS } from '../fixture.js';

const DIR = FASHION_MNIST_DEFAULT_DIR;

describe('Fashion-MNIST from the Debian IDX files', () => {
  let train: ImageSet;
  let test: ImageSet;
  beforeAll(() => {
    train = loadFashionMnist({ dir: DIR, split: 'train' });
    test = loadFashionMnist({ dir: DIR, split: 'test' });
  });

  it('has 60,000 / 10,000 images of 28×28×1 with 6,000 / 1,000 per class', () => {
    expect([train.n, train.height, train.width, train.channels, train.pixels.length]).toEqual([60_000, 28, 28, 1, 60_000 * 784]);
    expect([test.n, test.height, test.width, test.channels, test.pixels.length]).toEqual([10_000, 28, 28, 1, 10_000 * 784]);
    expect(classCounts(train.labels)).toEqual(new Array(10).fill(6000));
    expect(classCounts(test.labels)).toEqual(new Array(10).fill(1000));
    expect(train.files.images).toBe(join(DIR, 'train-images-idx3-ubyte.gz'));
    expect(FASHION_MNIST_CLASSES[train.labels[0]]).toBe('Ankle boot');
  });

  it('matches the known pixel checksums and first labels', () => {
    expect(byteSum(train.pixels)).toBe(3_431_114_169);
    expect(byteSum(test.pixels)).toBe(573_469_082);
    expect(byteSum(train.pixels.subarray(0, 784))).toBe(76_247); // first training image
    expect(byteSum(test.pixels.subarray(0, 784))).toBe(33_456);
    expect(byteSum(train.pixels.subarray(59_999 * 784))).toBe(16_684); // last training image
    expect(Array.from(train.labels.subarray(0, 10))).toEqual([9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    expect(Array.from(test.labels.subarray(0, 10))).toEqual([9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
  });

  it('the committed subset is the first 300 / 200 items of the real files, byte for byte', () => {
    for (const [split, full] of [
      ['train', train],
      ['test', test],
    ] as const) {
      const sub = loadFashionMnist({ dir: FASHION_MNIST_FIXTURE, split });
      expect(sub.n).toBe(FIXTURE_COUNTS[split]);
      expect(Buffer.compare(Buffer.from(sub.pixels), Buffer.from(full.pixels.subarray(0, sub.n * 784)))).toBe(0);
      expect(Array.from(sub.labels)).toEqual(Array.from(full.labels.subarray(0, sub.n)));
    }
  });

  it('downsamples the whole test split: 4 × Σ 14×14 pixels ≈ Σ 28×28 pixels', () => {
    const small = downsample2x(test);
    expect([small.n, small.height, small.width, small.pixels.length]).toEqual([10_000, 14, 14, 10_000 * 196]);
    const i = 9999;
    const at = (y: number, x: number) => test.pixels[i * 784 + y * 28 + x];
    expect(small.pixels[i * 196 + 6 * 14 + 13]).toBe(Math.floor((at(12, 26) + at(12, 27) + at(13, 26) + at(13, 27) + 2) / 4));
    expect(Math.abs(byteSum(small.pixels) * 4 - byteSum(test.pixels)) / byteSum(test.pixels)).toBeLessThan(0.002);
  });

  it('loadDataset and listDatasets find the files in the default directory', () => {
    const saved = process.env.NFDM_FASHION_MNIST_DIR;
    delete process.env.NFDM_FASHION_MNIST_DIR;
    try {
      const d = loadDataset('fashion-mnist-14', { split: 'test', n: 20 });
      expect(d.source).toMatch(/^Fashion-MNIST test from \/usr\/share\/datasets\/fashion-mnist: 20 images 14×14×1 → 20 × 196/);
      expect(loadDataset('fashion-mnist', { split: 'train' }).n).toBe(60_000);
      expect(listDatasets().find((r) => r.name === 'fashion-mnist')).toMatchObject({
        size: '60000 train + 10000 test',
        available: true,
        origin: 'IDX files in /usr/share/datasets/fashion-mnist',
      });
    } finally {
      if (saved !== undefined) process.env.NFDM_FASHION_MNIST_DIR = saved;
    }
  });
});
