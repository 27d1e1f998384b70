/**
 * The built page and its static copy: `npm run build` bundles the page for browsers (esbuild,
 * platform 'browser': no Node built-ins), and writeStaticSite copies it with onnxruntime-web's
 * wasm files (the built package, as nfdm serve uses it). (The page runs in Chromium in apps/serve's system suite.)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ORT_FILES, ortDir, siteDir, siteFiles, writeStaticSite } from '@nfdm/playground';
import { describe, expect, it } from 'vitest';

describe('@nfdm/playground', () => {
  it('the README example writes the static site', () => {
    const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
    const code = [...readme.matchAll(/```js\n([\s\S]*?)```/g)][0]?.[1] ?? '';
    const cwd = mkdtempSync(join(tmpdir(), 'nfdm-site-readme-'));
    const file = join(import.meta.dirname, '..', 'readme-example.tmp.mjs');
    writeFileSync(file, code);
    try {
      expect(execFileSync(process.execPath, [file], { cwd, encoding: 'utf8' }).trim()).toBe('true true');
      expect(existsSync(join(cwd, 'site', 'index.html'))).toBe(true);
    } finally {
      rmSync(file, { force: true });
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('the built site: index.html loading the bundled script and style', () => {
    const files = siteFiles();
    expect(files).toEqual(expect.arrayContaining(['index.html', 'playground/app.js', 'playground/style.css']));
    const html = readFileSync(join(siteDir(), 'index.html'), 'utf8');
    expect(html).toContain('src="playground/app.js"');
    const app = readFileSync(join(siteDir(), 'playground', 'app.js'), 'utf8');
    // onnxruntime-web in its external-wasm build: it loads ort-wasm-simd-threaded.mjs from wasmPaths
    expect(app).toContain('ort-wasm-simd-threaded');
    expect(app).not.toMatch(/from\s*"node:|require\("(fs|path|node:)/);
  });

  it('writeStaticSite copies the page and the wasm files', () => {
    const out = mkdtempSync(join(tmpdir(), 'nfdm-site-'));
    try {
      const written = writeStaticSite(out);
      expect(written).toEqual(expect.arrayContaining(['index.html', 'playground/app.js', ...ORT_FILES.map((f) => `ort/${f}`)]));
      for (const f of ORT_FILES) expect(readFileSync(join(out, 'ort', f)).equals(readFileSync(join(ortDir(), f)))).toBe(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
