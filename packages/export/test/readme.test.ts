import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('README', () => {
  it('the example runs against the built package', () => {
    if (!existsSync(new URL('../dist/runtime.js', import.meta.url)))
      throw new Error('build @nfdm/export first (npx tsup): the README example imports dist/');
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toBeDefined();
    // Placed in the package folder so '@nfdm/export' resolves to this workspace's build.
    const file = new URL('../readme-example.tmp.mjs', import.meta.url);
    writeFileSync(file, code as string);
    try {
      const out = execFileSync('node', [file.pathname], { encoding: 'utf8', env: { ...process.env, NFDM_BACKEND: '' } });
      expect(out.trim()).toBe('2000 16 true true');
    } finally {
      rmSync(file, { force: true });
    }
  });
});
