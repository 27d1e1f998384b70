/**
 * Where the CLI writes. Results are human text on stdout, or — with `--json` — exactly one
 * JSON document on stdout while the human text goes to stderr. Notes about long work
 * (which backend, what is being computed) go to stderr only on a terminal or with
 * `--verbose`, so scripts and logs see nothing but the result.
 */

import { Progress, progressMode } from './progress.js';

/** The streams the CLI writes to (injectable for tests). */
export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

export const processIo = (): Io => ({ stdout: process.stdout, stderr: process.stderr });

/**
 * A reader that went away (`nfdm train --help | head -2`) is not an error of the command:
 * EPIPE on stdout or stderr drops the rest of that stream's output quietly, and the command
 * still finishes its work (files are written, runs are saved). Install once, in the binary.
 */
export function ignoreBrokenPipes(streams: NodeJS.WritableStream[]): void {
  for (const stream of streams) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') return;
      process.exitCode = 1;
      if (stream !== process.stderr) process.stderr.write(`nfdm: cannot write output: ${error.message}\n`);
    });
  }
}

export class Output {
  private printedJson = false;
  private readonly started = performance.now();

  /**
   * `progressTo`: where progress displays go and whether --verbose applies to them, when not to
   * `io` (the runs inside `nfdm reproduce` keep their notes quiet but show progress).
   */
  constructor(
    readonly io: Io,
    readonly json: boolean,
    readonly verbose: boolean,
    private readonly progressTo?: { io: Io; verbose: boolean },
  ) {}

  /** Whether notes are shown (stderr is a terminal, or --verbose). */
  get showNotes(): boolean {
    return this.verbose || Boolean(this.io.stderr.isTTY);
  }

  /** A note about work in progress (stderr; terminal or --verbose only). */
  note(text: string): void {
    if (this.showNotes) this.io.stderr.write(`${text}\n`);
  }

  /** A progress display for `total` units of work (see progress.ts for when it shows). */
  progress(label: string, total: number, unit = ''): Progress {
    const to = this.progressTo ?? { io: this.io, verbose: this.verbose };
    return new Progress(to.io.stderr, progressMode(to.io, to.verbose), label, total, unit);
  }

  /** A warning the user must see (stderr, always): `nfdm: warning: <text>`. */
  warn(text: string): void {
    this.io.stderr.write(`nfdm: warning: ${text}\n`);
  }

  /** The human-readable result: stdout, or stderr when --json is set. */
  human(text: string): void {
    (this.json ? this.io.stderr : this.io.stdout).write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** The machine-readable result (one JSON document on stdout; only with --json). */
  result(value: unknown): void {
    if (!this.json) return;
    if (this.printedJson) throw new Error('internal: a second JSON document was about to be written');
    this.printedJson = true;
    this.io.stdout.write(`${JSON.stringify(value, jsonReplacer, 2)}\n`);
  }

  /** Seconds since this output was created (the command's wall time). */
  elapsed(): number {
    return (performance.now() - this.started) / 1000;
  }
}

/** JSON.stringify replacer: typed arrays as arrays, non-finite numbers as null. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value as unknown as ArrayLike<number>);
  return value;
}

/** A number for humans: 4 significant digits, exponent for very small or large values. */
export function fmt(v: number, digits = 4): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(digits - 1);
  return Number(v.toPrecision(digits)).toString();
}

/** Aligned text table (first row: header). */
export function table(rows: string[][]): string {
  const widths = rows[0].map((_, j) => Math.max(...rows.map((r) => (r[j] ?? '').length)));
  return rows.map((r) => r.map((c, j) => (j === r.length - 1 ? c : c.padEnd(widths[j]))).join('  ')).join('\n');
}
