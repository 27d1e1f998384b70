/**
 * The classifier as an instrument on the real Fashion-MNIST 14×14 (system suite): a short
 * training reaches a useful test accuracy, and the Fréchet distance of its features separates
 * "the same distribution" (two halves of the test set) from "another distribution" (one class).
 */
import { initBackend } from '@nfdm/core';
import { FASHION_MNIST_DEFAULT_DIR, loadDataset } from '@nfdm/datasets';
import { beforeAll, describe, expect, it } from 'vitest';
import { accuracy, classifierFrechetDistance, trainClassifier } from '../../src/index.js';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('classifier on Fashion-MNIST 14×14', () => {
  it('400 updates reach > 75 % test accuracy; Fréchet(test half, test half) ≪ Fréchet(test, one class)', () => {
    const dir = FASHION_MNIST_DEFAULT_DIR;
    const train = loadDataset('fashion-mnist-14', { split: 'train', dir, seed: 0 });
    const test = loadDataset('fashion-mnist-14', { split: 'test', dir, n: 4000, seed: 1 });
    const { classifier } = trainClassifier(train, train.labels as Uint8Array, {
      image: { height: 14, width: 14, channels: 1 },
      classes: 10,
      steps: 400,
      batch: 64,
      seed: 0,
    });
    try {
      expect(accuracy(classifier, test, test.labels as Uint8Array)).toBeGreaterThan(0.75);
      const half = (start: number) => ({ data: test.data.subarray(start * 196, (start + 2000) * 196), n: 2000, dim: 196 });
      const sneakers = loadDataset('fashion-mnist-14:label=7', { split: 'test', dir, seed: 2 });
      const same = classifierFrechetDistance(classifier, half(0), half(2000));
      const other = classifierFrechetDistance(classifier, sneakers, half(2000));
      expect(same).toBeGreaterThanOrEqual(0);
      expect(other).toBeGreaterThan(20 * same);
    } finally {
      classifier.dispose();
    }
  });
});
