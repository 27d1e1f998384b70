/** Bad arguments fail fast with clear messages, before any work; names resolve as documented. */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import {
  BrownianGrid,
  type ConstantStepSize,
  getSolver,
  odeint,
  PIDController,
  RungeKutta,
  SDETerm,
  solve,
  solverNames,
} from '../../src/solvers/index.js';

let y0: tf.Tensor;
const f = (_t: number, y: tf.Tensor) => tf.neg(y);
beforeAll(async () => {
  await initBackend('wasm');
  y0 = tf.ones([2, 3]);
});
afterAll(() => y0.dispose());

/** Valid arguments to vary (a getter: y0 exists only after beforeAll). */
const base = () => ({ term: f, solver: 'rk4', t0: 0, t1: 1, y0 });

describe('argument validation', () => {
  it('times', () => {
    expect(() => solve({ ...base(), t1: 0, steps: 4 })).toThrow(/t0 == t1 \(0\): nothing to integrate/);
    expect(() => solve({ ...base(), t0: Number.NaN, steps: 4 })).toThrow(/t0 must be a finite number/);
    expect(() => solve({ ...base(), t1: Number.POSITIVE_INFINITY, steps: 4 })).toThrow(/t1 must be a finite number/);
  });

  it('step counts and sizes', () => {
    for (const steps of [0, -3, 1.5]) expect(() => solve({ ...base(), steps })).toThrow(/steps must be a positive integer/);
    expect(() => solve({ ...base(), dt0: 0 })).toThrow(/dt0 must be a finite non-zero number/);
    expect(() => solve({ ...base(), dt0: -0.1 })).toThrow(/points away from t1/);
    expect(() => solve({ ...base(), t0: 1, t1: 0, dt0: 0.1 })).toThrow(/points away from t1/);
    expect(() => solve({ ...base(), steps: 4, dt0: 0.25 })).toThrow(/either `steps` or `dt0`/);
    expect(() => solve({ ...base() })).toThrow(/needs `steps` or `dt0`/);
    expect(() => solve({ ...base(), steps: 4, maxSteps: 0 })).toThrow(/maxSteps must be a positive integer/);
    expect(() => solve({ ...base(), steps: 4, finiteCheckEvery: -1 })).toThrow(/finiteCheckEvery/);
  });

  it('dt0 that does not divide the interval: the last step is shortened to land on t1', () => {
    const r = solve({ ...base(), dt0: 0.3, saveat: { steps: true } });
    expect(r.ts.map((t) => Number(t.toFixed(12)))).toEqual([0.3, 0.6, 0.9, 1]);
    expect(r.stats.steps).toBe(4);
    tf.dispose([r.y1, r.ys as tf.Tensor]);
  });

  it('controllers', () => {
    for (const rtol of [0, -1e-3, Number.NaN]) {
      expect(() => new PIDController({ rtol, atol: 1e-6 })).toThrow(/rtol must be a finite number > 0/);
    }
    expect(() => new PIDController({ rtol: 1e-3, atol: -1 })).toThrow(/atol must be a finite number >= 0/);
    expect(() => new PIDController({ rtol: 1e-3, atol: 1e-6, factorMin: 1.5 })).toThrow(/factorMin/);
    expect(() => new PIDController({ rtol: 1e-3, atol: 1e-6, factorMax: 0.5 })).toThrow(/factorMax/);
    expect(() => new PIDController({ rtol: 1e-3, atol: 1e-6, safety: 1.2 })).toThrow(/safety/);
    expect(() => new PIDController({ rtol: 1e-3, atol: 1e-6, dtMin: 1, dtMax: 0.5 })).toThrow(/dtMin/);
    expect(() => new PIDController({ rtol: 1e-3, atol: 1e-6, norm: 'l1' as 'rms' })).toThrow(/norm/);
    const controller = new PIDController({ rtol: 1e-3, atol: 1e-6 });
    expect(() => solve({ ...base(), solver: 'dopri5', controller, steps: 10 })).toThrow(/`steps` is for ConstantStepSize/);
    expect(() => solve({ ...base(), controller: {} as ConstantStepSize, steps: 2 })).toThrow(/controller must be/);
  });

  it('save-at', () => {
    expect(() => solve({ ...base(), steps: 4, saveat: { ts: [0.5, 1.5] } })).toThrow(/outside the integration interval/);
    expect(() => solve({ ...base(), steps: 4, saveat: { ts: [0.5, 0.2] } })).toThrow(/strictly increasing/);
    expect(() => solve({ ...base(), t0: 1, t1: 0, steps: 4, saveat: { ts: [0.2, 0.5] } })).toThrow(/strictly decreasing/);
    expect(() => solve({ ...base(), steps: 4, saveat: { ts: [0.5], steps: true } })).toThrow(/not both/);
    expect(() => solve({ ...base(), steps: 4, saveat: { ts: [Number.NaN] } })).toThrow(/not a finite number/);
  });

  it('states and vector fields, leaking nothing on failure', () => {
    const ints = tf.ones([2, 3], 'int32');
    expect(() => solve({ ...base(), y0: ints, steps: 4 })).toThrow(/y0 must be float32, got int32/);
    ints.dispose();
    const gone = tf.ones([2]);
    gone.dispose();
    expect(() => solve({ ...base(), y0: gone, steps: 4 })).toThrow(/disposed/);
    expect(() => solve({ ...base(), y0: [] as unknown as tf.Tensor, steps: 4 })).toThrow(/non-empty array/);
    const before = tf.memory().numTensors;
    expect(() => solve({ ...base(), term: (_t, y) => tf.sum(y, 1), steps: 4 })).toThrow(
      /vector field returned \[2\] for a state of shape \[2,3\]/,
    );
    expect(() => solve({ ...base(), term: 42 as unknown as typeof f, steps: 4 })).toThrow(/term must be/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('solver names', () => {
    expect(() => getSolver('dopri8')).toThrow(/unknown solver 'dopri8': expected one of euler, midpoint, heun, rk4/);
    expect(() => solve({ ...base(), solver: 'rk5', steps: 2 })).toThrow(/unknown solver/);
    expect(getSolver('RK45').name).toBe('dopri5');
    expect(getSolver('Euler-Maruyama').name).toBe('euler_maruyama');
    expect(getSolver('em').name).toBe('euler_maruyama');
    expect(solverNames('ode')).toEqual(['euler', 'midpoint', 'heun', 'rk4', 'rk4_38', 'bosh3', 'dopri5', 'tsit5']);
    expect(solverNames('sde')).toEqual(['euler_maruyama', 'stochastic_heun', 'sra1']);
    expect(solverNames()).toHaveLength(11);
    for (const name of solverNames()) expect(getSolver(name).name).toBe(name);
    expect(getSolver('dopri5')).toBeInstanceOf(RungeKutta);
  });

  it('SDE terms and Brownian paths', () => {
    expect(() => new SDETerm({ drift: f, diffusion: f, noise: 'general' as 'diagonal' })).toThrow(/unknown SDE noise type/);
    expect(() => new SDETerm({ drift: f } as never)).toThrow(/diffusion function/);
    expect(() => new BrownianGrid({ t0: 0, t1: 0, steps: 4, shape: [2], seed: 1 })).toThrow(/distinct/);
    expect(() => new BrownianGrid({ t0: 0, t1: 1, steps: 0, shape: [2], seed: 1 })).toThrow(/steps/);
    expect(() => new BrownianGrid({ t0: 0, t1: 1, steps: 2, shape: [2] })).toThrow(/seed/);
    expect(() => new BrownianGrid({ t0: 0, t1: 1, steps: 2, shape: [0], seed: 1 })).toThrow(/positive integers/);
  });
});

describe('odeint facade', () => {
  it('returns [T, ...] states at ts (ys[0] = y0) for adaptive and fixed-step methods', () => {
    const ts = [0, 0.5, 1];
    for (const opts of [{}, { method: 'rk4', stepSize: 0.05 }, { method: 'tsit5', rtol: 1e-6, atol: 1e-6 }]) {
      const before = tf.memory().numTensors;
      const { ys, stats } = odeint(f, y0, ts, opts);
      expect(ys.shape).toEqual([3, 2, 3]);
      const v = ys.arraySync() as number[][][];
      ts.forEach((t, i) => {
        for (const x of v[i].flat()) expect(x).toBeCloseTo(Math.exp(-t), 4);
      });
      expect(stats.nfe).toBeGreaterThan(0);
      ys.dispose();
      expect(tf.memory().numTensors).toBe(before);
    }
    expect(() => odeint(f, y0, ts, { method: 'rk4' })).toThrow(/fixed-step method: pass stepSize/);
    expect(() => odeint(f, y0, [0])).toThrow(/at least two times/);
    expect(() => odeint(f, y0, ts, { method: 'sra1' })).toThrow(/SDE solver/);
  });
});
