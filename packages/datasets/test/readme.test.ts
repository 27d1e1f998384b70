import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FASHION_MNIST_FIXTURE } from './fixture.js';

describe('README', () => {
  // The example's Fashion-MNIST line reads the committed subset (NFDM_FASHION_MNIST_DIR).
  it('the example runs against the built package and prints what the README says', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
    const printed = /prints\n\n```\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toBeDefined();
    expect(printed).toBeDefined();
    const dir = mkdtempSync(join(tmpdir(), 'nfdm-datasets-readme-'));
    // Placed in the package folder so '@nfdm/datasets' resolves to this workspace's build.
    const file = new URL('../readme-example.tmp.mjs', import.meta.url);
    try {
      writeFileSync(file, (code as string).replaceAll('/tmp/', `${dir}/`));
      const out = execFileSync('node', [file.pathname], {
        encoding: 'utf8',
        env: { ...process.env, NFDM_BACKEND: '', NFDM_FASHION_MNIST_DIR: FASHION_MNIST_FIXTURE },
      });
      expect(out.trim()).toBe((printed as string).trim());
    } finally {
      rmSync(file, { force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
