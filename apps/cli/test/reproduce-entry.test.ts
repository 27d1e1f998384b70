/**
 * `nfdm reproduce` is a thin entry over the workspace package @nfdm/reproduce (its own tests,
 * in apps/reproduce, run the suite through this CLI): the main help lists it without loading
 * the package, and without the package it is one clear error.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadReproduce, REPRODUCE_PACKAGE } from '../src/cli/commands/reproduce.js';
import { CliError } from '../src/cli/errors.js';
import { runCli } from './harness.js';

let tmp: string;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'nfdm-cli-reproduce-entry-'));
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('nfdm reproduce (thin entry)', () => {
  it('nfdm --help lists reproduce with its options and description', async () => {
    const r = await runCli(tmp, ['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ {2}reproduce \[options\] {2}run the experiment suite \(density, few-step sampling,$/m);
  });

  it('without the package: one CliError that says where the suite lives', async () => {
    expect(REPRODUCE_PACKAGE).toBe('@nfdm/reproduce');
    const missing = '@nfdm/no-such-package';
    const error = await loadReproduce(missing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).message).toBe(
      `nfdm reproduce runs the experiment suite from the nfdm repository (workspace package ${missing}), which is not installed here`,
    );
  });
});
