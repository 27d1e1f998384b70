/**
 * 1-D Wasserstein by sorting / quantile functions and the sliced Wasserstein distance: exact
 * shifts, unequal sizes against the equal-size formula on replicated samples, explicit
 * directions, the Monte Carlo value of a d-dimensional shift, and seeded reproducibility.
 */
import { Rng } from '@nfdm/core';
import { describe, expect, it } from 'vitest';
import { randomDirections, slicedWasserstein, wasserstein1d } from '../../src/metrics/index.js';
import { normalPoints, shifted, thrown } from './helpers.js';

describe('wasserstein1d', () => {
  const rng = new Rng(1);
  const a = Array.from({ length: 37 }, () => rng.normal());

  it('a shift by c gives exactly |c| for p = 1, 2, 3', () => {
    for (const p of [1, 2, 3]) expect(wasserstein1d(a, a.map((t) => t - 0.75).reverse(), p)).toBeCloseTo(0.75, 12);
  });

  it('unequal sizes: equals the sorted formula on samples replicated to a common size', () => {
    const b = Array.from({ length: 23 }, () => 2 * rng.normal() + 0.3);
    // Each point of a repeated 23 times and of b 37 times: the same two measures, equal sizes.
    const aa = a.flatMap((t) => new Array<number>(23).fill(t)).sort((s, t) => s - t);
    const bb = b.flatMap((t) => new Array<number>(37).fill(t)).sort((s, t) => s - t);
    for (const p of [1, 2, 1.5]) {
      const ref = (aa.reduce((s, t, i) => s + Math.abs(t - bb[i]) ** p, 0) / aa.length) ** (1 / p);
      expect(wasserstein1d(a, b, p)).toBeCloseTo(ref, 12);
      expect(wasserstein1d(b, a, p)).toBeCloseTo(ref, 12);
    }
    expect(wasserstein1d([0], [1, 3], 1)).toBeCloseTo(2, 14);
  });

  it('does not modify its inputs and rejects bad input', () => {
    const copy = [...a];
    wasserstein1d(a, [0]);
    expect(a).toEqual(copy);
    expect(thrown(() => wasserstein1d(a, [], 1))).toBeInstanceOf(RangeError);
    expect(thrown(() => wasserstein1d(a, a, 0.5))).toBeInstanceOf(RangeError);
    expect(thrown(() => wasserstein1d([Number.NaN], a))).toBeInstanceOf(RangeError);
  });
});

describe('slicedWasserstein', () => {
  it('in 1-D it is the 1-D distance: a shift by c gives exactly |c| (p = 1, 2)', () => {
    const x = normalPoints(200, 1, 2);
    for (const p of [1, 2]) {
      expect(slicedWasserstein(x, shifted(x, [-1.25]), { p, projections: 7 })).toBeCloseTo(1.25, 12);
    }
    const y = normalPoints(150, 1, 3, 2);
    expect(slicedWasserstein(x, y, { p: 1, projections: 3 })).toBeCloseTo(wasserstein1d(x.data, y.data, 1), 12);
  });

  it('with explicit directions a d-dim shift s gives exactly (mean_l |θ_lᵀs|^p)^(1/p)', () => {
    const x = normalPoints(100, 3, 4);
    const s = [0.5, -1, 2];
    const dirs = [
      [1, 0, 0],
      [0, 3, 4], // normalised internally
      [1, 1, 1],
    ];
    const unit = dirs.map((v) => v.map((t) => t / Math.hypot(...v)));
    for (const p of [1, 2]) {
      const proj = unit.map((v) => Math.abs(v[0] * s[0] + v[1] * s[1] + v[2] * s[2]) ** p);
      const ref = (proj.reduce((t, q) => t + q, 0) / proj.length) ** (1 / p);
      expect(slicedWasserstein(x, shifted(x, s), { p, directions: dirs })).toBeCloseTo(ref, 12);
    }
  });

  it('random directions: a d-dim shift gives SW₂ ≈ ‖s‖/√d within Monte Carlo error (d = 3, 2000 directions)', () => {
    const d = 3;
    const x = normalPoints(20, d, 5);
    const s = [1, 2, -2]; // ‖s‖ = 3
    const L = 2000;
    const sw2 = slicedWasserstein(x, shifted(x, s), { p: 2, projections: L, seed: 11 });
    // SW₂² = ‖s‖² · mean θ₁²-type average; θ₁² ~ Beta(1/2, (d−1)/2): mean 1/d, var 2(d−1)/(d²(d+2)).
    const sd = 9 * Math.sqrt((2 * (d - 1)) / (d * d * (d + 2)) / L);
    expect(Math.abs(sw2 * sw2 - 9 / d)).toBeLessThan(4 * sd);
    // And p = 1: E|θ₁| = Γ(d/2)/(√π Γ((d+1)/2)) = 1/2 for d = 3.
    const sw1 = slicedWasserstein(x, shifted(x, s), { p: 1, projections: L, seed: 11 });
    expect(Math.abs(sw1 - 1.5)).toBeLessThan(4 * 3 * Math.sqrt(1 / 12 / L));
  });

  it('is seeded: the same seed gives the same number, another seed a different one', () => {
    const x = normalPoints(60, 2, 6);
    const y = normalPoints(45, 2, 7, 1.5);
    const a = slicedWasserstein(x, y, { seed: 3 });
    expect(slicedWasserstein(x, y, { seed: 3 })).toBe(a);
    expect(slicedWasserstein(x, y, { seed: 4 })).not.toBe(a);
    expect(slicedWasserstein(x, y)).toBe(slicedWasserstein(x, y, { seed: 0, projections: 500 }));
    const dirs = randomDirections(10, 4, 9);
    for (let l = 0; l < 10; l++) expect(Math.hypot(...dirs.subarray(4 * l, 4 * l + 4))).toBeCloseTo(1, 14);
    expect(randomDirections(10, 4, 9)).toEqual(dirs);
  });

  it('is 0 for a set against itself and rejects bad input', () => {
    const x = normalPoints(30, 2, 8);
    expect(slicedWasserstein(x, x)).toBe(0);
    expect(thrown(() => slicedWasserstein(x, x, { projections: 0 }))).toBeInstanceOf(RangeError);
    expect(thrown(() => slicedWasserstein(x, x, { p: 0 }))).toBeInstanceOf(RangeError);
    expect(thrown(() => slicedWasserstein(x, x, { directions: [[0, 0]] })).message).toMatch(/non-zero/);
    expect(thrown(() => slicedWasserstein(x, x, { directions: [[1, 0, 0]] }))).toBeInstanceOf(TypeError);
    expect(thrown(() => slicedWasserstein(x, normalPoints(3, 3, 1)))).toBeInstanceOf(TypeError);
  });
});
