/**
 * User-facing failures. Every error that reaches `main` becomes one line, `nfdm: <message>`,
 * on stderr and a non-zero exit status; stack traces are shown only with `--debug` (or `NFDM_DEBUG=1`).
 */

/** Exit status for usage errors (bad flags, unknown commands), as in commander and BSD's sysexits. */
export const EXIT_USAGE = 2;
/** Exit status for failures at run time (missing files, bad data, diverged solves, …). */
export const EXIT_FAILURE = 1;
/** Exit status after SIGINT/SIGTERM stopped a run cleanly (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;

/** An error whose message is meant for the user as is. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
  ) {
    super(message);
  }
}

/** A usage error (exit status 2): a flag value that cannot work, conflicting flags, … */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT_USAGE);
  }
}

/**
 * One line for any thrown value: the message with newlines folded, without the
 * `error: ` prefix commander adds, and without a trailing period-space clutter.
 */
export function oneLine(error: unknown): string {
  const raw = error instanceof Error ? error.message : String(error);
  return (
    raw
      .replace(/^error: /, '')
      .split('\n')
      .map((s) => s.trim())
      .filter((s) => s.length > 0)
      .join(' ') || (error instanceof Error ? error.name : 'unknown error')
  );
}
