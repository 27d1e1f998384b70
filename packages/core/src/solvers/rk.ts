/**
 * One generic explicit Runge–Kutta stepper that serves every ODE method: the method is the
 * {@link ButcherTableau} it is built from.
 *
 * The stepper is stateless; what carries over between steps (the FSAL stage, a cached
 * first stage after a rejected step) is threaded through `step`'s arguments and results by
 * {@link solve}. All methods here are plain tf ops without a `tidy` of their own: the caller
 * runs each step inside one `tf.tidy` and keeps what it needs.
 */
import { combine, type StateTree } from './state.js';
import { type ButcherTableau, validateTableau } from './tableaux.js';
import type { VectorField } from './terms.js';

/** What one Runge–Kutta step produced (all tensors belong to the caller's `tidy`). */
export interface RKStepResult<Y extends StateTree> {
  /** The propagated solution $y_{n+1} = y_n + h \sum_i b_i k_i$. */
  y1: Y;
  /** Every stage $k_1, …, k_s$ (`stages[0]` is the `k1` passed in, if one was). */
  stages: Y[];
  /** The local error estimate $h \sum_i (b_i - \hat b_i) k_i$, if requested and available. */
  yError?: Y;
}

/**
 * An explicit Runge–Kutta method built from a tableau.
 *
 * Cost per step: $s$ evaluations of $f$, minus one when the first stage is known already
 * (FSAL methods after their first step; any method right after a rejected step, or after
 * dense output evaluated $f(t_{n+1}, y_{n+1})$).
 *
 * Dense output: the tableau's own interpolant if it has one (dopri5: Hairer's 4th-order
 * one; tsit5: Tsitouras'); otherwise the cubic Hermite interpolant through
 * $(y_n, f(t_n, y_n))$ and $(y_{n+1}, f(t_{n+1}, y_{n+1}))$ (third-order accurate), whose
 * end slope is the next step's first stage, so it costs no extra evaluation except after the
 * last step.
 */
export class RungeKutta {
  readonly kind = 'ode';
  readonly name: string;
  readonly tableau: ButcherTableau;

  /** **Arguments:** `tableau` — the method (validated structurally; throws `TypeError`). */
  constructor(tableau: ButcherTableau) {
    validateTableau(tableau);
    this.tableau = tableau;
    this.name = tableau.name;
  }

  /** Classical order of the propagated solution. */
  get order(): number {
    return this.tableau.order;
  }

  /** Whether an embedded error estimate exists (needed by {@link PIDController}). */
  get adaptive(): boolean {
    return this.tableau.bError !== undefined;
  }

  /** Exponent denominator of the step-size controller: `embeddedOrder + 1` (5 for dopri5). */
  get errorOrder(): number | undefined {
    return this.tableau.embeddedOrder === undefined ? undefined : this.tableau.embeddedOrder + 1;
  }

  /** Number of stages $s$. */
  get stages(): number {
    return this.tableau.c.length;
  }

  /** Whether the last stage equals $f(t_{n+1}, y_{n+1})$. */
  get fsal(): boolean {
    return this.tableau.fsal;
  }

  /** `'polynomial'` if the tableau carries dense output, else `'hermite'`. */
  get interpolation(): 'polynomial' | 'hermite' {
    return this.tableau.dense === undefined ? 'hermite' : 'polynomial';
  }

  /**
   * One step from $(t, y_0)$ to $t_{end} = t + h$.
   *
   * **Arguments:**
   * - `f`: the vector field.
   * - `t`, `tEnd`: step start and end (JS numbers; `h = tEnd − t`, negative when integrating
   *   backwards). Stages with $c_i = 1$ are evaluated exactly at `tEnd`.
   * - `y0`: state at `t`.
   * - `k1`: $f(t, y_0)$ if already known (FSAL, rejected step), else `undefined`.
   * - `withError`: also return the embedded error estimate.
   *
   * **Returns:** {@link RKStepResult}.
   */
  step<Y extends StateTree>(f: VectorField<Y>, t: number, tEnd: number, y0: Y, k1: Y | undefined, withError: boolean): RKStepResult<Y> {
    const { a, b, c, bError, fsal } = this.tableau;
    const h = tEnd - t;
    const s = c.length;
    const stages: Y[] = [];
    let y1: Y | undefined;
    for (let i = 0; i < s; i++) {
      if (i === 0 && k1 !== undefined) {
        stages.push(k1);
        continue;
      }
      const yi =
        i === 0
          ? y0
          : combine(
              y0,
              a[i].map((aij, j) => [h * aij, stages[j]] as const),
              y0,
            );
      if (fsal && i === s - 1) y1 = yi;
      stages.push(f(c[i] === 1 ? tEnd : t + c[i] * h, yi));
    }
    if (y1 === undefined) {
      y1 = combine(
        y0,
        b.map((bj, j) => [h * bj, stages[j]] as const),
        y0,
      );
    }
    const result: RKStepResult<Y> = { y1, stages };
    if (withError && bError !== undefined) {
      result.yError = combine(
        undefined,
        bError.map((ej, j) => [h * ej, stages[j]] as const),
        y0,
      );
    }
    return result;
  }

  /**
   * Dense output inside an accepted step.
   *
   * **Arguments:**
   * - `theta`: $(t - t_n)/h \in [0, 1]$.
   * - `h`: the step ($t_{n+1} - t_n$).
   * - `y0`, `y1`: states at both ends.
   * - `stages`: the step's stages (only `stages[0]` is used by Hermite interpolation).
   * - `f1`: $f(t_{n+1}, y_{n+1})$ for Hermite interpolation; required for non-FSAL methods
   *   (see {@link RungeKutta.needsEndSlope}), taken from the last stage for FSAL ones if absent.
   *
   * **Returns:** the interpolated state $y(t_n + \theta h)$.
   */
  interpolate<Y extends StateTree>(theta: number, h: number, y0: Y, y1: Y, stages: readonly Y[], f1?: Y): Y {
    const dense = this.tableau.dense;
    if (dense !== undefined) {
      const weights = dense.map((p) => {
        let w = 0;
        let pow = theta;
        for (const coef of p) {
          w += coef * pow;
          pow *= theta;
        }
        return w;
      });
      return combine(
        y0,
        weights.map((w, i) => [h * w, stages[i]] as const),
        y0,
      );
    }
    const end = f1 ?? (this.fsal ? stages[stages.length - 1] : undefined);
    if (end === undefined) throw new Error('internal: Hermite interpolation needs f(t1, y1)');
    const t2 = theta * theta;
    const t3 = t2 * theta;
    const h01 = -2 * t3 + 3 * t2;
    const h10 = t3 - 2 * t2 + theta;
    const h11 = t3 - t2;
    return combine(
      y0,
      [
        [h01, y1],
        [-h01, y0],
        [h * h10, stages[0]],
        [h * h11, end],
      ],
      y0,
    );
  }

  /** Whether {@link RungeKutta.interpolate} needs `f1` (Hermite interpolation of a non-FSAL method). */
  get needsEndSlope(): boolean {
    return this.tableau.dense === undefined && !this.tableau.fsal;
  }

  /** Stages whose tensors dense output reads (all for polynomial output, else none beyond k1/f1). */
  get denseNeedsAllStages(): boolean {
    return this.tableau.dense !== undefined;
  }
}

/** Type guard for ODE solvers. */
export function isRungeKutta(x: unknown): x is RungeKutta {
  return x instanceof RungeKutta;
}
