import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/seeded-rng.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
  // import.meta.url in the CJS build (nn/native.ts resolves the optional @nfdm/native with it).
  shims: true,
});
