import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@nfdm/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  listDatasets,
  loadDataset,
  loadFashionMnist,
  parseFashionMnistSpec,
  sampleToy,
  selectLabels,
  toTensor,
  toyNames,
  writeNpy,
} from '../src/index.js';
import { FASHION_MNIST_FIXTURE, FIXTURE_COUNTS } from './fixture.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nfdm-load-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadDataset', () => {
  it('toy names: n samples (default 10,000) from the seed, with the entropy floor', () => {
    const d = loadDataset('moons', { n: 300, seed: 4 });
    expect([d.kind, d.n, d.dim, d.entropy]).toEqual(['toy', 300, 2, 2.396]);
    expect(d.data).toEqual(sampleToy('moons', 300, 4).data);
    expect(d.source).toMatch(/^toy 'moons' \(sklearn make_moons.*\): 300 × 2, seed 4$/);
    expect(loadDataset('checkerboard').n).toBe(10_000);
  });

  it('fashion-mnist and fashion-mnist-14', () => {
    const full = loadDataset('fashion-mnist', { dir: FASHION_MNIST_FIXTURE, split: 'test', n: 20, seed: 1 });
    expect([full.kind, full.n, full.dim, full.imageShape, full.labels?.length]).toEqual(['image', 20, 784, [28, 28, 1], 20]);
    expect(full.source).toBe(
      `Fashion-MNIST test from ${FASHION_MNIST_FIXTURE}: 20 images 28×28×1 → 20 × 784 in [−1, 1) (uniformly dequantised)`,
    );
    expect(Array.from(full.labels?.subarray(0, 3) ?? [])).toEqual([9, 2, 1]);
    const small = loadDataset('fashion-mnist-14', { dir: FASHION_MNIST_FIXTURE, split: 'test', n: 20, dequantize: false });
    expect([small.n, small.dim, small.imageShape]).toEqual([20, 196, [14, 14, 1]]);
    expect(small.source).toMatch(/bin centres/);
    // Without n: the whole split (the subset has 300 training images).
    expect(loadDataset('fashion-mnist-14', { dir: FASHION_MNIST_FIXTURE }).n).toBe(FIXTURE_COUNTS.train);
  });

  it('fashion-mnist:label=K keeps the images of some classes, in file order; bad labels fail with the class list', () => {
    const all = loadDataset('fashion-mnist-14', { dir: FASHION_MNIST_FIXTURE, split: 'test', dequantize: false });
    const sneakers = loadDataset('fashion-mnist-14:label=7', { dir: FASHION_MNIST_FIXTURE, split: 'test', dequantize: false });
    const expected = Array.from(all.labels ?? []).flatMap((l, i) => (l === 7 ? [i] : []));
    expect(expected.length).toBeGreaterThan(5);
    expect([sneakers.n, sneakers.dim, sneakers.imageShape]).toEqual([expected.length, 196, [14, 14, 1]]);
    expect(Array.from(sneakers.labels ?? []).every((l) => l === 7)).toBe(true);
    expect(Array.from(sneakers.data.subarray(196, 392))).toEqual(Array.from(all.data.subarray(expected[1] * 196, (expected[1] + 1) * 196)));
    expect(sneakers.source).toMatch(/^Fashion-MNIST test, label 7 \(Sneaker\) from .*: \d+ images 14×14×1/);
    // Two classes, n counts the kept images.
    const two = loadDataset('Fashion-MNIST:label=5, 7', { dir: FASHION_MNIST_FIXTURE, split: 'train', n: 9 });
    expect([two.n, two.dim]).toEqual([9, 784]);
    expect(Array.from(two.labels ?? []).every((l) => l === 5 || l === 7)).toBe(true);
    expect(two.source).toMatch(/labels 5 \(Sandal\), 7 \(Sneaker\)/);
    expect(parseFashionMnistSpec('moons')).toBeUndefined();
    expect(parseFashionMnistSpec('fashion-mnist-14:label=3')).toEqual({ name: 'fashion-mnist-14', downsample: true, labels: [3] });
    expect(() => loadDataset('fashion-mnist:label=12', { dir: FASHION_MNIST_FIXTURE })).toThrow(
      /'12' is not a Fashion-MNIST label; the classes are 0 T-shirt\/top, 1 Trouser, .*, 9 Ankle boot/,
    );
    expect(() => loadDataset('fashion-mnist:class=1', { dir: FASHION_MNIST_FIXTURE })).toThrow(/select classes as fashion-mnist:label=7/);
    expect(() => selectLabels(loadFashionMnist({ dir: FASHION_MNIST_FIXTURE, limit: 3 }), [10])).toThrow(
      /label 10 is not a Fashion-MNIST class/,
    );
  });

  it('.csv and .npy paths', () => {
    const csv = join(dir, 'table.CSV');
    writeFileSync(csv, 'a,b,c\n1,2,3\n4,5,6\n7,8,9\n');
    const t = loadDataset(csv, { n: 2 });
    expect([t.kind, t.n, t.dim, Array.from(t.data), t.columns]).toEqual(['table', 2, 3, [1, 2, 3, 4, 5, 6], ['a', 'b', 'c']]);
    expect(t.source).toBe(`CSV file ${csv}: 2 × 3, columns a, b, c`);
    const npy = join(dir, 'table.npy');
    writeNpy(npy, { data: Float32Array.of(1, 2, 3, 4), n: 2, dim: 2 });
    const a = loadDataset(npy);
    expect([a.n, a.dim, Array.from(a.data)]).toEqual([2, 2, [1, 2, 3, 4]]);
    expect(a.source).toBe(`NPY file ${npy} (<f4, shape (2, 2)): 2 × 2`);
    writeNpy(npy, { data: new Float32Array(0), n: 0, dim: 2 });
    expect(() => loadDataset(npy)).toThrow(/shape \(0, 2\): no rows/);
  });

  it('clear errors for unknown names, other file types, missing files and bad n', () => {
    expect(() => loadDataset('mnist')).toThrow(
      `unknown dataset 'mnist'; use one of ${toyNames().join(', ')}, fashion-mnist, fashion-mnist-14, or a path ending in .csv or .npy`,
    );
    expect(() => loadDataset('data/x.parquet')).toThrow(
      "data/x.parquet: cannot load 'data/x.parquet': data files must end in .csv or .npy",
    );
    expect(() => loadDataset(join(dir, 'missing.csv'))).toThrow(/missing\.csv: no such file/);
    expect(() => loadDataset('moons', { n: 0 })).toThrow(/n must be a positive integer, got 0/);
    expect(() => loadDataset('fashion-mnist', { dir: join(dir, 'none') })).toThrow(/install the Debian package dataset-fashion-mnist/);
  });
});

describe('listDatasets', () => {
  it('lists the 8 toys, both Fashion-MNIST variants and the file formats, with sizes and origin', () => {
    const list = listDatasets({ dir: FASHION_MNIST_FIXTURE });
    expect(list.map((d) => d.name)).toEqual([
      ...toyNames(),
      'fashion-mnist',
      'fashion-mnist-14',
      'fashion-mnist[-14]:label=K[,K…]',
      '<path>.csv',
      '<path>.npy',
      '<folder>[@HxW[xC]]',
    ]);
    const pin = list.find((d) => d.name === 'pinwheel');
    expect(pin).toMatchObject({ kind: 'toy', dim: 2, entropy: 2.32, size: 'any n (default 10000); returns 5⌊n/5⌋ points' });
    expect(list.find((d) => d.name === 'moons')?.size).toBe('any n (default 10000)');
    expect(list.find((d) => d.name === 'fashion-mnist')).toMatchObject({
      dim: 784,
      size: '60000 train + 10000 test',
      available: true,
      origin: `IDX files in ${FASHION_MNIST_FIXTURE}`,
    });
    expect(list.find((d) => d.name === 'fashion-mnist-14')?.dim).toBe(196);
    const missing = listDatasets({ dir: join(dir, 'none') }).find((d) => d.name === 'fashion-mnist');
    expect(missing?.available).toBe(false);
    expect(missing?.origin).toMatch(/missing: apt-get install dataset-fashion-mnist/);
  });
});

describe('toTensor', () => {
  it('gives a float32 [n, dim] tensor with the same values', async () => {
    await initBackend('wasm');
    const m = sampleToy('rings', 6, 0);
    const t = toTensor(m);
    expect([t.shape, t.dtype]).toEqual([[6, 2], 'float32']);
    expect(t.dataSync()).toEqual(m.data);
    t.dispose();
  });
});
