import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('README', () => {
  it('the example runs against the built package', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toBeDefined();
    const dir = mkdtempSync(join(tmpdir(), 'nfdm-models-readme-'));
    try {
      // Placed in the package folder so '@nfdm/models' resolves to this workspace's build.
      const file = new URL('../readme-example.tmp.mjs', import.meta.url);
      writeFileSync(file, (code as string).replaceAll('/tmp/net.safetensors', join(dir, 'net.safetensors')));
      const out = execFileSync('node', [file.pathname], { encoding: 'utf8', env: { ...process.env, NFDM_BACKEND: '' } });
      expect(out.trim()).toBe('true [ 100, 2 ] 8');
      rmSync(file);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
