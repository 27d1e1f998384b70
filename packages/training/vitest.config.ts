import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // test/system needs Debian packages: `npm run test:system` (vitest.system.config.ts).
    exclude: [...configDefaults.exclude, 'test/system/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
