/** The flow-matching example of the README (the ```js cfm block) runs against the built package. */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('README: flow matching', () => {
  it('the CFM example trains, samples near the data mean, evaluates log p(x) and makes reflow pairs', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const code = /```js cfm\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toBeDefined();
    // Placed in the package folder so '@nfdm/models' resolves to this workspace's build.
    const file = new URL('../readme-cfm-example.tmp.mjs', import.meta.url);
    writeFileSync(file, code as string);
    try {
      const out = execFileSync('node', [file.pathname], { encoding: 'utf8', env: { ...process.env, NFDM_BACKEND: '' } });
      expect(out.trim()).toBe('true 8 [ 64, 4 ]');
    } finally {
      rmSync(file);
    }
  }, 120_000);
});
