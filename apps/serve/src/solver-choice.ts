/** The solver options of sampling and transport requests: mode and solver, and the size of a Loop graph's noise. */
import { HttpError } from './errors.js';
import { canonicalSolver, type Mode, ODE_SOLVERS, SDE_SOLVERS, type Solver } from './models.js';

/** Largest number of floats the one-call SDE Loop sampler may allocate for its noise (64 MiB). */
export const MAX_LOOP_NOISE = 1 << 24;

/**
 * Mode and solver of a sampling/transport request (defaults: SDE with Euler–Maruyama, ODE with Euler;
 * ODE for a model without an SDE, `sde` false); 400 when they do not match.
 */
export function solverChoice(body: { mode?: Mode; solver?: string }, sde = true): { mode: Mode; solver: Solver } {
  const requested = canonicalSolver(body.solver);
  const mode: Mode = body.mode ?? (sde && (requested === undefined || requested === 'euler_maruyama') ? 'sde' : 'ode');
  const solver: Solver = requested ?? (mode === 'sde' ? 'euler_maruyama' : 'euler');
  const valid: readonly string[] = mode === 'ode' ? ODE_SOLVERS : SDE_SOLVERS;
  if (!valid.includes(solver)) {
    throw new HttpError(400, 'INVALID_SOLVER', `solver '${solver}' is not available in ${mode} mode (expected ${valid.join(', ')})`);
  }
  return { mode, solver };
}

/** 400 when the one-call SDE graph would need a noise input larger than {@link MAX_LOOP_NOISE}. */
export function checkLoopNoise(
  engine: string,
  mode: Mode,
  steps: number,
  n: number,
  entry: { name: string; info: { dim: number } },
  rows: string,
): void {
  if (engine === 'loop' && mode === 'sde' && steps * n * entry.info.dim > MAX_LOOP_NOISE) {
    throw new HttpError(
      400,
      'TOO_LARGE',
      `steps × n × dim = ${steps * n * entry.info.dim} exceeds ${MAX_LOOP_NOISE} for the one-call SDE sampler of '${entry.name}'; use fewer steps or ${rows}`,
    );
  }
}
