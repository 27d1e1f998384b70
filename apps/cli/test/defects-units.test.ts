/** In-process tests of the helpers behind the issue-14 CLI fixes (progress, file errors). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CliError } from '../src/cli/errors.js';
import { columnNames, ensureDir } from '../src/cli/files.js';
import { describeErrnoError, reasonFor, userPath } from '../src/cli/fs-errors.js';
import type { Io } from '../src/cli/output.js';
import { duration, Progress, progressMode } from '../src/cli/progress.js';

/** A stream that records what is written (a terminal when `isTTY`). */
function recorder(isTTY: boolean) {
  const chunks: string[] = [];
  const stream = { isTTY, columns: 200, write: (s: string) => chunks.push(s) > 0 } as unknown as Io['stderr'];
  return { stream, chunks };
}

const errno = (code: string, syscall: string, path: string) =>
  Object.assign(new Error(`${code}: oops, ${syscall} '${path}'`), { code, syscall, path }) as NodeJS.ErrnoException & { code: string };

describe('Progress', () => {
  it('on a terminal redraws one line (\\r, clear) and ends it with a newline', () => {
    const { stream, chunks } = recorder(true);
    const p = new Progress(stream, 'tty', 'sampling', 10, 'samples', 0);
    for (let i = 1; i <= 10; i++) p.update(i);
    p.finish();
    expect(chunks.length).toBe(12); // 10 updates, the final redraw, the newline
    expect(chunks.slice(0, 11).every((c) => c.startsWith('\r\x1b[2K'))).toBe(true);
    expect(chunks[9].startsWith('\r\x1b[2Ksampling 10/10 samples (100%)')).toBe(true);
    expect(chunks[11]).toBe('\n');
  });

  it('in line mode prints at each tenth of the work, and nothing when off', () => {
    const lines = recorder(false);
    const p = new Progress(lines.stream, 'lines', 'NLL', 1000, 'points');
    for (let i = 1; i <= 1000; i++) p.update(i);
    p.finish();
    expect(lines.chunks.map((c) => /NLL (\d+)\/1000/.exec(c)?.[1])).toEqual([
      '100',
      '200',
      '300',
      '400',
      '500',
      '600',
      '700',
      '800',
      '900',
      '1000',
    ]);
    const off = recorder(false);
    const q = new Progress(off.stream, 'off', 'NLL', 10);
    q.update(10);
    q.event('x');
    q.finish();
    expect(off.chunks).toEqual([]);
  });

  it('mode: terminal → tty; otherwise --verbose → lines, else off', () => {
    const io = (isTTY: boolean) => ({ stdout: recorder(false).stream, stderr: recorder(isTTY).stream }) as Io;
    expect(progressMode(io(true), false)).toBe('tty');
    expect(progressMode(io(false), true)).toBe('lines');
    expect(progressMode(io(false), false)).toBe('off');
    expect([duration(5.25), duration(75), duration(600), duration(9000)]).toEqual(['5.3 s', '75 s', '10.0 min', '2.5 h']);
  });
});

describe('file-system errors as sentences', () => {
  it('temporary names map back to the file the user asked for', () => {
    expect(userPath('out/.s.csv.29965.k3j9.tmp')).toBe('out/s.csv');
    expect(userPath('runs/a/run.json.tmp-123-lq0x')).toBe('runs/a/run.json');
    expect(userPath('onnx/drift.onnx.tmp-77')).toBe('onnx/drift.onnx');
    expect(userPath('runs/a/.tmp-ckpt-2000-abc')).toBe('runs/a/ckpt-2000');
    expect(userPath('plain/file.csv')).toBe('plain/file.csv');
  });

  it('name the folder, not the errno', () => {
    expect(describeErrnoError(errno('EACCES', 'open', 'ro/.s.csv.1.a.tmp'))).toBe(
      'cannot write ro/s.csv: no permission to write in folder ro',
    );
    expect(describeErrnoError(errno('EACCES', 'mkdir', 'run/.tmp-ckpt-40-x'))).toBe(
      'cannot create folder run/ckpt-40: no permission to write in folder run',
    );
    expect(describeErrnoError(errno('ENOSPC', 'write', 'big/x.npy'))).toBe(
      'cannot write big/x.npy: no space left on the device that holds big',
    );
    expect(describeErrnoError(errno('EACCES', 'open', 'secret.csv'))).toBe('cannot open secret.csv: permission denied');
    expect(reasonFor(errno('EROFS', 'open', '/mnt/x'), '/mnt/x')).toBe('folder /mnt is on a read-only file system');
  });

  it('ensureDir creates missing parents and names a file standing in the way', () => {
    const root = mkdtempSync(join(tmpdir(), 'nfdm-ensure-'));
    try {
      ensureDir(join(root, 'a', 'b', 'c'));
      ensureDir(join(root, 'a', 'b', 'c')); // already there: fine
      writeFileSync(join(root, 'f'), 'x');
      expect(() => ensureDir(join(root, 'f', 'g'), '--out x')).toThrow(new CliError(`--out x: ${join(root, 'f')} is a file, not a folder`));
      expect(() => ensureDir('/proc/nfdm-no/such')).toThrow(/cannot create folder \/proc\/nfdm-no: \/proc does not accept new folders/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('column names: the data’s own when they fit, else x0 … x(D−1)', () => {
    expect(columnNames(2, ['height', 'weight'])).toEqual(['height', 'weight']);
    expect(columnNames(3, ['height', 'weight'])).toEqual(['x0', 'x1', 'x2']);
    expect(columnNames(2)).toEqual(['x0', 'x1']);
  });
});
