/**
 * `odeint`: torchdiffeq's functional facade over {@link solve} and the solver registry.
 *
 * Adaptive methods (`dopri5`, `tsit5`, `bosh3`, `heun`, `midpoint`) get a
 * {@link PIDController} with `rtol`/`atol` unless `stepSize` is given; fixed-step methods
 * (`euler`, `rk4`, `rk4_38`) need `stepSize`. Defaults are `rtol = atol = 1e-5`, the usual
 * choice for float32 likelihoods (FFJORD, score_sde) — torchdiffeq's 1e-7/1e-9 assume float64.
 */
import type * as tf from '@tensorflow/tfjs';
import { PIDController, type PIDControllerOptions } from './controllers.js';
import { getSolver } from './registry.js';
import { RungeKutta } from './rk.js';
import { type SolveStats, solve } from './solve.js';
import type { StateTree } from './state.js';
import type { VectorField } from './terms.js';

/** Options of {@link odeint}. */
export interface OdeintOptions extends Partial<Omit<PIDControllerOptions, 'rtol' | 'atol'>> {
  /** Registry name of an ODE solver (default `'dopri5'`). */
  method?: string;
  /** Relative tolerance for adaptive methods (default 1e-5). */
  rtol?: number;
  /** Absolute tolerance for adaptive methods (default 1e-5). */
  atol?: number;
  /** Fixed step magnitude (required for fixed-step methods; turns adaptive methods fixed). */
  stepSize?: number;
  /** Adaptive: first step magnitude (default: Hairer's initial step). */
  firstStep?: number;
  /** Budget of attempted steps (default 10 000). */
  maxSteps?: number;
}

/**
 * Solve $dy/dt = f(t, y)$ and return the states at the times `ts`.
 *
 * **Arguments:**
 * - `f`: vector field `(t, y) => dy/dt`.
 * - `y0`: state at `ts[0]` (`[B, ...]` or a tuple).
 * - `ts`: at least two strictly monotone times; integration runs from `ts[0]` to the last.
 * - `options`: {@link OdeintOptions}.
 *
 * **Returns:** `{ ys, stats }` with `ys` stacked `[T, ...]` (per leaf), `ys[0]` equal to `y0`.
 */
export function odeint<Y extends StateTree = tf.Tensor>(
  f: VectorField<Y>,
  y0: Y,
  ts: readonly number[],
  options: OdeintOptions = {},
): { ys: Y; stats: SolveStats } {
  if (!Array.isArray(ts) || ts.length < 2) throw new RangeError('odeint needs at least two times in `ts`');
  const { method = 'dopri5', rtol = 1e-5, atol = 1e-5, stepSize, firstStep, maxSteps, ...pid } = options;
  const solver = getSolver(method);
  if (!(solver instanceof RungeKutta)) throw new TypeError(`odeint solves ODEs; '${method}' is an SDE solver`);
  const t0 = ts[0];
  const t1 = ts[ts.length - 1];
  const dir = Math.sign(t1 - t0);
  const common = { term: f, solver, t0, t1, y0, saveat: { ts }, maxSteps };
  let sol: ReturnType<typeof solve<Y>>;
  if (stepSize !== undefined) {
    if (!(typeof stepSize === 'number' && stepSize > 0)) throw new RangeError(`stepSize must be > 0, got ${stepSize}`);
    sol = solve({ ...common, dt0: dir * stepSize });
  } else {
    if (!solver.adaptive) {
      throw new TypeError(`'${method}' is a fixed-step method: pass stepSize (or use an adaptive method such as dopri5)`);
    }
    const controller = new PIDController({ rtol, atol, ...pid });
    sol = solve({ ...common, controller, dt0: firstStep === undefined ? undefined : dir * firstStep });
  }
  // The final state is also the last saved state.
  for (const leaf of Array.isArray(sol.y1) ? sol.y1 : [sol.y1]) leaf.dispose();
  return { ys: sol.ys as Y, stats: sol.stats };
}
