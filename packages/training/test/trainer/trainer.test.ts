/**
 * The Trainer in-process: exact resume with fresh model objects, the non-finite-loss stop,
 * tensor hygiene across steps (with evaluation and checkpoints in between), metrics lines,
 * checkpoint layout, and the progress line. Real process kills are in process.test.ts.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CheckpointError,
  type DataSource,
  latestCheckpoint,
  listCheckpoints,
  loadCheckpointModel,
  NonFiniteLossError,
  readCheckpoint,
  readJsonl,
  Trainer,
  TrainerConfigError,
  type TrainerConfigInput,
  type TrainerEvent,
  ttyProgress,
} from '../../src/index.js';
import { bits, blobs, evalSet, hashDir, tinyModel } from './helpers.js';

let root: string;
beforeAll(async () => {
  await initBackend('wasm');
  root = mkdtempSync(join(tmpdir(), 'nfdm-trainer-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const CONFIG: TrainerConfigInput = {
  steps: 12,
  batchSize: 32,
  seed: 3,
  optimizer: { kind: 'adamw' },
  schedule: { kind: 'cosine', lr: 3e-3, warmup: 3, floor: 1e-4 },
  clipNorm: 10,
  ema: 0.9,
  evalEvery: 4,
  checkpointEvery: 0,
};

function collect(into: number[]): (e: TrainerEvent) => void {
  return (e) => {
    if (e.type === 'step') into.push(e.loss);
  };
}

describe('exact resume', () => {
  it('k steps + checkpoint + resume with fresh objects gives the uninterrupted loss sequence bit for bit', async () => {
    const { rows, source } = blobs();
    const evalData = evalSet(rows);

    const dirA = join(root, 'uninterrupted');
    const lossesA: number[] = [];
    const a = new Trainer({ model: tinyModel(), data: source, evalData, config: CONFIG, checkpointDir: dirA, onEvent: collect(lossesA) });
    const resultA = await a.run();
    expect(resultA).toMatchObject({ step: 12, reason: 'completed' });
    const weightsA = bits(a.model.parameters());
    const emaA = bits((a.ema as NonNullable<typeof a.ema>).averages);

    const dirB = join(root, 'resumed');
    const lossesB: number[] = [];
    const model = tinyModel();
    // Interrupted after 5 updates (requestStop: finish the step, checkpoint, resolve).
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
    expect(await b.run()).toMatchObject({ step: 5, reason: 'interrupted', signal: 'stop', checkpoint: join(dirB, 'ckpt-5') });
    b.dispose();
    model.dispose();

    // Fresh objects: the model is rebuilt from the checkpoint's config.
    const c = Trainer.resume(dirB, { data: blobs().source, evalData, onEvent: collect(lossesB) });
    expect(c.step).toBe(5);
    expect(c.model).not.toBe(model);
    await c.run();
    expect(lossesB).toHaveLength(12);
    expect(lossesB).toEqual(lossesA);
    expect(bits(c.model.parameters())).toEqual(weightsA);
    expect(bits((c.ema as NonNullable<typeof c.ema>).averages)).toEqual(emaA);

    // The metrics files agree line by line (less the timings), evaluations included.
    const strip = (r: Record<string, unknown>) => {
      const { ms_per_step: _ms, ...rest } = r;
      return rest;
    };
    const mA = readJsonl(join(dirA, 'metrics.jsonl')).map(strip);
    const mB = readJsonl(join(dirB, 'metrics.jsonl')).map(strip);
    expect(mB).toEqual(mA);
    expect(mA.filter((r) => r.type === 'eval').map((r) => r.step)).toEqual([4, 8, 12]);
    expect(mA.filter((r) => r.type === 'train')).toHaveLength(12);
    for (const key of ['step', 'loss', 'lr', 'grad_norm', 'backend']) expect(mA[0]).toHaveProperty(key);
    expect(mA[0].backend).toBe('wasm');
    expect(readJsonl(join(dirA, 'metrics.jsonl'))[0].ms_per_step).toBeGreaterThan(0);

    // Checkpoint layout and the EMA model.
    const latest = latestCheckpoint(dirA) as string;
    expect(latest).toBe(join(dirA, 'ckpt-12'));
    expect(readdirSync(latest).sort()).toEqual([
      'config.json',
      'ema.safetensors',
      'optimizer.json',
      'optimizer.safetensors',
      'rng.json',
      'weights.safetensors',
    ]);
    expect(readFileSync(join(dirA, 'latest'), 'utf8')).toBe('ckpt-12\n');
    const ckpt = readCheckpoint(dirA);
    expect(ckpt.step).toBe(12);
    expect(ckpt.trainer).toMatchObject({ steps: 12, batchSize: 32, ema: 0.9 });
    const emaModel = loadCheckpointModel(dirA);
    expect(bits(emaModel.parameters())).toEqual(emaA);
    emaModel.dispose();

    a.dispose();
    a.model.dispose();
    c.dispose();
    evalData.dispose();
  });
});

describe('non-finite loss', () => {
  it('stops with NonFiniteLossError before the update and leaves the last checkpoint untouched', async () => {
    const { source } = blobs();
    let calls = 0;
    const poisoned: DataSource = {
      dim: 2,
      batch(rng, size) {
        calls += 1;
        const x = source.batch(rng, size);
        if (calls < 8) return x;
        const bad = tf.fill([size, 2], Number.NaN) as tf.Tensor2D;
        x.dispose();
        return bad;
      },
    };
    const dir = join(root, 'nan');
    let hashAtWrite: Record<string, string> | undefined;
    const trainer = new Trainer({
      model: tinyModel(),
      data: poisoned,
      config: { ...CONFIG, checkpointEvery: 5 },
      checkpointDir: dir,
      onEvent: (e) => {
        if (e.type === 'checkpoint') hashAtWrite = hashDir(e.path);
      },
    });
    const error = await trainer.run().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonFiniteLossError);
    const nf = error as NonFiniteLossError;
    expect(nf.step).toBe(8);
    expect(Number.isNaN(nf.loss)).toBe(true);
    expect(nf.lastCheckpoint).toBe(join(dir, 'ckpt-5'));
    expect(nf.message).toMatch(/loss is NaN at step 8/);
    // The state is still that of step 7: finite weights, 7 updates.
    expect(trainer.step).toBe(7);
    expect(trainer.optimizer.step).toBe(7);
    expect([...trainer.model.parameters().values()].every((v) => v.dataSync().every(Number.isFinite))).toBe(true);
    // Only the good checkpoint exists, byte for byte as written, and latest names it.
    expect(readdirSync(dir).sort()).toEqual(['ckpt-5', 'latest', 'metrics.jsonl']);
    expect(hashDir(join(dir, 'ckpt-5'))).toEqual(hashAtWrite);
    expect(readCheckpoint(dir).step).toBe(5);
    expect(readJsonl(join(dir, 'metrics.jsonl')).map((r) => r.step)).not.toContain(8);
    trainer.dispose();
    trainer.model.dispose();
  });
});

describe('tensor hygiene', () => {
  it('the number of tensors is constant across steps, evaluations and checkpoints, and all are freed', async () => {
    const before = tf.memory().numTensors;
    const { rows, source } = blobs();
    const evalData = evalSet(rows, 16);
    const counts: number[] = [];
    const trainer = new Trainer({
      model: tinyModel(),
      data: source,
      evalData,
      onEval: ({ model }) => {
        const { samples } = model.sample({ n: 8, steps: 4, seed: 1 });
        const m = tf.tidy(() => tf.mean(samples).dataSync()[0]);
        samples.dispose();
        return { sample_mean: m };
      },
      config: { ...CONFIG, steps: 8, evalEvery: 2, checkpointEvery: 3 },
      checkpointDir: join(root, 'leak'),
      onEvent: (e) => {
        if (e.type === 'step') counts.push(tf.memory().numTensors);
      },
    });
    const seenEval: Record<string, number>[] = [];
    const result = await trainer.run();
    expect(result.step).toBe(8);
    expect(counts).toHaveLength(8);
    expect(new Set(counts).size).toBe(1);
    const evalLines = readJsonl(join(root, 'leak', 'metrics.jsonl')).filter((r) => r.type === 'eval');
    expect(evalLines.map((r) => r.step)).toEqual([2, 4, 6, 8]);
    for (const r of evalLines) seenEval.push(r as Record<string, number>);
    expect(seenEval.every((r) => Number.isFinite(r.nelbo) && Number.isFinite(r.sample_mean))).toBe(true);
    trainer.dispose();
    trainer.model.dispose();
    evalData.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('guards, config and progress', () => {
  it('refuses a fresh run into a folder with checkpoints, and bad configs name the field', () => {
    const { source } = blobs();
    const model = tinyModel();
    expect(() => new Trainer({ model, data: source, config: CONFIG, checkpointDir: join(root, 'uninterrupted') })).toThrow(CheckpointError);
    expect(() => new Trainer({ model, data: source, config: { ...CONFIG, batchSize: 0 } })).toThrow(TrainerConfigError);
    expect(() => new Trainer({ model, data: source, config: { ...CONFIG, ema: 1 } })).toThrow(/ema/);
    expect(() => new Trainer({ model, data: source, config: { ...CONFIG, lr: 1 } as unknown as TrainerConfigInput })).toThrow(
      /lr: unknown/,
    );
    expect(() => Trainer.resume(join(root, 'nowhere'), { data: source })).toThrow(CheckpointError);
    model.dispose();
    expect(existsSync(join(root, 'uninterrupted', 'ckpt-12'))).toBe(true);
  });

  it('readers skip incomplete checkpoints and name the file of a corrupt one', async () => {
    const dir = join(root, 'readers');
    const trainer = new Trainer({
      model: tinyModel(),
      data: blobs().source,
      config: { ...CONFIG, steps: 4, checkpointEvery: 2 },
      checkpointDir: dir,
    });
    await trainer.run();
    trainer.dispose();
    trainer.model.dispose();
    expect(listCheckpoints(dir).map((c) => c.step)).toEqual([2, 4]);
    expect(latestCheckpoint(dir)).toBe(join(dir, 'ckpt-4'));
    // latest names a checkpoint that lost its config.json: fall back to the newest complete one.
    rmSync(join(dir, 'ckpt-4', 'config.json'));
    expect(latestCheckpoint(dir)).toBe(join(dir, 'ckpt-2'));
    // A truncated weight file is one CheckpointError naming it.
    const weights = join(dir, 'ckpt-2', 'weights.safetensors');
    writeFileSync(weights, readFileSync(weights).subarray(0, 40));
    expect(() => readCheckpoint(dir)).toThrow(CheckpointError);
    expect(() => readCheckpoint(dir)).toThrow(/ckpt-2\/weights\.safetensors/);
  });

  it('ttyProgress writes one updating line to a TTY and nothing otherwise', () => {
    const writes: string[] = [];
    const tty = { isTTY: true, columns: 200, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream;
    const listen = ttyProgress({ stream: tty, intervalMs: 0 });
    listen({ type: 'step', step: 5, steps: 10, loss: 1.5, gradNorm: 0.25, lr: 1e-3, msPerStep: 2 });
    listen({ type: 'checkpoint', step: 5, steps: 10, path: '/x/ckpt-5' });
    listen({ type: 'done', step: 10, steps: 10, reason: 'completed' });
    expect(writes[0].startsWith('\r\x1b[2K')).toBe(true);
    expect(writes[0]).toMatch(/step 5\/10 \(50%\) {2}loss 1\.500 {2}lr 1\.00e-3/);
    expect(writes.at(-2)).toMatch(/\[ckpt 5\]/);
    expect(writes.at(-1)).toBe('\n');
    const pipe = { isTTY: false, write: () => expect.fail('wrote to a non-TTY') } as unknown as NodeJS.WriteStream;
    ttyProgress({ stream: pipe })({ type: 'done', step: 1, steps: 1, reason: 'completed' });
  });
});
