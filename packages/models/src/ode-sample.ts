/**
 * One generative ODE solve dz/dt = f(z, t) from y0 [n, D] at t0 to t1 with a core solver,
 * fixed-step (default `euler`, 100 steps) or adaptive (default `dopri5` with a PID controller,
 * rtol = atol = 1e-5), as the diffusion family's probability-flow sampler and the flow-matching
 * family both draw samples. Returns the end state [n, D] and, when asked, every step's state
 * [T, n, D] with its times.
 */
import { ODETerm, PIDController, type SolveStats, solve } from '@nfdm/core';
import type * as tf from '@tensorflow/tfjs';
import { FROZEN_PREDICTION_SOLVER, isFrozenPredictionSolver } from './frozen-step.js';

/** How the ODE is stepped (the sample options the families share). */
export interface ODESampleOptions {
  solver?: string;
  steps?: number;
  adaptive?: { rtol?: number; atol?: number };
  trajectory?: boolean;
  nonFinite?: 'error' | 'freeze-rows';
  onStep?: (t: number, acceptedSteps: number) => void;
}

export interface ODESampleResult {
  samples: tf.Tensor;
  trajectory?: tf.Tensor;
  times?: number[];
  stats: SolveStats;
  nonFiniteRows?: number[];
}

/** Integrate dz/dt = field(z, t) from `y0` at `t0` to `t1` (module doc). */
export function sampleODE(
  field: (t: number, z: tf.Tensor) => tf.Tensor,
  y0: tf.Tensor,
  t0: number,
  t1: number,
  options: ODESampleOptions,
): ODESampleResult {
  if (isFrozenPredictionSolver(options.solver))
    throw new RangeError(
      `'${FROZEN_PREDICTION_SOLVER}' (frozen-prediction steps) needs a diffusion model with a data predictor; use an ODE solver such as euler or dopri5`,
    );
  const saveat = options.trajectory ? { steps: true, t0: true } : undefined;
  const common = { term: new ODETerm(field), t0, t1, y0, saveat, nonFinite: options.nonFinite, onStep: options.onStep };
  const sol = options.adaptive
    ? solve({
        ...common,
        solver: options.solver ?? 'dopri5',
        controller: new PIDController({ rtol: options.adaptive.rtol ?? 1e-5, atol: options.adaptive.atol ?? 1e-5 }),
      })
    : solve({ ...common, solver: options.solver ?? 'euler', steps: options.steps ?? 100 });
  return { samples: sol.y1, trajectory: sol.ys, times: sol.ts, stats: sol.stats, nonFiniteRows: sol.nonFiniteRows };
}
