/**
 * The solver contract: every registered solver passes these tests unchanged (diffusers'
 * scheduler-contract idea). They pin what samplers and likelihood code rely on: shapes, both
 * directions, save-at semantics, honest stats, and no tensor leaks.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import {
  BrownianIncrements,
  getSolver,
  ODETerm,
  PIDController,
  RungeKutta,
  SDETerm,
  type Solution,
  type SolveStats,
  solve,
  solveAsync,
  solverNames,
} from '../../src/solvers/index.js';
import { counted, expectNoLeak, expm, linearField, matVec, maxAbsDiff, rows } from './helpers.js';

const A = [
  [-0.3, -1],
  [1, -0.3],
];
const Y0 = [
  [1, 0],
  [0.3, -0.7],
  [2, 1],
];
const exact = (t: number): number[][] => {
  const m = expm(A.map((r) => r.map((v) => v * t)));
  return Y0.map((v) => matVec(m, v));
};

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

const disposeSolution = (s: Solution<tf.Tensor | tf.Tensor[]>) => {
  tf.dispose([s.y1 as tf.Tensor | tf.Tensor[]]);
  if (s.ys !== undefined) tf.dispose([s.ys as tf.Tensor | tf.Tensor[]]);
};

function expectConsistentStats(stats: SolveStats, calls: number): void {
  expect(stats.nfe).toBe(calls);
  expect(stats.acceptedSteps + stats.rejectedSteps).toBe(stats.steps);
}

describe.each(solverNames('ode'))('ODE solver contract: %s', (name) => {
  const solver = getSolver(name) as RungeKutta;
  const N = 64;
  const T = 2;
  // Accuracy bound from the method's order (C = 3 covers every method here on this problem;
  // a broken stage or weight misses it by orders of magnitude).
  const bound = (h: number) => 3 * h ** solver.order + 1e-5;
  const tol = bound(T / N);

  it('is an explicit Runge–Kutta method with the documented metadata', () => {
    expect(solver).toBeInstanceOf(RungeKutta);
    expect(solver.kind).toBe('ode');
    expect(solver.name).toBe(name);
    expect(solver.stages).toBe(solver.tableau.c.length);
    expect(solver.adaptive).toBe(solver.tableau.bError !== undefined);
  });

  it('forward: matches exp(tA) y0, keeps shape [B, D], counts every evaluation', () => {
    const f = counted(lin.field);
    const s = expectNoLeak(
      () => solve({ term: f.fn, solver: name, t0: 0, t1: T, y0, steps: N }),
      (r) => {
        expect(r.y1.shape).toEqual([3, 2]);
        expect(r.y1.dtype).toBe('float32');
        expect(maxAbsDiff(rows(r.y1), exact(T))).toBeLessThan(tol);
        disposeSolution(r);
      },
    );
    expect(s.t1).toBe(T);
    expect(s.ts).toEqual([]);
    expect(s.ys).toBeUndefined();
    expectConsistentStats(s.stats, f.calls());
    expect(s.stats).toMatchObject({ steps: N, acceptedSteps: N, rejectedSteps: 0, initialStep: T / N, diffusionEvals: 0 });
    // FSAL methods pay s − 1 evaluations per step after the first.
    const perStep = solver.stages - (solver.fsal ? 1 : 0);
    expect(s.stats.nfe).toBe(perStep * N + (solver.fsal ? 1 : 0));
  });

  it('backward (t0 > t1): negative steps undo the forward solve', () => {
    const fwd = solve({ term: lin.field, solver: name, t0: 0, t1: T, y0, steps: N });
    const back = expectNoLeak(
      () => solve({ term: lin.field, solver: name, t0: T, t1: 0, y0: fwd.y1, steps: N }),
      (r) => {
        expect(r.y1.shape).toEqual([3, 2]);
        expect(r.stats.initialStep).toBeCloseTo(-T / N, 12);
        expect(maxAbsDiff(rows(r.y1), Y0)).toBeLessThan(3 * tol);
        disposeSolution(r);
      },
    );
    expect(back.t1).toBe(0);
    disposeSolution(fwd);
  });

  it('backward from t = 1 to 0 matches exp(−A) applied to y(1)', () => {
    const y1 = tf.tensor2d(exact(1));
    const r = solve({ term: lin.field, solver: name, t0: 1, t1: 0, y0: y1, dt0: -1 / 40 });
    expect(maxAbsDiff(rows(r.y1), Y0)).toBeLessThan(bound(1 / 40));
    expect(r.stats.steps).toBe(40);
    disposeSolution(r);
    y1.dispose();
  });

  it('saveat.ts: dense output between steps, exact at step ends, stacked [T, B, D]', () => {
    const ts = [0, 0.3, 0.77, 1, 1.5, T];
    const f = counted(lin.field);
    const s = solve({ term: f.fn, solver: name, t0: 0, t1: T, y0, steps: N / 2, saveat: { ts } });
    expect(s.ts).toEqual(ts);
    expect((s.ys as tf.Tensor).shape).toEqual([ts.length, 3, 2]);
    const ys = (s.ys as tf.Tensor).arraySync() as number[][][];
    expect(ys[0]).toEqual(rows(y0));
    expect(ys[ts.length - 1]).toEqual(rows(s.y1));
    const h = T / (N / 2);
    for (const [i, t] of ts.entries()) {
      // Global error of the method plus the interpolant's own error (Hermite: O(h^4)).
      expect(maxAbsDiff(ys[i], exact(t))).toBeLessThan(bound(h) + h ** 4 / 10);
    }
    expectConsistentStats(s.stats, f.calls());
    disposeSolution(s);
  });

  it('dense output inside a single step follows the local solution', () => {
    // One step of h = 0.25 from the exact y0: the interpolant may only be off by what the
    // step itself is off at its end (plus the interpolant's O(h^4) or better error).
    const h = 0.25;
    const ts = [0.05, 0.125, 0.2, h];
    const s = solve({ term: lin.field, solver: name, t0: 0, t1: h, y0, steps: 1, saveat: { ts } });
    const ys = (s.ys as tf.Tensor).arraySync() as number[][][];
    const endError = maxAbsDiff(ys[3], exact(h));
    for (const [i, t] of ts.slice(0, 3).entries()) {
      expect(maxAbsDiff(ys[i], exact(t))).toBeLessThan(1.5 * endError + h ** 4 / 50 + 1e-6);
    }
    disposeSolution(s);
  });

  it('saveat.ts backwards, with saveat.t0', () => {
    const y2 = tf.tensor2d(exact(T));
    const ts = [1.9, 1.25, 0.5, 0];
    const s = solve({ term: lin.field, solver: name, t0: T, t1: 0, y0: y2, steps: N, saveat: { ts, t0: true } });
    expect(s.ts).toEqual([T, ...ts]);
    const ys = (s.ys as tf.Tensor).arraySync() as number[][][];
    expect(ys[0]).toEqual(rows(y2));
    for (const [i, t] of ts.entries()) expect(maxAbsDiff(ys[i + 1], exact(t))).toBeLessThan(3 * tol);
    disposeSolution(s);
    y2.dispose();
  });

  it('saveat.steps: every step end, the last equal to y1', () => {
    const s = solve({ term: lin.field, solver: name, t0: 0, t1: T, y0, steps: 8, saveat: { steps: true, t0: true } });
    expect(s.ts).toHaveLength(9);
    s.ts.forEach((t, i) => {
      expect(t).toBeCloseTo((i * T) / 8, 12);
    });
    const ys = s.ys as tf.Tensor;
    expect(ys.shape).toEqual([9, 3, 2]);
    expect((ys.arraySync() as number[][][])[8]).toEqual(rows(s.y1));
    disposeSolution(s);
  });

  it('tuple and higher-rank states are integrated leaf by leaf', () => {
    // u' = −u on [B, 2, 2] and ℓ' = Σ u per sample: ℓ(t) = Σ u0 · (1 − e^{−t}).
    const u0 = tf.tensor3d([
      [
        [1, 2],
        [3, 4],
      ],
      [
        [-1, 0.5],
        [0, 2],
      ],
    ]);
    const l0 = tf.zeros([2]);
    const field = (_t: number, [u]: tf.Tensor[]) => [tf.neg(u), tf.sum(u, [1, 2])];
    const s = expectNoLeak(
      () => solve({ term: new ODETerm(field), solver: name, t0: 0, t1: 1, y0: [u0, l0], steps: 32, saveat: { ts: [0.5] } }),
      (r) => {
        const [u1, l1] = r.y1;
        expect(u1.shape).toEqual([2, 2, 2]);
        expect(l1.shape).toEqual([2]);
        const decay = Math.exp(-1);
        const uExp = (u0.arraySync() as number[][][]).map((m) => m.map((row) => row.map((v) => v * decay)));
        const tolT = bound(1 / 32);
        expect(maxAbsDiff(u1.arraySync(), uExp)).toBeLessThan(tolT);
        expect(maxAbsDiff(l1.arraySync(), [10 * (1 - decay), 1.5 * (1 - decay)])).toBeLessThan(10 * tolT);
        const [us, ls] = r.ys as tf.Tensor[];
        expect(us.shape).toEqual([1, 2, 2, 2]);
        expect(ls.shape).toEqual([1, 2]);
        disposeSolution(r);
      },
    );
    expect(s.stats.steps).toBe(32);
    tf.dispose([u0, l0]);
  });

  it('solveAsync gives the same numbers as solve', async () => {
    const a = solve({ term: lin.field, solver: name, t0: 0, t1: 1, y0, steps: 10, saveat: { ts: [0.55] } });
    const b = await solveAsync({ term: lin.field, solver: name, t0: 0, t1: 1, y0, steps: 10, saveat: { ts: [0.55] } });
    expect(rows(b.y1)).toEqual(rows(a.y1));
    expect((b.ys as tf.Tensor).arraySync()).toEqual((a.ys as tf.Tensor).arraySync());
    expect(b.stats).toEqual(a.stats);
    disposeSolution(a);
    disposeSolution(b);
  });

  if (solver.adaptive) {
    it('adaptive (PID, rtol = atol = 1e-5): accurate, both directions, dense saves, honest stats', () => {
      const f = counted(lin.field);
      const controller = new PIDController({ rtol: 1e-5, atol: 1e-5 });
      const ts = [0.25, 1.1, T];
      const s = expectNoLeak(
        () => solve({ term: f.fn, solver: name, t0: 0, t1: T, y0, controller, saveat: { ts } }),
        (r) => {
          expect(maxAbsDiff(rows(r.y1), exact(T))).toBeLessThan(3e-4);
          const ys = (r.ys as tf.Tensor).arraySync() as number[][][];
          for (const [i, t] of ts.entries()) expect(maxAbsDiff(ys[i], exact(t))).toBeLessThan(3e-4);
          disposeSolution(r);
        },
      );
      expectConsistentStats(s.stats, f.calls());
      expect(s.stats.acceptedSteps).toBeGreaterThan(1);
      const y2 = tf.tensor2d(exact(T));
      const back = solve({ term: lin.field, solver: name, t0: T, t1: 0, y0: y2, controller });
      expect(back.stats.initialStep).toBeLessThan(0);
      expect(maxAbsDiff(rows(back.y1), Y0)).toBeLessThan(3e-4);
      disposeSolution(back);
      y2.dispose();
    });
  } else {
    it('refuses a PID controller (no embedded error estimate)', () => {
      const controller = new PIDController({ rtol: 1e-5, atol: 1e-5 });
      expect(() => solve({ term: lin.field, solver: name, t0: 0, t1: 1, y0, controller })).toThrow(/no embedded error estimate/);
    });
  }
});

describe.each(solverNames('sde'))('SDE solver contract: %s', (name) => {
  const theta = 0.7;
  const ou = new SDETerm({ drift: (_t, y) => tf.mul(y, -theta), diffusion: (t) => tf.scalar(0.3 + 0.2 * t), additive: true });

  it('keeps shape, counts drift and diffusion evaluations, no leaks', () => {
    let drifts = 0;
    let diffs = 0;
    const term = new SDETerm({
      drift: (t, y) => {
        drifts++;
        return ou.drift(t, y);
      },
      diffusion: (t, y) => {
        diffs++;
        return ou.diffusion(t, y);
      },
      additive: true,
    });
    const s = expectNoLeak(
      () => solve({ term, solver: name, t0: 0, t1: 1, y0, steps: 20, seed: 1 }),
      (r) => {
        expect(r.y1.shape).toEqual([3, 2]);
        disposeSolution(r);
      },
    );
    expect(s.stats.nfe).toBe(drifts);
    expect(s.stats.diffusionEvals).toBe(diffs);
    expect(s.stats).toMatchObject({ steps: 20, acceptedSteps: 20, rejectedSteps: 0 });
  });

  it('is reproducible: same seed, same path; another seed, another path', () => {
    const run = (seed: number) => {
      const r = solve({ term: ou, solver: name, t0: 0, t1: 1, y0, steps: 10, seed });
      const v = rows(r.y1);
      r.y1.dispose();
      return v;
    };
    expect(run(7)).toEqual(run(7));
    expect(maxAbsDiff(run(7), run(8))).toBeGreaterThan(1e-3);
  });

  it('without noise it is a consistent ODE scheme (matches the exact flow)', () => {
    const still = new SDETerm({ drift: ou.drift, diffusion: () => tf.scalar(0), additive: true });
    const r = solve({ term: still, solver: name, t0: 0, t1: 1, y0, steps: 200, seed: 1 });
    const e = Math.exp(-theta);
    expect(
      maxAbsDiff(
        rows(r.y1),
        Y0.map((row) => row.map((v) => v * e)),
      ),
    ).toBeLessThan(2e-3);
    r.y1.dispose();
  });

  it('runs backwards (t0 > t1) with |h| variance increments', () => {
    const r = solve({ term: ou, solver: name, t0: 1, t1: 0, y0, steps: 10, seed: 2, saveat: { ts: [0.5, 0] } });
    expect(r.y1.shape).toEqual([3, 2]);
    expect(r.stats.initialStep).toBeCloseTo(-0.1, 12);
    expect(r.ts).toEqual([0.5, 0]);
    expect((r.ys as tf.Tensor).shape).toEqual([2, 3, 2]);
    expect(((r.ys as tf.Tensor).arraySync() as number[][][])[1]).toEqual(rows(r.y1));
    disposeSolution(r);
  });

  it('saves at step ends only', () => {
    const r = solve({ term: ou, solver: name, t0: 0, t1: 1, y0, steps: 4, seed: 3, saveat: { steps: true, t0: true } });
    expect(r.ts).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect((r.ys as tf.Tensor).shape).toEqual([5, 3, 2]);
    disposeSolution(r);
    expect(() => solve({ term: ou, solver: name, t0: 0, t1: 1, y0, steps: 4, seed: 3, saveat: { ts: [0.3] } })).toThrow(/not a step end/);
  });

  it('scalar noise drives every component of a sample with the same increment', () => {
    const term = new SDETerm({ drift: (_t, y) => tf.zerosLike(y), diffusion: () => tf.scalar(1), noise: 'scalar', additive: true });
    const zero = tf.zeros([4, 3]);
    const r = solve({ term, solver: name, t0: 0, t1: 1, y0: zero, steps: 5, seed: 9 });
    const v = rows(r.y1);
    for (const row of v) {
      expect(row[1]).toBe(row[0]);
      expect(row[2]).toBe(row[0]);
    }
    expect(new Set(v.map((row) => row[0])).size).toBe(4);
    disposeSolution(r);
    zero.dispose();
  });

  it('refuses adaptive steps, a missing seed and a mis-shaped Brownian path', () => {
    const controller = new PIDController({ rtol: 1e-3, atol: 1e-3 });
    expect(() => solve({ term: ou, solver: name, t0: 0, t1: 1, y0, controller, seed: 1 })).toThrow(
      /adaptive SDE stepping is not supported/,
    );
    expect(() => solve({ term: ou, solver: name, t0: 0, t1: 1, y0, steps: 4 })).toThrow(/seed/);
    const brownian = new BrownianIncrements({ shape: [3, 1], seed: 1 });
    expect(() => solve({ term: ou, solver: name, t0: 0, t1: 1, y0, steps: 4, brownian })).toThrow(/Brownian path has shape/);
    expect(() => solve({ term: lin.field, solver: name, t0: 0, t1: 1, y0, steps: 4 })).toThrow(/SDE solver/);
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
