/**
 * The image classifier: it learns a separable synthetic image task (no Fashion-MNIST files
 * needed), training is deterministic given the seed, save/load round-trips the probabilities
 * exactly, and the config and shape errors name what is wrong.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, Rng } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accuracy,
  CLASSIFIER_FORMAT,
  classifierConfig,
  classifyRows,
  featureRows,
  ImageClassifier,
  type ImageRows,
  loadClassifier,
  sampleAccuracy,
  saveClassifier,
  trainClassifier,
} from '../../src/index.js';

let root: string;
beforeAll(async () => {
  await initBackend('wasm');
  root = mkdtempSync(join(tmpdir(), 'nfdm-classifier-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const IMAGE = { height: 8, width: 8, channels: 1 };

/**
 * n 8×8 images of 4 classes in [−1, 1]: class k is a bright 4×4 square in quadrant k on a dark
 * background, with Gaussian pixel noise of std 0.3 — separable, but not from one pixel.
 */
function squares(n: number, seed: number): { rows: ImageRows; labels: Int32Array } {
  const rng = new Rng(seed);
  const data = new Float32Array(n * 64);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = i % 4;
    labels[i] = k;
    const [r0, c0] = [4 * Math.floor(k / 2), 4 * (k % 2)];
    for (let r = 0; r < 8; r++)
      for (let c = 0; c < 8; c++) {
        const on = r >= r0 && r < r0 + 4 && c >= c0 && c < c0 + 4;
        data[i * 64 + r * 8 + c] = (on ? 0.6 : -0.6) + 0.3 * rng.normal();
      }
  }
  return { rows: { data, n, dim: 64 }, labels };
}

const SMALL = { channels: [8, 8], groups: 2, features: 16 };

describe('image classifier', () => {
  it('learns a separable synthetic image task to > 90 % held-out accuracy in a few steps', () => {
    const train = squares(400, 1);
    const test = squares(200, 2);
    const untrained = new ImageClassifier(classifierConfig({ image: IMAGE, classes: 4, ...SMALL }));
    const before = accuracy(untrained, test.rows, test.labels);
    untrained.dispose();
    const { classifier, losses } = trainClassifier(train.rows, train.labels, {
      image: IMAGE,
      classes: 4,
      steps: 40,
      batch: 32,
      lr: 5e-3,
      seed: 3,
      architecture: SMALL,
    });
    const after = accuracy(classifier, test.rows, test.labels);
    expect(after).toBeGreaterThan(0.9);
    expect(before).toBeLessThan(0.6);
    expect(losses[losses.length - 1]).toBeLessThan(losses[0]);
    // Sample accuracy of rows "asked" as their true labels equals the accuracy; classes never asked are null.
    const acc = sampleAccuracy(classifier, test.rows, test.labels);
    expect(acc.overall).toBeCloseTo(after, 12);
    expect(acc.counts).toEqual([50, 50, 50, 50]);
    expect(acc.mean).toBeCloseTo(acc.perClass.reduce((s: number, a) => s + (a ?? 0), 0) / 4, 12);
    const firstTwo = { rows: { ...test.rows, data: test.rows.data.subarray(0, 2 * 64), n: 2 }, labels: test.labels.subarray(0, 2) };
    const partial = sampleAccuracy(classifier, firstTwo.rows, firstTwo.labels);
    expect(partial.perClass.slice(2)).toEqual([null, null]);
    expect(partial.counts).toEqual([1, 1, 0, 0]);
    classifier.dispose();
  });

  it('is deterministic given the seed, and the seed matters; no tensors leak', () => {
    const { rows, labels } = squares(64, 4);
    const opts = { image: IMAGE, classes: 4, steps: 3, batch: 8, architecture: SMALL };
    const tensors = tf.memory().numTensors;
    const a = trainClassifier(rows, labels, { ...opts, seed: 7 });
    const b = trainClassifier(rows, labels, { ...opts, seed: 7 });
    const c = trainClassifier(rows, labels, { ...opts, seed: 8 });
    expect(Array.from(a.losses)).toEqual(Array.from(b.losses));
    expect(Array.from(classifyRows(a.classifier, rows))).toEqual(Array.from(classifyRows(b.classifier, rows)));
    expect(Array.from(a.losses)).not.toEqual(Array.from(c.losses));
    featureRows(a.classifier, rows);
    accuracy(a.classifier, rows, labels);
    for (const t of [a, b, c]) t.classifier.dispose();
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it('save/load round-trips: identical probabilities and features; the config is validated', () => {
    const { rows, labels } = squares(32, 5);
    const { classifier } = trainClassifier(rows, labels, { image: IMAGE, classes: 4, steps: 2, batch: 8, seed: 1, architecture: SMALL });
    const dir = join(root, 'clf');
    const config = saveClassifier(classifier, dir);
    expect(config).toMatchObject({ format: CLASSIFIER_FORMAT, image: IMAGE, classes: 4, channels: [8, 8], features: 16, seed: 1 });
    expect(existsSync(join(dir, 'weights.safetensors'))).toBe(true);
    const loaded = loadClassifier(dir);
    expect(Array.from(classifyRows(loaded, rows))).toEqual(Array.from(classifyRows(classifier, rows)));
    expect(Array.from(featureRows(loaded, rows))).toEqual(Array.from(featureRows(classifier, rows)));
    const p = classifyRows(loaded, rows);
    for (let i = 0; i < 4; i++) expect(p.subarray(4 * i, 4 * i + 4).reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
    const features = tf.tidy(() => loaded.features(tf.zeros([3, 64]) as tf.Tensor2D).shape);
    expect(features).toEqual([3, 16]);
    loaded.dispose();
    classifier.dispose();

    const bad = join(root, 'bad');
    saveClassifier(new ImageClassifier(classifierConfig({ image: IMAGE, classes: 4, ...SMALL })), bad);
    writeFileSync(join(bad, 'config.json'), JSON.stringify({ ...config, groups: 3 }));
    expect(() => loadClassifier(bad)).toThrow(/config\.json: invalid model config: groups: 3 groups do not divide a block of 8 channels/);
    writeFileSync(join(bad, 'config.json'), JSON.stringify({ format: 'nfdm-model/1', dim: 2 }));
    expect(() => loadClassifier(bad)).toThrow(/format: expected "nfdm-classifier\/1"/);
    writeFileSync(join(bad, 'config.json'), JSON.stringify({ ...config, features: 17 }));
    expect(() => loadClassifier(bad)).toThrow(/weights\.safetensors: .*shape/);
  });

  it('names the shape at fault: rows of the wrong width, labels out of range', () => {
    const clf = new ImageClassifier(classifierConfig({ image: IMAGE, classes: 4, ...SMALL }));
    expect(() => classifyRows(clf, { data: new Float32Array(2 * 196), n: 2, dim: 196 })).toThrow(
      /reads 8×8×1 images \(64 values a row\), got rows of 196/,
    );
    clf.dispose();
    const { rows } = squares(8, 1);
    expect(() => trainClassifier(rows, new Int32Array(8).fill(4), { image: IMAGE, classes: 4, steps: 1 })).toThrow(
      /label 4 of row 0 is not a class 0…3/,
    );
    expect(() => trainClassifier(rows, new Int32Array(8), { image: { height: 14, width: 14, channels: 1 }, classes: 4 })).toThrow(
      /rows of 64 values are not 14×14×1 images/,
    );
  });
});
