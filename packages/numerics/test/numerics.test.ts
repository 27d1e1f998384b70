/**
 * @nfdm/numerics: the README example runs against the build; every tableau satisfies the
 * Runge–Kutta order conditions up to its stated order (and its embedded pair up to its own):
 *   order 1: Σ bᵢ = 1;  order 2: Σ bᵢ cᵢ = 1/2;
 *   order 3: Σ bᵢ cᵢ² = 1/3, Σ bᵢ aᵢⱼ cⱼ = 1/6;
 *   order 4: Σ bᵢ cᵢ³ = 1/4, Σ bᵢ cᵢ aᵢⱼ cⱼ = 1/8, Σ bᵢ aᵢⱼ cⱼ² = 1/12, Σ bᵢ aᵢⱼ aⱼₖ cₖ = 1/24;
 * plus the row-sum condition cᵢ = Σⱼ aᵢⱼ.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type ButcherTableau, SeededRng, TABLEAUX } from '../src/index.js';

const dot = (u: readonly number[], v: readonly number[]) => u.reduce((s, x, i) => s + x * v[i], 0);
const A = (t: ButcherTableau, v: readonly number[]) => t.a.map((row) => dot(row, v));

/** The residuals of the order conditions up to `order` for weights `b`. */
function orderResiduals(t: ButcherTableau, b: readonly number[], order: number): number[] {
  const c = t.c;
  const c2 = c.map((x) => x * x);
  const out = [
    dot(
      b,
      c.map(() => 1),
    ) - 1,
  ];
  if (order >= 2) out.push(dot(b, c) - 1 / 2);
  if (order >= 3) out.push(dot(b, c2) - 1 / 3, dot(b, A(t, c)) - 1 / 6);
  if (order >= 4) {
    out.push(
      dot(
        b,
        c.map((x) => x ** 3),
      ) -
        1 / 4,
      dot(
        b,
        c.map((x, i) => x * A(t, c)[i]),
      ) -
        1 / 8,
      dot(b, A(t, c2)) - 1 / 12,
      dot(b, A(t, A(t, c))) - 1 / 24,
    );
  }
  return out;
}

describe('tableaux', () => {
  for (const [name, t] of Object.entries(TABLEAUX)) {
    it(`${name}: rows sum to the nodes and the order conditions hold up to order ${t.order}`, () => {
      for (const [i, row] of t.a.entries()) expect(row.reduce((s, x) => s + x, 0)).toBeCloseTo(t.c[i], 12);
      for (const r of orderResiduals(t, t.b, Math.min(t.order, 4))) expect(Math.abs(r)).toBeLessThan(1e-12);
      if (t.bError && t.embeddedOrder !== undefined) {
        const bHat = t.b.map((b, i) => b - (t.bError as readonly number[])[i]);
        for (const r of orderResiduals(t, bHat, Math.min(t.embeddedOrder, 4))) expect(Math.abs(r)).toBeLessThan(1e-12);
      }
    });
  }

  it('a wrong weight breaks the conditions (the check can fail)', () => {
    const rk4 = TABLEAUX.rk4;
    const broken = { ...rk4, b: [1 / 6, 1 / 3, 1 / 3, 1 / 5] };
    expect(Math.max(...orderResiduals(broken, broken.b, 4).map(Math.abs))).toBeGreaterThan(1e-3);
  });
});

describe('SeededRng', () => {
  it('restores exactly from its state; uniforms are 24-bit multiples of 2⁻²⁴ in [0, 1)', () => {
    const rng = new SeededRng(9);
    rng.normalArray(7);
    const state = rng.state();
    expect(SeededRng.fromState(state).normalArray(5)).toEqual(rng.normalArray(5));
    const u = new SeededRng(1).uniformArray(1000);
    for (const x of u) {
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
      expect(Number.isInteger(x * 2 ** 24)).toBe(true);
    }
  });
});

describe('README', () => {
  it('the example runs against the built package', () => {
    if (!existsSync(new URL('../dist/index.js', import.meta.url))) throw new Error('build @nfdm/numerics first (npx tsup)');
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toBeDefined();
    const file = new URL('../readme-example.tmp.mjs', import.meta.url);
    writeFileSync(file, code as string);
    try {
      const out = execFileSync('node', [file.pathname], { encoding: 'utf8' }).trim().split('\n');
      expect(out[0]).toBe('true');
      expect(Number(out[1])).toBeCloseTo(1, 12);
    } finally {
      rmSync(file, { force: true });
    }
  });
});
