/**
 * The solver contract: every registered solver passes these tests unchanged (diffusers'
 * scheduler-contract idea). They pin what samplers and likelihood code rely on: shapes, both
 * directions, save-at semantics, honest stats, and no tensor leaks. The checks are the
 * published ones of `@nfdm/core/testing` (src/testing/solver-contract.ts), the same a
 * downstream solver runs; the built-ins' metadata and noise classes are checked here.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import { getSolver, RungeKutta, SDETerm, solve, solverNames } from '../../src/solvers/index.js';
import { odeSolverChecks, runChecks, sdeSolverChecks } from '../../src/testing/index.js';

beforeAll(async () => {
  await initBackend('wasm');
});

describe.each(solverNames('ode'))('ODE solver contract: %s', (name) => {
  const solver = getSolver(name) as RungeKutta;

  it('is an explicit Runge–Kutta method with the documented metadata', () => {
    expect(solver).toBeInstanceOf(RungeKutta);
    expect(solver.kind).toBe('ode');
    expect(solver.name).toBe(name);
    expect(solver.stages).toBe(solver.tableau.c.length);
    expect(solver.adaptive).toBe(solver.tableau.bError !== undefined);
  });

  for (const check of odeSolverChecks(name)) it(check.name, check.run);
});

describe.each(solverNames('sde'))('SDE solver contract: %s', (name) => {
  for (const check of sdeSolverChecks(name)) it(check.name, check.run);
});

describe('the published contract rejects broken solvers', () => {
  const rk4 = (getSolver('rk4') as RungeKutta).tableau;

  it('a wrong weight fails the accuracy checks', async () => {
    const b = [...rk4.b];
    b[1] += 0.01;
    b[2] -= 0.01 / 2;
    b[3] -= 0.01 / 2;
    const failures = await runChecks(odeSolverChecks(new RungeKutta({ ...rk4, name: 'rk4-broken', b })));
    expect(failures.some((f) => f.startsWith('forward: matches exp(tA) y0'))).toBe(true);
  });

  it('a method that claims a higher order than it has fails the accuracy bound', async () => {
    const failures = await runChecks(
      odeSolverChecks(new RungeKutta({ ...(getSolver('euler') as RungeKutta).tableau, name: 'euler-as-4', order: 4 })),
    );
    expect(failures.map((f) => f.split(':')[0])).toContain('forward');
  });

  it('a correct custom tableau passes the whole contract', async () => {
    expect(await runChecks(odeSolverChecks(new RungeKutta({ ...rk4, name: 'rk4-copy' })))).toEqual([]);
  });
});

describe('SDE noise classes', () => {
  it('stochastic_heun and sra1 need additive noise; euler_maruyama takes multiplicative noise', () => {
    const y0 = tf.ones([2, 1]);
    const gbm = new SDETerm({ drift: (_t, y) => tf.mul(y, 0.1), diffusion: (_t, y) => tf.mul(y, 0.2) });
    for (const name of ['stochastic_heun', 'sra1']) {
      expect(() => solve({ term: gbm, solver: name, t0: 0, t1: 1, y0, steps: 4, seed: 1 })).toThrow(/additive noise/);
    }
    const r = solve({ term: gbm, solver: 'euler_maruyama', t0: 0, t1: 1, y0, steps: 4, seed: 1 });
    expect(r.y1.shape).toEqual([2, 1]);
    tf.dispose([r.y1, y0]);
  });
});
