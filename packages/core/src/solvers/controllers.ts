/**
 * Step-size controllers: *how far* each step goes, as strategies behind one interface
 * ({@link StepSizeController}, in the spirit of diffrax's `AbstractStepSizeController`):
 * {@link solve} only calls `init`, `firstStep`, `stepEnd`, `errorNorm` and `adapt`, so users can
 * pass their own controller.
 *
 * - {@link ConstantStepSize}: the grid is fixed by `steps` (or `dt0`) given to {@link solve}.
 * - {@link PIDController}: adaptive steps from an embedded error estimate (diffrax's
 *   `PIDController` restricted to its P and I terms; with the defaults `pcoeff = 0`,
 *   `icoeff = 1` it is the classic I controller of torchdiffeq and Hairer).
 *
 * **Error norm.** With $sc_i = atol + rtol \cdot \max(|y_{n,i}|, |y_{n+1,i}|)$ over *every*
 * component of every leaf (batch and augmented log-density state included),
 * $E = \mathrm{RMS}_i(err_i / sc_i)$ (`norm: 'rms'`, default) or $\max_i |err_i/sc_i|$
 * (`norm: 'max'`, which makes every sample meet the tolerance). A step is accepted iff
 * $E \le 1$.
 *
 * **Update.** With $k$ the solver's error order (`embeddedOrder + 1`, i.e. 5 for dopri5)
 * and $E_{prev}$ the error of the last accepted step (initially 1, floored at $10^{-4}$):
 * $\text{factor} = \text{safety} \cdot E^{-(p + i)/k} \cdot E_{prev}^{\,p/k}$, clipped to
 * $[1, \text{factorMax}]$ after an accepted step (to $[1, 1]$ right after a rejection, as in
 * Hairer) and to $[\text{factorMin}, \text{safety}]$ after a rejected one; $E = 0$ gives
 * factorMax. Hairer's Lund stabilisation (β = 0.04) is `pcoeff = 0.2, icoeff = 0.65` for $k = 5$.
 *
 * Only one number per step is read back from the device: $E$. A non-finite state is folded
 * into it (E becomes NaN), so checking for NaN/Inf costs no extra read.
 */
import * as tf from '@tensorflow/tfjs';
import { MaxStepsExceededError, StepSizeUnderflowError } from './errors.js';
import { combine, keepState, leavesOf, type StateTree, stateSize } from './state.js';
import type { VectorField } from './terms.js';

/** Floor of the tolerance scale, so `atol = 0` with an exactly-zero component is not 0/0. */
const TINY = 1e-30;

/** What {@link solve} tells a controller about the solve (validated times, user options). */
export interface StepProblem {
  /** Start and end time (`t0 ≠ t1`; `t1 < t0` integrates backwards). */
  readonly t0: number;
  readonly t1: number;
  /** `steps` as given to {@link solve} (a positive integer) or undefined. */
  readonly steps?: number;
  /** `dt0` as given to {@link solve} (finite, non-zero, pointing at `t1`) or undefined. */
  readonly dt0?: number;
  /** Budget of attempted steps. */
  readonly maxSteps: number;
  /** Solver name, for messages. */
  readonly solverName: string;
  /** Error order $k$ of the solver's embedded estimate (`embeddedOrder + 1`); undefined if it has none. */
  readonly errorOrder?: number;
}

/** One attempted step as {@link StepSizeController.adapt} sees it. */
export interface StepAttempt {
  /** Start and end of the attempted step (`tEnd − t` is the signed step). */
  readonly t: number;
  readonly tEnd: number;
  /**
   * Scaled error norm $E$ read back from {@link StepSizeController.errorNorm} (0 when the
   * controller does not need an error estimate). `NaN` means the trial produced NaN/±Inf: the
   * controller must reject it and shrink.
   */
  readonly error: number;
}

/** Live rows of a `[B, ...]` state in `nonFinite: 'freeze-rows'` solves. */
export interface LiveRows {
  /** Number of rows still finite (scalar tensor). */
  readonly count: tf.Scalar;
  /** Total number of rows B. */
  readonly total: number;
}

/** Result of {@link StepSizeController.firstStep}. */
export interface FirstStep<S, Y extends StateTree> {
  state: S;
  /** Signed size of the first step (reported as `stats.initialStep`). */
  h: number;
  /** $f(t_0, y_0)$ if the controller evaluated it (owned by the caller; reused as the first stage). */
  f0?: Y;
}

/**
 * A step-size controller: a strategy {@link solve} drives without knowing which one it has.
 *
 * Life of a solve: `init` (before any work; throws `TypeError`/`RangeError` for options it
 * cannot honour), `firstStep` (may probe the vector field), then per attempted step
 * `stepEnd` → the solver's step → `errorNorm` (on the device, only if `needsErrorEstimate`) →
 * one read → `adapt`, until `t` reaches `t1`. States `S` are immutable values.
 */
export interface StepSizeController<S = unknown> {
  /**
   * Whether `adapt` needs the solver's embedded error estimate: the solver must have one,
   * each attempted step costs one read of `errorNorm`, and that read also detects NaN/Inf.
   * When false, every step is accepted unread and finiteness is checked every
   * `finiteCheckEvery` steps.
   */
  readonly needsErrorEstimate: boolean;
  /** Validate the solve's options against this controller and return its initial state. */
  init(problem: StepProblem): S;
  /** Size of the first step; a generator so it may read device tensors (yields them, receives their values). */
  firstStep<Y extends StateTree>(f: VectorField<Y>, y0: Y, state: S): Generator<tf.Tensor, FirstStep<S, Y>, ArrayLike<number>>;
  /**
   * End of the next step from `t` (`t ≠ t1`), landing exactly on `t1` for the last one.
   * `attempted` counts the attempted steps so far. May throw {@link StepSizeUnderflowError}.
   */
  stepEnd(t: number, state: S, attempted: number): number;
  /** Scaled error norm of an attempted step as a scalar tensor (NaN if `y1`/`yError` hold NaN/±Inf). */
  errorNorm(y0: StateTree, y1: StateTree, yError: StateTree, rows?: LiveRows): tf.Scalar;
  /** Accept or reject an attempted step and update the state. */
  adapt(attempt: StepAttempt, state: S): { accept: boolean; state: S };
  /**
   * Every step end $t_1, …, t_n$ (the last exactly `t1`), for a controller whose grid is known
   * before the solve ({@link ConstantStepSize}, {@link StepTo}). Optional; SDE solves need it,
   * since their save times and Brownian increments are placed on that grid.
   */
  grid?(state: S): readonly number[];
}

/** `value` as a generator that reads nothing: for a {@link StepSizeController.firstStep} that needs no device reads. */
export function* withoutReads<R>(value: R): Generator<tf.Tensor, R, ArrayLike<number>> {
  yield* [];
  return value;
}

/** State of {@link ConstantStepSize}: the grid and the index of the next step. */
export interface ConstantStepState {
  /** Number of steps of the grid. */
  readonly n: number;
  /** Signed step (`(t1 − t0)/n` by count, or `dt0`). */
  readonly h: number;
  /** Grid from `steps` (times $t_0 + k (t_1 - t_0)/n$) or from `dt0` (times $t_0 + k\,dt_0$). */
  readonly byCount: boolean;
  readonly t0: number;
  readonly t1: number;
  /** Accepted steps so far. */
  readonly k: number;
}

/**
 * Fixed steps: `steps` equal steps (times $t_0 + k (t_1 - t_0)/n$), or steps of `dt0` (times
 * $t_0 + k\,dt_0$, the last one shortened to land on `t1`). Every step is accepted.
 */
export class ConstantStepSize implements StepSizeController<ConstantStepState> {
  readonly kind = 'constant';
  readonly needsErrorEstimate = false;

  /** The grid; throws `TypeError` unless exactly one of `steps`/`dt0` is given, {@link MaxStepsExceededError} if it exceeds `maxSteps`. */
  init(p: StepProblem): ConstantStepState {
    if (p.steps !== undefined && p.dt0 !== undefined) throw new TypeError('give either `steps` or `dt0`, not both');
    if (p.steps === undefined && p.dt0 === undefined) {
      throw new TypeError('constant step size needs `steps` or `dt0` (or pass controller: new PIDController({ rtol, atol }))');
    }
    const span = p.t1 - p.t0;
    const grid =
      p.steps !== undefined
        ? { n: p.steps, h: span / p.steps, byCount: true }
        : { n: Math.max(1, Math.ceil(Math.abs(span / (p.dt0 as number)) - 1e-9)), h: p.dt0 as number, byCount: false };
    if (grid.n > p.maxSteps) {
      throw new MaxStepsExceededError(p.t0, 0, `${grid.n} constant steps are needed but maxSteps is ${p.maxSteps}`, p.maxSteps);
    }
    return { ...grid, t0: p.t0, t1: p.t1, k: 0 };
  }

  firstStep<Y extends StateTree>(
    _f: VectorField<Y>,
    _y0: Y,
    state: ConstantStepState,
  ): Generator<tf.Tensor, FirstStep<ConstantStepState, Y>, ArrayLike<number>> {
    return withoutReads({ state, h: state.h });
  }

  /** Grid time $k + 1$ (exactly `t1` for the last step). */
  stepEnd(_t: number, s: ConstantStepState): number {
    const k = s.k + 1;
    return k === s.n ? s.t1 : s.byCount ? s.t0 + (k * (s.t1 - s.t0)) / s.n : s.t0 + k * s.h;
  }

  /** Never read (`needsErrorEstimate` is false): a zero. */
  errorNorm(): tf.Scalar {
    return tf.scalar(0);
  }

  adapt(_attempt: StepAttempt, s: ConstantStepState): { accept: boolean; state: ConstantStepState } {
    return { accept: true, state: { ...s, k: s.k + 1 } };
  }

  /** The grid's step ends (see {@link ConstantStepSize.stepEnd}). */
  grid(s: ConstantStepState): number[] {
    const ends: number[] = [];
    for (let k = 0; k < s.n; k++) ends.push(this.stepEnd(0, { ...s, k }));
    return ends;
  }
}

/** State of {@link StepTo}: the index of the next step. */
export interface StepToState {
  readonly k: number;
}

/**
 * Steps to given times (diffrax's `StepTo`): `ts` = $t_0 < t_1 < … < t_n$ (or decreasing, for a
 * backward solve) with $t_0$ and $t_n$ the solve's start and end. Every step is accepted; the
 * grid may be non-uniform (e.g. finer near t = 0 where σ → 0). Drives ODE and SDE solves.
 */
export class StepTo implements StepSizeController<StepToState> {
  readonly kind = 'step-to';
  readonly needsErrorEstimate = false;
  readonly ts: readonly number[];

  /** Throws `RangeError` unless `ts` has two or more finite, strictly monotone times. */
  constructor(ts: ArrayLike<number>) {
    const times = Array.from(ts ?? [], Number);
    if (times.length < 2) throw new RangeError(`StepTo needs at least two times (t0 and t1), got ${times.length}`);
    if (!times.every(Number.isFinite)) throw new RangeError('StepTo times must be finite numbers');
    const dir = Math.sign(times[1] - times[0]);
    for (let i = 1; i < times.length; i++) {
      if (dir === 0 || Math.sign(times[i] - times[i - 1]) !== dir) {
        throw new RangeError(
          `StepTo times must be strictly increasing or strictly decreasing (at index ${i}: ${times[i - 1]} → ${times[i]})`,
        );
      }
    }
    this.ts = times;
  }

  /** Throws `TypeError` if `steps`/`dt0` are given, `RangeError` if `ts` does not run from t0 to t1, {@link MaxStepsExceededError} beyond `maxSteps`. */
  init(p: StepProblem): StepToState {
    if (p.steps !== undefined || p.dt0 !== undefined) throw new TypeError('StepTo takes its grid from `ts`: do not pass `steps` or `dt0`');
    const n = this.ts.length - 1;
    if (this.ts[0] !== p.t0 || this.ts[n] !== p.t1) {
      throw new RangeError(`StepTo times must start at t0 = ${p.t0} and end at t1 = ${p.t1}, got ${this.ts[0]} … ${this.ts[n]}`);
    }
    if (n > p.maxSteps) throw new MaxStepsExceededError(p.t0, 0, `${n} steps are needed but maxSteps is ${p.maxSteps}`, p.maxSteps);
    return { k: 0 };
  }

  firstStep<Y extends StateTree>(
    _f: VectorField<Y>,
    _y0: Y,
    state: StepToState,
  ): Generator<tf.Tensor, FirstStep<StepToState, Y>, ArrayLike<number>> {
    return withoutReads({ state, h: this.ts[1] - this.ts[0] });
  }

  stepEnd(_t: number, s: StepToState): number {
    return this.ts[s.k + 1];
  }

  /** Never read (`needsErrorEstimate` is false): a zero. */
  errorNorm(): tf.Scalar {
    return tf.scalar(0);
  }

  adapt(_attempt: StepAttempt, s: StepToState): { accept: boolean; state: StepToState } {
    return { accept: true, state: { k: s.k + 1 } };
  }

  grid(): readonly number[] {
    return this.ts.slice(1);
  }
}

/** Options of {@link PIDController}. */
export interface PIDControllerOptions {
  /** Relative tolerance (> 0). float32 states cannot honour much below ~1e-6. */
  rtol: number;
  /** Absolute tolerance (≥ 0). */
  atol: number;
  /** Safety factor in (0, 1] (default 0.9). */
  safety?: number;
  /** Smallest shrink factor after a rejection, in (0, 1) (default 0.2). */
  factorMin?: number;
  /** Largest growth factor after an acceptance, > 1 (default 10). */
  factorMax?: number;
  /** Proportional coefficient (default 0). */
  pcoeff?: number;
  /** Integral coefficient (default 1). */
  icoeff?: number;
  /** Smallest allowed |step|; a smaller proposal raises {@link StepSizeUnderflowError} (default 0). */
  dtMin?: number;
  /** Largest allowed |step| (default ∞). */
  dtMax?: number;
  /** `'rms'` (default) or `'max'` over all components. */
  norm?: 'rms' | 'max';
}

/** Controller state threaded through a solve (immutable). */
export interface PIDState {
  /** Error of the last accepted step (floored at 1e-4; 1 before the first). */
  readonly prevError: number;
  /** Whether the last attempted step was rejected. */
  readonly lastRejected: boolean;
  /** Proposed signed size of the next step (0 before {@link PIDController.firstStep}). */
  readonly h?: number;
  /** The solve's start, end and error order $k$ (set by {@link PIDController.init}). */
  readonly problem?: { readonly t0: number; readonly t1: number; readonly dt0?: number; readonly errorOrder: number };
}

/** Decision for one attempted step. */
export interface StepDecision {
  accept: boolean;
  /** Signed next step (same sign as the attempted one). */
  hNext: number;
  state: PIDState;
}

function positive(name: string, value: number, allowZero = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new RangeError(`${name} must be a finite number ${allowZero ? '>= 0' : '> 0'}, got ${value}`);
  }
  return value;
}

/** Adaptive step-size controller (see the module doc for the formulas). */
export class PIDController implements StepSizeController<PIDState> {
  readonly kind = 'adaptive';
  readonly needsErrorEstimate = true;
  readonly rtol: number;
  readonly atol: number;
  readonly safety: number;
  readonly factorMin: number;
  readonly factorMax: number;
  readonly pcoeff: number;
  readonly icoeff: number;
  readonly dtMin: number;
  readonly dtMax: number;
  readonly norm: 'rms' | 'max';

  /** Throws `RangeError` for `rtol <= 0`, `atol < 0` or inconsistent factors. */
  constructor(options: PIDControllerOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('PIDController needs { rtol, atol }');
    this.rtol = positive('rtol', options.rtol);
    this.atol = positive('atol', options.atol, true);
    this.safety = positive('safety', options.safety ?? 0.9);
    this.factorMin = positive('factorMin', options.factorMin ?? 0.2);
    this.factorMax = positive('factorMax', options.factorMax ?? 10);
    this.pcoeff = positive('pcoeff', options.pcoeff ?? 0, true);
    this.icoeff = positive('icoeff', options.icoeff ?? 1, true);
    this.dtMin = positive('dtMin', options.dtMin ?? 0, true);
    const dtMax = options.dtMax ?? Number.POSITIVE_INFINITY;
    if (!(typeof dtMax === 'number' && dtMax > 0)) throw new RangeError(`dtMax must be > 0, got ${dtMax}`);
    this.dtMax = dtMax;
    this.norm = options.norm ?? 'rms';
    if (this.norm !== 'rms' && this.norm !== 'max') throw new TypeError(`norm must be 'rms' or 'max', got '${String(this.norm)}'`);
    if (this.safety > 1) throw new RangeError(`safety must be in (0, 1], got ${this.safety}`);
    if (this.factorMin >= 1) throw new RangeError(`factorMin must be in (0, 1), got ${this.factorMin}`);
    if (this.factorMax <= 1) throw new RangeError(`factorMax must be > 1, got ${this.factorMax}`);
    if (this.pcoeff + this.icoeff <= 0) throw new RangeError('pcoeff + icoeff must be > 0');
    if (this.dtMin >= this.dtMax) throw new RangeError(`dtMin (${this.dtMin}) must be < dtMax (${this.dtMax})`);
  }

  /** The state before the first step. */
  initialState(): PIDState {
    return { prevError: 1, lastRejected: false };
  }

  /** Throws `TypeError` for a solver without an error estimate or for `steps`. */
  init(p: StepProblem): PIDState {
    if (p.errorOrder === undefined) {
      throw new TypeError(
        `solver '${p.solverName}' has no embedded error estimate, so it cannot take adaptive steps; ` +
          'use ConstantStepSize with `steps` or `dt0`, or an adaptive solver (dopri5, tsit5, bosh3, heun, midpoint)',
      );
    }
    if (p.steps !== undefined) throw new TypeError('`steps` is for ConstantStepSize; a PIDController chooses its own steps');
    return { ...this.initialState(), problem: { t0: p.t0, t1: p.t1, dt0: p.dt0, errorOrder: p.errorOrder } };
  }

  /** `dt0` (clamped to `dtMax`) if given, else Hairer's initial step ({@link initialStepSize}). */
  *firstStep<Y extends StateTree>(
    f: VectorField<Y>,
    y0: Y,
    state: PIDState,
  ): Generator<tf.Tensor, FirstStep<PIDState, Y>, ArrayLike<number>> {
    const p = problemOf(state);
    if (p.dt0 !== undefined) {
      const h = this.clampStep(p.dt0);
      return { state: { ...state, h }, h };
    }
    const init = yield* initialStepSize(f, p.t0, y0, p.t1, p.errorOrder, this);
    return { state: { ...state, h: init.h }, h: init.h, f0: init.f0 };
  }

  /**
   * $t + h$, stretched to `t1` when it would land within 1% of it (Hairer). Throws
   * {@link StepSizeUnderflowError} when $|h| <$ `dtMin` or $h$ is too small to advance $t$.
   */
  stepEnd(t: number, state: PIDState, attempted: number): number {
    const { t0, t1 } = problemOf(state);
    const h = state.h ?? 0;
    const belowMin = Math.abs(h) < this.dtMin;
    if (belowMin || 0.1 * Math.abs(h) <= Number.EPSILON * Math.max(Math.abs(t), Math.abs(t1 - t0))) {
      const why = belowMin
        ? `step size |h| = ${Math.abs(h)} fell below dtMin = ${this.dtMin}`
        : `step size underflow: |h| = ${Math.abs(h)} is too small to advance t`;
      throw new StepSizeUnderflowError(t, attempted, `${why} (blow-up, stiffness, or a tolerance float32 cannot meet?)`, h);
    }
    return Math.sign(t1 - t0) * (t + 1.01 * h - t1) >= 0 ? t1 : t + h;
  }

  /** Accept iff $E \le 1$ and propose the next step from the one attempted; NaN → reject, shrink by `factorMin`. */
  adapt(attempt: StepAttempt, state: PIDState): { accept: boolean; state: PIDState } {
    const hStep = attempt.tEnd - attempt.t;
    const d = Number.isNaN(attempt.error)
      ? this.rejectNonFinite(hStep, state)
      : this.decide(hStep, attempt.error, problemOf(state).errorOrder, state);
    return { accept: d.accept, state: { ...d.state, h: d.hNext, problem: state.problem } };
  }

  /**
   * Scaled error norm $E$ of an attempted step, as a scalar tensor (plain tf ops).
   * NaN if `y1` or `yError` contains NaN/±Inf, so one read answers both "accept?" and
   * "finite?".
   *
   * **Arguments:** `y0`, `y1` — states at both ends; `yError` — the embedded error estimate;
   * `rows` (freeze-rows solves, where dead rows are zeroed) — the RMS norm is then rescaled by
   * $\sqrt{B / \max(\text{live}, 1)}$ so it averages over the live rows only.
   */
  errorNorm(y0: StateTree, y1: StateTree, yError: StateTree, rows?: LiveRows): tf.Scalar {
    const l0 = leavesOf(y0);
    const l1 = leavesOf(y1);
    const scales = l0.map((leaf, i) => tf.maximum(tf.add(this.atol, tf.mul(this.rtol, tf.maximum(tf.abs(leaf), tf.abs(l1[i])))), TINY));
    const norm = this.normOf(yError, scales);
    // 0 · Σ y1 is NaN iff y1 holds a NaN or ±Inf: the finiteness check rides on this read.
    const guard = tf.addN(l1.map((leaf) => tf.mul(tf.sum(leaf), 0)));
    const e = tf.add(norm, guard) as tf.Scalar;
    if (rows === undefined || this.norm !== 'rms') return e;
    return tf.mul(e, tf.sqrt(tf.div(rows.total, tf.maximum(rows.count, 1)))) as tf.Scalar;
  }

  /** $\lVert x / sc \rVert$ in this controller's norm (RMS or max) over all leaves. */
  normOf(x: StateTree, scales: tf.Tensor[]): tf.Scalar {
    const ratios = leavesOf(x).map((leaf, i) => tf.div(leaf, scales[i]));
    if (this.norm === 'max') {
      const maxes = ratios.map((r) => tf.max(tf.abs(r)));
      return (maxes.length === 1 ? maxes[0] : tf.max(tf.stack(maxes))) as tf.Scalar;
    }
    const sumSq = tf.addN(ratios.map((r) => tf.sum(tf.square(r))));
    return tf.sqrt(tf.div(sumSq, stateSize(x))) as tf.Scalar;
  }

  /** Tolerance scales $atol + rtol\,|y|$ per leaf. */
  scalesOf(y: StateTree): tf.Tensor[] {
    return leavesOf(y).map((leaf) => tf.maximum(tf.add(this.atol, tf.mul(this.rtol, tf.abs(leaf))), TINY));
  }

  /**
   * Accept or reject an attempted step of size `h` with error norm `error`, and propose
   * the next step.
   *
   * **Arguments:** `h` — attempted signed step; `error` — $E$ (a finite number ≥ 0, or
   * `+Inf` for an overflowing but finite estimate); `errorOrder` — $k$; `state`.
   *
   * **Returns:** {@link StepDecision}; `|hNext| <= dtMax`.
   */
  decide(h: number, error: number, errorOrder: number, state: PIDState): StepDecision {
    const accept = error <= 1;
    let factor: number;
    if (error === 0) factor = this.factorMax;
    else if (!Number.isFinite(error)) factor = this.factorMin;
    else {
      factor = this.safety * error ** (-(this.pcoeff + this.icoeff) / errorOrder) * state.prevError ** (this.pcoeff / errorOrder);
    }
    let next: PIDState;
    if (accept) {
      const hi = state.lastRejected ? 1 : this.factorMax;
      factor = Math.min(Math.max(factor, 1), hi);
      next = { prevError: Math.max(error, 1e-4), lastRejected: false };
    } else {
      factor = Math.min(Math.max(factor, this.factorMin), this.safety);
      next = { prevError: state.prevError, lastRejected: true };
    }
    return { accept, hNext: this.clampStep(h * factor), state: next };
  }

  /** Reject after a non-finite estimate: shrink by `factorMin`. */
  rejectNonFinite(h: number, state: PIDState): StepDecision {
    return { accept: false, hNext: h * this.factorMin, state: { prevError: state.prevError, lastRejected: true } };
  }

  /** Clamp |h| to `dtMax`, keeping the sign. */
  clampStep(h: number): number {
    return Math.abs(h) > this.dtMax ? Math.sign(h) * this.dtMax : h;
  }
}

/** The solve's data in a state from {@link PIDController.init}. */
function problemOf(state: PIDState): NonNullable<PIDState['problem']> {
  if (state.problem === undefined) throw new TypeError('PIDController state was not created by init()');
  return state.problem;
}

/** Result of {@link initialStepSize}. */
export interface InitialStep<Y extends StateTree> {
  /** Signed first step (direction of `tEnd − t0`). */
  h: number;
  /** $f(t_0, y_0)$, kept (owned by the caller): it is the first stage of the first step. */
  f0: Y;
}

/**
 * Hairer's starting step (*Solving ODEs I*, II.4), as used by torchdiffeq and diffrax:
 * with $sc = atol + rtol|y_0|$, $d_0 = \lVert y_0/sc\rVert$, $d_1 = \lVert f_0/sc\rVert$,
 * $h_0 = 10^{-6}$ if $d_0 < 10^{-5}$ or $d_1 < 10^{-5}$ else $0.01\,d_0/d_1$;
 * $f_1 = f(t_0 + h_0, y_0 + h_0 f_0)$, $d_2 = \lVert (f_1 - f_0)/sc\rVert / h_0$;
 * $h_1 = \max(10^{-6}, 10^{-3} h_0)$ if $\max(d_1, d_2) \le 10^{-15}$ else
 * $(0.01/\max(d_1, d_2))^{1/k}$; $h = \min(100 h_0, h_1, dtMax, |t_{end} - t_0|)$.
 * Costs two evaluations of $f$ (the first, $f_0$, is reused by the first step) and two
 * reads from the device.
 *
 * A generator: it yields scalar tensors for the driver to read and receives their values.
 * **Arguments:** `f` (already counting NFE), `t0`, `y0`, `tEnd`, `errorOrder` ($k$),
 * `controller`.
 */
export function* initialStepSize<Y extends StateTree>(
  f: VectorField<Y>,
  t0: number,
  y0: Y,
  tEnd: number,
  errorOrder: number,
  controller: PIDController,
): Generator<tf.Tensor, InitialStep<Y>, ArrayLike<number>> {
  const dir = Math.sign(tEnd - t0);
  const span = Math.abs(tEnd - t0);
  let f0: Y | undefined;
  let ok = false;
  try {
    let d: tf.Tensor | undefined;
    tf.tidy(() => {
      const k = f(t0, y0);
      f0 = keepState(k);
      const sc = controller.scalesOf(y0);
      d = tf.keep(tf.stack([controller.normOf(y0, sc), controller.normOf(k, sc)]));
    });
    const [d0, d1] = Array.from(yield d as tf.Tensor);
    let h0 = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : (0.01 * d0) / d1;
    h0 = Math.min(h0, span, controller.dtMax);
    let d2t: tf.Tensor | undefined;
    const first = f0 as Y;
    tf.tidy(() => {
      const y1 = combine(y0, [[dir * h0, first]], y0);
      const f1 = f(t0 + dir * h0, y1);
      const diff = combine(f1, [[-1, first]], f1);
      d2t = tf.keep(tf.div(controller.normOf(diff, controller.scalesOf(y0)), h0));
    });
    const [d2] = Array.from(yield d2t as tf.Tensor);
    const m = Math.max(d1, d2);
    const h1 = m <= 1e-15 ? Math.max(1e-6, h0 * 1e-3) : (0.01 / m) ** (1 / errorOrder);
    let h = Math.min(100 * h0, h1, span, controller.dtMax);
    if (!Number.isFinite(h) || h <= 0) h = Math.min(1e-6, span);
    ok = true;
    return { h: dir * h, f0: first };
  } finally {
    if (!ok && f0 !== undefined) for (const leaf of leavesOf(f0)) leaf.dispose();
  }
}
