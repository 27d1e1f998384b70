/**
 * Adaptive stepping (dopri5 first, the other embedded pairs where relevant): the error
 * follows the tolerance, the work follows the tolerance, dense output holds between steps,
 * Hairer's initial step is what the formula says, and failures raise typed errors that say
 * where they happened — without leaking tensors.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import {
  MaxStepsExceededError,
  NonFiniteStateError,
  PIDController,
  SolverError,
  StepSizeUnderflowError,
  solve,
} from '../../src/solvers/index.js';
import { counted, expm, linearField, matVec, maxAbsDiff, rows } from './helpers.js';

const A = [
  [-0.1, -1],
  [1, -0.1],
];
const T = 10;
const Y0 = [
  [1, 0],
  [0.3, -0.7],
  [2, 1],
];
const exact = (t: number) => Y0.map((v) => matVec(expm(A.map((r) => r.map((x) => x * t))), v));

let lin: ReturnType<typeof linearField>;
let y0: tf.Tensor;
beforeAll(async () => {
  await initBackend('wasm');
  lin = linearField(A);
  y0 = tf.tensor2d(Y0);
});
afterAll(() => {
  lin.dispose();
  y0.dispose();
});

const pid = (tol: number, extra = {}) => new PIDController({ rtol: tol, atol: tol, ...extra });

function run(solver: string, tol: number, extra = {}) {
  const s = solve({ term: lin.field, solver, t0: 0, t1: T, y0, controller: pid(tol, extra) });
  const err = maxAbsDiff(rows(s.y1), exact(T));
  s.y1.dispose();
  return { err, stats: s.stats };
}

/** Expect `fn` to throw an error of class `cls` and return it; assert nothing leaked. */
function expectThrowNoLeak<E extends Error>(fn: () => unknown, cls: new (...args: never[]) => E): E {
  const before = tf.memory().numTensors;
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(cls);
  expect(tf.memory().numTensors).toBe(before);
  return caught as E;
}

describe('dopri5 with a PID controller', () => {
  const tols = [1e-3, 1e-4, 1e-5, 1e-6];

  it('global error tracks the tolerance', () => {
    const errs = tols.map((tol) => run('dopri5', tol).err);
    tols.forEach((tol, i) => {
      expect(errs[i]).toBeLessThan(20 * tol);
      expect(errs[i]).toBeGreaterThan(tol / 100);
      if (i > 0) expect(errs[i]).toBeLessThan(errs[i - 1] / 3);
    });
  });

  it('NFE falls as the tolerance loosens, and NFE = 2 (initial step) + 6 · attempted steps', () => {
    const stats = tols.map((tol) => run('dopri5', tol).stats);
    for (let i = 1; i < stats.length; i++) expect(stats[i].nfe).toBeGreaterThan(stats[i - 1].nfe);
    for (const s of stats) expect(s.nfe).toBe(2 + 6 * s.steps);
  });

  it('tsit5 and bosh3 also track the tolerance', () => {
    for (const name of ['tsit5', 'bosh3']) {
      const loose = run(name, 1e-3);
      const tight = run(name, 1e-5);
      expect(tight.err).toBeLessThan(loose.err / 10);
      expect(tight.err).toBeLessThan(1e-5 * (name === 'bosh3' ? 50 : 20));
      expect(tight.stats.nfe).toBeGreaterThan(loose.stats.nfe);
    }
  });

  it('dense output stays within tolerance between steps', () => {
    const tol = 1e-6;
    const ts = Array.from({ length: 80 }, (_, i) => ((i + 1) * T) / 80);
    const s = solve({ term: lin.field, solver: 'dopri5', t0: 0, t1: T, y0, controller: pid(tol), saveat: { ts } });
    // Far fewer steps than save points: most saves are genuinely interpolated.
    expect(s.stats.acceptedSteps).toBeLessThan(ts.length / 2);
    const ys = (s.ys as tf.Tensor).arraySync() as number[][][];
    const worst = Math.max(...ts.map((t, i) => maxAbsDiff(ys[i], exact(t))));
    expect(worst).toBeLessThan(20 * tol);
    tf.dispose([s.y1, s.ys as tf.Tensor]);
  });

  it("uses Hairer's initial step (one extra evaluation)", () => {
    const tol = 1e-5;
    const f = (y: number[]) => matVec(A, y);
    const flat = Y0.flat();
    const rms = (v: number[], sc: number[]) => Math.sqrt(v.reduce((s, x, i) => s + (x / sc[i]) ** 2, 0) / v.length);
    const sc = flat.map((v) => tol + tol * Math.abs(v));
    const f0 = Y0.flatMap(f);
    const d0 = rms(flat, sc);
    const d1 = rms(f0, sc);
    const h0 = (0.01 * d0) / d1;
    const f1 = Y0.flatMap((row, b) => f(row.map((v, j) => v + h0 * f0[2 * b + j])));
    const d2 =
      rms(
        f1.map((v, i) => v - f0[i]),
        sc,
      ) / h0;
    const h1 = (0.01 / Math.max(d1, d2)) ** (1 / 5);
    const expected = Math.min(100 * h0, h1);
    const s = run('dopri5', tol).stats;
    expect(Math.abs(s.initialStep / expected - 1)).toBeLessThan(1e-4);
    const back = solve({ term: lin.field, solver: 'dopri5', t0: 1, t1: 0, y0, controller: pid(tol) });
    expect(back.stats.initialStep).toBeLessThan(0);
    back.y1.dispose();
  });

  it('rejects and retries a step that is too large, reusing k1 (FSAL: 6 NFE per attempt)', () => {
    const f = counted(lin.field);
    const s = solve({ term: f.fn, solver: 'dopri5', t0: 0, t1: T, y0, controller: pid(1e-6), dt0: 5 });
    expect(s.stats.initialStep).toBe(5);
    expect(s.stats.rejectedSteps).toBeGreaterThan(0);
    expect(s.stats.nfe).toBe(1 + 6 * s.stats.steps);
    expect(s.stats.nfe).toBe(f.calls());
    expect(maxAbsDiff(rows(s.y1), exact(T))).toBeLessThan(2e-5);
    s.y1.dispose();
  });

  it('honours dtMax, and a Lund-stabilised PI setting (pcoeff 0.2, icoeff 0.65) converges too', () => {
    const s = solve({
      term: lin.field,
      solver: 'dopri5',
      t0: 0,
      t1: T,
      y0,
      controller: pid(1e-5, { dtMax: 0.25 }),
      saveat: { steps: true, t0: true },
    });
    for (let i = 1; i < s.ts.length; i++) expect(s.ts[i] - s.ts[i - 1]).toBeLessThanOrEqual(0.25 + 1e-12);
    expect(s.ts[s.ts.length - 1]).toBe(T);
    tf.dispose([s.y1, s.ys as tf.Tensor]);
    const lund = run('dopri5', 1e-5, { pcoeff: 0.2, icoeff: 0.65 });
    expect(lund.err).toBeLessThan(2e-4);
  });

  it("norm 'max' holds every component to the tolerance", () => {
    // One sample 100× larger than the others: the RMS norm lets the small ones drift more.
    const big = tf.tensor2d([
      [100, 0],
      [0.01, 0.02],
      [0.02, -0.01],
    ]);
    const ref = [
      [100, 0],
      [0.01, 0.02],
      [0.02, -0.01],
    ].map((v) => matVec(expm(A.map((r) => r.map((x) => x * T))), v));
    const relWorst = (norm: 'rms' | 'max') => {
      const s = solve({ term: lin.field, solver: 'dopri5', t0: 0, t1: T, y0: big, controller: pid(1e-4, { atol: 1e-7, norm }) });
      const got = rows(s.y1);
      s.y1.dispose();
      return { steps: s.stats.steps, small: maxAbsDiff(got.slice(1), ref.slice(1)) };
    };
    const rms = relWorst('rms');
    const max = relWorst('max');
    expect(max.steps).toBeGreaterThan(rms.steps);
    expect(max.small).toBeLessThan(rms.small);
    big.dispose();
  });
});

describe('typed failures', () => {
  const blowUp = (_t: number, y: tf.Tensor) => tf.square(y); // y' = y², y(0) = 1: y = 1/(1 − t)

  it('step-size underflow on a blow-up, with t and the step count', () => {
    const one = tf.ones([2, 1]);
    const e = expectThrowNoLeak(
      () => solve({ term: blowUp, solver: 'dopri5', t0: 0, t1: 2, y0: one, controller: pid(1e-5) }),
      StepSizeUnderflowError,
    );
    expect(e).toBeInstanceOf(SolverError);
    expect(e.code).toBe('step_size_underflow');
    expect(Math.abs(e.t - 1)).toBeLessThan(1e-3);
    expect(e.step).toBeGreaterThan(10);
    expect(Math.abs(e.h)).toBeLessThan(1e-10);
    expect(e.message).toMatch(/t = 1\.0|t = 0\.9/);
    const d = expectThrowNoLeak(
      () => solve({ term: blowUp, solver: 'dopri5', t0: 0, t1: 2, y0: one, controller: pid(1e-5, { dtMin: 1e-6 }) }),
      StepSizeUnderflowError,
    );
    expect(d.reason).toMatch(/dtMin/);
    expect(d.t).toBeLessThan(1);
    one.dispose();
  });

  it('max steps exceeded, counting rejected steps too', () => {
    const one = tf.ones([2, 1]);
    const e = expectThrowNoLeak(
      () => solve({ term: blowUp, solver: 'dopri5', t0: 0, t1: 2, y0: one, controller: pid(1e-5), maxSteps: 20 }),
      MaxStepsExceededError,
    );
    expect(e.code).toBe('max_steps_exceeded');
    expect(e.step).toBe(20);
    expect(e.maxSteps).toBe(20);
    expect(e.t).toBeGreaterThan(0);
    expect(e.t).toBeLessThan(1);
    // Constant steps: the budget is checked before any work.
    const c = expectThrowNoLeak(
      () => solve({ term: blowUp, solver: 'rk4', t0: 0, t1: 0.5, y0: one, steps: 50, maxSteps: 10 }),
      MaxStepsExceededError,
    );
    expect(c.step).toBe(0);
    one.dispose();
  });

  it('non-finite state: adaptive (at the NaN frontier), fixed-step (periodic check), and y0', () => {
    const one = tf.ones([2, 1]);
    const nanAfterHalf = (t: number, y: tf.Tensor) => (t > 0.5 ? tf.mul(y, Number.NaN) : tf.neg(y));
    const a = expectThrowNoLeak(
      () => solve({ term: nanAfterHalf, solver: 'dopri5', t0: 0, t1: 2, y0: one, controller: pid(1e-5) }),
      NonFiniteStateError,
    );
    expect(a.code).toBe('non_finite_state');
    expect(Math.abs(a.t - 0.5)).toBeLessThan(1e-6);
    const fixed = expectThrowNoLeak(
      () => solve({ term: nanAfterHalf, solver: 'rk4', t0: 0, t1: 2, y0: one, steps: 1000, finiteCheckEvery: 50 }),
      NonFiniteStateError,
    );
    expect(fixed.lastFiniteT).toBeLessThanOrEqual(0.5);
    expect(fixed.t).toBeGreaterThan(0.5);
    expect(fixed.t - (fixed.lastFiniteT as number)).toBeLessThanOrEqual(0.1 + 1e-12);
    // finiteCheckEvery: 0 still checks once at the end.
    const end = expectThrowNoLeak(
      () => solve({ term: nanAfterHalf, solver: 'euler', t0: 0, t1: 2, y0: one, steps: 100, finiteCheckEvery: 0 }),
      NonFiniteStateError,
    );
    expect(end.t).toBe(2);
    const bad = tf.tensor2d([[1], [Number.POSITIVE_INFINITY]]);
    const z = expectThrowNoLeak(() => solve({ term: blowUp, solver: 'euler', t0: 0, t1: 1, y0: bad, steps: 4 }), NonFiniteStateError);
    expect(z.step).toBe(0);
    expect(z.lastFiniteT).toBeUndefined();
    tf.dispose([one, bad]);
  });

  it('a field that throws mid-solve leaks nothing', () => {
    let calls = 0;
    const flaky = (_t: number, y: tf.Tensor) => {
      if (++calls === 40) throw new Error('boom');
      return tf.neg(y);
    };
    const one = tf.ones([2, 1]);
    expectThrowNoLeak(
      () => solve({ term: flaky, solver: 'dopri5', t0: 0, t1: 5, y0: one, controller: pid(1e-6), saveat: { steps: true } }),
      Error,
    );
    one.dispose();
  });
});
