/**
 * The solver contract: every ODE / SDE solver passes these checks unchanged (diffusers'
 * scheduler-contract idea). They pin what samplers and likelihood code rely on, through the
 * public {@link solve} API only: shapes, both directions, save-at semantics, honest stats and
 * no tensor leaks, with accuracy against exact solutions
 * (docs/maths/solvers.md#runge-kutta-tableaux, docs/maths/solvers.md#sde-solvers).
 *
 * ODE problem: the damped rotation y′ = A y, A = [[−0.3, −1], [1, −0.3]], for three rows y₀,
 * with the exact flow y(t) = exp(tA) y₀ (float64 matrix exponential). The accuracy bound of a
 * method of order p at step h is 3 hᵖ + 1e-5 (a broken stage or weight misses it by orders of
 * magnitude).
 *
 * SDE problem: the Ornstein–Uhlenbeck process dy = −0.7 y dt + (0.3 + 0.2t) dW (additive
 * noise).
 */
import * as tf from '@tensorflow/tfjs';
// The library through its public entry only: the build maps '../index.js' to '@nfdm/core', so
// the contract shares the caller's classes (RungeKutta, SDETerm, …) instead of bundling copies.
import {
  BrownianIncrements,
  getSolver,
  ODETerm,
  PIDController,
  RungeKutta,
  SDETerm,
  type SdeSolver,
  type Solution,
  type SolveStats,
  solve,
  solveAsync,
} from '../index.js';
import { type ContractCheck, check, maxAbsDiff } from './checks.js';
import { expm, type Mat, matVec, scale } from './linalg.js';

const A: Mat = [
  [-0.3, -1],
  [1, -0.3],
];
const Y0: Mat = [
  [1, 0],
  [0.3, -0.7],
  [2, 1],
];
const exact = (t: number): Mat => {
  const m = expm(scale(A, t));
  return Y0.map((v) => matVec(m, v));
};

/** The constant tensors of the problems, created on first use and kept (two small tensors). */
let fixture: { at: tf.Tensor; y0: tf.Tensor } | undefined;
function problem() {
  if (!fixture) {
    fixture = tf.tidy(() => ({ at: tf.keep(tf.tensor2d(A[0].map((_, j) => A.map((row) => row[j])))), y0: tf.keep(tf.tensor2d(Y0)) }));
  }
  const { at, y0 } = fixture;
  return { y0, field: (_t: number, y: tf.Tensor) => tf.matMul(y, at) };
}

const rows = (t: tf.Tensor): number[][] => t.arraySync() as number[][];

function counted<Args extends unknown[], R>(fn: (...args: Args) => R): { fn: (...args: Args) => R; calls: () => number } {
  let n = 0;
  return {
    fn: (...args: Args) => {
      n++;
      return fn(...args);
    },
    calls: () => n,
  };
}

/** Run `fn`, dispose what it returns via `cleanup`, and fail if a tensor leaked. */
function noLeak<T>(fn: () => T, cleanup: (value: T) => void): T {
  const before = tf.memory().numTensors;
  const value = fn();
  cleanup(value);
  const after = tf.memory().numTensors;
  check(after === before, `tensors leaked: ${after - before}`);
  return value;
}

const disposeSolution = (s: Solution<tf.Tensor | tf.Tensor[]>) => {
  tf.dispose([s.y1 as tf.Tensor | tf.Tensor[]]);
  if (s.ys !== undefined) tf.dispose([s.ys as tf.Tensor | tf.Tensor[]]);
};

function checkStats(stats: SolveStats, calls: number): void {
  check(stats.nfe === calls, `stats.nfe ${stats.nfe}, but the field was called ${calls} times`);
  check(
    stats.acceptedSteps + stats.rejectedSteps === stats.steps,
    `accepted ${stats.acceptedSteps} + rejected ${stats.rejectedSteps} ≠ steps ${stats.steps}`,
  );
}

function below(value: number, bound: number, what: string): void {
  check(value < bound, `${what}: ${value} is not < ${bound}`);
}

function equalJSON(a: unknown, b: unknown, what: string): void {
  check(JSON.stringify(a) === JSON.stringify(b), `${what}: ${JSON.stringify(a)} differs from ${JSON.stringify(b)}`);
}

function throwsMatching(fn: () => unknown, pattern: RegExp, what: string): void {
  try {
    fn();
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    check(pattern.test(message), `${what}: threw "${message}", expected a message matching ${pattern}`);
    return;
  }
  check(false, `${what}: did not throw (expected ${pattern})`);
}

const closeTo = (a: number, b: number, digits: number) => Math.abs(a - b) < 10 ** -digits / 2;

/**
 * The ODE solver contract for an explicit Runge–Kutta solver (a registered name or a
 * {@link RungeKutta} built from your own tableau).
 */
export function odeSolverChecks(solverOrName: RungeKutta | string): ContractCheck[] {
  const solver = typeof solverOrName === 'string' ? getSolver(solverOrName) : solverOrName;
  check(solver instanceof RungeKutta, `${solver.name} is not an ODE (Runge–Kutta) solver`);
  const N = 64;
  const T = 2;
  const bound = (h: number) => 3 * h ** solver.order + 1e-5;
  const tol = bound(T / N);
  const checks: ContractCheck[] = [
    {
      name: 'forward: matches exp(tA) y0, keeps shape [B, D], counts every evaluation',
      run() {
        const { y0, field } = problem();
        const f = counted(field);
        const s = noLeak(
          () => solve({ term: f.fn, solver, t0: 0, t1: T, y0, steps: N }),
          (r) => {
            equalJSON(r.y1.shape, [3, 2], 'y1 shape');
            check(r.y1.dtype === 'float32', `y1 dtype ${r.y1.dtype}`);
            below(maxAbsDiff(rows(r.y1), exact(T)), tol, 'error at t = 2');
            disposeSolution(r);
          },
        );
        check(s.t1 === T, `t1 ${s.t1}`);
        equalJSON(s.ts, [], 'ts without saveat');
        check(s.ys === undefined, 'ys without saveat must be undefined');
        checkStats(s.stats, f.calls());
        const { steps, acceptedSteps, rejectedSteps, initialStep, diffusionEvals } = s.stats;
        equalJSON(
          { steps, acceptedSteps, rejectedSteps, initialStep, diffusionEvals },
          { steps: N, acceptedSteps: N, rejectedSteps: 0, initialStep: T / N, diffusionEvals: 0 },
          'stats',
        );
        // FSAL methods pay s − 1 evaluations per step after the first.
        const perStep = solver.stages - (solver.fsal ? 1 : 0);
        check(s.stats.nfe === perStep * N + (solver.fsal ? 1 : 0), `nfe ${s.stats.nfe}, expected ${perStep * N + (solver.fsal ? 1 : 0)}`);
      },
    },
    {
      name: 'backward (t0 > t1): negative steps undo the forward solve',
      run() {
        const { y0, field } = problem();
        const fwd = solve({ term: field, solver, t0: 0, t1: T, y0, steps: N });
        try {
          const back = noLeak(
            () => solve({ term: field, solver, t0: T, t1: 0, y0: fwd.y1, steps: N }),
            (r) => {
              equalJSON(r.y1.shape, [3, 2], 'y1 shape');
              check(closeTo(r.stats.initialStep, -T / N, 12), `initialStep ${r.stats.initialStep}, expected ${-T / N}`);
              below(maxAbsDiff(rows(r.y1), Y0), 3 * tol, 'round-trip error');
              disposeSolution(r);
            },
          );
          check(back.t1 === 0, `t1 ${back.t1}`);
        } finally {
          disposeSolution(fwd);
        }
      },
    },
    {
      name: 'backward from t = 1 to 0 matches exp(−A) applied to y(1)',
      run() {
        const { field } = problem();
        const y1 = tf.tensor2d(exact(1));
        const r = solve({ term: field, solver, t0: 1, t1: 0, y0: y1, dt0: -1 / 40 });
        try {
          below(maxAbsDiff(rows(r.y1), Y0), bound(1 / 40), 'error at t = 0');
          check(r.stats.steps === 40, `steps ${r.stats.steps}, expected 40`);
        } finally {
          disposeSolution(r);
          y1.dispose();
        }
      },
    },
    {
      name: 'saveat.ts: dense output between steps, exact at step ends, stacked [T, B, D]',
      run() {
        const { y0, field } = problem();
        const ts = [0, 0.3, 0.77, 1, 1.5, T];
        const f = counted(field);
        const s = solve({ term: f.fn, solver, t0: 0, t1: T, y0, steps: N / 2, saveat: { ts } });
        try {
          equalJSON(s.ts, ts, 'ts');
          equalJSON((s.ys as tf.Tensor).shape, [ts.length, 3, 2], 'ys shape');
          const ys = (s.ys as tf.Tensor).arraySync() as number[][][];
          equalJSON(ys[0], rows(y0), 'ys[0] = y0');
          equalJSON(ys[ts.length - 1], rows(s.y1), 'ys[last] = y1');
          const h = T / (N / 2);
          for (const [i, t] of ts.entries()) {
            // Global error of the method plus the interpolant's own error (Hermite: O(h^4)).
            below(maxAbsDiff(ys[i], exact(t)), bound(h) + h ** 4 / 10, `error at t = ${t}`);
          }
          checkStats(s.stats, f.calls());
        } finally {
          disposeSolution(s);
        }
      },
    },
    {
      name: 'dense output inside a single step follows the local solution',
      run() {
        // One step of h = 0.25 from the exact y0: the interpolant may only be off by what the
        // step itself is off at its end (plus the interpolant's O(h^4) or better error).
        const { y0, field } = problem();
        const h = 0.25;
        const ts = [0.05, 0.125, 0.2, h];
        const s = solve({ term: field, solver, t0: 0, t1: h, y0, steps: 1, saveat: { ts } });
        try {
          const ys = (s.ys as tf.Tensor).arraySync() as number[][][];
          const endError = maxAbsDiff(ys[3], exact(h));
          for (const [i, t] of ts.slice(0, 3).entries()) {
            below(maxAbsDiff(ys[i], exact(t)), 1.5 * endError + h ** 4 / 50 + 1e-6, `error at t = ${t}`);
          }
        } finally {
          disposeSolution(s);
        }
      },
    },
    {
      name: 'saveat.ts backwards, with saveat.t0',
      run() {
        const { field } = problem();
        const y2 = tf.tensor2d(exact(T));
        const ts = [1.9, 1.25, 0.5, 0];
        const s = solve({ term: field, solver, t0: T, t1: 0, y0: y2, steps: N, saveat: { ts, t0: true } });
        try {
          equalJSON(s.ts, [T, ...ts], 'ts');
          const ys = (s.ys as tf.Tensor).arraySync() as number[][][];
          equalJSON(ys[0], rows(y2), 'ys[0] = y0');
          for (const [i, t] of ts.entries()) below(maxAbsDiff(ys[i + 1], exact(t)), 3 * tol, `error at t = ${t}`);
        } finally {
          disposeSolution(s);
          y2.dispose();
        }
      },
    },
    {
      name: 'saveat.steps: every step end, the last equal to y1',
      run() {
        const { y0, field } = problem();
        const s = solve({ term: field, solver, t0: 0, t1: T, y0, steps: 8, saveat: { steps: true, t0: true } });
        try {
          check(s.ts.length === 9, `${s.ts.length} saved times, expected 9`);
          s.ts.forEach((t, i) => {
            check(closeTo(t, (i * T) / 8, 12), `ts[${i}] = ${t}, expected ${(i * T) / 8}`);
          });
          const ys = s.ys as tf.Tensor;
          equalJSON(ys.shape, [9, 3, 2], 'ys shape');
          equalJSON((ys.arraySync() as number[][][])[8], rows(s.y1), 'ys[last] = y1');
        } finally {
          disposeSolution(s);
        }
      },
    },
    {
      name: 'tuple and higher-rank states are integrated leaf by leaf',
      run() {
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
        try {
          const field = (_t: number, [u]: tf.Tensor[]) => [tf.neg(u), tf.sum(u, [1, 2])];
          const s = noLeak(
            () => solve({ term: new ODETerm(field), solver, t0: 0, t1: 1, y0: [u0, l0], steps: 32, saveat: { ts: [0.5] } }),
            (r) => {
              const [u1, l1] = r.y1;
              try {
                equalJSON(u1.shape, [2, 2, 2], 'u1 shape');
                equalJSON(l1.shape, [2], 'ℓ1 shape');
                const decay = Math.exp(-1);
                const uExp = (u0.arraySync() as number[][][]).map((m) => m.map((row) => row.map((v) => v * decay)));
                const tolT = bound(1 / 32);
                below(maxAbsDiff(u1.arraySync(), uExp), tolT, 'u error');
                below(maxAbsDiff(l1.arraySync(), [10 * (1 - decay), 1.5 * (1 - decay)]), 10 * tolT, 'ℓ error');
                const [us, ls] = r.ys as tf.Tensor[];
                equalJSON(us.shape, [1, 2, 2, 2], 'us shape');
                equalJSON(ls.shape, [1, 2], 'ℓs shape');
              } finally {
                disposeSolution(r);
              }
            },
          );
          check(s.stats.steps === 32, `steps ${s.stats.steps}, expected 32`);
        } finally {
          tf.dispose([u0, l0]);
        }
      },
    },
  ];
  if (solver.adaptive) {
    checks.push({
      name: 'adaptive (PID, rtol = atol = 1e-5): accurate, both directions, dense saves, honest stats',
      run() {
        const { y0, field } = problem();
        const f = counted(field);
        const controller = new PIDController({ rtol: 1e-5, atol: 1e-5 });
        const ts = [0.25, 1.1, T];
        const s = noLeak(
          () => solve({ term: f.fn, solver, t0: 0, t1: T, y0, controller, saveat: { ts } }),
          (r) => {
            try {
              below(maxAbsDiff(rows(r.y1), exact(T)), 3e-4, 'error at t = 2');
              const ys = (r.ys as tf.Tensor).arraySync() as number[][][];
              for (const [i, t] of ts.entries()) below(maxAbsDiff(ys[i], exact(t)), 3e-4, `error at t = ${t}`);
            } finally {
              disposeSolution(r);
            }
          },
        );
        checkStats(s.stats, f.calls());
        check(s.stats.acceptedSteps > 1, `accepted steps ${s.stats.acceptedSteps}, expected > 1`);
        const y2 = tf.tensor2d(exact(T));
        const back = solve({ term: field, solver, t0: T, t1: 0, y0: y2, controller });
        try {
          check(back.stats.initialStep < 0, `initialStep ${back.stats.initialStep}, expected < 0`);
          below(maxAbsDiff(rows(back.y1), Y0), 3e-4, 'error at t = 0');
        } finally {
          disposeSolution(back);
          y2.dispose();
        }
      },
    });
  } else {
    checks.push({
      name: 'refuses a PID controller (no embedded error estimate)',
      run() {
        const { y0, field } = problem();
        const controller = new PIDController({ rtol: 1e-5, atol: 1e-5 });
        throwsMatching(() => solve({ term: field, solver, t0: 0, t1: 1, y0, controller }), /no embedded error estimate/, 'PID controller');
      },
    });
  }
  checks.push({
    name: 'solveAsync gives the same numbers as solve',
    async run() {
      const { y0, field } = problem();
      const a = solve({ term: field, solver, t0: 0, t1: 1, y0, steps: 10, saveat: { ts: [0.55] } });
      const b = await solveAsync({ term: field, solver, t0: 0, t1: 1, y0, steps: 10, saveat: { ts: [0.55] } });
      try {
        equalJSON(rows(b.y1), rows(a.y1), 'y1');
        equalJSON((b.ys as tf.Tensor).arraySync(), (a.ys as tf.Tensor).arraySync(), 'ys');
        equalJSON(b.stats, a.stats, 'stats');
      } finally {
        disposeSolution(a);
        disposeSolution(b);
      }
    },
  });
  return checks;
}

/** The SDE solver contract for a fixed-step SDE solver (a registered name or an instance). */
export function sdeSolverChecks(solverOrName: SdeSolver | string): ContractCheck[] {
  const solver = typeof solverOrName === 'string' ? getSolver(solverOrName) : solverOrName;
  check(solver.kind === 'sde', `${solver.name} is not an SDE solver`);
  const theta = 0.7;
  const ou = new SDETerm({ drift: (_t, y) => tf.mul(y, -theta), diffusion: (t) => tf.scalar(0.3 + 0.2 * t), additive: true });
  return [
    {
      name: 'keeps shape, counts drift and diffusion evaluations, no leaks',
      run() {
        const { y0 } = problem();
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
        const s = noLeak(
          () => solve({ term, solver, t0: 0, t1: 1, y0, steps: 20, seed: 1 }),
          (r) => {
            equalJSON(r.y1.shape, [3, 2], 'y1 shape');
            disposeSolution(r);
          },
        );
        check(s.stats.nfe === drifts, `stats.nfe ${s.stats.nfe}, drift called ${drifts} times`);
        check(s.stats.diffusionEvals === diffs, `stats.diffusionEvals ${s.stats.diffusionEvals}, diffusion called ${diffs} times`);
        const { steps, acceptedSteps, rejectedSteps } = s.stats;
        equalJSON({ steps, acceptedSteps, rejectedSteps }, { steps: 20, acceptedSteps: 20, rejectedSteps: 0 }, 'stats');
      },
    },
    {
      name: 'is reproducible: same seed, same path; another seed, another path',
      run() {
        const { y0 } = problem();
        const run = (seed: number) => {
          const r = solve({ term: ou, solver, t0: 0, t1: 1, y0, steps: 10, seed });
          const v = rows(r.y1);
          r.y1.dispose();
          return v;
        };
        equalJSON(run(7), run(7), 'seed 7 twice');
        check(maxAbsDiff(run(7), run(8)) > 1e-3, 'seeds 7 and 8 give the same path');
      },
    },
    {
      name: 'without noise it is a consistent ODE scheme (matches the exact flow)',
      run() {
        const { y0 } = problem();
        const still = new SDETerm({ drift: ou.drift, diffusion: () => tf.scalar(0), additive: true });
        const r = solve({ term: still, solver, t0: 0, t1: 1, y0, steps: 200, seed: 1 });
        try {
          const e = Math.exp(-theta);
          below(
            maxAbsDiff(
              rows(r.y1),
              Y0.map((row) => row.map((v) => v * e)),
            ),
            2e-3,
            'error at t = 1',
          );
        } finally {
          r.y1.dispose();
        }
      },
    },
    {
      name: 'runs backwards (t0 > t1) with |h| variance increments',
      run() {
        const { y0 } = problem();
        const r = solve({ term: ou, solver, t0: 1, t1: 0, y0, steps: 10, seed: 2, saveat: { ts: [0.5, 0] } });
        try {
          equalJSON(r.y1.shape, [3, 2], 'y1 shape');
          check(closeTo(r.stats.initialStep, -0.1, 12), `initialStep ${r.stats.initialStep}, expected −0.1`);
          equalJSON(r.ts, [0.5, 0], 'ts');
          equalJSON((r.ys as tf.Tensor).shape, [2, 3, 2], 'ys shape');
          equalJSON(((r.ys as tf.Tensor).arraySync() as number[][][])[1], rows(r.y1), 'ys[last] = y1');
        } finally {
          disposeSolution(r);
        }
      },
    },
    {
      name: 'saves at step ends only',
      run() {
        const { y0 } = problem();
        const r = solve({ term: ou, solver, t0: 0, t1: 1, y0, steps: 4, seed: 3, saveat: { steps: true, t0: true } });
        try {
          equalJSON(r.ts, [0, 0.25, 0.5, 0.75, 1], 'ts');
          equalJSON((r.ys as tf.Tensor).shape, [5, 3, 2], 'ys shape');
        } finally {
          disposeSolution(r);
        }
        throwsMatching(
          () => solve({ term: ou, solver, t0: 0, t1: 1, y0, steps: 4, seed: 3, saveat: { ts: [0.3] } }),
          /not a step end/,
          'saveat between step ends',
        );
      },
    },
    {
      name: 'scalar noise drives every component of a sample with the same increment',
      run() {
        const term = new SDETerm({ drift: (_t, y) => tf.zerosLike(y), diffusion: () => tf.scalar(1), noise: 'scalar', additive: true });
        const zero = tf.zeros([4, 3]);
        const r = solve({ term, solver, t0: 0, t1: 1, y0: zero, steps: 5, seed: 9 });
        try {
          const v = rows(r.y1);
          for (const row of v) check(row[1] === row[0] && row[2] === row[0], `components of a row differ: ${row}`);
          check(new Set(v.map((row) => row[0])).size === 4, 'two samples got the same increment');
        } finally {
          disposeSolution(r);
          zero.dispose();
        }
      },
    },
    {
      name: 'refuses adaptive steps, a missing seed and a mis-shaped Brownian path',
      run() {
        const { y0, field } = problem();
        const controller = new PIDController({ rtol: 1e-3, atol: 1e-3 });
        throwsMatching(
          () => solve({ term: ou, solver, t0: 0, t1: 1, y0, controller, seed: 1 }),
          /adaptive SDE stepping is not supported/,
          'PID controller',
        );
        throwsMatching(() => solve({ term: ou, solver, t0: 0, t1: 1, y0, steps: 4 }), /seed/, 'missing seed');
        const brownian = new BrownianIncrements({ shape: [3, 1], seed: 1 });
        throwsMatching(
          () => solve({ term: ou, solver, t0: 0, t1: 1, y0, steps: 4, brownian }),
          /Brownian path has shape/,
          'Brownian shape',
        );
        throwsMatching(() => solve({ term: field, solver, t0: 0, t1: 1, y0, steps: 4 }), /SDE solver/, 'ODE term');
      },
    },
  ];
}
