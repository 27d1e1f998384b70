import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Run the README's `index`-th ```js block against the built package, in a fresh folder holding
 * the committed diffusion export as `model-onnx`; returns its stdout.
 */
function runExample(index: number): string {
  if (!existsSync(new URL('../dist/index.js', import.meta.url))) throw new Error('build @nfdm/runtime first (npx tsup)');
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const code = [...readme.matchAll(/```js\n([\s\S]*?)```/g)][index]?.[1];
  expect(code).toBeDefined();
  const cwd = mkdtempSync(join(tmpdir(), 'nfdm-runtime-readme-'));
  cpSync(join(import.meta.dirname, 'fixtures', 'nfdm-2d'), join(cwd, 'model-onnx'), { recursive: true });
  // Placed in the package folder so '@nfdm/runtime' resolves to this workspace's build.
  const file = new URL(`../readme-example-${index}.tmp.mjs`, import.meta.url);
  writeFileSync(file, code as string);
  try {
    return execFileSync('node', [file.pathname], { cwd, encoding: 'utf8' }).trim();
  } finally {
    rmSync(file, { force: true });
    rmSync(cwd, { recursive: true, force: true });
  }
}

describe('README', () => {
  it('the example runs against the built package', () => {
    expect(runExample(0)).toBe('2 2000 10 true true');
  });

  it('the browser entry example runs against the built package (onnxruntime-web in Node)', () => {
    expect(runExample(1)).toBe('21 true');
  });
});
