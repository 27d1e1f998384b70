/**
 * `nonFinite: 'freeze-rows'`: a row that turns NaN/±Inf is frozen and reported, the other rows
 * come out exactly as if the bad rows had never been in the batch (rows of these fields do not
 * interact), and the default mode still fails the whole solve.
 *
 * Oracles: dy/dt = y² has y(t) = y₀ / (1 − y₀ t), which blows up at t = 1/y₀ — before t = 1
 * for y₀ = 2 and 3 (Euler then overflows to Inf), not for y₀ = 0.5 or −1. dy/dt = √y has
 * y(t) = (√y₀ + t/2)² for y₀ ≥ 0 and is NaN at once for y₀ < 0.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import { NonFiniteStateError, PIDController, SDETerm, solve } from '../../src/solvers/index.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const square = (_t: number, y: tf.Tensor) => tf.square(y);
const column = (values: number[]) => tf.tensor2d(values, [values.length, 1]);
const values = (t: tf.Tensor) => Array.from(t.dataSync());

describe("solve({ nonFinite: 'freeze-rows' })", () => {
  it('fixed-step ODE: blown-up rows are frozen and listed; the others equal a solve without them', () => {
    const y0 = column([0.5, 2, -1, 3]);
    const good = column([0.5, -1]);
    const all = solve({ term: square, solver: 'euler', t0: 0, t1: 1, y0, steps: 100, nonFinite: 'freeze-rows' });
    const ref = solve({ term: square, solver: 'euler', t0: 0, t1: 1, y0: good, steps: 100 });
    expect(all.nonFiniteRows).toEqual([1, 3]);
    const out = values(all.y1);
    expect(out.every(Number.isFinite)).toBe(true);
    expect([out[0], out[2]]).toEqual(values(ref.y1));
    // and close to the exact y(1) = y0 / (1 − y0): 1 and −0.5
    expect(out[0]).toBeCloseTo(1, 1);
    expect(out[2]).toBeCloseTo(-0.5, 2);
    // frozen rows hold a (large) finite value from before they overflowed
    expect(out[1]).toBeGreaterThan(1e3);
    expect(ref.nonFiniteRows).toBeUndefined();
    tf.dispose([y0, good, all.y1, ref.y1]);
  });

  it('the default mode fails the whole solve on the same batch', () => {
    const y0 = column([0.5, 2, -1, 3]);
    expect(() => solve({ term: square, solver: 'euler', t0: 0, t1: 1, y0, steps: 100 })).toThrow(NonFiniteStateError);
    y0.dispose();
  });

  it('saved trajectories hold the frozen value after a row diverges, and onStep sees every step', () => {
    const y0 = column([0.5, 3]);
    const times: number[] = [];
    const sol = solve({
      term: square,
      solver: 'rk4',
      t0: 0,
      t1: 1,
      y0,
      steps: 50,
      saveat: { steps: true },
      nonFinite: 'freeze-rows',
      onStep: (t) => times.push(t),
    });
    expect(times).toHaveLength(50);
    expect(times[49]).toBe(1);
    expect(sol.nonFiniteRows).toEqual([1]);
    const ys = values(sol.ys as tf.Tensor); // [50, 2, 1]
    expect(ys.every(Number.isFinite)).toBe(true);
    expect(ys[2 * 49 + 1]).toBe(values(sol.y1)[1]);
    tf.dispose([y0, sol.y1, sol.ys as tf.Tensor]);
  });

  it('SDE: diverging rows are frozen, the other rows see exactly the same Brownian path as before', () => {
    const term = new SDETerm({ drift: square, diffusion: () => tf.scalar(0.1), additive: true });
    // Same batch shape and seed, so every row gets the same noise; rows 1 and 3 differ in y0 only.
    const bad = column([0.5, 4, -1, 5]);
    const benign = column([0.5, 0.1, -1, 0.2]);
    const a = solve({ term, solver: 'euler_maruyama', t0: 0, t1: 1, y0: bad, steps: 100, seed: 7, nonFinite: 'freeze-rows' });
    const b = solve({ term, solver: 'euler_maruyama', t0: 0, t1: 1, y0: benign, steps: 100, seed: 7, nonFinite: 'freeze-rows' });
    expect(a.nonFiniteRows).toEqual([1, 3]);
    expect(b.nonFiniteRows).toEqual([]);
    const [ya, yb] = [values(a.y1), values(b.y1)];
    expect([ya[0], ya[2]]).toEqual([yb[0], yb[2]]);
    expect(ya.every(Number.isFinite)).toBe(true);
    tf.dispose([bad, benign, a.y1, b.y1]);
  });

  it('adaptive ODE: NaN rows are frozen after the retries; the others meet the tolerance', () => {
    const sqrt = (_t: number, y: tf.Tensor) => tf.sqrt(y);
    const y0 = column([1, -1, 4, -0.5]);
    const sol = solve({
      term: sqrt,
      solver: 'dopri5',
      t0: 0,
      t1: 1,
      y0,
      controller: new PIDController({ rtol: 1e-6, atol: 1e-6 }),
      nonFinite: 'freeze-rows',
    });
    expect(sol.nonFiniteRows).toEqual([1, 3]);
    const out = values(sol.y1);
    expect(out[0]).toBeCloseTo((1 + 0.5) ** 2, 4);
    expect(out[2]).toBeCloseTo((2 + 0.5) ** 2, 4);
    expect([out[1], out[3]]).toEqual([-1, -0.5]);
    expect(() =>
      solve({ term: sqrt, solver: 'dopri5', t0: 0, t1: 1, y0, controller: new PIDController({ rtol: 1e-6, atol: 1e-6 }) }),
    ).toThrow(NonFiniteStateError);
    tf.dispose([y0, sol.y1]);
  });

  it('rejects tuple states and unknown modes', () => {
    const y = tf.zeros([2, 1]);
    expect(() =>
      solve({ term: (_t, s: tf.Tensor[]) => s, solver: 'euler', t0: 0, t1: 1, y0: [y, y], steps: 2, nonFinite: 'freeze-rows' }),
    ).toThrow(/single-tensor/);
    expect(() => solve({ term: square, solver: 'euler', t0: 0, t1: 1, y0: y, steps: 2, nonFinite: 'drop' as never })).toThrow(/nonFinite/);
    y.dispose();
  });

  it('leaks no tensors', () => {
    const y0 = column([0.5, 3]);
    const before = tf.memory().numTensors;
    const sol = solve({ term: square, solver: 'euler', t0: 0, t1: 1, y0, steps: 100, nonFinite: 'freeze-rows' });
    sol.y1.dispose();
    const sol2 = solve({
      term: (_t: number, y: tf.Tensor) => tf.sqrt(y),
      solver: 'dopri5',
      t0: 0,
      t1: 1,
      y0: column([1, -1]),
      controller: new PIDController({ rtol: 1e-5, atol: 1e-5 }),
      nonFinite: 'freeze-rows',
    });
    sol2.y1.dispose();
    expect(tf.memory().numTensors).toBe(before + 1); // the column([1, -1]) input
    y0.dispose();
  });
});
