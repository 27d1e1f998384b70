/**
 * The `ot` training objective: config validation, a run that lowers the NFDM-OT loss, the
 * objective stored in checkpoints, and exact resume (the stored objective is used).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, Rng } from '@nfdm/core';
import { createModel, type DiffusionModel, MODEL_FORMAT, otLoss } from '@nfdm/models';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkpointPath,
  readCheckpoint,
  resolveTrainerConfig,
  Trainer,
  TrainerConfigError,
  type TrainerConfigInput,
  type TrainerEvent,
} from '../../src/index.js';
import { bits, blobs, evalSet } from './helpers.js';

let root: string;
beforeAll(async () => {
  await initBackend('wasm');
  root = mkdtempSync(join(tmpdir(), 'nfdm-trainer-ot-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A tiny NFDM-OT model: learned forward process and predictor, constant (unused) volatility. */
function tinyOTModel(seed = 7): DiffusionModel {
  return createModel({
    format: MODEL_FORMAT,
    dim: 2,
    forward: { kind: 'nfdm', hidden: [8] },
    predictor: { hidden: [8] },
    volatility: { kind: 'constant', value: 1 },
    seed,
  });
}

const OBJECTIVE = { kind: 'ot' as const, curvatureWeight: 0.5 };

const CONFIG: TrainerConfigInput = {
  objective: OBJECTIVE,
  steps: 12,
  batchSize: 32,
  seed: 3,
  schedule: { kind: 'cosine', lr: 3e-3, warmup: 3, floor: 1e-4 },
  clipNorm: 10,
  ema: 0.9,
  evalEvery: 4,
  checkpointEvery: 0,
};

/** otLoss of `model` on fixed rows and fixed noise (many draws, so the comparison is not noise). */
function fixedOTLoss(model: DiffusionModel, x: tf.Tensor, curvatureWeight: number): number {
  const rng = new Rng(99);
  let sum = 0;
  for (let k = 0; k < 8; k++) sum += tf.tidy(() => otLoss(model, x, model.drawNoise(rng, x.shape[0]), { curvatureWeight }).dataSync()[0]);
  return sum / 8;
}

describe('objective config', () => {
  it('defaults to nelbo, fills curvatureWeight = 1, and rejects bad objectives', () => {
    expect(resolveTrainerConfig({ steps: 1 }).objective).toEqual({ kind: 'nelbo' });
    expect(resolveTrainerConfig({ steps: 1, objective: { kind: 'ot' } }).objective).toEqual({ kind: 'ot', curvatureWeight: 1 });
    expect(resolveTrainerConfig({ steps: 1, objective: OBJECTIVE }).objective).toEqual(OBJECTIVE);
    const bad: unknown[] = [
      { kind: 'ot', curvatureWeight: -1 },
      { kind: 'ot', curvatureWeight: 'big' },
      { kind: 'ot', lambda: 1 },
      { kind: 'score' },
      'ot',
      null,
    ];
    for (const objective of bad) {
      expect(() => resolveTrainerConfig({ steps: 1, objective } as unknown as TrainerConfigInput)).toThrow(TrainerConfigError);
    }
  });
});

describe('ot objective', () => {
  it('lowers the NFDM-OT loss and reports the held-out ot_loss instead of the NELBO', async () => {
    const { rows, source } = blobs();
    const x = evalSet(rows, 128);
    const model = tinyOTModel();
    const before = fixedOTLoss(model, x, 1);
    const evals: Record<string, number>[] = [];
    const trainer = new Trainer({
      model,
      data: source,
      evalData: x,
      config: { ...CONFIG, objective: { kind: 'ot', curvatureWeight: 1 }, steps: 150, schedule: 1e-2, ema: null, evalEvery: 0 },
      metricsPath: null,
      onEvent: (e) => {
        if (e.type === 'eval') evals.push(e.metrics);
      },
    });
    await trainer.run();
    const after = fixedOTLoss(model, x, 1);
    expect(after).toBeLessThan(0.8 * before);
    expect(evals.length).toBe(1);
    expect(evals[0].ot_loss).toBeGreaterThan(0);
    expect(evals[0].nelbo).toBeUndefined();
    trainer.dispose();
    model.dispose();
    x.dispose();
  });

  it('stores the objective in checkpoints and resumes exactly with it', async () => {
    const { rows, source } = blobs();
    const evalData = evalSet(rows);
    const collect = (into: number[]) => (e: TrainerEvent) => {
      if (e.type === 'step') into.push(e.loss);
    };

    const dirA = join(root, 'uninterrupted');
    const lossesA: number[] = [];
    const a = new Trainer({ model: tinyOTModel(), data: source, evalData, config: CONFIG, checkpointDir: dirA, onEvent: collect(lossesA) });
    await a.run();
    const weightsA = bits(a.model.parameters());

    const dirB = join(root, 'resumed');
    const lossesB: number[] = [];
    const model = tinyOTModel();
    const b: Trainer = new Trainer({
      model,
      data: source,
      evalData,
      config: CONFIG,
      checkpointDir: dirB,
      onEvent: (e) => {
        collect(lossesB)(e);
        if (e.type === 'step' && e.step === 5) b.requestStop();
      },
    });
    expect(await b.run()).toMatchObject({ step: 5, reason: 'interrupted' });
    b.dispose();
    model.dispose();
    expect(readCheckpoint(checkpointPath(dirB, 5)).trainer.objective).toEqual(OBJECTIVE);

    // No objective given on resume: the stored one is used.
    const c = Trainer.resume(dirB, { data: source, evalData, onEvent: collect(lossesB) });
    expect(c.config.objective).toEqual(OBJECTIVE);
    await c.run();
    expect(lossesB).toEqual(lossesA);
    expect(bits(c.model.parameters())).toEqual(weightsA);
    // A plain-NELBO run of the same model and seed takes different updates.
    const lossesN: number[] = [];
    const n = new Trainer({
      model: tinyOTModel(),
      data: source,
      config: { ...CONFIG, objective: undefined, steps: 3 },
      onEvent: collect(lossesN),
    });
    await n.run();
    expect(lossesN).not.toEqual(lossesA.slice(0, 3));
    n.dispose();
    n.model.dispose();
    c.dispose();
    a.dispose();
    a.model.dispose();
    evalData.dispose();
  });
});
