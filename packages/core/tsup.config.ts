import { defineConfig } from 'tsup';

/**
 * The `testing` entry imports the library as '../index.js'; bundle that as the package itself
 * ('@nfdm/core', a self-reference resolved through `exports`) so the contract and the caller
 * share one copy of every class (the CJS build has no shared chunks).
 */
const testingUsesPublicEntry = {
  name: 'testing-uses-public-entry',
  setup(build: { onResolve(options: { filter: RegExp }, callback: (args: { path: string; importer: string }) => unknown): void }) {
    build.onResolve({ filter: /^\.\.\/index\.js$/ }, (args) =>
      /[\\/]src[\\/]testing[\\/]/.test(args.importer) ? { path: '@nfdm/core', external: true } : undefined,
    );
  },
};

export default defineConfig({
  // `random` and `tableaux` are tfjs-free subpaths (@nfdm/core/random, @nfdm/core/tableaux, re-exported
  // from @nfdm/numerics); `testing`: the published solver contract (@nfdm/core/testing). Named
  // entries land at dist/<name>.js.
  entry: {
    index: 'src/index.ts',
    'seeded-rng': 'src/seeded-rng.ts',
    tableaux: 'src/solvers/tableaux.ts',
    testing: 'src/testing/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
  // import.meta.url in the CJS build (nn/native.ts resolves the optional @nfdm/native with it).
  shims: true,
  esbuildPlugins: [testingUsesPublicEntry],
});
