/**
 * JSON Lines metrics: one object per line, appended with a single write each (so a kill can cut
 * at most the last line). {@link truncateMetricsLog} drops the lines a resumed run will write
 * again (those with a step past the checkpoint) and any partial line.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from '@nfdm/core';

export class JsonlWriter {
  private fd: number | undefined;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.fd = openSync(path, 'a');
  }

  write(record: Record<string, unknown>): void {
    if (this.fd === undefined) throw new Error(`metrics log ${this.path} is closed`);
    writeSync(this.fd, `${JSON.stringify(record)}\n`);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Read a JSONL file, skipping lines that do not parse (e.g. a line cut by a kill). */
export function readJsonl(path: string): Record<string, unknown>[] {
  if (!existsSync(path)) return [];
  const out: Record<string, unknown>[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // A partial last line.
    }
  }
  return out;
}

/** Keep only the complete lines whose `step` is ≤ `step` (atomic rewrite; no-op if nothing changes). */
export function truncateMetricsLog(path: string, step: number): void {
  if (!existsSync(path)) return;
  const text = readFileSync(path, 'utf8');
  const kept: string[] = [];
  let changed = text.length > 0 && !text.endsWith('\n');
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let record: { step?: unknown };
    try {
      record = JSON.parse(line);
    } catch {
      changed = true;
      continue;
    }
    if (typeof record.step === 'number' && record.step > step) {
      changed = true;
      continue;
    }
    kept.push(line);
  }
  if (changed) writeFileAtomic(path, new TextEncoder().encode(kept.map((l) => `${l}\n`).join('')));
}
