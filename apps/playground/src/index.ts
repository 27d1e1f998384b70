/**
 * @nfdm/playground — the browser page for exported nfdm models (served by `nfdm serve` at `/`),
 * seen from Node: where the built page and onnxruntime-web's WebAssembly files are, and
 * {@link writeStaticSite}, which writes the page as static files.
 *
 * ```ts
 * import { writeStaticSite } from '@nfdm/playground';
 * writeStaticSite('site');   // then serve site/ with any static server; drop .onnx files on the page
 * ```
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The files of onnxruntime-web the page loads (its wasm backend: the Emscripten glue and the module). */
export const ORT_FILES = ['ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'] as const;

/** The built page: index.html and playground/{app.js, style.css} (from `npm run build`). */
export function siteDir(): string {
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'site');
  if (!existsSync(join(dir, 'index.html')))
    throw new Error(`the playground is not built (no ${join(dir, 'index.html')}): run npm run build`);
  return dir;
}

/** onnxruntime-web's dist folder (where {@link ORT_FILES} are), resolved from this package. */
export function ortDir(): string {
  // (the package exports its wasm files, not its package.json)
  return dirname(createRequire(import.meta.url).resolve(`onnxruntime-web/${ORT_FILES[1]}`));
}

/** Every file of the site, as paths relative to {@link siteDir} ('/'-separated). */
export function siteFiles(): string[] {
  const root = siteDir();
  const walk = (rel: string): string[] =>
    readdirSync(join(root, rel)).flatMap((f) => {
      const path = rel ? `${rel}/${f}` : f;
      return statSync(join(root, path)).isDirectory() ? walk(path) : [path];
    });
  return walk('');
}

/**
 * Write the playground as static files into `out` (created): the page and onnxruntime-web's
 * files under `ort/`. Served by any static server it loads models from dropped `.onnx` files
 * (the server's model list needs `nfdm serve`); 4 wasm threads need COOP/COEP headers.
 */
export function writeStaticSite(out: string): string[] {
  const root = siteDir();
  const written: string[] = [];
  for (const rel of siteFiles()) {
    mkdirSync(dirname(join(out, rel)), { recursive: true });
    copyFileSync(join(root, rel), join(out, rel));
    written.push(rel);
  }
  mkdirSync(join(out, 'ort'), { recursive: true });
  for (const f of ORT_FILES) {
    copyFileSync(join(ortDir(), f), join(out, 'ort', f));
    written.push(`ort/${f}`);
  }
  return written;
}
