/**
 * `solve()`: the one entry point joining a term, a solver, a step-size controller and a
 * save-at (diffrax's `diffeqsolve`).
 *
 * Contract:
 * - Times are JS numbers (float64); states are float32 tensors `[B, ...]` or tuples of them.
 * - Integration runs in either direction (`t0 > t1` gives negative steps).
 * - Each step runs inside one `tf.tidy`. Reads from the device: one scalar per attempted
 *   step for adaptive solves (the error norm, which also detects NaN/Inf); for fixed-step
 *   solves one boolean every `finiteCheckEvery` steps and at the end; plus one read of
 *   `isFinite(y0)` at the start and two for Hairer's initial step.
 * - Every returned tensor is owned by the caller; nothing else survives the solve, also when
 *   it throws.
 *
 * `solve` reads with `dataSync()`; {@link solveAsync} is the same loop reading with
 * `await data()` (for backends where a blocking read is costly, e.g. WebGL).
 */
import * as tf from '@tensorflow/tfjs';
import { BrownianIncrements, type BrownianPath } from './brownian.js';
import { ConstantStepSize, type StepProblem, type StepSizeController } from './controllers.js';
import { MaxStepsExceededError, NonFiniteStateError, StepSizeUnderflowError } from './errors.js';
import { getSolver, type Solver } from './registry.js';
import { RungeKutta } from './rk.js';
import { allAlive, deadRows, freezeRows, rowsFinite, zeroRows } from './rows.js';
import { type NormalizedSaveAt, normalizeSaveAt, type SaveAt, timeTolerance } from './saveat.js';
import { isSdeSolver, type SdeEvalCounter, type SdeSolver } from './sde.js';
import {
  allFinite,
  assertSameStructure,
  assertValidState,
  cloneState,
  disposeState,
  keepState,
  type StateTree,
  stackStates,
} from './state.js';
import { noiseShape, ODETerm, SDETerm, type VectorField } from './terms.js';

/** Arguments of {@link solve}. */
export interface SolveOptions<Y extends StateTree = tf.Tensor> {
  /** What to integrate: an {@link ODETerm}, an {@link SDETerm}, or a bare vector field (→ ODE). */
  term: ODETerm<Y> | SDETerm | VectorField<Y>;
  /** A solver instance, or a registry name such as `'dopri5'` (see {@link getSolver}). */
  solver: Solver | string;
  /** Start time. */
  t0: number;
  /** End time (`t1 < t0` integrates backwards; `t1 == t0` is an error). */
  t1: number;
  /** Initial state (float32; not modified or disposed). */
  y0: Y;
  /** Constant steps: number of equal steps. Exclusive with `dt0` for {@link ConstantStepSize}. */
  steps?: number;
  /**
   * Constant steps: the step (sign must match `t1 − t0`; the last step is shortened to end
   * at `t1`). Adaptive: the first step (default: Hairer's initial step).
   */
  dt0?: number;
  /** Default {@link ConstantStepSize}; any {@link StepSizeController} (also your own). */
  controller?: StepSizeController;
  /** What to save besides the final state (see {@link SaveAt}). */
  saveat?: SaveAt;
  /** Budget of attempted steps (accepted + rejected); default 10 000. */
  maxSteps?: number;
  /**
   * Fixed-step solves: read `isFinite(y)` every this many steps (and after the last);
   * `0` checks only after the last step. Default 100. Adaptive solves check every step for
   * free (folded into the error norm).
   */
  finiteCheckEvery?: number;
  /** SDE only: the Brownian path (its shape must be the noise shape). */
  brownian?: BrownianPath;
  /** SDE only: seed for fresh {@link BrownianIncrements} when `brownian` is not given. */
  seed?: number;
  /**
   * What a NaN/±Inf state does. `'error'` (default): the solve stops with a
   * {@link NonFiniteStateError}. `'freeze-rows'` (single-tensor states `[B, ...]` only): each
   * row (sample) is integrated on its own account — a row that turns non-finite is frozen at its
   * last finite value for the rest of the solve and listed in {@link Solution.nonFiniteRows},
   * while the other rows go on. Fixed steps: no extra reads. Adaptive steps: a trial step that
   * makes rows non-finite is first retried with smaller steps (as in `'error'` mode); rows still
   * non-finite after those retries are frozen, and the error norm covers the live rows only.
   */
  nonFinite?: 'error' | 'freeze-rows';
  /** Called after every accepted step with its end time and the count of accepted steps (progress). */
  onStep?: (t: number, acceptedSteps: number) => void;
}

/** Counters of a solve. */
export interface SolveStats {
  /** Vector-field (drift) evaluations, including the initial-step probe and dense-output slopes. */
  nfe: number;
  /** Diffusion evaluations (SDE solves; 0 for ODEs). */
  diffusionEvals: number;
  /** Attempted steps = accepted + rejected. */
  steps: number;
  acceptedSteps: number;
  rejectedSteps: number;
  /** Size of the first attempted step (signed). */
  initialStep: number;
}

/** Result of {@link solve}. All tensors are owned by the caller. */
export interface Solution<Y extends StateTree = tf.Tensor> {
  /** The end time (equals the `t1` argument). */
  t1: number;
  /** State at `t1`. */
  y1: Y;
  /** Times of the saved states (empty when nothing was asked for). */
  ts: number[];
  /** Saved states stacked along a new leading axis (`[T, ...]` per leaf); `undefined` if none. */
  ys: Y | undefined;
  stats: SolveStats;
  /**
   * With `nonFinite: 'freeze-rows'`: the rows (ascending indices) that turned NaN/±Inf and were
   * frozen at their last finite value (their `y1` row is that value, not a solution at `t1`).
   */
  nonFiniteRows?: number[];
}

type Reader = Generator<tf.Tensor, unknown, ArrayLike<number>>;
type Loop<R> = Generator<tf.Tensor, R, ArrayLike<number>>;

/**
 * Integrate a term from `t0` to `t1`.
 *
 * **Arguments:** see {@link SolveOptions}. Typical calls:
 * `solve({ term: f, solver: 'dopri5', t0: 0, t1: 1, y0, controller: new PIDController({ rtol: 1e-5, atol: 1e-5 }) })`,
 * `solve({ term: f, solver: 'rk4', t0: 1, t1: 0, y0, steps: 50 })`,
 * `solve({ term: new SDETerm({...}), solver: 'euler_maruyama', t0: 1, t1: 0, y0, steps: 500, seed: 1 })`.
 *
 * **Returns:** {@link Solution}.
 *
 * **Raises:** `TypeError`/`RangeError` for bad arguments (before any work);
 * {@link StepSizeUnderflowError}, {@link MaxStepsExceededError}, {@link NonFiniteStateError}
 * during the solve.
 */
export function solve<Y extends StateTree = tf.Tensor>(options: SolveOptions<Y>): Solution<Y> {
  return runSync(solveLoop(options));
}

/** {@link solve} with asynchronous reads (`await tensor.data()`); same arguments and results. */
export function solveAsync<Y extends StateTree = tf.Tensor>(options: SolveOptions<Y>): Promise<Solution<Y>> {
  return runAsync(solveLoop(options));
}

/** Drive a solve loop, reading each yielded tensor synchronously. */
export function runSync<R>(loop: Loop<R>): R {
  let input: ArrayLike<number> = [];
  for (;;) {
    const r = loop.next(input);
    if (r.done) return r.value;
    const tensor = r.value;
    try {
      input = tensor.dataSync();
    } catch (error) {
      (loop as Reader).return(undefined);
      throw error;
    } finally {
      tensor.dispose();
    }
  }
}

/** Drive a solve loop, reading each yielded tensor with `await data()`. */
export async function runAsync<R>(loop: Loop<R>): Promise<R> {
  let input: ArrayLike<number> = [];
  for (;;) {
    const r = loop.next(input);
    if (r.done) return r.value;
    const tensor = r.value;
    try {
      input = await tensor.data();
    } catch (error) {
      (loop as Reader).return(undefined);
      throw error;
    } finally {
      tensor.dispose();
    }
  }
}

interface Prepared<Y extends StateTree> {
  t0: number;
  t1: number;
  y0: Y;
  saveat: NormalizedSaveAt;
  maxSteps: number;
  finiteCheckEvery: number;
  controller: StepSizeController;
  /** What the controller was told (its `init` has accepted it). */
  problem: StepProblem;
  /** The controller's initial state. */
  controllerState: unknown;
}

const CONTROLLER_METHODS = ['init', 'firstStep', 'stepEnd', 'errorNorm', 'adapt'] as const;

/** The controller, or a `TypeError` if it does not implement {@link StepSizeController}. */
function checkController(controller: unknown): StepSizeController {
  const c = controller as Record<string, unknown> | null;
  if (
    typeof c !== 'object' ||
    c === null ||
    typeof c.needsErrorEstimate !== 'boolean' ||
    CONTROLLER_METHODS.some((m) => typeof c[m] !== 'function')
  ) {
    throw new TypeError(
      `controller must be a StepSizeController (ConstantStepSize, PIDController, or an object with needsErrorEstimate and ${CONTROLLER_METHODS.join(', ')})`,
    );
  }
  return controller as StepSizeController;
}

function checkTime(name: string, t: unknown): number {
  if (typeof t !== 'number' || !Number.isFinite(t)) throw new RangeError(`${name} must be a finite number, got ${String(t)}`);
  return t;
}

function prepareCommon<Y extends StateTree>(o: SolveOptions<Y>, errorOrder: number | undefined, solverName: string): Prepared<Y> {
  const t0 = checkTime('t0', o.t0);
  const t1 = checkTime('t1', o.t1);
  if (t0 === t1) throw new RangeError(`t0 == t1 (${t0}): nothing to integrate`);
  assertValidState(o.y0);
  const controller = checkController(o.controller ?? new ConstantStepSize());
  const maxSteps = o.maxSteps ?? 10_000;
  if (!Number.isInteger(maxSteps) || maxSteps < 1) throw new RangeError(`maxSteps must be a positive integer, got ${maxSteps}`);
  const finiteCheckEvery = o.finiteCheckEvery ?? 100;
  if (!Number.isInteger(finiteCheckEvery) || finiteCheckEvery < 0) {
    throw new RangeError(`finiteCheckEvery must be a non-negative integer, got ${finiteCheckEvery}`);
  }
  const span = t1 - t0;
  if (o.steps !== undefined && (!Number.isInteger(o.steps) || o.steps < 1)) {
    throw new RangeError(`steps must be a positive integer, got ${o.steps}`);
  }
  if (o.dt0 !== undefined) {
    if (typeof o.dt0 !== 'number' || !Number.isFinite(o.dt0) || o.dt0 === 0) {
      throw new RangeError(`dt0 must be a finite non-zero number, got ${o.dt0}`);
    }
    if (Math.sign(o.dt0) !== Math.sign(span)) {
      throw new RangeError(`dt0 = ${o.dt0} points away from t1 (integrating from ${t0} to ${t1})`);
    }
  }
  const saveat = normalizeSaveAt(o.saveat, t0, t1);
  const problem: StepProblem = { t0, t1, steps: o.steps, dt0: o.dt0, maxSteps, solverName, errorOrder };
  const controllerState = controller.init(problem);
  if (controller.needsErrorEstimate && errorOrder === undefined) {
    throw new TypeError(`solver '${solverName}' has no embedded error estimate, so this controller cannot adapt its steps`);
  }
  return { t0, t1, y0: o.y0, saveat, maxSteps, finiteCheckEvery, controller, problem, controllerState };
}

function resolveSolver(solver: Solver | string): Solver {
  if (typeof solver === 'string') return getSolver(solver);
  if (solver instanceof RungeKutta || isSdeSolver(solver)) return solver;
  throw new TypeError('solver must be a solver instance or a name such as "dopri5"');
}

function* solveLoop<Y extends StateTree>(o: SolveOptions<Y>): Loop<Solution<Y>> {
  if (typeof o !== 'object' || o === null) throw new TypeError('solve() needs an options object');
  const solver = resolveSolver(o.solver);
  const term = typeof o.term === 'function' ? new ODETerm(o.term) : o.term;
  if (term instanceof SDETerm) {
    if (!isSdeSolver(solver)) {
      throw new TypeError(
        `solver '${solver.name}' is an ODE solver but the term is an SDETerm; use euler_maruyama, stochastic_heun or sra1`,
      );
    }
    return (yield* sdeLoop(o as unknown as SolveOptions<tf.Tensor>, term, solver)) as unknown as Solution<Y>;
  }
  if (!(term instanceof ODETerm)) throw new TypeError('term must be an ODETerm, an SDETerm or a vector field function');
  if (!(solver instanceof RungeKutta)) {
    throw new TypeError(`solver '${solver.name}' is an SDE solver but the term is an ODE; use an SDETerm or an ODE solver`);
  }
  return yield* odeLoop(o, term, solver);
}

function newStats(): SolveStats {
  return { nfe: 0, diffusionEvals: 0, steps: 0, acceptedSteps: 0, rejectedSteps: 0, initialStep: 0 };
}

/** Saved states, in order, owned until handed to the caller. */
class Saves<Y extends StateTree> {
  readonly ts: number[] = [];
  readonly ys: Y[] = [];
  push(t: number, y: Y): void {
    this.ts.push(t);
    this.ys.push(y);
  }
  dispose(): void {
    for (const y of this.ys) disposeState(y);
    this.ys.length = 0;
  }
  /**
   * Stack and release the per-time states. The stacked result is created in the caller's
   * scope (not `tf.keep`-ed), so a caller's own `tf.tidy` manages it as usual.
   */
  take(): Y | undefined {
    if (this.ys.length === 0) return undefined;
    const stacked = tf.tidy(() => stackStates(this.ys));
    this.dispose();
    return stacked;
  }
}

/** Consecutive non-finite trial steps tolerated (each shrinks h by factorMin) before giving up. */
const MAX_NON_FINITE_RETRIES = 5;
/** A step-size underflow within this many steps of a non-finite trial is reported as non-finite. */
const NON_FINITE_MEMORY = 50;

/** Check `nonFinite` and `onStep`; whether rows freeze. */
function freezeMode<Y extends StateTree>(o: SolveOptions<Y>): boolean {
  if (o.onStep !== undefined && typeof o.onStep !== 'function') throw new TypeError('onStep must be a function');
  if (o.nonFinite === undefined || o.nonFinite === 'error') return false;
  if (o.nonFinite !== 'freeze-rows') throw new TypeError(`nonFinite must be 'error' or 'freeze-rows', got '${String(o.nonFinite)}'`);
  if (Array.isArray(o.y0) || (o.y0 as tf.Tensor).rank < 1) {
    throw new TypeError("nonFinite: 'freeze-rows' needs a single-tensor state [B, ...] (rows are its first axis)");
  }
  return true;
}

/** The indices of the dead rows of an alive mask (one read). */
function* readDeadRows(alive: tf.Tensor): Loop<number[]> {
  return deadRows(yield tf.tidy(() => tf.cast(alive, 'float32')));
}

function* checkInitialFinite<Y extends StateTree>(y0: Y, t0: number): Loop<void> {
  const [ok] = Array.from(yield tf.tidy(() => allFinite(y0)));
  if (!ok) throw new NonFiniteStateError(t0, 0, 'the initial state y0 contains NaN or Inf', undefined);
}

function* odeLoop<Y extends StateTree>(o: SolveOptions<Y>, term: ODETerm<Y>, solver: RungeKutta): Loop<Solution<Y>> {
  const p = prepareCommon(o, solver.adaptive ? solver.errorOrder : undefined, solver.name);
  const freeze = freezeMode(o);
  const { t0, t1, saveat, maxSteps } = p;
  const dir = Math.sign(t1 - t0);
  const tol = timeTolerance(t0, t1);
  const stats = newStats();
  const f: VectorField<Y> = (t, y) => {
    stats.nfe++;
    const out = term.vf(t, y);
    assertSameStructure(out, y, 'the vector field');
    return out;
  };
  const controller = p.controller;
  /** Whether each attempted step computes and reads an error norm (which also detects NaN/Inf). */
  const adaptive = controller.needsErrorEstimate;

  const saves = new Saves<Y>();
  let y: Y | undefined;
  /** f(t, y) when known (owned). */
  let k1: Y | undefined;
  /** Tensors of the step in flight (owned until accepted or rejected). */
  let pending: StateTree[] = [];
  const releasePending = () => {
    for (const x of pending) disposeState(x);
    pending = [];
  };
  /** freeze-rows: `[B]` bool, rows still finite (owned). */
  let alive: tf.Tensor | undefined;
  /** freeze-rows, adaptive: the rows finite in the step in flight (owned until used). */
  let aliveTrial: tf.Tensor | undefined;
  let finished = false;
  try {
    yield* checkInitialFinite(p.y0, t0);
    if (freeze) alive = tf.keep(tf.tidy(() => allAlive((p.y0 as tf.Tensor).shape[0])));
    y = cloneState(p.y0);
    if (saveat.t0) saves.push(t0, cloneState(y));
    let si = 0;
    while (si < saveat.ts.length && saveat.ts[si] === t0) {
      saves.push(t0, cloneState(y));
      si++;
    }

    let t = t0;
    const first = yield* controller.firstStep(f, y, p.controllerState);
    let cs = first.state;
    if (first.f0 !== undefined) k1 = first.f0;
    stats.initialStep = first.h;
    let nonFiniteStreak = 0;
    let lastNonFiniteStep = Number.NEGATIVE_INFINITY;
    let lastCheckedStep = 0;
    let lastFiniteT = t0;

    for (let n = 0; ; ) {
      // --- choose the step [t, tEnd] ---
      if (t === t1) break;
      if (stats.steps >= maxSteps) {
        throw new MaxStepsExceededError(t, stats.steps, `reached maxSteps = ${maxSteps} before t1 = ${t1}`, maxSteps);
      }
      let tEnd: number;
      try {
        tEnd = controller.stepEnd(t, cs, stats.steps);
      } catch (error) {
        if (error instanceof StepSizeUnderflowError && stats.steps - lastNonFiniteStep <= NON_FINITE_MEMORY) {
          // Shrinking was driven by NaN/Inf trials just ahead of t: say so, not "underflow".
          throw new NonFiniteStateError(
            t,
            stats.steps,
            `the solution (or the vector field) becomes NaN or Inf just after t = ${t}; the step size shrank to ${Math.abs(error.h)} without getting past it`,
            t,
          );
        }
        throw error;
      }
      const hStep = tEnd - t;
      const nextSave = si < saveat.ts.length ? saveat.ts[si] : undefined;
      const wantDense = nextSave !== undefined && dir * (nextSave - tEnd) < -tol;

      // --- one step, in one tidy ---
      let y1: Y | undefined;
      let kFirst: Y | undefined;
      let kLast: Y | undefined;
      let stagesKept: Y[] | undefined;
      let errTensor: tf.Tensor | undefined;
      const yCur = y;
      const kCur = k1;
      const aliveCur = alive;
      tf.tidy(() => {
        const r = solver.step(f, t, tEnd, yCur, kCur, adaptive);
        y1 = keepState(r.y1);
        if (kCur === undefined) kFirst = keepState(r.stages[0]);
        if (solver.fsal) kLast = keepState(r.stages[r.stages.length - 1]);
        if (wantDense && solver.denseNeedsAllStages) stagesKept = r.stages.map((s) => keepState(s));
        if (adaptive && freeze) {
          // The error of the rows that stay finite, and how many live rows did not.
          const [yc, y1t, errt, live] = [yCur, r.y1, r.yError, aliveCur] as tf.Tensor[];
          const ok = tf.logicalAnd(live, tf.logicalAnd(rowsFinite(y1t), rowsFinite(errt)));
          const okCount = tf.sum(tf.cast(ok, 'float32')) as tf.Scalar;
          const lost = tf.sub(tf.sum(tf.cast(live, 'float32')), okCount);
          const e = controller.errorNorm(yc, freezeRows(ok, y1t, yc), zeroRows(ok, errt), { count: okCount, total: ok.shape[0] as number });
          errTensor = tf.keep(tf.stack([e, lost]));
          aliveTrial = tf.keep(ok);
        } else if (adaptive) errTensor = tf.keep(controller.errorNorm(yCur, r.y1, r.yError as Y));
      });
      if (kFirst !== undefined) k1 = kFirst;
      pending = [y1 as Y, ...(kLast ? [kLast] : []), ...(stagesKept ?? [])];
      stats.steps++;

      // NaN tells the controller the trial went non-finite (reject and shrink).
      let error = 0;
      if (adaptive) {
        const [e, lost] = Array.from(yield errTensor as tf.Tensor);
        error = e;
        if (freeze && lost > 0 && nonFiniteStreak < MAX_NON_FINITE_RETRIES) {
          // Rows went non-finite: first try smaller steps, as a whole-batch solve would.
          nonFiniteStreak++;
          lastNonFiniteStep = stats.steps;
          error = Number.NaN;
        } else if (freeze) {
          // Still non-finite after the retries (or none lost): freeze those rows, step the rest.
          nonFiniteStreak = 0;
          if (lost > 0) {
            alive?.dispose();
            alive = aliveTrial;
            aliveTrial = undefined;
          }
        } else if (Number.isNaN(e)) {
          nonFiniteStreak++;
          lastNonFiniteStep = stats.steps;
          if (nonFiniteStreak > MAX_NON_FINITE_RETRIES) {
            throw new NonFiniteStateError(
              t,
              stats.steps,
              `the step from t = ${t} produced NaN or Inf ${nonFiniteStreak} times in a row despite shrinking h to ${hStep}`,
              t,
            );
          }
        } else {
          nonFiniteStreak = 0;
        }
        aliveTrial?.dispose();
        aliveTrial = undefined;
      }
      // The proposal derives from the step actually attempted (possibly clipped to t1).
      const decision = controller.adapt({ t, tEnd, error }, cs);
      cs = decision.state;
      const accept = decision.accept;

      if (!accept) {
        stats.rejectedSteps++;
        releasePending(); // k1 = f(t, y) stays valid for the retry
        continue;
      }
      stats.acceptedSteps++;
      let yNew = y1 as Y;
      if (freeze) {
        // Rows that are (or just turned) non-finite keep their last finite value.
        const [prev, next, live] = [y, yNew, alive] as tf.Tensor[];
        const [frozen, stillAlive] = tf.tidy(() => {
          const ok = adaptive ? live : tf.logicalAnd(live, rowsFinite(next));
          return [freezeRows(ok, next, prev), adaptive ? tf.clone(live) : ok];
        });
        next.dispose();
        pending = pending.filter((x) => x !== next);
        yNew = frozen as Y;
        live.dispose();
        alive = stillAlive;
      }

      // --- dense output and saves inside (t, tEnd] ---
      let f1: Y | undefined = kLast;
      while (si < saveat.ts.length && dir * (saveat.ts[si] - tEnd) <= tol) {
        const ts = saveat.ts[si];
        if (Math.abs(ts - tEnd) <= tol) saves.push(ts, cloneState(yNew));
        else {
          if (solver.needsEndSlope && f1 === undefined) {
            const yNewRef = yNew;
            f1 = tf.tidy(() => keepState(f(tEnd, yNewRef)));
            pending.push(f1);
          }
          const theta = (ts - t) / hStep;
          const y0Ref = y;
          const stages = stagesKept ?? [k1 as Y];
          const f1Ref = f1;
          const yNewRef = yNew;
          const liveRef = alive;
          saves.push(
            ts,
            tf.tidy(() => {
              const s = solver.interpolate(theta, hStep, y0Ref, yNewRef, stages, f1Ref);
              return keepState(liveRef ? (freezeRows(liveRef, s as tf.Tensor, yNewRef as tf.Tensor) as Y) : s);
            }),
          );
        }
        si++;
      }
      if (saveat.steps) saves.push(tEnd, cloneState(yNew));

      // --- advance: y1 and f(tEnd, y1) (FSAL stage or Hermite slope) become the new state ---
      for (const st of stagesKept ?? []) disposeState(st);
      pending = [];
      disposeState(y);
      disposeState(k1);
      y = yNew;
      k1 = f1;
      t = tEnd;
      n++;
      o.onStep?.(t, stats.acceptedSteps);

      if (!adaptive && !freeze && p.finiteCheckEvery > 0 && n % p.finiteCheckEvery === 0) {
        yield* checkFinite(y, t, stats.steps, lastFiniteT);
        lastFiniteT = t;
        lastCheckedStep = n;
      }
    }
    if (!adaptive && !freeze && lastCheckedStep !== stats.steps) yield* checkFinite(y, t, stats.steps, lastFiniteT);
    const nonFiniteRows = alive ? yield* readDeadRows(alive) : undefined;

    disposeState(k1);
    k1 = undefined;
    const ys = saves.take();
    // Hand out a clone created in the caller's scope (internal tensors are tf.keep-ed).
    const y1 = cloneState(y);
    disposeState(y);
    y = undefined;
    finished = true;
    return nonFiniteRows ? { t1, y1, ts: saves.ts, ys, stats, nonFiniteRows } : { t1, y1, ts: saves.ts, ys, stats };
  } finally {
    alive?.dispose();
    aliveTrial?.dispose();
    if (!finished) {
      releasePending();
      disposeState(y);
      disposeState(k1);
      saves.dispose();
    }
  }
}

function* checkFinite(y: StateTree, t: number, step: number, lastFiniteT: number): Loop<void> {
  const [ok] = Array.from(yield tf.tidy(() => allFinite(y)));
  if (!ok) {
    throw new NonFiniteStateError(
      t,
      step,
      `the state became NaN or Inf somewhere after t = ${lastFiniteT} (fixed-step solves check every finiteCheckEvery steps)`,
      lastFiniteT,
    );
  }
}

/** Index of the element of the strictly monotone `times` nearest to `t` (binary search). */
function nearestIndex(times: readonly number[], t: number): number {
  const dir = Math.sign(times[times.length - 1] - times[0]);
  let lo = 0;
  let hi = times.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if ((times[mid] - t) * dir <= 0) lo = mid;
    else hi = mid;
  }
  return Math.abs(times[hi] - t) < Math.abs(times[lo] - t) ? hi : lo;
}

function* sdeLoop(o: SolveOptions<tf.Tensor>, term: SDETerm, solver: SdeSolver): Loop<Solution<tf.Tensor>> {
  if (Array.isArray(o.y0)) throw new TypeError('SDE solves take a single-tensor state, not a tuple');
  // Save times and Brownian increments are placed on a grid known before the solve.
  if (o.controller !== undefined && checkController(o.controller).needsErrorEstimate) {
    throw new TypeError('adaptive SDE stepping is not supported; use ConstantStepSize with `steps` or `dt0`, or StepTo');
  }
  if (solver.requiresAdditiveNoise && !term.additive) {
    throw new TypeError(
      `solver '${solver.name}' needs additive noise (g depending on t only); declare it with new SDETerm({ ..., additive: true }) ` +
        'or use euler_maruyama',
    );
  }
  const p = prepareCommon(o, undefined, solver.name);
  if (!p.controller.grid) {
    throw new TypeError('SDE solves need a controller whose grid is known before the solve (grid()): ConstantStepSize, StepTo or your own');
  }
  const freeze = freezeMode(o);
  const { t0, t1, saveat } = p;
  const ends = p.controller.grid(p.controllerState);
  /** Grid times t_0 … t_n (t_n = t1). */
  const times = [t0, ...ends];
  const nSteps = ends.length;
  if (nSteps < 1 || ends[nSteps - 1] !== t1) throw new RangeError(`the controller's grid must end at t1 = ${t1}`);
  const tol = timeTolerance(t0, t1);
  // Save times must be step ends: interpolating between steps is not an SDE solution.
  const saveIndex = saveat.ts.map((ts) => {
    if (ts === t1) return nSteps;
    const k = nearestIndex(times, ts);
    const spacing = Math.abs(times[Math.min(k + 1, nSteps)] - times[Math.max(k - 1, 0)]) / 2;
    if (Math.abs(times[k] - ts) > Math.max(tol, 1e-9 * spacing)) {
      throw new RangeError(`SDE save time ${ts} is not a step end; choose steps/dt0 so that every saveat.ts lies on the grid`);
    }
    return k;
  });

  const yShape = o.y0.shape;
  const wShape = noiseShape(yShape, term.noise);
  let brownian = o.brownian;
  if (brownian === undefined) {
    if (o.seed === undefined) throw new TypeError('SDE solves need `seed` (fresh Brownian increments) or a `brownian` path');
    brownian = new BrownianIncrements({ shape: wShape, seed: o.seed });
  } else if (!tf.util.arraysEqual([...brownian.shape], wShape)) {
    throw new TypeError(
      `the Brownian path has shape [${brownian.shape.join(',')}] but ${term.noise} noise for a state ` +
        `[${yShape.join(',')}] needs [${wShape.join(',')}]`,
    );
  }
  const path = brownian;

  const stats = newStats();
  stats.initialStep = times[1] - t0;
  const count: SdeEvalCounter = { nfe: 0, diffusionEvals: 0 };
  const saves = new Saves<tf.Tensor>();
  let y: tf.Tensor | undefined;
  /** freeze-rows: `[B]` bool, rows still finite (owned). */
  let alive: tf.Tensor | undefined;
  let finished = false;
  try {
    yield* checkInitialFinite(o.y0, t0);
    if (freeze) alive = tf.keep(tf.tidy(() => allAlive(o.y0.shape[0])));
    y = tf.clone(o.y0) as tf.Tensor;
    if (saveat.t0) saves.push(t0, tf.clone(y));
    let si = 0;
    while (si < saveIndex.length && saveIndex[si] === 0) {
      saves.push(t0, tf.clone(y));
      si++;
    }
    let lastFiniteT = t0;
    let lastChecked = 0;
    let t = t0;
    for (let n = 0; n < nSteps; n++) {
      const tEnd = times[n + 1];
      const yCur: tf.Tensor = y;
      const live = alive;
      let stillAlive: tf.Tensor | undefined;
      const y1: tf.Tensor = tf.tidy(() => {
        const inc = path.increment(t, tEnd, solver.needsLevyArea);
        const next = solver.step(term, t, tEnd, yCur, inc, count);
        if (!live) return tf.keep(tf.clone(next));
        // Rows that are (or just turned) non-finite keep their last finite value.
        const ok = tf.logicalAnd(live, rowsFinite(next));
        stillAlive = tf.keep(ok);
        return tf.keep(freezeRows(ok, next, yCur));
      });
      if (stillAlive) {
        live?.dispose();
        alive = stillAlive;
      }
      stats.steps++;
      stats.acceptedSteps++;
      disposeState(y);
      y = y1;
      t = tEnd;
      o.onStep?.(t, stats.acceptedSteps);
      while (si < saveIndex.length && saveIndex[si] === n + 1) {
        saves.push(saveat.ts[si], tf.clone(y));
        si++;
      }
      if (saveat.steps) saves.push(t, tf.clone(y));
      if (!freeze && p.finiteCheckEvery > 0 && (n + 1) % p.finiteCheckEvery === 0) {
        yield* checkFinite(y, t, stats.steps, lastFiniteT);
        lastFiniteT = t;
        lastChecked = n + 1;
      }
    }
    if (!freeze && lastChecked !== nSteps) yield* checkFinite(y, t, stats.steps, lastFiniteT);
    const nonFiniteRows = alive ? yield* readDeadRows(alive) : undefined;
    stats.nfe = count.nfe;
    stats.diffusionEvals = count.diffusionEvals;
    const ys = saves.take();
    const y1 = tf.clone(y);
    disposeState(y);
    y = undefined;
    finished = true;
    return nonFiniteRows ? { t1, y1, ts: saves.ts, ys, stats, nonFiniteRows } : { t1, y1, ts: saves.ts, ys, stats };
  } finally {
    alive?.dispose();
    if (!finished) {
      disposeState(y);
      saves.dispose();
    }
  }
}
