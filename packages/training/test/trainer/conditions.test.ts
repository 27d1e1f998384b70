/**
 * Conditional models through the Trainer: rows carry labels, a batch yields the rows with their
 * labels, the diffusion task hands them to drawNoise (condition dropout), the held-out metric is
 * the conditional NELBO, and a resumed run repeats an uninterrupted one bit for bit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, Rng } from '@nfdm/core';
import { createModel, type DiffusionModel, MODEL_FORMAT } from '@nfdm/models';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arraySource, Trainer, type TrainerEvent } from '../../src/index.js';
import { bits, tinyModel } from './helpers.js';

let root: string;
beforeAll(async () => {
  await initBackend('wasm');
  root = mkdtempSync(join(tmpdir(), 'nfdm-trainer-conditions-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A tiny conditional NFDM on 2 classes (label dropout 0.2). */
function conditionalModel(): DiffusionModel {
  return createModel({
    format: MODEL_FORMAT,
    dim: 2,
    forward: { kind: 'nfdm', hidden: [8] },
    predictor: { hidden: [8] },
    volatility: { kind: 'neural', hidden: [8] },
    condition: { kind: 'label', classes: 2, dropout: 0.2, embedding: 16 },
    seed: 3,
  });
}

/** Two labelled blobs: label k at (±1.5, ∓1.5). */
function labelled(n: number, seed: number): { rows: Float32Array; labels: Float32Array } {
  const rng = new Rng(seed);
  const rows = new Float32Array(n * 2);
  const labels = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const k = rng.int(2);
    const c = k === 0 ? -1.5 : 1.5;
    labels[i] = k;
    rows[2 * i] = c + 0.3 * rng.normal();
    rows[2 * i + 1] = -c + 0.3 * rng.normal();
  }
  return { rows, labels };
}

const CONFIG = { steps: 60, batchSize: 64, seed: 5, schedule: 3e-3, evalEvery: 30, evalDraws: 2, checkpointEvery: 30 };

describe('Trainer on labelled data', () => {
  const train = labelled(512, 1);
  const held = labelled(64, 2);
  const source = () => arraySource(train.rows, 512, 2, { values: train.labels, dim: 1 });

  it('batches carry the labels of their rows', () => {
    const s = source();
    const b = (s.conditionedBatch as NonNullable<typeof s.conditionedBatch>)(new Rng(9), 16);
    const x = b.x.arraySync();
    const y = b.y.dataSync();
    for (let i = 0; i < 16; i++) expect(Math.sign(x[i][0])).toBe(y[i] === 0 ? -1 : 1);
    // The same draws as the rows alone.
    expect(s.batch(new Rng(9), 16).arraySync()).toEqual(x);
    tf.dispose([b.x, b.y]);
  });

  it('trains (loss decreases), reports the conditional NELBO, and resumes bit for bit', async () => {
    const evalData = tf.tensor2d(held.rows, [64, 2]);
    const evalConditions = tf.tensor2d(held.labels, [64, 1]);
    const lossesA: number[] = [];
    const evals: Record<string, number>[] = [];
    const a = new Trainer({
      model: conditionalModel(),
      data: source(),
      evalData,
      evalConditions,
      config: CONFIG,
      checkpointDir: join(root, 'a'),
      onEvent: (e: TrainerEvent) => {
        if (e.type === 'step') lossesA.push(e.loss);
        if (e.type === 'eval') evals.push(e.metrics);
      },
    });
    await a.run();
    const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
    expect(mean(lossesA.slice(-15))).toBeLessThan(mean(lossesA.slice(0, 15)));
    expect(evals).toHaveLength(2);
    expect(Number.isFinite(evals[1].nelbo)).toBe(true);

    const lossesB: number[] = [];
    const b: Trainer = new Trainer({
      model: conditionalModel(),
      data: source(),
      evalData,
      evalConditions,
      config: CONFIG,
      checkpointDir: join(root, 'b'),
      onEvent: (e) => {
        if (e.type === 'step') {
          lossesB.push(e.loss);
          if (e.step === 25) b.requestStop();
        }
      },
    });
    await b.run();
    b.dispose();
    const c = Trainer.resume(join(root, 'b'), {
      data: source(),
      evalData,
      evalConditions,
      onEvent: (e) => {
        if (e.type === 'step') lossesB.push(e.loss);
      },
    });
    await c.run();
    expect(lossesB).toEqual(lossesA);
    expect(bits(c.model.parameters())).toEqual(bits(a.model.parameters()));
    tf.dispose([evalData, evalConditions]);
    a.dispose();
    c.dispose();
  }, 120_000);

  it('refuses data without conditions for a conditional model, and conditions for an unconditional one', () => {
    const model = conditionalModel();
    expect(() => new Trainer({ model, data: arraySource(train.rows, 512, 2), config: { steps: 1 } })).toThrow(
      /conditional model trains on rows with conditions of width 1; the data carry none/,
    );
    const evalData = tf.tensor2d(held.rows, [64, 2]);
    expect(() => new Trainer({ model, data: source(), evalData, config: { steps: 1 } })).toThrow(/pass evalConditions \[64, 1\]/);
    const plain = tinyModel();
    expect(() => new Trainer({ model: plain, data: source(), config: { steps: 1 } })).toThrow(/the model is unconditional/);
    tf.dispose([evalData]);
    model.dispose();
    plain.dispose();
  });
});
