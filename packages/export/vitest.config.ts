import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // test/system needs Debian packages: `npm run test:system` (vitest.system.config.ts).
    exclude: [...configDefaults.exclude, 'test/system/**'],
    testTimeout: 180_000, // a hang guard, not a speed assertion: loaded 2-core machines run the U-Net parity tests at 1 min
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
