/**
 * Step-size controllers as strategies: every controller — the two built-in ones and two tiny
 * ones defined here through the public {@link StepSizeController} interface — goes through the
 * same checks: exact on an ODE whose solution is a polynomial the solver integrates exactly,
 * error below tolerance on y' = −y (oracle e^{−t}), both directions, and honest step counts.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import {
  ConstantStepSize,
  type FirstStep,
  PIDController,
  type StateTree,
  type StepAttempt,
  type StepProblem,
  type StepSizeController,
  solve,
  withoutReads,
} from '../../src/solvers/index.js';

beforeAll(async () => {
  await initBackend('wasm');
});

/** A user's fixed controller: `n` equal steps (n from `steps`), times t0 + k (t1 − t0)/n. */
class EqualSteps implements StepSizeController<{ t0: number; t1: number; n: number; k: number }> {
  readonly needsErrorEstimate = false;
  init(p: StepProblem) {
    if (p.steps === undefined) throw new TypeError('EqualSteps needs steps');
    return { t0: p.t0, t1: p.t1, n: p.steps, k: 0 };
  }
  firstStep<Y extends StateTree>(_f: unknown, _y0: Y, s: { t0: number; t1: number; n: number; k: number }) {
    return withoutReads<FirstStep<typeof s, Y>>({ state: s, h: (s.t1 - s.t0) / s.n });
  }
  stepEnd(_t: number, s: { t0: number; t1: number; n: number; k: number }): number {
    return s.k + 1 === s.n ? s.t1 : s.t0 + ((s.k + 1) * (s.t1 - s.t0)) / s.n;
  }
  errorNorm(): tf.Scalar {
    return tf.scalar(0);
  }
  adapt(_a: StepAttempt, s: { t0: number; t1: number; n: number; k: number }) {
    return { accept: true, state: { ...s, k: s.k + 1 } };
  }
}

/** A user's adaptive controller: max-norm error / tol; accept iff ≤ 1; grow ×1.5 or halve. */
class HalveOrGrow implements StepSizeController<{ t1: number; h: number }> {
  readonly needsErrorEstimate = true;
  constructor(readonly tol: number) {}
  init(p: StepProblem) {
    return { t1: p.t1, h: (p.t1 - p.t0) / 8 };
  }
  firstStep<Y extends StateTree>(_f: unknown, _y0: Y, s: { t1: number; h: number }) {
    return withoutReads<FirstStep<typeof s, Y>>({ state: s, h: s.h });
  }
  stepEnd(t: number, s: { t1: number; h: number }): number {
    return Math.sign(s.h) * (t + s.h - s.t1) >= 0 ? s.t1 : t + s.h;
  }
  errorNorm(_y0: StateTree, _y1: StateTree, yError: StateTree): tf.Scalar {
    return tf.div(tf.max(tf.abs(yError as tf.Tensor)), this.tol) as tf.Scalar;
  }
  adapt(a: StepAttempt, s: { t1: number; h: number }) {
    const accept = a.error <= 1;
    return { accept, state: { ...s, h: (a.tEnd - a.t) * (accept ? 1.5 : 0.5) } };
  }
}

interface Case {
  name: string;
  controller: () => StepSizeController | undefined;
  /** Fixed-step controllers get `steps`; adaptive ones choose their own. */
  steps?: number;
  adaptive: boolean;
  /** Accuracy demanded on y' = −y over [0, 2]. */
  tol: number;
}

const CASES: Case[] = [
  { name: 'default (ConstantStepSize)', controller: () => undefined, steps: 20, adaptive: false, tol: 1e-5 },
  { name: 'ConstantStepSize', controller: () => new ConstantStepSize(), steps: 20, adaptive: false, tol: 1e-5 },
  { name: 'PIDController', controller: () => new PIDController({ rtol: 1e-5, atol: 1e-5 }), adaptive: true, tol: 1e-4 },
  { name: 'custom fixed (EqualSteps)', controller: () => new EqualSteps(), steps: 20, adaptive: false, tol: 1e-5 },
  { name: 'custom adaptive (HalveOrGrow)', controller: () => new HalveOrGrow(1e-6), adaptive: true, tol: 1e-4 },
];

describe.each(CASES)('controller contract: $name', (c) => {
  const solver = c.adaptive ? 'dopri5' : 'rk4';
  const withController = () => {
    const controller = c.controller();
    return controller === undefined ? { steps: c.steps } : { controller, steps: c.steps };
  };
  let y0: tf.Tensor;
  beforeAll(() => {
    y0 = tf.tensor2d([
      [1, -2],
      [0.5, 3],
    ]);
  });
  afterAll(() => y0.dispose());

  it('exact where the solver is: y′ = 4t³ + 1 gives y(t1) = y0 + t1⁴ − t0⁴ + t1 − t0, both directions', () => {
    for (const [t0, t1] of [
      [0, 1],
      [1, -0.5],
    ]) {
      const field = (t: number, y: tf.Tensor) => tf.fill(y.shape, 4 * t ** 3 + 1);
      const sol = solve({ term: field, solver, t0, t1, y0, ...withController() });
      const expected = (y0.arraySync() as number[][]).map((r) => r.map((v) => v + t1 ** 4 - t0 ** 4 + t1 - t0));
      const got = sol.y1.arraySync() as number[][];
      for (const [i, r] of got.entries()) for (const [j, v] of r.entries()) expect(v).toBeCloseTo(expected[i][j], 5);
      expect(sol.t1).toBe(t1);
      sol.y1.dispose();
    }
  });

  it('y′ = −y to within tolerance of e^{−t}, with sane step counts', () => {
    const sol = solve({ term: (_t, y: tf.Tensor) => tf.neg(y), solver, t0: 0, t1: 2, y0, ...withController(), maxSteps: 500 });
    const got = sol.y1.arraySync() as number[][];
    const y0v = y0.arraySync() as number[][];
    const maxErr = Math.max(...got.flatMap((r, i) => r.map((v, j) => Math.abs(v - y0v[i][j] * Math.exp(-2)))));
    expect(maxErr).toBeLessThan(c.tol);
    const s = sol.stats;
    expect(s.steps).toBe(s.acceptedSteps + s.rejectedSteps);
    expect(Math.sign(s.initialStep)).toBe(1);
    if (c.adaptive) {
      expect(s.acceptedSteps).toBeGreaterThan(1);
      expect(s.steps).toBeLessThan(200);
    } else {
      expect([s.acceptedSteps, s.rejectedSteps]).toEqual([c.steps, 0]);
      expect(s.initialStep).toBeCloseTo(2 / (c.steps as number), 12);
    }
    sol.y1.dispose();
  });
});

describe('controller errors', () => {
  it('an object that is not a controller, and an adaptive controller with a solver without error estimate', () => {
    const y0 = tf.ones([1, 2]);
    const f = (_t: number, y: tf.Tensor) => tf.neg(y);
    const notController = { needsErrorEstimate: false, init: () => 0 } as unknown as StepSizeController;
    expect(() => solve({ term: f, solver: 'rk4', t0: 0, t1: 1, y0, steps: 2, controller: notController })).toThrow(
      /controller must be a StepSizeController .*firstStep, stepEnd, errorNorm, adapt/,
    );
    expect(() => solve({ term: f, solver: 'rk4', t0: 0, t1: 1, y0, controller: new HalveOrGrow(1e-6) })).toThrow(
      /solver 'rk4' has no embedded error estimate/,
    );
    y0.dispose();
  });
});
