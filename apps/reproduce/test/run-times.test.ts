import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loggedTrainingSeconds } from '../src/common.js';

describe('loggedTrainingSeconds (the training time of a run continued across invocations)', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'nfdm-run-times-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const line = (step: number, ms: number) => JSON.stringify({ type: 'train', step, loss: 1, ms_per_step: ms });

  it('sums each window of updates once, the latest line of a step retrained after an interruption winning', () => {
    const dir = join(tmp, 'continued');
    mkdirSync(dir);
    const lines = [
      line(50, 100),
      JSON.stringify({ type: 'eval', step: 50, nelbo: 3 }),
      line(100, 200),
      line(150, 300), // after the last checkpoint (100): lost when the first invocation stopped
      line(150, 400), // the second invocation, continued from 100
      line(200, 100),
      '{"type":"train","st', // torn last line
    ];
    writeFileSync(join(dir, 'metrics.jsonl'), lines.join('\n'));
    // (50·100 + 50·200 + 50·400 + 50·100) ms
    expect(loggedTrainingSeconds(dir)).toBeCloseTo(40, 10);
  });

  it('is undefined without metrics or without training lines', () => {
    const dir = join(tmp, 'empty');
    mkdirSync(dir);
    expect(loggedTrainingSeconds(dir)).toBeUndefined();
    writeFileSync(join(dir, 'metrics.jsonl'), `${JSON.stringify({ type: 'eval', step: 10, nelbo: 1 })}\n`);
    expect(loggedTrainingSeconds(dir)).toBeUndefined();
  });
});
