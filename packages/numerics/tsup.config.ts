import { defineConfig } from 'tsup';

export default defineConfig({
  // Plain JS only (no tfjs, no onnxruntime); `random` and `tableaux` are subpaths of their own.
  entry: { index: 'src/index.ts', random: 'src/seeded-rng.ts', tableaux: 'src/tableaux.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
});
