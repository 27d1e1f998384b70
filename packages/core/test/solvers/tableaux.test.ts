/**
 * Tableaux are data, so they are checked as data: the Runge–Kutta order conditions (rooted
 * trees up to order 5) hold in float64 for the propagated solution up to `order`, for the
 * embedded solution up to `embeddedOrder` (and fail at the next order, so the declared order
 * is the true one), and the dense-output weights satisfy the θ-scaled conditions.
 */
import { describe, expect, it } from 'vitest';
import { type ButcherTableau, TABLEAUX, validateTableau } from '../../src/solvers/index.js';

type Vec = number[];

function aTimes(t: ButcherTableau, v: Vec): Vec {
  return t.a.map((row) => row.reduce((s, aij, j) => s + aij * v[j], 0));
}
const dot = (a: Vec, b: Vec): number => a.reduce((s, ai, i) => s + ai * b[i], 0);
const mul = (a: Vec, b: Vec): Vec => a.map((ai, i) => ai * b[i]);
const pow = (a: Vec, k: number): Vec => a.map((ai) => ai ** k);

/** Elementary weights Φ(τ) and densities γ(τ) for all rooted trees of order ≤ 5. */
function trees(t: ButcherTableau): { order: number; phi: Vec; gamma: number }[] {
  const c = [...t.c];
  const one = c.map(() => 1);
  const Ac = aTimes(t, c);
  const Ac2 = aTimes(t, pow(c, 2));
  const AAc = aTimes(t, Ac);
  return [
    { order: 1, phi: one, gamma: 1 },
    { order: 2, phi: c, gamma: 2 },
    { order: 3, phi: pow(c, 2), gamma: 3 },
    { order: 3, phi: Ac, gamma: 6 },
    { order: 4, phi: pow(c, 3), gamma: 4 },
    { order: 4, phi: mul(c, Ac), gamma: 8 },
    { order: 4, phi: Ac2, gamma: 12 },
    { order: 4, phi: AAc, gamma: 24 },
    { order: 5, phi: pow(c, 4), gamma: 5 },
    { order: 5, phi: mul(pow(c, 2), Ac), gamma: 10 },
    { order: 5, phi: mul(c, Ac2), gamma: 15 },
    { order: 5, phi: mul(c, AAc), gamma: 30 },
    { order: 5, phi: mul(Ac, Ac), gamma: 20 },
    { order: 5, phi: aTimes(t, pow(c, 3)), gamma: 20 },
    { order: 5, phi: aTimes(t, mul(c, Ac)), gamma: 40 },
    { order: 5, phi: aTimes(t, Ac2), gamma: 60 },
    { order: 5, phi: aTimes(t, AAc), gamma: 120 },
  ];
}

/** Largest violation of the order conditions of exactly order `p` for weights `b`. */
function violation(t: ButcherTableau, b: Vec, p: number, theta = 1): number {
  return Math.max(
    ...trees(t)
      .filter((tr) => tr.order === p)
      .map((tr) => Math.abs(dot(b, tr.phi) - theta ** p / tr.gamma)),
  );
}

const all = Object.values(TABLEAUX);

describe('Butcher tableaux', () => {
  it.each(all.map((t) => [t.name, t] as const))('%s is structurally valid and consistent (Σ_j a_ij = c_i)', (_n, t) => {
    expect(() => validateTableau(t)).not.toThrow();
    t.a.forEach((row, i) => {
      expect(row.reduce((s, v) => s + v, 0)).toBeCloseTo(t.c[i], 13);
    });
  });

  it.each(all.map((t) => [t.name, t] as const))('%s meets the order conditions up to its order, and not beyond', (_n, t) => {
    for (let p = 1; p <= t.order; p++) expect(violation(t, [...t.b], p)).toBeLessThan(1e-13);
    if (t.order < 5) expect(violation(t, [...t.b], t.order + 1)).toBeGreaterThan(1e-4);
  });

  it.each(all.filter((t) => t.bError).map((t) => [t.name, t] as const))(
    '%s: the embedded solution b − bError has exactly its embedded order',
    (_n, t) => {
      const bHat = t.b.map((bi, i) => bi - (t.bError as Vec)[i]);
      const q = t.embeddedOrder as number;
      for (let p = 1; p <= q; p++) expect(violation(t, bHat, p)).toBeLessThan(1e-13);
      expect(violation(t, bHat, q + 1)).toBeGreaterThan(1e-6);
    },
  );

  it.each(all.filter((t) => t.dense).map((t) => [t.name, t] as const))(
    '%s: dense weights b(θ) reproduce b at θ = 1 and are fourth-order accurate for θ ∈ (0, 1)',
    (_n, t) => {
      const dense = t.dense as number[][];
      const weights = (theta: number) => dense.map((p) => p.reduce((s, coef, j) => s + coef * theta ** (j + 1), 0));
      weights(1).forEach((w, i) => {
        expect(w).toBeCloseTo(t.b[i], 12);
      });
      for (const theta of [0.1, 0.37, 0.5, 0.83]) {
        // y(t_n + θh) = y_n + h Σ b_i(θ) k_i must match the Taylor series θ^p h^p / γ(τ) up to p = 4.
        const w = weights(theta);
        for (let p = 1; p <= 4; p++) expect(violation(t, w, p, theta)).toBeLessThan(1e-12);
      }
    },
  );

  it('FSAL tableaux reuse their last stage: c_s = 1 and a_s = b', () => {
    for (const t of all.filter((x) => x.fsal)) {
      expect(t.c[t.c.length - 1]).toBe(1);
      expect(t.a[t.a.length - 1]).toEqual(t.b.slice(0, -1));
    }
    expect(all.filter((x) => x.fsal).map((x) => x.name)).toEqual(['bosh3', 'dopri5', 'tsit5']);
  });

  it('rejects malformed tableaux', () => {
    const bad = (patch: Partial<ButcherTableau>) => ({ ...TABLEAUX.rk4, ...patch }) as ButcherTableau;
    expect(() => validateTableau(bad({ c: [0.1, 0.5, 0.5, 1] }))).toThrow(/c\[0\] must be 0/);
    expect(() => validateTableau(bad({ a: [[], [0.5], [0.5], [0, 0, 1]] }))).toThrow(/row 2/);
    expect(() => validateTableau(bad({ b: [1] }))).toThrow(/b has 1 entries/);
    expect(() => validateTableau(bad({ fsal: true }))).toThrow(/FSAL/);
    expect(() => validateTableau(bad({ bError: [1, 0, 0, -1] }))).toThrow(/embeddedOrder/);
  });
});
