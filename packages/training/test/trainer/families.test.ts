/**
 * One Trainer for every model family: NFBM bridges on paired rows [target | source], DiffFlow
 * (flexible, progressive grids, memory-saving gradient) and flow matching (OT coupling; reflow
 * pairs [x | ε]) train, evaluate their own held-out metrics, and resume exactly from a
 * checkpoint with fresh objects.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, Rng } from '@nfdm/core';
import {
  BRIDGE_FORMAT,
  BridgeModel,
  CFM_FORMAT,
  CFMModel,
  createBridgeModel,
  createCFMModel,
  createDiffFlowModel,
  DIFFFLOW_FORMAT,
  DiffFlowModel,
  loadAnyModel,
  parseBridgeConfig,
  parseCFMConfig,
  parseDiffFlowConfig,
} from '@nfdm/models';
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
  root = mkdtempSync(join(tmpdir(), 'nfdm-families-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const CONFIG: TrainerConfigInput = {
  steps: 8,
  batchSize: 32,
  seed: 5,
  schedule: { kind: 'constant', lr: 3e-3 },
  ema: 0.9,
  evalEvery: 4,
  checkpointEvery: 0,
  evalDraws: 2,
};

/** Rows [x0 (target) | x1 (source)]: target N((2, 0), 0.1²), source N((−2, 0), 0.1²). */
function pairs(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) {
    out.set([2 + 0.1 * rng.normal(), 0.1 * rng.normal(), -2 + 0.1 * rng.normal(), 0.1 * rng.normal()], 4 * i);
  }
  return out;
}

function blobs2d(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) out.set([(rng.int(2) ? 1 : -1) + 0.2 * rng.normal(), 0.2 * rng.normal()], 2 * i);
  return out;
}

const bridge = () =>
  createBridgeModel(
    parseBridgeConfig({
      format: BRIDGE_FORMAT,
      dim: 2,
      process: { hidden: [16, 16] },
      predictor: { hidden: [16, 16] },
      volatility: { kind: 'neural', hidden: [8] },
      penalties: [{ kind: 'obstacle', center: [0, 0], radius: 0.5, weight: 10 }],
      seed: 1,
    }),
  );

const diffflow = () =>
  createDiffFlowModel(
    parseDiffFlowConfig({
      format: DIFFFLOW_FORMAT,
      dim: 2,
      network: { channels: 8, layers: 1 },
      time: {
        N: 6,
        flexible: true,
        progressive: [
          { step: 0, N: 3 },
          { step: 4, N: 6 },
        ],
      },
      seed: 2,
    }),
  );

function losses(into: number[]): (e: TrainerEvent) => void {
  return (e) => {
    if (e.type === 'step') into.push(e.loss);
  };
}

const cfm = (coupling: 'ot' | 'reflow') => () =>
  createCFMModel(
    parseCFMConfig({ format: CFM_FORMAT, dim: 2, flow: { coupling, sigmaMin: 0.05 }, velocity: { hidden: [16, 16] }, seed: 3 }),
  );

describe.each([
  { name: 'bridge', make: bridge, rows: () => pairs(256, 3), dim: 4, metric: 'bridge_bound', cls: BridgeModel },
  { name: 'diffflow', make: diffflow, rows: () => blobs2d(256, 4), dim: 2, metric: 'nll_bound', cls: DiffFlowModel },
  { name: 'OT-CFM', make: cfm('ot'), rows: () => blobs2d(256, 5), dim: 2, metric: 'cfm_loss', cls: CFMModel },
  { name: 'reflow CFM', make: cfm('reflow'), rows: () => pairs(256, 6), dim: 4, metric: 'cfm_loss', cls: CFMModel },
])('Trainer on a $name model', ({ name, make, rows, dim, metric, cls }) => {
  it('trains, evaluates its held-out metric and resumes bit for bit with fresh objects', async () => {
    const data = rows();
    const source = () => arraySource(data, data.length / dim, dim);
    const evalData = tf.tensor2d(data.slice(0, 32 * dim), [32, dim]);

    const lossesA: number[] = [];
    const evals: Record<string, number>[] = [];
    const a = new Trainer({
      model: make(),
      data: source(),
      evalData,
      config: CONFIG,
      checkpointDir: join(root, `${name}-a`),
      onEvent: (e) => {
        losses(lossesA)(e);
        if (e.type === 'eval') evals.push(e.metrics);
      },
    });
    await a.run();
    expect(lossesA).toHaveLength(8);
    expect(lossesA.every(Number.isFinite)).toBe(true);
    expect(evals).toHaveLength(2);
    expect(Number.isFinite(evals[1][metric])).toBe(true);
    expect(evals[1][`${metric}_stderr`]).toBeGreaterThanOrEqual(0);
    const weightsA = bits(a.model.parameters());

    const lossesB: number[] = [];
    const model = make();
    const b: Trainer = new Trainer({
      model,
      data: source(),
      evalData,
      config: CONFIG,
      checkpointDir: join(root, `${name}-b`),
      onEvent: (e) => {
        losses(lossesB)(e);
        if (e.type === 'step' && e.step === 3) b.requestStop();
      },
    });
    await b.run();
    b.dispose();
    model.dispose();
    const c = Trainer.resume(join(root, `${name}-b`), { data: source(), evalData, onEvent: losses(lossesB) });
    expect(c.model).toBeInstanceOf(cls);
    await c.run();
    expect(lossesB).toEqual(lossesA);
    expect(bits(c.model.parameters())).toEqual(weightsA);

    // The saved model (EMA weights) and the checkpoint model load as the same family.
    const out = join(root, `${name}-model`);
    c.saveModel(out);
    const loaded = loadAnyModel(out);
    expect(loaded).toBeInstanceOf(cls);
    const fromCkpt = loadCheckpointAnyModel(join(root, `${name}-a`));
    expect(bits(fromCkpt.parameters())).toEqual(bits(loaded.parameters()));
    expect(() => loadCheckpointModel(join(root, `${name}-a`))).toThrow(/not a diffusion model/);
    tf.dispose([evalData]);
    for (const m of [loaded, fromCkpt]) m.dispose();
    a.dispose();
    c.dispose();
  }, 120_000);
});

describe('Trainer family checks', () => {
  it('rejects bridge rows of the wrong width and the OT objective on non-diffusion models', () => {
    const model = bridge();
    const data = blobs2d(16, 1);
    expect(() => new Trainer({ model, data: arraySource(data, 16, 2), config: CONFIG })).toThrow(/data dim 2 ≠ 4 .*target then source/);
    const p = pairs(16, 1);
    expect(
      () => new Trainer({ model, data: arraySource(p, 16, 4), config: { ...CONFIG, objective: { kind: 'ot', curvatureWeight: 1 } } }),
    ).toThrow(/'ot' objective applies to diffusion models only/);
    model.dispose();
  });
});
