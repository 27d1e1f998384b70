/** Small file helpers: atomic writes (a killed process never leaves a half-written file). */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Write `content` to `file` through a temporary sibling (`.<name>.<pid>.<random>.tmp`) that is
 * renamed over the target, so readers see either the old file or the complete new one.
 */
export function writeFileAtomic(file: string, content: string | Uint8Array): void {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    writeFileSync(tmp, content);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
