/**
 * The EMA's warm-up against closed forms (float64 references, float32 tolerance), and through
 * the Trainer: the update count is checkpoint state (exact resume even when it differs from the
 * step), checkpoints from before the warm-up resume as they were trained, and after a few
 * hundred updates the averaged weights have left their initial values.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeWeights, encodeWeights, initBackend, Rng } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMA, emaDecayAt, readCheckpoint, resolveTrainerConfig, Trainer, type TrainerConfigInput } from '../../src/index.js';
import { bits, blobs, tinyModel } from './helpers.js';

let root: string;
beforeAll(async () => {
  await initBackend('wasm');
  root = mkdtempSync(join(tmpdir(), 'nfdm-ema-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Binomial coefficient C(n, k) in float64. */
function choose(n: number, k: number): number {
  let c = 1;
  for (let i = 1; i <= k; i++) c = (c * (n - k + i)) / i;
  return c;
}

/** A known parameter sequence p_0 … p_k of `dim` values (p_0 the initial values). */
function sequence(k: number, dim: number, seed = 5): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: k + 1 }, () => Array.from({ length: dim }, () => rng.normal()));
}

/** Run the EMA over p_1 … p_k (starting at p_0) and read the average. */
function runEma(ps: number[][], decay: number, warmup: boolean): { avg: number[]; ema: EMA; w: tf.Variable } {
  const w = tf.variable(tf.tensor1d(ps[0]));
  const ema = new EMA(new Map([['w', w]]), decay, { warmup });
  for (const p of ps.slice(1)) {
    w.assign(tf.tensor1d(p));
    ema.update();
  }
  return { avg: Array.from((ema.averages.get('w') as tf.Variable).dataSync()), ema, w };
}

/** Σ_j weights[j] p_j. */
function weighted(ps: number[][], weights: number[]): number[] {
  return ps[0].map((_, i) => ps.reduce((s, p, j) => s + weights[j] * p[i], 0));
}

function expectClose(actual: number[], expected: number[], tol = 2e-5): void {
  expect(actual).toHaveLength(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i] - expected[i])).toBeLessThan(tol * (1 + Math.abs(expected[i])));
}

describe('EMA warm-up', () => {
  it('decays as min(decay, (1 + n)/(10 + n))', () => {
    expect(emaDecayAt(0.999, 0, true)).toBeCloseTo(0.1, 15);
    expect(emaDecayAt(0.999, 1, true)).toBeCloseTo(2 / 11, 15);
    expect(emaDecayAt(0.999, 8990, true)).toBe(0.999);
    expect(emaDecayAt(0.999, 100, false)).toBe(0.999);
    expect(emaDecayAt(0.9, 80, true)).toBeCloseTo(81 / 90, 15);
    expect(emaDecayAt(0.9, 81, true)).toBe(0.9);
  });

  it('below the cap, the average of p_0 … p_k weighs p_j by C(j + 8, 8) / C(k + 9, 9)', () => {
    const k = 60;
    const ps = sequence(k, 5);
    const { avg, ema, w } = runEma(ps, 0.999, true);
    const weights = ps.map((_, j) => choose(j + 8, 8) / choose(k + 9, 9));
    expect(weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expectClose(avg, weighted(ps, weights));
    expect(ema.updates).toBe(k);
    ema.dispose();
    w.dispose();
  });

  it('past the cap, the weights are (1 − d_{j−1}) Π_{i=j..k−1} d_i with d_i = min(decay, (1 + i)/(10 + i))', () => {
    const k = 150;
    const ps = sequence(k, 4, 9);
    const d = (i: number) => Math.min(0.9, (1 + i) / (10 + i));
    const tail = (j: number) => {
      let prod = 1;
      for (let i = j; i < k; i++) prod *= d(i);
      return prod;
    };
    const weights = ps.map((_, j) => (j === 0 ? tail(0) : (1 - d(j - 1)) * tail(j)));
    const { avg, ema, w } = runEma(ps, 0.9, true);
    expectClose(avg, weighted(ps, weights));
    // Without the warm-up the same sequence gives the plain exponential weights, a different average.
    const plain = runEma(ps, 0.9, false);
    expectClose(
      plain.avg,
      weighted(
        ps,
        ps.map((_, j) => (j === 0 ? 0.9 ** k : 0.1 * 0.9 ** (k - j))),
      ),
    );
    tf.dispose([w, plain.w]);
    ema.dispose();
    plain.ema.dispose();
  });

  it('tracks a parameter moving by δ per update with a lag of 0.1 k updates, forgetting the start', () => {
    // p_j = p_0 + j δ: the warm-up average is p_0 + 0.9 k δ (the start weighs 1/C(k + 9, 9) ≈ 2e-17);
    // without it (decay 0.999) the start still weighs 0.999^k = 0.74 after 300 updates.
    const k = 300;
    const rng = new Rng(11);
    const p0 = Array.from({ length: 64 }, () => rng.normal());
    const delta = p0.map(() => (rng.int(2) === 0 ? -1 : 1) * (1e-4 + 1e-3 * rng.uniform()));
    const ps = Array.from({ length: k + 1 }, (_, j) => p0.map((v, i) => v + j * delta[i]));
    const warm = runEma(ps, 0.999, true);
    expectClose(
      warm.avg,
      p0.map((v, i) => v + 0.9 * k * delta[i]),
      1e-5,
    );
    for (let i = 0; i < p0.length; i++) expect(Math.fround(warm.avg[i])).not.toBe(Math.fround(p0[i]));
    const cold = runEma(ps, 0.999, false);
    const lagCold = p0.map((v, i) => (cold.avg[i] - v) / delta[i]);
    for (const lag of lagCold) expect(lag).toBeLessThan(0.2 * k);
    tf.dispose([warm.w, cold.w]);
    warm.ema.dispose();
    cold.ema.dispose();
  });

  it('resumes the warm-up from a stored update count', () => {
    const w = tf.variable(tf.tensor1d([0]));
    const ema = new EMA(new Map([['w', w]]), 0.999, { updates: 20 });
    expect(ema.currentDecay).toBeCloseTo(21 / 30, 15);
    w.assign(tf.tensor1d([1]));
    ema.update();
    expect((ema.averages.get('w') as tf.Variable).dataSync()[0]).toBeCloseTo(9 / 30, 6);
    expect(ema.updates).toBe(21);
    expect(() => new EMA(new Map([['w', w]]), 0.9, { updates: -1 })).toThrow(RangeError);
    ema.dispose();
    w.dispose();
  });
});

describe('trainer defaults', () => {
  it('clip by global norm 1 and warm the EMA up unless told otherwise', () => {
    const c = resolveTrainerConfig({ steps: 10 });
    expect(c).toMatchObject({ clipNorm: 1, ema: 0.999, emaWarmup: true });
    expect(resolveTrainerConfig({ steps: 10, clipNorm: null, emaWarmup: false })).toMatchObject({ clipNorm: null, emaWarmup: false });
    expect(() => resolveTrainerConfig({ steps: 10, emaWarmup: 'yes' } as unknown as TrainerConfigInput)).toThrow(/emaWarmup/);
  });
});

const CONFIG: TrainerConfigInput = {
  steps: 15,
  batchSize: 32,
  seed: 4,
  schedule: { kind: 'constant', lr: 3e-3 },
  ema: 0.99,
  evalEvery: 0,
  checkpointEvery: 0,
};

/** Train a fresh tiny model into `dir`, stopping after update `stopAt` if given (the caller disposes trainer and model). */
async function train(dir: string, config: TrainerConfigInput, stopAt?: number): Promise<Trainer> {
  const t: Trainer = new Trainer({
    model: tinyModel(),
    data: blobs().source,
    config,
    checkpointDir: dir,
    onEvent: (e) => {
      if (stopAt !== undefined && e.type === 'step' && e.step === stopAt) t.requestStop();
    },
  });
  await t.run();
  return t;
}

/** Resume `dir` (a run root or one checkpoint), stopping after update `stopAt` if given. */
async function resume(dir: string, config: Partial<TrainerConfigInput> = {}, stopAt?: number): Promise<Trainer> {
  const t: Trainer = Trainer.resume(dir, {
    data: blobs().source,
    config,
    onEvent: (e) => {
      if (stopAt !== undefined && e.type === 'step' && e.step === stopAt) t.requestStop();
    },
  });
  await t.run();
  return t;
}

const emaBits = (t: Trainer) => bits((t.ema as EMA).averages);

describe('EMA state in checkpoints', () => {
  it('stores the update count: resuming an EMA switched on mid-run is exact', async () => {
    // EMA off for 5 updates, switched on at the resume (count 0 at step 5), interrupted at step
    // 10 (count 5), resumed to 15: the same as going from 5 to 15 in one go.
    const noEma = { ...CONFIG, ema: null };
    for (const dir of ['on-a', 'on-b']) {
      const t = await train(join(root, dir), noEma, 5);
      t.dispose();
      t.model.dispose();
    }
    const straight = await resume(join(root, 'on-a'), { ema: 0.99 });
    expect(straight.step).toBe(15);
    expect((straight.ema as EMA).updates).toBe(10);
    const first = await resume(join(root, 'on-b'), { ema: 0.99 }, 10);
    expect(first.step).toBe(10);
    first.dispose();
    expect(readCheckpoint(join(root, 'on-b')).emaUpdates).toBe(5);
    const second = await resume(join(root, 'on-b'));
    expect(second.step).toBe(15);
    expect(emaBits(second)).toEqual(emaBits(straight));
    straight.dispose();
    second.dispose();
  });

  it('a checkpoint from before the warm-up (no emaWarmup, no update count) resumes without it', async () => {
    const legacy = { ...CONFIG, emaWarmup: false };
    const whole = await train(join(root, 'legacy-a'), legacy);
    const part = await train(join(root, 'legacy-b'), legacy, 6);
    part.dispose();
    part.model.dispose();
    // Rewrite ckpt-6 as the earlier format wrote it.
    const ckpt = join(root, 'legacy-b', 'ckpt-6');
    const config = JSON.parse(readFileSync(join(ckpt, 'config.json'), 'utf8'));
    delete config.trainer.emaWarmup;
    writeFileSync(join(ckpt, 'config.json'), JSON.stringify(config));
    const file = decodeWeights(readFileSync(join(ckpt, 'ema.safetensors')));
    expect(file.metadata.updates).toBe('6');
    const { updates: _updates, ...metadata } = file.metadata;
    writeFileSync(join(ckpt, 'ema.safetensors'), encodeWeights(file.tensors, metadata));
    expect(readCheckpoint(ckpt).emaUpdates).toBeUndefined();

    const resumed = await resume(join(root, 'legacy-b'));
    expect(resumed.config.emaWarmup).toBe(false);
    expect((resumed.ema as EMA).updates).toBe(15);
    expect(emaBits(resumed)).toEqual(emaBits(whole));
    // A legacy run resumed with the warm-up on takes a different path: the test can tell.
    const warm = await resume(ckpt, { emaWarmup: true });
    expect(emaBits(warm)).not.toEqual(emaBits(whole));
    for (const t of [whole, resumed, warm]) t.dispose();
    whole.model.dispose();
  });
});

describe('EMA after 200 updates', () => {
  it('has moved about as far from the initial weights as the raw weights (without warm-up: a tenth)', async () => {
    // ‖EMA − init‖ / ‖raw − init‖ over all trainable weights after 200 updates at decay 0.999 (measured:
    // 0.93 with the warm-up, 0.11 without; the start still weighs 0.999^200 = 0.82 without it).
    const ratio = async (emaWarmup: boolean) => {
      const model = tinyModel();
      const init = new Map([...model.parameters()].map(([k, v]) => [k, Float32Array.from(v.dataSync() as Float32Array)]));
      const t = new Trainer({ model, data: blobs().source, config: { ...CONFIG, steps: 200, batchSize: 16, ema: 0.999, emaWarmup } });
      await t.run();
      let emaDist = 0;
      let rawDist = 0;
      let stuck = 0;
      for (const [name, v] of model.parameters()) {
        if (!v.trainable) continue;
        const a = (t.ema as EMA).averages.get(name)?.dataSync() as Float32Array;
        const raw = v.dataSync() as Float32Array;
        const p0 = init.get(name) as Float32Array;
        for (let i = 0; i < p0.length; i++) {
          emaDist += (a[i] - p0[i]) ** 2;
          rawDist += (raw[i] - p0[i]) ** 2;
          if (a[i] === p0[i] && raw[i] !== p0[i]) stuck++;
        }
      }
      t.dispose();
      model.dispose();
      return { ratio: Math.sqrt(emaDist / rawDist), stuck };
    };
    const warm = await ratio(true);
    expect(warm.stuck).toBe(0);
    expect(warm.ratio).toBeGreaterThan(0.8);
    const cold = await ratio(false);
    expect(cold.ratio).toBeLessThan(0.5);
  });
});
