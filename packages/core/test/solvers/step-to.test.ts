/**
 * StepTo (steps to given times) and the SDE loop driven through the controller interface.
 *
 * - Uniform `ts` reproduce ConstantStepSize exactly (ODE rk4, SDE Euler–Maruyama, same seed).
 * - ODE oracle: Euler on y′ = y over a non-uniform grid gives y₀ Π (1 + hᵢ) exactly.
 * - SDE oracle: Euler–Maruyama on Ornstein–Uhlenbeck dX = −θX dt + σ dW over a non-uniform grid
 *   is the recursion X_{i+1} = (1 − θhᵢ) Xᵢ + σ √hᵢ ξᵢ, so X_n ~ N(m_n, v_n) with
 *   m_{i+1} = (1 − θhᵢ) mᵢ, v_{i+1} = (1 − θhᵢ)² vᵢ + σ² hᵢ — sample moments of 20,000 paths must
 *   match within 4 standard errors (the uniform grid with the same step count gives a variance
 *   outside that band, so the test sees the grid).
 * - Save times on the grid's step ends; errors for bad grids and for controllers without one.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import { ConstantStepSize, SDETerm, type StepSizeController, StepTo, solve } from '../../src/solvers/index.js';
import { meanVar } from './helpers.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const theta = 2;
const sigma = 0.8;
const ou = () => new SDETerm({ drift: (_t, y) => tf.mul(y, -theta), diffusion: () => tf.scalar(sigma), additive: true });
/** A grid crowded near t = 0: tᵢ = (i/n)². */
const squareGrid = (n: number) => Array.from({ length: n + 1 }, (_, i) => (i / n) ** 2);

describe('StepTo', () => {
  it('with uniform times reproduces ConstantStepSize exactly (ODE rk4 and SDE Euler–Maruyama)', () => {
    const y0 = tf.tensor2d([[1, -0.5]]);
    const ts = Array.from({ length: 11 }, (_, i) => (i === 10 ? 1 : (i * 1) / 10));
    const f = (t: number, y: tf.Tensor) => tf.mul(y, Math.cos(t));
    const a = solve({ term: f, solver: 'rk4', t0: 0, t1: 1, y0, steps: 10 });
    const b = solve({ term: f, solver: 'rk4', t0: 0, t1: 1, y0, controller: new StepTo(ts) });
    expect(Array.from(b.y1.dataSync())).toEqual(Array.from(a.y1.dataSync()));
    const x0 = tf.ones([64, 1]);
    const c = solve({ term: ou(), solver: 'euler_maruyama', t0: 0, t1: 1, y0: x0, steps: 10, seed: 5 });
    const d = solve({ term: ou(), solver: 'euler_maruyama', t0: 0, t1: 1, y0: x0, controller: new StepTo(ts), seed: 5 });
    expect(Array.from(d.y1.dataSync())).toEqual(Array.from(c.y1.dataSync()));
    expect(d.stats.steps).toBe(10);
    tf.dispose([y0, x0, a.y1, b.y1, c.y1, d.y1]);
  });

  it('Euler on y′ = y over a non-uniform grid is y₀ Π (1 + hᵢ)', () => {
    const ts = squareGrid(7);
    let expected = 1.5;
    for (let i = 1; i < ts.length; i++) expected *= 1 + (ts[i] - ts[i - 1]);
    const y0 = tf.tensor2d([[1.5]]);
    const r = solve({ term: (_t, y) => y, solver: 'euler', t0: 0, t1: 1, y0, controller: new StepTo(ts) });
    expect(r.y1.dataSync()[0]).toBeCloseTo(expected, 5);
    expect(r.stats.initialStep).toBeCloseTo(ts[1], 12);
    tf.dispose([y0, r.y1]);
  });

  it('Euler–Maruyama on Ornstein–Uhlenbeck over a non-uniform grid has the moments of its recursion', () => {
    const n = 6;
    const moments = (ts: number[]) => {
      let m = 1;
      let v = 0;
      for (let i = 1; i < ts.length; i++) {
        const h = ts[i] - ts[i - 1];
        m *= 1 - theta * h;
        v = (1 - theta * h) ** 2 * v + sigma * sigma * h;
      }
      return { m, v };
    };
    const want = moments(squareGrid(n));
    const uniform = moments(Array.from({ length: n + 1 }, (_, i) => i / n));
    const B = 20_000;
    const x0 = tf.ones([B, 1]);
    const r = solve({ term: ou(), solver: 'euler_maruyama', t0: 0, t1: 1, y0: x0, controller: new StepTo(squareGrid(n)), seed: 11 });
    const got = meanVar(r.y1.dataSync());
    const seMean = Math.sqrt(want.v / B);
    const seVar = want.v * Math.sqrt(2 / (B - 1));
    expect(Math.abs(got.mean - want.m)).toBeLessThan(4 * seMean);
    expect(Math.abs(got.variance - want.v)).toBeLessThan(4 * seVar);
    // The grid matters: the uniform grid's variance is far outside the band.
    expect(Math.abs(uniform.v - want.v)).toBeGreaterThan(8 * seVar);
    tf.dispose([x0, r.y1]);
  });

  it('saves at step ends of a non-uniform SDE grid and refuses a time between them', () => {
    const ts = squareGrid(4); // 0, 1/16, 1/4, 9/16, 1
    const x0 = tf.ones([8, 1]);
    const r = solve({
      term: ou(),
      solver: 'euler_maruyama',
      t0: 0,
      t1: 1,
      y0: x0,
      controller: new StepTo(ts),
      seed: 2,
      saveat: { ts: [0.25, 1] },
    });
    expect(r.ts).toEqual([0.25, 1]);
    const full = solve({
      term: ou(),
      solver: 'euler_maruyama',
      t0: 0,
      t1: 1,
      y0: x0,
      controller: new StepTo(ts),
      seed: 2,
      saveat: { steps: true },
    });
    expect(full.ts).toEqual(ts.slice(1));
    const first = tf.gather(r.ys as tf.Tensor, 0);
    const second = tf.gather(full.ys as tf.Tensor, 1);
    expect(Array.from(first.dataSync())).toEqual(Array.from(second.dataSync()));
    expect(() =>
      solve({ term: ou(), solver: 'euler_maruyama', t0: 0, t1: 1, y0: x0, controller: new StepTo(ts), seed: 2, saveat: { ts: [0.5] } }),
    ).toThrow(/SDE save time 0.5 is not a step end/);
    tf.dispose([x0, r.y1, full.y1, r.ys as tf.Tensor, full.ys as tf.Tensor, first, second]);
  });

  it('refuses bad grids, steps given twice, and SDE controllers without a grid', () => {
    expect(() => new StepTo([0])).toThrow(/at least two times/);
    expect(() => new StepTo([0, 0.5, 0.5, 1])).toThrow(/strictly increasing or strictly decreasing \(at index 2/);
    const y0 = tf.ones([2, 1]);
    expect(() => solve({ term: (_t, y) => y, solver: 'euler', t0: 0, t1: 1, y0, controller: new StepTo([0, 0.5, 0.9]) })).toThrow(
      /must start at t0 = 0 and end at t1 = 1/,
    );
    expect(() => solve({ term: (_t, y) => y, solver: 'euler', t0: 0, t1: 1, y0, steps: 4, controller: new StepTo([0, 1]) })).toThrow(
      /do not pass `steps` or `dt0`/,
    );
    // A constant controller of one's own without grid(): fine for ODEs, refused for SDEs.
    const constant = new ConstantStepSize();
    const own: StepSizeController = {
      needsErrorEstimate: false,
      init: (p) => constant.init(p),
      firstStep: (f, y, s) => constant.firstStep(f, y, s as never),
      stepEnd: (t, s) => constant.stepEnd(t, s as never),
      errorNorm: () => constant.errorNorm(),
      adapt: (a, s) => constant.adapt(a, s as never),
    };
    const ode = solve({ term: (_t, y) => y, solver: 'euler', t0: 0, t1: 1, y0, steps: 4, controller: own });
    expect(ode.y1.dataSync()[0]).toBeCloseTo(1.25 ** 4, 5);
    expect(() => solve({ term: ou(), solver: 'euler_maruyama', t0: 0, t1: 1, y0, steps: 4, seed: 1, controller: own })).toThrow(
      /SDE solves need a controller whose grid is known before the solve/,
    );
    tf.dispose([y0, ode.y1]);
  });
});
