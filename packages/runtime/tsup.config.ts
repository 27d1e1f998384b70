import { defineConfig } from 'tsup';

export default defineConfig({
  // onnxruntime-node, Node built-ins and plain JS only: no tfjs anywhere in the module graph.
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
});
