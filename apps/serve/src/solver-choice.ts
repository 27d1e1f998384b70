/** The solver options of sampling and transport requests: mode and solver, and the size of a Loop graph's noise. */
import { HttpError } from './errors.js';
import { canonicalSolver, FROZEN_SOLVER, type Mode, ODE_SOLVERS, SDE_SOLVERS, type Solver } from './models.js';

/** Largest number of floats the one-call SDE Loop sampler may allocate for its noise (64 MiB). */
export const MAX_LOOP_NOISE = 1 << 24;

/**
 * Mode and solver of a sampling/transport request (defaults: SDE with Euler–Maruyama, ODE with Euler;
 * ODE for a model without an SDE, `sde` false, or for 'ddim'); 400 when they do not match. 'ddim'
 * (frozen-prediction steps) is an ODE solver only where `frozen` (POST /samples; whether the model
 * has its graph is the caller's question), else 400 (transport: bridges have no data prediction).
 */
export function solverChoice(body: { mode?: Mode; solver?: string }, sde = true, frozen = false): { mode: Mode; solver: Solver } {
  const requested = canonicalSolver(body.solver);
  if (requested === FROZEN_SOLVER && !frozen) {
    throw new HttpError(
      400,
      'INVALID_SOLVER',
      `solver '${FROZEN_SOLVER}' (frozen-prediction steps) samples diffusion models only (POST /samples)`,
    );
  }
  const mode: Mode = body.mode ?? (sde && (requested === undefined || requested === 'euler_maruyama') ? 'sde' : 'ode');
  const solver: Solver = requested ?? (mode === 'sde' ? 'euler_maruyama' : 'euler');
  const valid: readonly string[] = mode === 'ode' ? (frozen ? [...ODE_SOLVERS, FROZEN_SOLVER] : ODE_SOLVERS) : SDE_SOLVERS;
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
