/** Shared oracles and utilities for the solver tests (float64 JS maths, no tfjs in the maths). */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';

import type { Mat } from '../../src/testing/linalg.js';

export { expm, identity, type Mat, matMul, matVec, scale } from '../../src/testing/linalg.js';

/** Least-squares slope of log(err) against log(h). */
export function logLogSlope(hs: number[], errs: number[]): number {
  const x = hs.map(Math.log);
  const y = errs.map(Math.log);
  const mx = x.reduce((a, b) => a + b, 0) / x.length;
  const my = y.reduce((a, b) => a + b, 0) / y.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < x.length; i++) {
    num += (x[i] - mx) * (y[i] - my);
    den += (x[i] - mx) ** 2;
  }
  return num / den;
}

/** The linear field y ↦ y Aᵀ (row-wise A y) and the constant it holds (dispose it when done). */
export function linearField(a: Mat): { field: (t: number, y: tf.Tensor) => tf.Tensor; dispose: () => void } {
  const at = tf.tensor2d(a[0].map((_, j) => a.map((row) => row[j])));
  return { field: (_t, y) => tf.matMul(y, at), dispose: () => at.dispose() };
}

/** Rows of a [B, D] tensor as JS arrays. */
export function rows(t: tf.Tensor): number[][] {
  return t.arraySync() as number[][];
}

/** max |a - b| over nested arrays of equal shape. */
export function maxAbsDiff(a: unknown, b: unknown): number {
  if (Array.isArray(a) && Array.isArray(b)) {
    expect(a.length).toBe(b.length);
    return a.reduce((m: number, v, i) => Math.max(m, maxAbsDiff(v, b[i])), 0);
  }
  return Math.abs((a as number) - (b as number));
}

/** Run `fn`, dispose what it returns via `cleanup`, and assert no tensor leaked. */
export function expectNoLeak<T>(fn: () => T, cleanup: (value: T) => void): T {
  const before = tf.memory().numTensors;
  const value = fn();
  cleanup(value);
  expect(tf.memory().numTensors).toBe(before);
  return value;
}

/** Wrap a field so that its calls are counted. */
export function counted<A extends unknown[], R>(fn: (...args: A) => R): { fn: (...args: A) => R; calls: () => number } {
  let n = 0;
  return {
    fn: (...args: A) => {
      n++;
      return fn(...args);
    },
    calls: () => n,
  };
}

/** Mean and (unbiased) variance of numbers. */
export function meanVar(xs: ArrayLike<number>): { mean: number; variance: number } {
  let m = 0;
  for (let i = 0; i < xs.length; i++) m += xs[i];
  m /= xs.length;
  let v = 0;
  for (let i = 0; i < xs.length; i++) v += (xs[i] - m) ** 2;
  return { mean: m, variance: v / (xs.length - 1) };
}
