/**
 * The custom process passes the library's published GaussianForwardProcess contract
 * (`@nfdm/models/testing`: boundary values, exact derivatives against central finite
 * differences, closed forms, shapes), checks its own inputs, plugs into the library's configs
 * (create, save, load), trains with the library's loss and samples with its samplers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, Rng } from '@nfdm/core';
import { createModel, loadModel, ModelConfigError, modelConfig, saveModel } from '@nfdm/models';
import { forwardProcessChecks } from '@nfdm/models/testing';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel, eightGaussians, meanDistanceToCentres, TrigonometricProcess, train, trigonometricModelConfig } from '../src/index.js';

let root: string;
beforeAll(async () => {
  await initBackend('wasm');
  root = mkdtempSync(join(tmpdir(), 'nfdm-example-'));
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

const D = 3;
const DELTA = 0.02;

/** x [B, D] and a column of the same time t, [B, 1]. */
function inputs(t: number, batch = 5): { x: tf.Tensor2D; t: tf.Tensor2D } {
  const rng = new Rng(3);
  return { x: tf.tensor2d(rng.normalArray(batch * D), [batch, D]), t: tf.fill([batch, 1], t) as tf.Tensor2D };
}

function values(p: tf.Tensor | undefined): number[] {
  if (!p) throw new Error('missing tensor');
  return Array.from(p.dataSync());
}

function maxAbsDiff(a: number[], b: number[]): number {
  expect(a.length).toBe(b.length);
  return Math.max(...a.map((v, i) => Math.abs(v - b[i])));
}

describe('TrigonometricProcess: the GaussianForwardProcess contract', () => {
  const process = new TrigonometricProcess({ dim: D, delta: DELTA });

  // The library's own contract (@nfdm/models/testing): shapes, σ > 0, first and second time
  // derivatives against central finite differences, velocity = d/dt (μ + σε), the score by
  // autodiff, the drifts, start = N(x, δ²), prior ≈ N(0, I), no tensor leaks. The prior is
  // 'approx' for the contract because float32 cos(π/2) is −4.4e-8, not 0, so μ(x, 1) is not
  // exactly 0; the tighter boundary values of this process are checked below.
  for (const check of forwardProcessChecks(() => process, { dim: D, prior: 'approx' })) it(check.name, check.run);

  it('boundary values: start = (0, 1, δ); μ(x, 1) = 0 and σ(1) = 1 to 1e-6 (= prior)', () => {
    expect(process.start).toEqual({ t: 0, alpha: 1, sigma: DELTA });
    expect(process.priorStd).toBe(1);
    tf.tidy(() => {
      const b = inputs(1);
      const p1 = process.params(b.x, b.t, 0);
      expect(Math.max(...values(p1.mu).map(Math.abs))).toBeLessThan(1e-6);
      expect(maxAbsDiff(values(p1.sigma), [1, 1, 1, 1, 1])).toBeLessThan(1e-6);
    });
  });

  it('returns exactly the derivatives asked for, with the documented shapes, and checks its inputs', () => {
    tf.tidy(() => {
      const a = inputs(0.5, 4);
      const p0 = process.params(a.x, a.t, 0);
      expect(p0.dmu).toBeUndefined();
      const p1 = process.params(a.x, a.t, 1);
      expect(p1.dmu?.shape).toEqual([4, D]);
      expect(p1.dsigma?.shape).toEqual([4, 1]);
      expect(p1.d2mu).toBeUndefined();
      const p2 = process.params(a.x, a.t, 2);
      expect(p2.d2mu?.shape).toEqual([4, D]);
      expect(p2.d2sigma?.shape).toEqual([4, 1]);
      expect(() => process.params(tf.zeros([4, D + 1]), a.t, 0)).toThrow(/expected x of shape \[B, 3\]/);
      expect(() => process.params(a.x, tf.zeros([3, 1]), 0)).toThrow(/expected t of shape \[4, 1\]/);
    });
    expect(() => new TrigonometricProcess({ dim: 2, delta: 0 })).toThrow(/delta must lie in \(0, 1\)/);
    expect(process.parameters().size).toBe(0);
  });
});

describe('TrigonometricProcess inside @nfdm/models', () => {
  it('builds from a model config, saves and loads (bit-identical loss), and validates its fields', () => {
    const model = buildModel({ hidden: [16], seed: 3 });
    expect(model.forward).toBeInstanceOf(TrigonometricProcess);
    expect(modelConfig(model).forward).toEqual({ kind: 'trigonometric', delta: 0.01 });
    const dir = join(root, 'model');
    saveModel(model, dir);
    const loaded = loadModel(dir);
    const loss = (m: typeof model) =>
      tf.tidy(() => {
        const rng = new Rng(8);
        const x = eightGaussians(rng, 64);
        return m.loss(x, m.drawNoise(rng, 64)).dataSync()[0];
      });
    expect(loss(loaded)).toBe(loss(model));
    const bad = { ...trigonometricModelConfig(), forward: { kind: 'trigonometric', delta: 2 } };
    expect(() => createModel(bad)).toThrow(ModelConfigError);
    expect(() => createModel(bad)).toThrow(/forward\.delta: expected a number in \(0, 1\)/);
    expect(() => createModel({ ...bad, forward: { kind: 'trigonometric', delat: 0.1 } })).toThrow(/forward\.delat: unknown field/);
    model.dispose();
    loaded.dispose();
  });

  it('a short training run with the library loss lowers the loss, leaks nothing, and the model samples', () => {
    const model = buildModel({ hidden: [32, 32], seed: 0 });
    const untrained = model.sample({ n: 1000, mode: 'sde', steps: 100, seed: 5 });
    const distanceBefore = meanDistanceToCentres(untrained.samples);
    untrained.samples.dispose();

    const before = tf.memory().numTensors;
    const losses = train(model, { steps: 150, batch: 256, lr: 1e-3, seed: 1 });
    expect(tf.memory().numTensors).toBe(before);
    expect(losses.every(Number.isFinite)).toBe(true);
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    const first = mean(losses.slice(0, 30));
    const last = mean(losses.slice(-30));
    console.info(`[example] mean loss of the first 30 steps ${first.toFixed(3)}, of the last 30 ${last.toFixed(3)}`);
    expect(last).toBeLessThan(first);

    for (const mode of ['sde', 'ode'] as const) {
      const { samples } = model.sample({ n: 1000, mode, steps: 100, seed: 5 });
      expect(samples.shape).toEqual([1000, 2]);
      expect(Array.from(samples.dataSync()).every(Number.isFinite)).toBe(true);
      const distance = meanDistanceToCentres(samples);
      console.info(
        `[example] ${mode} samples: mean distance to the nearest centre ${distance.toFixed(3)} (untrained ${distanceBefore.toFixed(3)})`,
      );
      expect(distance).toBeLessThan(distanceBefore);
      samples.dispose();
    }
    model.dispose();
  });
});
