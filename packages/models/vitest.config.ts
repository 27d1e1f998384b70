import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 180_000, // a hang guard, not a speed assertion: loaded 2-core machines run the U-Net parity tests at 1 min
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
