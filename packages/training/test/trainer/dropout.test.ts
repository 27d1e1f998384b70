/**
 * The Trainer and U-Net dropout: updates run in training mode (the predictor's ResBlocks drop out,
 * with masks seeded by the run's seed and the update index), everything else — held-out
 * evaluation, the model between updates — in eval mode. Dropout changes the training losses
 * (from the third update on: the zero-initialised convolutions hide it before) but not the
 * evaluation of given weights, and a resumed run repeats an uninterrupted one bit for bit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, Rng, type TimeUNet } from '@nfdm/core';
import { createModel, type DiffusionModel, MODEL_FORMAT, type Predictor } from '@nfdm/models';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { arraySource, Trainer, type TrainerConfigInput, type TrainerEvent } from '../../src/index.js';
import { bits } from './helpers.js';

let root: string;
beforeAll(async () => {
  await initBackend('wasm');
  root = mkdtempSync(join(tmpdir(), 'nfdm-dropout-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A VP model on 4×4 grey images whose ε-predictor is a small U-Net with dropout `rate`. */
function unetModel(rate: number): DiffusionModel {
  return createModel({
    format: MODEL_FORMAT,
    dim: 16,
    forward: { kind: 'fixed', schedule: { name: 'vp' } },
    predictor: {
      network: {
        arch: 'unet',
        image: { height: 4, width: 4, channels: 1 },
        base: 4,
        multipliers: [1, 2],
        groups: 2,
        layout: 'compact',
        dropout: rate,
      },
      parametrization: 'eps',
    },
    volatility: { kind: 'matched', schedule: { name: 'vp' } },
    seed: 5,
  });
}

const N = 48;
const rows = Float32Array.from(new Rng(9).normalArray(N * 16, 0, 0.5));
const source = () => arraySource(rows, N, 16);
const heldOut = () => tf.tensor2d(rows.slice(0, 8 * 16), [8, 16]);

const CONFIG: TrainerConfigInput = {
  steps: 4,
  batchSize: 8,
  seed: 2,
  schedule: { kind: 'constant', lr: 1e-2, warmup: 0 },
  ema: null,
  evalEvery: 2,
  evalDraws: 1,
  checkpointEvery: 0,
};

/** The modes of the predictor U-Net's ResBlocks (true: training). */
const modes = (model: DiffusionModel) => ((model.predictor as Predictor).net as TimeUNet).net.resBlocks().map((b) => b.dropout.training);
const allTraining = (model: DiffusionModel) => modes(model).every((on) => on);
const allEval = (model: DiffusionModel) => modes(model).every((on) => !on);

function losses(into: number[]): (e: TrainerEvent) => void {
  return (e) => {
    if (e.type === 'step') into.push(e.loss);
  };
}

describe('Trainer and dropout', () => {
  it('updates run in training mode with the masks of their index; evaluation and the model between updates are in eval mode', async () => {
    const model = unetModel(0.5);
    const evalData = heldOut();
    const trainer = new Trainer({ model, data: source(), evalData, config: CONFIG });
    const seen: { update: boolean[]; heldOut: boolean[] } = { update: [], heldOut: [] };
    const lossAndGrads = trainer.task.lossAndGrads.bind(trainer.task);
    const evaluateHeldOut = trainer.task.heldOut.bind(trainer.task);
    vi.spyOn(trainer.task, 'lossAndGrads').mockImplementation((...args) => {
      seen.update.push(allTraining(model));
      return lossAndGrads(...args);
    });
    vi.spyOn(trainer.task, 'heldOut').mockImplementation((...args) => {
      seen.heldOut.push(allEval(model));
      return evaluateHeldOut(...args);
    });
    // The generators the network is given: their state when given (null: eval mode).
    const net = (model.predictor as Predictor).net as TimeUNet;
    const given: (number[] | null)[] = [];
    const setTraining = net.setTraining.bind(net);
    vi.spyOn(net, 'setTraining').mockImplementation((rng) => {
      given.push(rng ? rng.state() : null);
      setTraining(rng);
    });
    expect(allEval(model)).toBe(true);
    trainer.trainStep();
    expect(allEval(model)).toBe(true);
    await trainer.run();
    expect(seen.update).toEqual([true, true, true, true]);
    expect(seen.heldOut).toEqual([true, true]); // evaluations after updates 2 and 4
    expect(allEval(model)).toBe(true);
    // Update k: training mode with the generator dropoutRng(k), then eval mode (and eval before each evaluation).
    const states = [0, 1, 2, 3].map((k) => trainer.dropoutRng(k).state());
    expect(given).toEqual([states[0], null, states[1], null, null, states[2], null, states[3], null, null]);
    expect(new Set(states.map(String)).size).toBe(4);
    trainer.dispose();
    evalData.dispose();
    model.dispose();
  });

  it('dropout changes the training losses (from the third update) but not the evaluation of given weights', async () => {
    const [withDropout, without] = [unetModel(0.5), unetModel(0)];
    const run = async (model: DiffusionModel) => {
      const seen: number[] = [];
      const trainer = new Trainer({ model, data: source(), config: { ...CONFIG, evalEvery: 0 }, onEvent: losses(seen) });
      await trainer.run();
      trainer.dispose();
      return seen;
    };
    const [a, b] = [await run(withDropout), await run(without)];
    // The zero-initialised convolutions hide the masks for two updates: U ≡ 0 at first and only
    // the output conv has a gradient; the second update trains the blocks' (masked) second convs.
    expect(a.slice(0, 2)).toEqual(b.slice(0, 2));
    for (let k = 2; k < a.length; k++) expect(a[k]).not.toBe(b[k]);
    // The same weights in both models: held-out evaluation (eval mode) agrees exactly.
    const trained = [...withDropout.parameters().values()];
    for (const [i, v] of [...without.parameters().values()].entries()) v.assign(trained[i]);
    const evalData = heldOut();
    const evaluate = async (model: DiffusionModel) => {
      const trainer = new Trainer({ model, data: source(), evalData, config: CONFIG });
      const metrics = await trainer.evaluate();
      trainer.dispose();
      return metrics;
    };
    const [ma, mb] = [await evaluate(withDropout), await evaluate(without)];
    expect(Number.isFinite(ma.nelbo)).toBe(true);
    expect(ma).toEqual(mb);
    evalData.dispose();
    withDropout.dispose();
    without.dispose();
  }, 120_000);

  it('a resumed run draws the masks of an uninterrupted one: same losses and weights, bit for bit', async () => {
    const dirA = join(root, 'uninterrupted');
    const lossesA: number[] = [];
    const a = new Trainer({ model: unetModel(0.3), data: source(), config: CONFIG, checkpointDir: dirA, onEvent: losses(lossesA) });
    await a.run();

    const dirB = join(root, 'resumed');
    const lossesB: number[] = [];
    const model = unetModel(0.3);
    const b: Trainer = new Trainer({
      model,
      data: source(),
      config: CONFIG,
      checkpointDir: dirB,
      onEvent: (e) => {
        losses(lossesB)(e);
        if (e.type === 'step' && e.step === 2) b.requestStop();
      },
    });
    await b.run();
    b.dispose();
    model.dispose();
    const c = Trainer.resume(dirB, { data: source(), onEvent: losses(lossesB) });
    await c.run();
    expect(lossesB).toEqual(lossesA);
    expect(bits(c.model.parameters())).toEqual(bits(a.model.parameters()));
    a.dispose();
    a.model.dispose();
    c.dispose();
  }, 120_000);
});
