/**
 * Save-at: which states a solve returns besides the final one.
 *
 * - `t0: true` — also save the initial state.
 * - `ts: [...]` — save at these times, strictly monotone in the direction of integration and
 *   inside $[t_0, t_1]$ (either end allowed). ODE solves fill times between step ends by
 *   dense output ({@link RungeKutta.interpolate}); SDE solves require every time to be a step
 *   end (interpolating a Brownian path is not a solution of the SDE).
 * - `steps: true` — save after every accepted step (cannot be combined with `ts`).
 *
 * The final state is always returned as `y1`; saved states come stacked along a new leading
 * axis (`ys: [T, ...]`, per leaf for tuple states) with their times in `ts`.
 */

/** What to save. */
export interface SaveAt {
  t0?: boolean;
  ts?: readonly number[];
  steps?: boolean;
}

/** A validated {@link SaveAt}. */
export interface NormalizedSaveAt {
  t0: boolean;
  /** Save times, snapped exactly to `t0`/`t1` when within tolerance. */
  ts: number[];
  steps: boolean;
}

/** Tolerance under which two times are the same point (float64 arithmetic on the grid). */
export function timeTolerance(t0: number, t1: number): number {
  return 1e-12 * Math.max(Math.abs(t0), Math.abs(t1), Math.abs(t1 - t0));
}

/** Validate `saveat` for a solve from `t0` to `t1`; throws `TypeError`/`RangeError`. */
export function normalizeSaveAt(saveat: SaveAt | undefined, t0: number, t1: number): NormalizedSaveAt {
  if (saveat === undefined) return { t0: false, ts: [], steps: false };
  if (typeof saveat !== 'object' || saveat === null) throw new TypeError('saveat must be an object { t0?, ts?, steps? }');
  const steps = saveat.steps ?? false;
  const saveT0 = saveat.t0 ?? false;
  if (saveat.ts !== undefined && steps) throw new TypeError('saveat: give either `ts` or `steps: true`, not both');
  const raw = saveat.ts ?? [];
  if (!Array.isArray(raw)) throw new TypeError('saveat.ts must be an array of numbers');
  const dir = Math.sign(t1 - t0);
  const tol = timeTolerance(t0, t1);
  const ts: number[] = [];
  for (const [i, t] of raw.entries()) {
    if (typeof t !== 'number' || !Number.isFinite(t)) throw new RangeError(`saveat.ts[${i}] = ${t} is not a finite number`);
    if (dir * (t - t0) < -tol || dir * (t - t1) > tol) {
      throw new RangeError(`saveat.ts[${i}] = ${t} lies outside the integration interval [${t0}, ${t1}]`);
    }
    const snapped = Math.abs(t - t0) <= tol ? t0 : Math.abs(t - t1) <= tol ? t1 : t;
    if (ts.length > 0 && dir * (snapped - ts[ts.length - 1]) <= 0) {
      throw new RangeError(
        `saveat.ts must be strictly ${dir > 0 ? 'increasing' : 'decreasing'} (the direction of integration); ` +
          `ts[${i - 1}] = ${ts[ts.length - 1]}, ts[${i}] = ${t}`,
      );
    }
    ts.push(snapped);
  }
  return { t0: saveT0, ts, steps };
}
