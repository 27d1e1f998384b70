import { defineConfig } from 'vitest/config';

/**
 * The system suite (`npm run test:system`): the native parity tests re-run under each prebuilt
 * variant of @nfdm/native that this CPU supports (test/system/native-variants.test.ts).
 */
export default defineConfig({
  test: {
    include: ['test/system/**/*.test.ts'],
    testTimeout: 900_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
