import { defineConfig } from 'tsup';

export default defineConfig({
  // Two entry points: the exporter (needs tfjs and @nfdm/models) and the runtime
  // (onnxruntime-node and plain JS only), so a server can load models without tfjs.
  entry: { index: 'src/index.ts', runtime: 'src/runtime/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
});
