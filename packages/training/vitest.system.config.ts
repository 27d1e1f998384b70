import { defineConfig } from 'vitest/config';

/**
 * The system suite (`npm run test:system`): tests that need Debian's dataset-fashion-mnist.
 * Each file fails with one line naming the package when it is missing (test/system/prerequisites.ts).
 */
export default defineConfig({
  test: {
    include: ['test/system/**/*.test.ts'],
    setupFiles: ['test/system/prerequisites.ts'],
    testTimeout: 300_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
