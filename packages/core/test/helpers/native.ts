/** Shared by the native-kernel parity tests: require the kernels (never skip), and one error measure. */
import { expect } from 'vitest';
import { setNativeKernels } from '../../src/index.js';

/**
 * Turn the native kernels on and throw, naming how to build them, unless they (and `feature`, the
 * image kernels' status field) are usable: the parity tests must not be skipped.
 */
export function requireNative(feature?: 'conv2d' | 'groupNorm'): void {
  const status = setNativeKernels(true);
  if (!status.enabled || (feature !== undefined && !status[feature])) {
    throw new Error(
      `the native ${feature ?? 'MLP'} kernels are not usable in this test environment (${status.reason ?? `${feature} off`}). Build them with ` +
        '`npm run build -w @nfdm/native` (needs g++ and the Node headers); the parity tests must not be skipped.',
    );
  }
}

/** max |a − b| / max(1e-3, max |b|): relative to the size of the reference tensor. */
export function relErr(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let diff = 0;
  let scale = 1e-3;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return Number.isFinite(diff) ? diff / scale : Number.POSITIVE_INFINITY;
}
