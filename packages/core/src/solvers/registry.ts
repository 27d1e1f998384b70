/**
 * Solvers by name (`--solver dopri5`), like torchdiffeq's `SOLVERS`.
 *
 * | name              | kind | order | adaptive | dense output        |
 * |-------------------|------|-------|----------|---------------------|
 * | `euler`           | ODE  | 1     | no       | cubic Hermite       |
 * | `midpoint`        | ODE  | 2     | yes (embedded Euler) | cubic Hermite |
 * | `heun`            | ODE  | 2     | yes (embedded Euler) | cubic Hermite |
 * | `rk4`             | ODE  | 4     | no       | cubic Hermite       |
 * | `rk4_38`          | ODE  | 4     | no       | cubic Hermite (torchdiffeq's `rk4`) |
 * | `bosh3`           | ODE  | 3     | yes      | cubic Hermite (FSAL)|
 * | `dopri5`          | ODE  | 5     | yes      | Hairer, 4th order   |
 * | `tsit5`           | ODE  | 5     | yes      | Tsitouras, 4th order|
 * | `euler_maruyama`  | SDE  | 0.5 strong | no  | –                   |
 * | `stochastic_heun` | SDE  | 1.0 strong (additive noise) | no | –  |
 * | `sra1`            | SDE  | 1.5 strong (additive noise) | no | –  |
 *
 * Names are canonical in snake_case (see names.ts); `euler-maruyama`, any case and the aliases
 * `rk45` → `dopri5` (scipy/score_sde's name), `em` → `euler_maruyama` are accepted.
 */
import { canonicalSolverName, SOLVER_ALIASES } from './names.js';
import { RungeKutta } from './rk.js';
import { EulerMaruyama, type SdeSolver, SRA1, StochasticHeun } from './sde.js';
import { TABLEAUX } from './tableaux.js';

/** Any solver. */
export type Solver = RungeKutta | SdeSolver;

const ODE_NAMES = ['euler', 'midpoint', 'heun', 'rk4', 'rk4_38', 'bosh3', 'dopri5', 'tsit5'] as const;
const SDE_FACTORIES: Record<string, () => SdeSolver> = {
  euler_maruyama: () => new EulerMaruyama(),
  stochastic_heun: () => new StochasticHeun(),
  sra1: () => new SRA1(),
};

/** Names of the ODE solvers. */
export type OdeSolverName = (typeof ODE_NAMES)[number];
/** Names of the SDE solvers. */
export type SdeSolverName = 'euler_maruyama' | 'stochastic_heun' | 'sra1';

/** Canonical solver names (aliases excluded), optionally only one kind. */
export function solverNames(kind?: 'ode' | 'sde'): string[] {
  const ode = [...ODE_NAMES];
  const sde = Object.keys(SDE_FACTORIES);
  return kind === 'ode' ? ode : kind === 'sde' ? sde : [...ode, ...sde];
}

/**
 * A new solver instance by name (case-insensitive, `-` treated as `_`, aliases accepted).
 * Throws `TypeError` naming the known solvers for an unknown name.
 */
export function getSolver(name: string): Solver {
  if (typeof name !== 'string') throw new TypeError(`solver name must be a string, got ${typeof name}`);
  const key = canonicalSolverName(name);
  if ((ODE_NAMES as readonly string[]).includes(key)) return new RungeKutta(TABLEAUX[key]);
  const sde = SDE_FACTORIES[key];
  if (sde !== undefined) return sde();
  throw new TypeError(
    `unknown solver '${name}': expected one of ${solverNames().join(', ')} (aliases: ${Object.keys(SOLVER_ALIASES).join(', ')}; '-' may replace '_')`,
  );
}
