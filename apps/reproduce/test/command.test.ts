/**
 * The command of @nfdm/reproduce behind `nfdm reproduce` and `nfdm-reproduce`: the help of the
 * thin entry in the CLI is this package's, under the name `nfdm reproduce`; usage errors keep
 * nfdm's one line and exit status 2.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPRODUCE_DESCRIPTION } from '../src/index.js';
import { failure, REPRODUCE_BIN, runCli } from './harness.js';

let tmp: string;

beforeAll(() => {
  if (!existsSync(REPRODUCE_BIN)) throw new Error(`${REPRODUCE_BIN} is missing: build this package first (cd apps/reproduce && npx tsup)`);
  tmp = mkdtempSync(join(tmpdir(), 'nfdm-reproduce-command-'));
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** Help text with its line breaks folded (commander wraps at 80 columns). */
const folded = (s: string) => s.replace(/\s+/g, ' ');

describe('the reproduce command', () => {
  it('nfdm --help lists reproduce with the description of this package', async () => {
    const r = await runCli(tmp, ['--help']);
    expect(r.code).toBe(0);
    const entry = r.stdout.slice(r.stdout.indexOf('  reproduce [options]'), r.stdout.indexOf('  datasets [options]'));
    expect(folded(entry).trim()).toBe(`reproduce [options] ${REPRODUCE_DESCRIPTION}`);
  });

  it('nfdm reproduce --help (and -h) shows the options and examples as nfdm reproduce', async () => {
    const help = await runCli(tmp, ['reproduce', '--help']);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stderr).toBe('');
    expect(help.stdout).toMatch(/^Usage: nfdm reproduce \[options\]\n/);
    expect(folded(help.stdout)).toContain(folded(REPRODUCE_DESCRIPTION));
    for (const flag of [
      '--budget <name>',
      '--out <dir>',
      '--only <list>',
      '--models <list>',
      '--force',
      '--resume',
      '--backend <name>',
      '--json',
      '--verbose',
      '-h, --help',
    ]) {
      expect(help.stdout).toContain(`  ${flag}`);
    }
    expect(folded(help.stdout)).toContain('(choices: "smoke", "quick", "full", "long", default: "quick")');
    expect(help.stdout).toContain('$ nfdm reproduce --budget smoke --out /tmp/repro-smoke');
    expect((await runCli(tmp, ['reproduce', '-h'])).stdout).toBe(help.stdout);
    expect((await runCli(tmp, ['reproduce', '--budget', 'smoke', '--help'])).stdout).toBe(help.stdout);
  });

  it('nfdm-reproduce is nfdm reproduce', async () => {
    const help = await runCli(tmp, ['--help'], REPRODUCE_BIN);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toBe((await runCli(tmp, ['reproduce', '--help'])).stdout);
    failure(await runCli(tmp, ['--budget', 'huge', '--out', 'x'], REPRODUCE_BIN), /'--budget <name>' argument 'huge' is invalid/, 2);
  });

  it('unknown options and stray arguments are usage errors (exit 2)', async () => {
    failure(await runCli(tmp, ['reproduce', '--no-such-flag']), /unknown option '--no-such-flag'/, 2);
    failure(await runCli(tmp, ['reproduce', '--out', 'x', 'stray']), /too many arguments/, 2);
    expect(existsSync(join(tmp, 'x'))).toBe(false);
  });
});
