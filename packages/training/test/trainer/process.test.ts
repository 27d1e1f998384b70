/**
 * Checkpoint safety with real processes. A child (fixtures/train-child.mjs, importing the built
 * package) trains a tiny model for 40 steps with a checkpoint every 10 and evaluation every 10;
 * it is SIGKILLed (a) between checkpoints, (b) in the middle of writing a checkpoint's files,
 * (c) after the new checkpoint is renamed into place but before `latest` is updated; and
 * (d) sent SIGINT. Each time: `latest` names a complete checkpoint that loads, left-over
 * temporary directories are ignored and then cleaned, and a resumed child reproduces the
 * uninterrupted run's metrics (losses, learning rates, gradient norms, evaluations) exactly.
 *
 * The README example also runs here, as it needs the same build.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { initBackend } from '@nfdm/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isCompleteCheckpoint,
  latestCheckpoint,
  listCheckpoints,
  loadCheckpointModel,
  readCheckpoint,
  readJsonl,
} from '../../src/index.js';

const PKG = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixtures/train-child.mjs', import.meta.url));

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** The child imports dist: build it when it is missing or older than src (turbo normally has). */
function ensureBuilt(): void {
  const dist = join(PKG, 'dist', 'index.js');
  const fresh = () => existsSync(dist) && statSync(dist).mtimeMs >= newest(join(PKG, 'src'));
  if (fresh()) return;
  const r = spawnSync('npx', ['tsup'], { cwd: PKG, encoding: 'utf8' });
  // The JS bundle is what the child needs; a failing declaration build does not stop it.
  if (!fresh()) throw new Error(`building @nfdm/training failed:\n${r.stdout}\n${r.stderr}`);
}

interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  lines: string[];
  stderr: string;
}

/** Run the child; when `trigger(line)` first holds, send it `signal`. */
function runChild(env: Record<string, string>, trigger?: (line: string) => boolean, signal: NodeJS.Signals = 'SIGKILL'): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FIXTURE], {
      cwd: PKG,
      env: { ...process.env, NFDM_BACKEND: '', STEPS: '40', CKPT_EVERY: '10', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    let stderr = '';
    let fired = false;
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      if (!fired && trigger?.(line)) {
        fired = true;
        child.kill(signal);
      }
    });
    child.on('error', reject);
    child.on('close', (code, sig) => resolve({ code, signal: sig, lines, stderr }));
  });
}

function result(run: ChildRun): Record<string, unknown> {
  const line = run.lines.find((l) => l.startsWith('result '));
  if (!line)
    throw new Error(`child did not finish: code ${run.code}, signal ${run.signal}\n${run.stderr}\n${run.lines.slice(-5).join('\n')}`);
  return JSON.parse(line.slice('result '.length));
}

/** The metrics of a run without the timings. */
function metrics(dir: string): Record<string, unknown>[] {
  return readJsonl(join(dir, 'metrics.jsonl')).map(({ ms_per_step: _ms, ...rest }) => rest);
}

/** `latest` names a complete checkpoint that reads, and its model loads. */
function assertSound(dir: string): number {
  const latest = latestCheckpoint(dir) as string;
  expect(latest).toBeDefined();
  expect(readFileSync(join(dir, 'latest'), 'utf8').trim()).toBe(latest.split('/').at(-1));
  expect(isCompleteCheckpoint(latest)).toBe(true);
  const ckpt = readCheckpoint(dir);
  const model = loadCheckpointModel(dir);
  expect(model.dim).toBe(2);
  model.dispose();
  for (const c of listCheckpoints(dir)) expect(isCompleteCheckpoint(c.path)).toBe(true);
  return ckpt.step;
}

let root: string;
let reference: Record<string, unknown>[];

beforeAll(async () => {
  ensureBuilt();
  await initBackend('wasm');
  root = mkdtempSync(join(tmpdir(), 'nfdm-kill-'));
  const dir = join(root, 'reference');
  const run = await runChild({ NFDM_TEST_DIR: dir });
  expect(result(run)).toMatchObject({ step: 40, reason: 'completed' });
  reference = metrics(dir);
  expect(reference.filter((r) => r.type === 'train')).toHaveLength(40);
  expect(reference.filter((r) => r.type === 'eval').map((r) => r.step)).toEqual([10, 20, 30, 40]);
  // keep: 2.
  expect(listCheckpoints(dir).map((c) => c.step)).toEqual([30, 40]);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function resumeAndCompare(dir: string): Promise<void> {
  const run = await runChild({ NFDM_TEST_DIR: dir, MODE: 'resume' });
  expect(result(run)).toMatchObject({ step: 40, reason: 'completed' });
  expect(run.code).toBe(0);
  expect(readdirSync(dir).filter((f) => f.startsWith('.'))).toEqual([]);
  expect(metrics(dir)).toEqual(reference);
  expect(assertSound(dir)).toBe(40);
}

describe('SIGKILL', () => {
  it('(a) between checkpoints: latest is the last complete checkpoint; resume reproduces the run', async () => {
    const dir = join(root, 'a');
    const run = await runChild({ NFDM_TEST_DIR: dir, STEP_DELAY_MS: '500', STEP_DELAY_FROM: '25' }, (l) => l.startsWith('step 25 '));
    expect(run.signal).toBe('SIGKILL');
    expect(run.lines.some((l) => l.startsWith('result'))).toBe(false);
    expect(assertSound(dir)).toBe(20);
    // Lines past the checkpoint were written before the kill; resume drops and rewrites them.
    expect(readJsonl(join(dir, 'metrics.jsonl')).some((r) => (r.step as number) > 20)).toBe(true);
    await resumeAndCompare(dir);
  });

  it('(b) in the middle of writing a checkpoint: the temporary directory is ignored, then cleaned', async () => {
    const dir = join(root, 'b');
    const run = await runChild(
      { NFDM_TEST_DIR: dir, PAUSE_AT: '20', PAUSE_HOOK: 'afterFile', PAUSE_FILE: 'optimizer.safetensors', PAUSE_MS: '5000' },
      (l) => l === 'file optimizer.safetensors 20',
    );
    expect(run.signal).toBe('SIGKILL');
    const temps = readdirSync(dir).filter((f) => f.startsWith('.tmp-ckpt-20-'));
    expect(temps).toHaveLength(1);
    // Half-written: the weights and EMA are there, config.json (written last) is not.
    const written = readdirSync(join(dir, temps[0]));
    expect(written).toContain('weights.safetensors');
    expect(written).not.toContain('config.json');
    expect(existsSync(join(dir, 'ckpt-20'))).toBe(false);
    expect(assertSound(dir)).toBe(10);
    await resumeAndCompare(dir);
  });

  it('(c) after the rename, before `latest` moves: latest still names the previous checkpoint', async () => {
    const dir = join(root, 'c');
    const run = await runChild(
      { NFDM_TEST_DIR: dir, PAUSE_AT: '20', PAUSE_HOOK: 'beforeLatest', PAUSE_MS: '5000' },
      (l) => l === 'renamed 20',
    );
    expect(run.signal).toBe('SIGKILL');
    expect(isCompleteCheckpoint(join(dir, 'ckpt-20'))).toBe(true);
    expect(assertSound(dir)).toBe(10);
    // Resuming from 10 rewrites ckpt-20 over the orphan.
    await resumeAndCompare(dir);
  });
});

describe('SIGINT', () => {
  it('finishes the step, writes a checkpoint and exits cleanly; resume continues exactly', async () => {
    const dir = join(root, 'sigint');
    const run = await runChild(
      { NFDM_TEST_DIR: dir, SIGNALS: '1', STEP_DELAY_MS: '300', STEP_DELAY_FROM: '15' },
      (l) => l.startsWith('step 15 '),
      'SIGINT',
    );
    expect(run.code).toBe(0);
    expect(run.signal).toBeNull();
    const r = result(run);
    expect(r).toMatchObject({ reason: 'interrupted', signal: 'SIGINT' });
    const step = r.step as number;
    expect(step).toBeGreaterThanOrEqual(15);
    expect(step).toBeLessThan(40);
    expect(r.checkpoint).toBe(join(dir, `ckpt-${step}`));
    expect(assertSound(dir)).toBe(step);
    await resumeAndCompare(dir);
  });
});

describe('README', () => {
  it('the example runs against the built package', () => {
    const readme = readFileSync(join(PKG, 'README.md'), 'utf8');
    const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toBeDefined();
    // Beside this test so '@nfdm/training' resolves to this workspace's build (dist).
    const file = fileURLToPath(new URL('./readme-example.tmp.mjs', import.meta.url));
    try {
      writeFileSync(file, (code as string).replaceAll('/tmp/nfdm-demo', join(root, 'readme')));
      const out = execFileSync(process.execPath, [file], { encoding: 'utf8', env: { ...process.env, NFDM_BACKEND: 'wasm' } });
      expect(out.trim()).toBe('completed 80 true true 2');
    } finally {
      rmSync(file, { force: true });
    }
  });
});
