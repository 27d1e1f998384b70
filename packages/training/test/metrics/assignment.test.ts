/**
 * The LAPJV assignment solver: equal to brute-force enumeration on small matrices (random,
 * negative, tied), equal to an independent textbook Hungarian method on medium ones, with an
 * optimality certificate (dual potentials) that holds at every size; warm starts never
 * change the optimum; bad input raises clear errors.
 */
import { Rng } from '@nfdm/core';
import { describe, expect, it } from 'vitest';
import { assignmentGap, lapjv, linearSumAssignment } from '../../src/metrics/index.js';
import { bruteForceAssignment, permutations, thrown } from './helpers.js';

function randomMatrix(n: number, rng: Rng, kind: 'uniform' | 'signed' | 'integer' | 'euclidean'): number[][] {
  if (kind === 'euclidean') {
    const p = Array.from({ length: 2 * n }, () => [rng.normal(), rng.normal()]);
    return Array.from({ length: n }, (_, i) =>
      Array.from({ length: n }, (_, j) => (p[i][0] - p[n + j][0]) ** 2 + (p[i][1] - p[n + j][1]) ** 2),
    );
  }
  return Array.from({ length: n }, () =>
    Array.from({ length: n }, () => {
      if (kind === 'uniform') return rng.uniform();
      if (kind === 'signed') return 100 * (rng.uniform() - 0.5);
      return rng.int(4); // many ties
    }),
  );
}

/**
 * Reference: the O(n³) Hungarian method with potentials (Kuhn–Munkres as in e-maxx), written
 * independently of LAPJV. Returns the optimal cost.
 */
function hungarianCost(a: readonly (readonly number[])[]): number {
  const n = a.length;
  const u = new Array<number>(n + 1).fill(0);
  const v = new Array<number>(n + 1).fill(0);
  const p = new Array<number>(n + 1).fill(0);
  const way = new Array<number>(n + 1).fill(0);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    const minv = new Array<number>(n + 1).fill(Number.POSITIVE_INFINITY);
    const used = new Array<boolean>(n + 1).fill(false);
    do {
      used[j0] = true;
      const i0 = p[j0];
      let delta = Number.POSITIVE_INFINITY;
      let j1 = 0;
      for (let j = 1; j <= n; j++) {
        if (used[j]) continue;
        const cur = a[i0 - 1][j - 1] - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (let j = 0; j <= n; j++) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else minv[j] -= delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0);
  }
  let cost = 0;
  for (let j = 1; j <= n; j++) cost += a[p[j] - 1][j - 1];
  return cost;
}

function isPermutation(x: Int32Array): boolean {
  const seen = new Set(x);
  return seen.size === x.length && [...seen].every((j) => j >= 0 && j < x.length);
}

describe('linearSumAssignment (LAPJV)', () => {
  it('the brute-force helper enumerates n! distinct permutations', () => {
    const all = permutations(5);
    expect(all.length).toBe(120);
    expect(new Set(all.map((p) => p.join(','))).size).toBe(120);
  });

  it('equals brute-force enumeration on 160 small random matrices (n = 1…7; uniform, signed, tied, Euclidean)', () => {
    const rng = new Rng(1);
    for (const kind of ['uniform', 'signed', 'integer', 'euclidean'] as const) {
      for (let n = 1; n <= 7; n++) {
        for (let rep = 0; rep < (n <= 5 ? 6 : 3); rep++) {
          const c = randomMatrix(n, rng, kind);
          const res = linearSumAssignment(c);
          expect(isPermutation(res.rowToCol)).toBe(true);
          for (let i = 0; i < n; i++) expect(res.colToRow[res.rowToCol[i]]).toBe(i);
          const own = res.rowToCol.reduce((s, j, i) => s + c[i][j], 0);
          expect(res.cost).toBeCloseTo(own, 12);
          expect(res.cost).toBeCloseTo(bruteForceAssignment(c), 9);
          expect(assignmentGap(c, res)).toBeLessThan(1e-9);
        }
      }
    }
  });

  it('equals an independent Hungarian method and carries a valid optimality certificate at n = 80 and 400', () => {
    const rng = new Rng(2);
    for (const kind of ['uniform', 'signed', 'integer', 'euclidean'] as const) {
      const c = randomMatrix(80, rng, kind);
      const res = linearSumAssignment(c);
      expect(res.cost).toBeCloseTo(hungarianCost(c), 8);
      expect(assignmentGap(c, res)).toBeLessThan(1e-9);
    }
    for (const kind of ['uniform', 'euclidean'] as const) {
      const flat = Float64Array.from(randomMatrix(400, rng, kind).flat());
      const res = linearSumAssignment(flat);
      expect(isPermutation(res.rowToCol)).toBe(true);
      expect(assignmentGap(flat, res)).toBeLessThan(1e-9);
    }
  });

  it('the certificate check rejects a non-optimal assignment', () => {
    const c = randomMatrix(30, new Rng(3), 'uniform');
    const res = linearSumAssignment(c);
    const worse = { ...res, rowToCol: Int32Array.from(res.rowToCol).reverse() };
    expect(assignmentGap(c, worse)).toBeGreaterThan(1e-3);
    expect(assignmentGap(c, { ...res, rowToCol: new Int32Array(30) })).toBe(Number.POSITIVE_INFINITY);
  });

  it('a warm start (any row offsets) changes nothing but the running time', () => {
    const rng = new Rng(4);
    for (const n of [6, 150]) {
      const c = Float64Array.from(randomMatrix(n, rng, 'euclidean').flat());
      const plain = lapjv(c, n);
      const offsets = Float64Array.from({ length: n }, () => 50 * (rng.uniform() - 0.5));
      const warm = lapjv(c, n, { rowOffsets: offsets });
      expect(warm.cost).toBeCloseTo(plain.cost, 10);
      expect(assignmentGap(c, warm)).toBeLessThan(1e-9);
    }
  });

  it('terminates on fully degenerate matrices (all equal, rank-one sums)', () => {
    const flat = new Float64Array(200 * 200).fill(3);
    const res = linearSumAssignment(flat);
    expect(isPermutation(res.rowToCol)).toBe(true);
    expect(res.cost).toBe(600);
    // C_ij = a_i + b_j: every permutation costs Σa + Σb.
    const a = Array.from({ length: 50 }, (_, i) => i * 0.1);
    const sum = linearSumAssignment(a.map((ai) => a.map((bj) => ai + 2 * bj)));
    expect(sum.cost).toBeCloseTo(3 * a.reduce((s, t) => s + t, 0), 9);
  });

  it('rejects non-square, empty and non-finite matrices with clear errors', () => {
    expect(thrown(() => linearSumAssignment([[1, 2], [3]])).message).toMatch(/square/);
    expect(thrown(() => linearSumAssignment(new Float64Array(5)))).toBeInstanceOf(TypeError);
    expect(thrown(() => linearSumAssignment([]))).toBeInstanceOf(RangeError);
    const e = thrown(() =>
      linearSumAssignment([
        [1, Number.NaN],
        [0, 1],
      ]),
    );
    expect(e).toBeInstanceOf(RangeError);
    expect(e.message).toMatch(/non-finite.*row 0, column 1/);
  });
});
