/**
 * One spelling for solver names: canonical snake_case (`euler_maruyama`); `euler-maruyama`, any
 * case and the aliases resolve to the same solver (same numbers); an unknown name is one error
 * line listing every valid name.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import { canonicalSolverName, getSolver, SDETerm, solve, solverNames } from '../../src/solvers/index.js';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('solver names', () => {
  it('canonical spelling: snake_case, aliases resolved', () => {
    expect(['euler-maruyama', 'Euler_Maruyama', ' EM ', 'stochastic-heun', 'RK4-38', 'rk45', 'dopri5'].map(canonicalSolverName)).toEqual([
      'euler_maruyama',
      'euler_maruyama',
      'euler_maruyama',
      'stochastic_heun',
      'rk4_38',
      'dopri5',
      'dopri5',
    ]);
    for (const name of solverNames()) {
      expect(canonicalSolverName(name)).toBe(name);
      expect(getSolver(name.replaceAll('_', '-')).name).toBe(name);
    }
  });

  it('an alias is the same solver: identical SDE and ODE solutions', () => {
    const y0 = tf.tensor2d([
      [0.3, -1],
      [2, 0.5],
    ]);
    const term = new SDETerm({ drift: (_t, y) => tf.mul(y, -0.7), diffusion: () => tf.scalar(0.4), additive: true });
    const sdeRun = (solver: string) => {
      const r = solve({ term, solver, t0: 1, t1: 0, y0, steps: 17, seed: 5 });
      const out = Array.from(r.y1.dataSync());
      r.y1.dispose();
      return out;
    };
    const em = sdeRun('euler_maruyama');
    expect(sdeRun('euler-maruyama')).toEqual(em);
    expect(sdeRun('EM')).toEqual(em);
    expect(sdeRun('stochastic-heun')).toEqual(sdeRun('stochastic_heun'));
    expect(sdeRun('stochastic_heun')).not.toEqual(em);
    const odeRun = (solver: string) => {
      const r = solve({ term: (t: number, y: tf.Tensor) => tf.mul(y, Math.cos(t)), solver, t0: 0, t1: 1, y0, steps: 9 });
      const out = Array.from(r.y1.dataSync());
      r.y1.dispose();
      return out;
    };
    expect(odeRun('RK4-38')).toEqual(odeRun('rk4_38'));
    expect(odeRun('rk4_38')).not.toEqual(odeRun('rk4'));
    y0.dispose();
  });

  it('an unknown name: one line listing every valid name', () => {
    let message = '';
    try {
      getSolver('euler_maruyma');
    } catch (error) {
      expect(error).toBeInstanceOf(TypeError);
      message = (error as Error).message;
    }
    expect(message).toMatch(/^unknown solver 'euler_maruyma': expected one of /);
    expect(message).not.toContain('\n');
    for (const name of solverNames()) expect(message).toContain(name);
    expect(() => solve({ term: (_t, y: tf.Tensor) => y, solver: 'euler_maruyma', t0: 0, t1: 1, y0: tf.zeros([1, 1]), steps: 1 })).toThrow(
      message,
    );
  });
});
