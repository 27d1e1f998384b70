/**
 * The native kernels' thread count: setNativeThreads(n) sets the pool (reported by
 * nativeKernelsStatus and describeBackend's native line), rejects non-positive counts, and is 1
 * when the addon is not loaded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeNativeKernels, initBackend, nativeKernelsStatus, setNativeThreads } from '../src/index.js';

beforeAll(async () => {
  await initBackend('wasm');
});

afterAll(() => {
  if (nativeKernelsStatus().available) setNativeThreads(1);
});

describe('setNativeThreads', () => {
  it('sets the pool and reports it', () => {
    const status = nativeKernelsStatus();
    if (!status.available) {
      expect(setNativeThreads(2)).toBe(1);
      return;
    }
    expect(setNativeThreads(2)).toBe(2);
    expect(nativeKernelsStatus().addon?.threads).toBe(2);
    expect(describeNativeKernels()).toMatch(/2 thread/);
    expect(setNativeThreads(1)).toBe(1);
    expect(nativeKernelsStatus().addon?.threads).toBe(1);
  });

  it('rejects counts that are not positive integers', () => {
    for (const n of [0, -1, 1.5, Number.NaN]) expect(() => setNativeThreads(n)).toThrow(/positive integer/);
  });
});
