import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/** Run the README's `index`-th ```js block against the built package; returns its stdout. */
function runExample(index: number): string {
  if (!existsSync(new URL('../dist/runtime.js', import.meta.url)))
    throw new Error('build @nfdm/export first (npx tsup): the README examples import dist/');
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const code = [...readme.matchAll(/```js\n([\s\S]*?)```/g)][index]?.[1];
  expect(code).toBeDefined();
  // Placed in the package folder so '@nfdm/export' resolves to this workspace's build.
  const file = new URL(`../readme-example-${index}.tmp.mjs`, import.meta.url);
  writeFileSync(file, code as string);
  try {
    return execFileSync('node', [file.pathname], { encoding: 'utf8', env: { ...process.env, NFDM_BACKEND: '' } }).trim();
  } finally {
    rmSync(file, { force: true });
  }
}

// Each example runs in its own Node process (tfjs start-up, export, onnxruntime sessions):
// tens of seconds when the machine is busy, so these get more than the 60 s default.
const EXAMPLE_TIMEOUT = 240_000;

describe('README', () => {
  it('the example runs against the built package', { timeout: EXAMPLE_TIMEOUT }, () => {
    expect(runExample(0)).toBe('2000 16 true true');
  });

  it('the bridge / DiffFlow example runs against the built package', { timeout: EXAMPLE_TIMEOUT }, () => {
    expect(runExample(1)).toBe('nfbm 6 true diffflow 1000 true');
  });

  it('the conditional example runs against the built package', { timeout: EXAMPLE_TIMEOUT }, () => {
    expect(runExample(2)).toBe('{"kind":"label","classes":8} 4 true true\nOnnxConditionError true');
  });
});
