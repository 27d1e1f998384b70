import { defineConfig } from 'tsup';

export default defineConfig({
  // `random` and `tableaux` are tfjs-free subpaths (@nfdm/core/random, @nfdm/core/tableaux) for
  // the ONNX runtime; named entries so they land at dist/<name>.js.
  entry: { index: 'src/index.ts', 'seeded-rng': 'src/seeded-rng.ts', tableaux: 'src/solvers/tableaux.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
  // import.meta.url in the CJS build (nn/native.ts resolves the optional @nfdm/native with it).
  shims: true,
});
