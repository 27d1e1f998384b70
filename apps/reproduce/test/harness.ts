/**
 * Spawn the built `nfdm` of @nfdm/cli (its `nfdm reproduce` loads this package's dist/) or this
 * package's `nfdm-reproduce`, in a working directory, and assert on exit status, stdout and stderr.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

const cliPackage = createRequire(import.meta.url).resolve('@nfdm/cli/package.json');
/** `nfdm` as @nfdm/cli installs it. */
export const BIN = join(dirname(cliPackage), JSON.parse(readFileSync(cliPackage, 'utf8')).bin.nfdm);
/** This package's `nfdm-reproduce`. */
export const REPRODUCE_BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'bin.js');
/** This package's build, which `nfdm reproduce` loads. */
export const DIST = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'index.js');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run `nfdm args…` (or another bin) in `cwd` with a clean environment (no NFDM_BACKEND / NFDM_DEBUG). */
export function runCli(cwd: string, args: string[], bin = BIN): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, NFDM_BACKEND: undefined, NFDM_DEBUG: undefined, FORCE_COLOR: '0' };
    const child = spawn(process.execPath, [bin, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
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
