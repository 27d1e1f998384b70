/**
 * Core's native parity tests (native kernels against the tfjs path: MLP jets of orders 0–2,
 * convolutions, GroupNorm, threads) under EACH prebuilt variant of @nfdm/native that this CPU
 * supports, forced with NFDM_NATIVE_VARIANT — so the baseline x86-64 build, the AVX2 build and
 * the AVX-512 build are each held to the same tolerances as the build from source.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const root = join(import.meta.dirname, '..', '..');
const nativeRoot = dirname(require.resolve('@nfdm/native/package.json'));
const { PLATFORMS, platformId } = require(join(nativeRoot, 'lib', 'platforms.cjs')) as {
  PLATFORMS: Record<string, { variants: { name: string; level: string; file: string }[] }>;
  platformId(): string;
};
const FILES = ['test/native.test.ts', 'test/native-conv.test.ts', 'test/native-group-norm.test.ts', 'test/native-threads.test.ts'];

/** The levels this CPU supports, as the platform's baseline build reports them. */
function cpuLevels(): string[] {
  const out = execFileSync(
    process.execPath,
    [
      '-e',
      "const n = require('@nfdm/native'); const a = n.loadNative(); process.stdout.write(JSON.stringify(a ? a.info().cpu : n.nativeStatus()))",
    ],
    {
      cwd: root,
      env: { ...process.env, NFDM_NATIVE_VARIANT: 'baseline' },
      encoding: 'utf8',
    },
  );
  const levels = JSON.parse(out);
  if (!Array.isArray(levels)) throw new Error(`the baseline variant did not load: ${out}`);
  return levels;
}

describe(`core's native parity tests under each prebuilt variant (${platformId()})`, () => {
  const platform = PLATFORMS[platformId()];
  it('this platform has prebuilt variants', () => {
    expect(platform?.variants.length).toBeGreaterThan(0);
  });
  const levels = platform ? cpuLevels() : [];
  for (const variant of platform?.variants ?? []) {
    if (!levels.includes(variant.level)) continue;
    it(`NFDM_NATIVE_VARIANT=${variant.name} (${variant.level}) passes ${FILES.join(', ')}`, () => {
      const out = execFileSync(process.execPath, [join(root, '..', '..', 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...FILES], {
        cwd: root,
        env: { ...process.env, NFDM_NATIVE_VARIANT: variant.name, FORCE_COLOR: '0', NO_COLOR: '1' },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      // "Tests  N passed (N)": every test ran and passed (a failure also makes vitest exit non-zero).
      expect(out).toMatch(/Tests\s+(\d+) passed \(\1\)/);
    });
  }
});
