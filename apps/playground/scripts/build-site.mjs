// Bundle the playground page for browsers (esbuild: ES2022, no Node built-ins — platform
// 'browser' fails on any) into dist/site/: index.html, playground/app.js, playground/style.css.
// onnxruntime-web is bundled in its "extern wasm" build: its ort-wasm-simd-threaded.{mjs,wasm}
// are served next to the page under ort/ (nfdm serve; writeStaticSite copies them).
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'site');
mkdirSync(join(out, 'playground'), { recursive: true });
await build({
  entryPoints: [join(root, 'src', 'page', 'main.ts')],
  outfile: join(out, 'playground', 'app.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  conditions: ['onnxruntime-web-use-extern-wasm'],
  minify: true,
  sourcemap: true,
  legalComments: 'linked',
  logLevel: 'warning',
});
copyFileSync(join(root, 'site', 'index.html'), join(out, 'index.html'));
copyFileSync(join(root, 'site', 'style.css'), join(out, 'playground', 'style.css'));
