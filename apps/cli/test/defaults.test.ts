/**
 * The training defaults (docs/defaults.md) and `--ema none`, through the built `nfdm` (spawns
 * `node dist/bin.js`; run `npx tsup` first — `npm test` builds through turbo).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeWeights } from '@nfdm/core';
import { resolveTrainerConfig } from '@nfdm/training';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clipNorm, emaDecay, NONE } from '../src/cli/options.js';
import { completeSettings, DEFAULTS, trainerConfig } from '../src/cli/run-config.js';
import { BIN, failure, json, runCli } from './harness.js';

let tmp: string;
const nfdm = (args: string[]) => runCli(tmp, args);
const TINY = ['--model', 'nfdm', '--data', 'moons', '--hidden', '16,16', '--batch', '64'];

beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build the CLI first (cd apps/cli && npx tsup)`);
  tmp = mkdtempSync(join(tmpdir(), 'nfdm-defaults-'));
});
afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const tensors = (path: string) => [...decodeWeights(readFileSync(path)).tensors].map(([k, t]) => [k, Array.from(t.data)]);
const runJson = (dir: string) => JSON.parse(readFileSync(join(tmp, dir, 'run.json'), 'utf8'));

describe('default settings', () => {
  it('clip the gradients and warm the EMA up', () => {
    const trainer = resolveTrainerConfig(trainerConfig(completeSettings({ model: 'nfdm', data: 'moons', steps: 2000 })));
    expect(trainer.clipNorm).toBe(DEFAULTS.clip);
    expect(trainer.clipNorm).toBeGreaterThan(0);
    expect(trainer.ema).toBe(DEFAULTS.ema);
    expect(trainer.emaWarmup).toBe(true);
    expect(trainer.schedule).toMatchObject({ kind: 'cosine', lr: DEFAULTS.lr, warmup: 100 });
  });

  it("parse 'none', 'off' and '0' for --ema and --clip", () => {
    for (const v of ['none', 'off', '0', ' NONE ']) {
      expect(emaDecay(v)).toBe(NONE);
      expect(clipNorm(v)).toBe(NONE);
    }
    expect(emaDecay('0.995')).toBe(0.995);
    expect(clipNorm('2')).toBe(2);
    expect(() => emaDecay('1')).toThrow(/decay/);
    expect(() => clipNorm('-1')).toThrow(/norm/);
  });

  it('train: the exported EMA model of a short default run is far better than the initial weights', async () => {
    // Held-out NELBO measured: 12,300 nats after 1 update, 5.3 after 150 with the defaults; 7,851
    // with EMA 0.999 without warm-up (the start still weighs 0.999^150 = 0.86), 9,027 with the
    // old defaults (that and no clipping).
    const [one, short] = await Promise.all([
      nfdm(['train', '--model', 'nfdm', '--data', 'moons', '--steps', '1', '--out', 'd1', '--json']),
      nfdm(['train', '--model', 'nfdm', '--data', 'moons', '--steps', '150', '--out', 'd150', '--json']),
    ]);
    const initial = (json(one).nelbo as { mean: number }).mean;
    const trained = (json(short).nelbo as { mean: number }).mean;
    expect(trained).toBeLessThan(initial / 100);
    expect(trained).toBeLessThan(20);
  });
});

describe('--ema none', () => {
  it('trains, records no EMA in run.json, resumes and exports the raw weights', async () => {
    const r = json(
      await nfdm(['train', ...TINY, '--steps', '20', '--checkpoint-every', '10', '--ema', 'none', '--out', 'noema', '--json']),
    );
    expect(r).toMatchObject({ status: 'completed', step: 20, config: { ema: null } });
    expect(readdirSync(join(tmp, 'noema', 'ckpt-20'))).not.toContain('ema.safetensors');
    const resumed = json(await nfdm(['train', '--out', 'noema', '--resume', '--steps', '30', '--json']));
    expect(resumed).toMatchObject({ status: 'completed', step: 30, resumedFrom: 20, config: { ema: null } });
    expect(runJson('noema').config.ema).toBeNull();
    // The exported model holds the raw weights of the last checkpoint.
    expect(tensors(join(tmp, 'noema', 'model', 'weights.safetensors'))).toEqual(
      tensors(join(tmp, 'noema', 'ckpt-30', 'weights.safetensors')),
    );
    const exported = json(await nfdm(['export', '--model', 'noema', '--out', 'noema-onnx', '--json']));
    expect((exported.files as string[]).some((f) => f.endsWith('velocity.onnx'))).toBe(true);
  });

  it("'off' and '0' mean the same; --clip none turns clipping off", async () => {
    const [off, zero] = await Promise.all([
      nfdm(['train', ...TINY, '--steps', '3', '--ema', 'off', '--clip', 'none', '--out', 'off', '--json']),
      nfdm(['train', ...TINY, '--steps', '3', '--ema', '0', '--out', 'zero', '--json']),
    ]);
    expect(json(off)).toMatchObject({ config: { ema: null, clip: null } });
    expect(json(zero)).toMatchObject({ config: { ema: null, clip: DEFAULTS.clip } });
    for (const dir of ['off', 'zero']) expect(readdirSync(join(tmp, dir, 'ckpt-3'))).not.toContain('ema.safetensors');
  });

  it('a rejected trainer or model config leaves no output folder behind', async () => {
    writeFileSync(join(tmp, 'bad-trainer.json'), JSON.stringify({ trainer: { emaWarmup: 'yes' } }));
    writeFileSync(join(tmp, 'bad-model.json'), JSON.stringify({ modelConfig: { forward: { kind: 'nope' } } }));
    const [trainer, model] = await Promise.all([
      nfdm(['train', ...TINY, '--steps', '3', '--config', 'bad-trainer.json', '--out', 'bad1']),
      nfdm(['train', ...TINY, '--steps', '3', '--config', 'bad-model.json', '--out', 'bad2']),
    ]);
    failure(trainer, /emaWarmup/, 1);
    failure(model, /model config/, 1);
    expect(existsSync(join(tmp, 'bad1'))).toBe(false);
    expect(existsSync(join(tmp, 'bad2'))).toBe(false);
  });
});
