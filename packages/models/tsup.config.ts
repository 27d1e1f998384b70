import { defineConfig } from 'tsup';

export default defineConfig({
  // `testing`: the published contracts (@nfdm/models/testing), an entry of its own so the main
  // bundle does not carry them.
  entry: { index: 'src/index.ts', testing: 'src/testing/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
});
