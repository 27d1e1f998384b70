import type { Io } from './output.js';

/** State shared by the commands of one `main` call. */
export interface Context {
  io: Io;
  /** Exit status to return when the command finishes without throwing (e.g. 130 after Ctrl-C). */
  exitCode: number;
}
