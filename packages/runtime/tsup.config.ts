import { defineConfig } from 'tsup';

export default defineConfig({
  // index: onnxruntime-node, Node built-ins and plain JS only (no tfjs anywhere in the module
  // graph); web: onnxruntime-web and plain JS only (no Node built-ins; test/web-entry.test.ts).
  entry: ['src/index.ts', 'src/web.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  platform: 'node',
});
