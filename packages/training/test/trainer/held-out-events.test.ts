/**
 * The typed held-out event: at every evaluation with held-out data the Trainer emits
 * `{ type: 'heldOut', family, values }` with each metric the family's task declares — its role
 * (NELBO, bound, objective, diagnostic), label, mean and standard error — equal to the numbers of
 * the `eval` event, so apps need not recognise metric names.
 */
import { initBackend } from '@nfdm/core';
import { BRIDGE_FORMAT, createAnyModel } from '@nfdm/models';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { arraySource, type HeldOutValue, Trainer, type TrainerConfigInput, type TrainerEvent } from '../../src/index.js';
import { blobs, evalSet, tinyModel } from './helpers.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const CONFIG: TrainerConfigInput = { steps: 4, batchSize: 16, seed: 1, evalEvery: 2, checkpointEvery: 0, evalDraws: 2, ema: null };

/** Run a trainer built with an `onEvent` that records every event; return them. */
async function events(build: (onEvent: (e: TrainerEvent) => void) => Trainer): Promise<TrainerEvent[]> {
  const seen: TrainerEvent[] = [];
  const trainer = build((e) => seen.push(e));
  await trainer.run();
  trainer.dispose();
  return seen;
}

function pairsOf(evs: TrainerEvent[]): Array<{ heldOut: HeldOutValue[]; family: string; metrics: Record<string, number> }> {
  const out: Array<{ heldOut: HeldOutValue[]; family: string; metrics: Record<string, number> }> = [];
  for (const [i, e] of evs.entries()) {
    if (e.type !== 'heldOut') continue;
    const next = evs[i + 1];
    expect(next?.type).toBe('eval');
    if (next?.type === 'eval') out.push({ heldOut: e.values, family: e.family, metrics: next.metrics });
  }
  return out;
}

describe('Trainer heldOut events', () => {
  it('diffusion under the NELBO: one value with role nelbo, equal to the eval metrics', async () => {
    const { source, rows } = blobs();
    const evalData = evalSet(rows);
    const pairs = pairsOf(await events((onEvent) => new Trainer({ model: tinyModel(), data: source, evalData, config: CONFIG, onEvent })));
    expect(pairs).toHaveLength(2);
    for (const p of pairs) {
      expect(p.family).toBe('diffusion');
      expect(p.heldOut).toEqual([{ key: 'nelbo', label: 'NELBO', role: 'nelbo', mean: p.metrics.nelbo, stderr: p.metrics.nelbo_stderr }]);
      expect(Number.isFinite(p.heldOut[0].mean)).toBe(true);
    }
    evalData.dispose();
  });

  it('diffusion under NFDM-OT: the held-out objective, not a bound', async () => {
    const { source, rows } = blobs();
    const evalData = evalSet(rows);
    const config = { ...CONFIG, objective: { kind: 'ot' as const, curvatureWeight: 1 } };
    const [p] = pairsOf(await events((onEvent) => new Trainer({ model: tinyModel(), data: source, evalData, config, onEvent })));
    expect(p.heldOut.map((v) => [v.key, v.role])).toEqual([['ot_loss', 'objective']]);
    expect(p.heldOut[0].mean).toBe(p.metrics.ot_loss);
    evalData.dispose();
  });

  it('bridge: the bound and the path penalty (a diagnostic without a standard error)', async () => {
    const model = createAnyModel({
      format: BRIDGE_FORMAT,
      dim: 2,
      process: { hidden: [8], delta: 0.1 },
      predictor: { hidden: [8] },
      volatility: { kind: 'neural', hidden: [4] },
      penalties: [{ kind: 'obstacle', center: [0, 0], radius: 0.5, weight: 2 }],
      seed: 2,
    });
    const data = Float32Array.from({ length: 64 * 4 }, (_, i) => Math.sin(i * 1.7));
    const evalData = tf.tensor2d(data.slice(0, 32 * 4), [32, 4]);
    const [p] = pairsOf(
      await events((onEvent) => new Trainer({ model, data: arraySource(data, 64, 4), evalData, config: CONFIG, onEvent })),
    );
    expect(p.family).toBe('bridge');
    expect(p.heldOut.map((v) => [v.key, v.role])).toEqual([
      ['bridge_bound', 'bound'],
      ['bridge_penalty', 'diagnostic'],
    ]);
    expect(p.heldOut[0].stderr).toBe(p.metrics.bridge_bound_stderr);
    expect(p.heldOut[1].stderr).toBeNaN();
    evalData.dispose();
  });

  it('no held-out data, no heldOut event (the eval event still carries onEval metrics)', async () => {
    const { source } = blobs();
    const onEval = () => ({ extra: 1 });
    const evs = await events((onEvent) => new Trainer({ model: tinyModel(), data: source, config: CONFIG, onEval, onEvent }));
    expect(evs.some((e) => e.type === 'heldOut')).toBe(false);
    expect(evs.filter((e) => e.type === 'eval').map((e) => (e.type === 'eval' ? e.metrics : {}))).toEqual([{ extra: 1 }, { extra: 1 }]);
  });
});
