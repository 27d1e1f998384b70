/**
 * Shared harness for the end-to-end tests: spawn the built `nfdm` (dist/bin.js) in a working
 * directory and assert on its exit status, stdout and stderr.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'bin.js');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run `nfdm args…` in `cwd` with a clean environment (no NFDM_BACKEND / NFDM_DEBUG). */
export function runCli(cwd: string, args: string[]): Promise<Run> {
  return spawnCli(cwd, args);
}

export interface SpawnOptions {
  /** Run as this user and group (e.g. an unprivileged one, when the tests run as root). */
  uid?: number;
  gid?: number;
  /** Close the reading end of stdout at once, as `nfdm … | head -1` does. */
  closeStdout?: boolean;
}

/** {@link runCli} with spawn options. */
export function spawnCli(cwd: string, args: string[], options: SpawnOptions = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, NFDM_BACKEND: undefined, NFDM_DEBUG: undefined, FORCE_COLOR: '0' };
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.uid !== undefined ? { uid: options.uid, gid: options.gid ?? options.uid } : {}),
    });
    if (options.closeStdout) child.stdout.destroy();
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Largest |a − b| over two arrays of the same length. */
export function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Assert success and return the parsed --json document. */
export function json(r: Run): Record<string, unknown> {
  expect(r.stderr, r.stderr).not.toMatch(/^nfdm: /m);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

/** Assert a failure reported as exactly one line `nfdm: …` without a stack trace. */
export function failure(r: Run, pattern: RegExp, code?: number): string {
  expect(r.code).not.toBe(0);
  if (code !== undefined) expect(r.code).toBe(code);
  const lines = r.stderr.split('\n').filter((l) => l.length > 0);
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^nfdm: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stdout).toBe('');
  return lines[0];
}
