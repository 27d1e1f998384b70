/** Shared helpers for the metric tests: seeded samples and brute-force references. */
import { Rng } from '@nfdm/core';
import type { PointSet } from '../../src/metrics/index.js';

/** n points with i.i.d. N(0, 1) coordinates (times `scale`, plus `shift`), float64. */
export function normalPoints(n: number, d: number, seed: number, scale = 1, shift: readonly number[] = []): PointSet {
  const rng = new Rng(seed);
  const data = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) data[i * d + k] = scale * rng.normal() + (shift[k] ?? 0);
  return { data, n, d };
}

/** The same points moved by `s`. */
export function shifted(x: PointSet, s: readonly number[]): PointSet {
  return { data: x.data.map((v, i) => v + s[i % x.d]), n: x.n, d: x.d };
}

/** N(m, S) samples for 2-D m, S (Cholesky by hand), float64. */
export function gaussian2d(n: number, m: readonly number[], S: readonly (readonly number[])[], rng: Rng): PointSet {
  const l00 = Math.sqrt(S[0][0]);
  const l10 = S[1][0] / l00;
  const l11 = Math.sqrt(S[1][1] - l10 * l10);
  const data = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const z0 = rng.normal();
    const z1 = rng.normal();
    data[2 * i] = m[0] + l00 * z0;
    data[2 * i + 1] = m[1] + l10 * z0 + l11 * z1;
  }
  return { data, n, d: 2 };
}

/** Every permutation of 0..n−1 (Heap's algorithm). */
export function permutations(n: number): number[][] {
  const out: number[][] = [];
  const a = Array.from({ length: n }, (_, i) => i);
  const c = new Array<number>(n).fill(0);
  out.push([...a]);
  let i = 0;
  while (i < n) {
    if (c[i] < i) {
      const k = i % 2 === 0 ? 0 : c[i];
      [a[k], a[i]] = [a[i], a[k]];
      out.push([...a]);
      c[i]++;
      i = 0;
    } else {
      c[i] = 0;
      i++;
    }
  }
  return out;
}

/** min over permutations of Σ_i cost[i][π(i)] by enumeration. */
export function bruteForceAssignment(cost: readonly (readonly number[])[]): number {
  let best = Number.POSITIVE_INFINITY;
  for (const p of permutations(cost.length)) {
    let s = 0;
    for (let i = 0; i < p.length; i++) s += cost[i][p[i]];
    if (s < best) best = s;
  }
  return best;
}

/** ‖x_i − y_j‖ for two point sets. */
export function distance(x: PointSet, i: number, y: PointSet, j: number): number {
  let s = 0;
  for (let k = 0; k < x.d; k++) s += (x.data[i * x.d + k] - y.data[j * y.d + k]) ** 2;
  return Math.sqrt(s);
}

/** The error thrown by `fn` (fails the test when nothing is thrown). */
export function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error, none was thrown');
}
