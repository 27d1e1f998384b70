/**
 * Log-density along an ODE, log p(x) = log p_prior(y(t1)) + ℓ(t1) − ℓ(t0) with dℓ/dt = div v:
 * - a linear flow y' = Ay pushes N(0, I) at t1 = 1 back to N(0, Σ) at t0 = 0 with
 *   Σ = e^{−A} e^{−Aᵀ}; the solve must give the closed-form Gaussian log-density (Cholesky in
 *   float64, independent of the change-of-variables formula) to 1e-4;
 * - a nonlinear 1-D flow y' = y² has y(t) = x/(1 − tx) and ∫ div = −2 log(1 − tx);
 * - Hutchinson with a fixed probe on a linear field integrates exactly εᵀAε.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import { cholesky, type LogDensityResult, logDensityODE, logDensityODEAsync, mvnLogProb, normalLogProb } from '../../src/math/index.js';
import { Rng } from '../../src/random.js';
import { expm, linearField, matMul, meanVar } from './helpers.js';

const A = [
  [0.3, -1.1],
  [0.6, -0.5],
];
const trA = 0.3 - 0.5;
const LOG_2PI = Math.log(2 * Math.PI);

/** log N(x; 0, Σ) in float64 with Σ = M⁻¹M⁻ᵀ, i.e. log N(Mx; 0, I) + log|det M|, computed via Σ's Cholesky. */
function closedForm(xs: number[][], a: number[][], t: number): number[] {
  const mInv = expm(a.map((r) => r.map((v) => -v * t)));
  const sigma = matMul(
    mInv,
    mInv[0].map((_, j) => mInv.map((row) => row[j])),
  );
  const l = cholesky(sigma);
  const d = a.length;
  return xs.map((x) => {
    // Solve L u = x by forward substitution.
    const u: number[] = [];
    for (let i = 0; i < d; i++) u.push((x[i] - u.reduce((s, uj, j) => s + l[i][j] * uj, 0)) / l[i][i]);
    const logDet = l.reduce((s, row, i) => s + Math.log(row[i]), 0);
    return -0.5 * u.reduce((s, v) => s + v * v, 0) - logDet - (d / 2) * LOG_2PI;
  });
}

let lin: ReturnType<typeof linearField>;
let x: tf.Tensor;
let xs: number[][];
beforeAll(async () => {
  await initBackend('wasm');
  lin = linearField(A);
  x = tf.mul(new Rng(1).normalTensor([64, 2]), 1.5);
  xs = x.arraySync() as number[][];
});
afterAll(() => {
  lin.dispose();
  x.dispose();
});

const disposeResult = (r: LogDensityResult) => tf.dispose([r.logp, r.z, r.deltaLogp, r.priorLogp]);

describe('logDensityODE', () => {
  it('linear flow, exact divergence, dopri5: closed-form Gaussian log-density to 1e-4; no leaks', () => {
    const before = tf.memory().numTensors;
    const r = logDensityODE({ field: lin.field, x, rtol: 1e-6, atol: 1e-6 });
    expect(r.logp.shape).toEqual([64]);
    expect(r.z.shape).toEqual([64, 2]);
    const want = closedForm(xs, A, 1);
    r.logp.dataSync().forEach((v, i) => {
      expect(Math.abs(v - want[i])).toBeLessThan(1e-4);
    });
    // ℓ(t1) − ℓ(t0) = ∫ tr A dt = tr A.
    for (const d of r.deltaLogp.dataSync()) expect(d).toBeCloseTo(trA, 5);
    expect(r.stats.acceptedSteps).toBeGreaterThan(1);
    disposeResult(r);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('3-D linear flow with a fixed-step solver (rk4) and a non-standard prior', () => {
    const A3 = [
      [-0.2, 0.8, 0.1],
      [-0.5, 0.4, 0.3],
      [0.2, -0.3, -0.6],
    ];
    const l3 = linearField(A3);
    const x3 = new Rng(2).normalTensor([16, 3]);
    // Prior N(0, 4I) at t1: the data density is N(0, 4Σ).
    const prior = (z: tf.Tensor) => normalLogProb(z, 0, 2);
    const r = logDensityODE({ field: l3.field, x: x3, solver: 'rk4', steps: 100, prior });
    // z = Mx with z ~ N(0, 4I): log p(x) = log N(Mx/2; 0, I) + log|det M| − 3 log 2.
    const x3s = (x3.arraySync() as number[][]).map((row) => row.map((v) => v / 2));
    const want = closedForm(x3s, A3, 1).map((v) => v - 3 * Math.log(2));
    r.logp.dataSync().forEach((v, i) => {
      expect(Math.abs(v - want[i])).toBeLessThan(1e-4);
    });
    disposeResult(r);
    x3.dispose();
    l3.dispose();
  });

  it("nonlinear 1-D flow y' = y²: ℓ = −2 log(1 − t x), z = x/(1 − t x)", () => {
    const x1 = tf.tensor2d([[-1.5], [-0.3], [0], [0.4], [1.2]]);
    const r = logDensityODE({ field: (_t, y) => tf.square(y), x: x1, t1: 0.5, rtol: 1e-6, atol: 1e-6 });
    const xv = x1.dataSync();
    const got = r.logp.dataSync();
    const dl = r.deltaLogp.dataSync();
    xv.forEach((v, i) => {
      const z = v / (1 - 0.5 * v);
      const delta = -2 * Math.log(1 - 0.5 * v);
      expect(dl[i]).toBeCloseTo(delta, 4);
      expect(Math.abs(got[i] - (-0.5 * z * z - 0.5 * LOG_2PI + delta))).toBeLessThan(1e-4);
    });
    disposeResult(r);
    x1.dispose();
  });

  it('integrates backwards too (data at t0 = 1, prior at t1 = 0)', () => {
    const r = logDensityODE({ field: lin.field, x, t0: 1, t1: 0, rtol: 1e-6, atol: 1e-6 });
    // y(0) = e^{−A} x, so x ~ N(0, e^{A} e^{Aᵀ}) = the closed form with −A.
    const want = closedForm(
      xs,
      A.map((row) => row.map((v) => -v)),
      1,
    );
    r.logp.dataSync().forEach((v, i) => {
      expect(Math.abs(v - want[i])).toBeLessThan(1e-4);
    });
    for (const d of r.deltaLogp.dataSync()) expect(d).toBeCloseTo(-trA, 5);
    disposeResult(r);
  });

  it('Hutchinson with a fixed probe integrates εᵀAε exactly; with seeded probes it is unbiased', () => {
    const probe = makeRademacher([64, 2], 3);
    const exact = logDensityODE({ field: lin.field, x, rtol: 1e-6, atol: 1e-6 });
    const h = logDensityODE({ field: lin.field, x, rtol: 1e-6, atol: 1e-6, divergence: 'hutchinson', probe });
    const eps = probe.arraySync() as number[][];
    const e = exact.logp.dataSync();
    h.logp.dataSync().forEach((v, i) => {
      const [a, b] = eps[i];
      const quad = A[0][0] * a * a + (A[0][1] + A[1][0]) * a * b + A[1][1] * b * b;
      expect(v - e[i]).toBeCloseTo(quad - trA, 4);
    });
    // Seeded Gaussian probes (drawn once per solve): the per-sample error averages out.
    const g = logDensityODE({ field: lin.field, x, rtol: 1e-6, atol: 1e-6, divergence: 'hutchinson', probe: 'gaussian', seed: 4 });
    const diffs = Array.from(g.logp.dataSync(), (v, i) => v - e[i]);
    const m = meanVar(diffs);
    expect(Math.sqrt(m.variance)).toBeGreaterThan(0.1);
    expect(Math.abs(m.mean)).toBeLessThan(3 * Math.sqrt(m.variance / diffs.length));
    [exact, h, g].forEach(disposeResult);
    probe.dispose();
  });

  it('logDensityODEAsync returns the same numbers', async () => {
    const a = logDensityODE({ field: lin.field, x });
    const b = await logDensityODEAsync({ field: lin.field, x });
    expect(Array.from(b.logp.dataSync())).toEqual(Array.from(a.logp.dataSync()));
    expect(b.stats).toEqual(a.stats);
    disposeResult(a);
    disposeResult(b);
  });

  it("matches mvnLogProb (the library's own Gaussian) on the same data", () => {
    const mInv = expm(A.map((r) => r.map((v) => -v)));
    const sigma = matMul(
      mInv,
      mInv[0].map((_, j) => mInv.map((row) => row[j])),
    );
    const ref = mvnLogProb(x, [0, 0], sigma);
    const want = closedForm(xs, A, 1);
    ref.dataSync().forEach((v, i) => {
      expect(v).toBeCloseTo(want[i], 4);
    });
    ref.dispose();
  });

  it('rejects bad arguments clearly, leaking nothing', () => {
    const before = tf.memory().numTensors;
    expect(() => logDensityODE({ field: lin.field, x, divergence: 'hutchinson' })).toThrow(/seed/);
    expect(() => logDensityODE({ field: lin.field, x, solver: 'euler_maruyama' })).toThrow(/ODE solver/);
    expect(() => logDensityODE({ field: lin.field, x, solver: 'nope' })).toThrow(/unknown solver 'nope'/);
    expect(() => logDensityODE({ field: lin.field, x, solver: 'rk4' })).toThrow(/steps/);
    expect(() => logDensityODE({ field: lin.field, x, steps: 4, solver: 'euler', prior: (z) => tf.sum(z) })).toThrow(
      /prior returned shape/,
    );
    const ints = tf.tensor1d([1, 2], 'int32');
    expect(() => logDensityODE({ field: lin.field, x: ints })).toThrow(/float32/);
    ints.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

function makeRademacher(shape: number[], seed: number): tf.Tensor {
  return new Rng(seed).rademacherTensor(shape);
}
