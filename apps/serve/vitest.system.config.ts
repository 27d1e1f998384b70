import { defineConfig } from 'vitest/config';

/**
 * The system suite (`npm run test:system`): the playground in a real headless browser — Debian's
 * `chromium` (/usr/bin/chromium) driven by puppeteer-core, which never downloads a browser
 * (test/system/browser.test.ts). The models: the serve fixtures plus an NFDM-OT model and an
 * obstacle bridge trained for a few updates by the `nfdm` command (test/system/global-setup.ts).
 */
export default defineConfig({
  test: {
    include: ['test/system/**/*.test.ts'],
    globalSetup: ['test/system/global-setup.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
  },
});
