import { defineConfig } from 'tsup';

export default defineConfig({
  // The Node side only (where the built site and onnxruntime-web's wasm files are); the page
  // itself is bundled for browsers by scripts/build-site.mjs into dist/site.
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  shims: true,
  target: 'node20',
  platform: 'node',
});
