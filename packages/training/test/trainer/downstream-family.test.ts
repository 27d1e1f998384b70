/**
 * A family registered from outside the library (`gaussianFitFamily` of @nfdm/models/testing, a
 * diagonal Gaussian fitted by maximum likelihood) trains, checkpoints and resumes through the
 * same Trainer as the built-in families, with no change to @nfdm/training.
 *
 * Oracle: on data N(μ, diag(s²)) the maximum-likelihood fit converges to (μ, s) and its held-out
 * NLL to the entropy H = (D/2) log(2πe) + Σ log sᵢ (up to sampling error of the finite data).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, Rng } from '@nfdm/core';
import { type AnyModel, familyOf, registerFamily } from '@nfdm/models';
import { type GaussianFit, gaussianFitFamily } from '@nfdm/models/testing';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  arraySource,
  loadCheckpointAnyModel,
  loadCheckpointModel,
  Trainer,
  type TrainerConfigInput,
  type TrainerEvent,
} from '../../src/index.js';
import { bits } from './helpers.js';

let root: string;
beforeAll(async () => {
  await initBackend('wasm');
  registerFamily(gaussianFitFamily);
  root = mkdtempSync(join(tmpdir(), 'nfdm-downstream-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const MEAN = [3, -1];
const STD = [0.5, 2];

function rows(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) out.set([MEAN[0] + STD[0] * rng.normal(), MEAN[1] + STD[1] * rng.normal()], 2 * i);
  return out;
}

const CONFIG: TrainerConfigInput = {
  steps: 400,
  batchSize: 256,
  seed: 3,
  schedule: { kind: 'constant', lr: 0.05 },
  ema: null,
  evalEvery: 100,
  checkpointEvery: 0,
  evalDraws: 1,
};

// AnyModel is the union of the built-in model classes; a downstream model enters by a cast.
const make = () => gaussianFitFamily.create({ format: 'example-gaussian-fit/1', dim: 2, seed: 1 }) as unknown as AnyModel;

describe('Trainer on a downstream family', () => {
  it('fits the maximum-likelihood Gaussian, reports its declared held-out metric, and resumes bit for bit', async () => {
    const data = rows(4096, 7);
    const source = () => arraySource(data, 4096, 2);
    const evalData = tf.tensor2d(rows(2048, 8), [2048, 2]);
    const evals: Record<string, number>[] = [];
    const lossesA: number[] = [];
    const a = new Trainer({
      model: make(),
      data: source(),
      evalData,
      config: CONFIG,
      checkpointDir: join(root, 'a'),
      onEvent: (e: TrainerEvent) => {
        if (e.type === 'step') lossesA.push(e.loss);
        if (e.type === 'eval') evals.push(e.metrics);
      },
    });
    await a.run();
    const fit = a.model as unknown as GaussianFit;
    const m = Array.from(fit.m.dataSync());
    const s = Array.from(tf.tidy(() => tf.exp(fit.s)).dataSync());
    for (let i = 0; i < 2; i++) {
      expect(Math.abs(m[i] - MEAN[i])).toBeLessThan(0.1 * STD[i]);
      expect(Math.abs(s[i] / STD[i] - 1)).toBeLessThan(0.05);
    }
    const entropy = Math.log(2 * Math.PI * Math.E) + Math.log(STD[0]) + Math.log(STD[1]);
    expect(evals).toHaveLength(4);
    expect(Object.keys(evals[3])).toEqual(['nll']);
    expect(Math.abs(evals[3].nll - entropy)).toBeLessThan(0.05);
    expect(evals[0].nll).toBeGreaterThan(evals[3].nll);

    // Stop after 150 updates, resume from the checkpoint with fresh objects: same losses, same weights.
    const lossesB: number[] = [];
    const b: Trainer = new Trainer({
      model: make(),
      data: source(),
      evalData,
      config: CONFIG,
      checkpointDir: join(root, 'b'),
      onEvent: (e) => {
        if (e.type === 'step') {
          lossesB.push(e.loss);
          if (e.step === 150) b.requestStop();
        }
      },
    });
    await b.run();
    b.dispose();
    const c = Trainer.resume(join(root, 'b'), {
      data: source(),
      evalData,
      onEvent: (e) => {
        if (e.type === 'step') lossesB.push(e.loss);
      },
    });
    expect(familyOf(c.model)).toBe(gaussianFitFamily);
    await c.run();
    expect(lossesB).toEqual(lossesA);
    expect(bits(c.model.parameters())).toEqual(bits(a.model.parameters()));
    const fromCheckpoint = loadCheckpointAnyModel(join(root, 'a'));
    expect(bits(fromCheckpoint.parameters())).toEqual(bits(a.model.parameters()));
    expect(() => loadCheckpointModel(join(root, 'a'))).toThrow(/holds a Gaussian fit, not a diffusion model/);
    fromCheckpoint.dispose();
    evalData.dispose();
    a.dispose();
    c.dispose();
  }, 120_000);
});
