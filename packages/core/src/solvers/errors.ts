/**
 * Typed failures of a solve.
 *
 * Every error raised *during* an integration is a {@link SolverError}: it carries the time
 * `t` at which it was detected, the number of steps attempted so far (`step`, accepted plus
 * rejected) and a human-readable `reason`. Bad arguments (unknown solver, `rtol <= 0`,
 * `t0 == t1`, …) are reported before any work with plain `TypeError` / `RangeError`.
 *
 * When a solve throws, every tensor it created has already been disposed.
 */

/** What went wrong, as a stable machine-readable code. */
export type SolverErrorCode = 'step_size_underflow' | 'max_steps_exceeded' | 'non_finite_state';

/** Base class of the errors raised while integrating. */
export class SolverError extends Error {
  override readonly name: string = 'SolverError';
  /**
   * **Arguments:**
   * - `code`: stable identifier of the failure.
   * - `t`: time (JS number) at which the failure was detected.
   * - `step`: number of steps attempted so far (accepted + rejected).
   * - `reason`: one sentence saying what happened and what to try.
   */
  constructor(
    readonly code: SolverErrorCode,
    readonly t: number,
    readonly step: number,
    readonly reason: string,
  ) {
    super(`${reason} (t = ${t}, after ${step} step${step === 1 ? '' : 's'})`);
  }
}

/**
 * The adaptive controller asked for a step that is too small to make progress: smaller than
 * `dtMin`, or so small relative to `t` that `t + h` is (nearly) `t` in float64
 * (Hairer's test `0.1 |h| <= |t| · eps`). Typical causes: a solution that blows up, a
 * stiff problem, or a tolerance below what float32 states can resolve.
 */
export class StepSizeUnderflowError extends SolverError {
  override readonly name = 'StepSizeUnderflowError';
  constructor(
    t: number,
    step: number,
    reason: string,
    /** The step size that was rejected as too small. */
    readonly h: number,
  ) {
    super('step_size_underflow', t, step, reason);
  }
}

/** The step budget (`maxSteps`, counting accepted and rejected steps) ran out before `t1`. */
export class MaxStepsExceededError extends SolverError {
  override readonly name = 'MaxStepsExceededError';
  constructor(
    t: number,
    step: number,
    reason: string,
    /** The budget that was exceeded. */
    readonly maxSteps: number,
  ) {
    super('max_steps_exceeded', t, step, reason);
  }
}

/**
 * The state (or the adaptive error estimate) contains NaN or ±Inf and shrinking the step
 * did not help. For fixed-step solves the check runs every `finiteCheckEvery` steps, so `t`
 * is where it was *detected*; the first non-finite value appeared after `lastFiniteT`.
 */
export class NonFiniteStateError extends SolverError {
  override readonly name = 'NonFiniteStateError';
  constructor(
    t: number,
    step: number,
    reason: string,
    /** The last time at which the state was known to be finite (`undefined`: never). */
    readonly lastFiniteT: number | undefined,
  ) {
    super('non_finite_state', t, step, reason);
  }
}
