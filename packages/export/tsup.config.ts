import { defineConfig } from 'tsup';

export default defineConfig({
  // Two entry points: the exporter (needs tfjs and @nfdm/models) and `runtime`, a deprecated
  // alias of @nfdm/runtime (which a server installs on its own, without tfjs). @nfdm/runtime
  // stays external: the alias re-exports the installed package, it does not bundle a copy.
  entry: { index: 'src/index.ts', runtime: 'src/runtime.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
});
