/**
 * Pieces shared by the runtime's samplers (diffusion sampling, bridge transport, DiffFlow's grid
 * chain): option checks, the solver choice, the noise of the one-call Loop graphs, the stepwise
 * fixed-step ODE / SDE solve, graph feeds and the standardisation y = (x − mean) / std.
 */
import * as ort from 'onnxruntime-common';
import { type Field, type IntegrationStats, integrateFixed, integrateSde, TABLEAUX } from './integrate.js';
import { OnnxRuntimeError } from './load.js';
import type { StandardizationMeta } from './metadata.js';
import type { Rng } from './rng.js';

export type Mode = 'ode' | 'sde';
export type Engine = 'stepwise' | 'loop';

/** n ≥ 1 (an integer). */
export function checkCount(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new OnnxRuntimeError(`n must be a positive integer, got ${n}`);
}

/** steps ≥ 1 (an integer). */
export function checkSteps(steps: number): void {
  if (!Number.isInteger(steps) || steps < 1) throw new OnnxRuntimeError(`steps must be a positive integer, got ${steps}`);
}

export function checkMode(mode: string): asserts mode is Mode {
  if (mode !== 'ode' && mode !== 'sde') throw new OnnxRuntimeError(`mode must be 'ode' or 'sde', got '${String(mode)}'`);
}

export function checkEngine(engine: string): asserts engine is Engine {
  if (engine !== 'stepwise' && engine !== 'loop')
    throw new OnnxRuntimeError(`engine must be 'stepwise' or 'loop', got '${String(engine)}'`);
}

export function checkSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new OnnxRuntimeError(`seed must be a non-negative integer, got ${seed}`);
}

/** The canonical spelling of a solver name ('euler-maruyama' → 'euler_maruyama'; 'DDIM' → 'ddim'). */
export function canonicalSolver(solver: string | undefined): string | undefined {
  if (solver?.toLowerCase() === FROZEN_PREDICTION_SOLVER) return FROZEN_PREDICTION_SOLVER;
  return solver === 'euler-maruyama' ? 'euler_maruyama' : solver;
}

/**
 * The solver name of the frozen-prediction ("DDIM") ODE steps of diffusion models
 * (docs/maths/sampling.md#frozen-prediction-steps; `DiffusionModel.sample({ mode: 'ode', solver: 'ddim' })`).
 */
export const FROZEN_PREDICTION_SOLVER = 'ddim';

/** Whether a solver name selects the frozen-prediction steps. */
export function isFrozenPredictionSolver(solver: string | undefined): boolean {
  return solver === FROZEN_PREDICTION_SOLVER;
}

/**
 * The solver of `mode` (default: Euler–Maruyama for SDE, Euler for ODE); throws when it is not one
 * of that mode's. 'ddim' (frozen-prediction steps) is one of the ODE's only when `frozen` (the
 * model has a data prediction and a Gaussian forward process: diffusion models).
 */
export function solverFor(mode: Mode, requested: string | undefined, frozen = false): string {
  if (isFrozenPredictionSolver(requested)) {
    if (!frozen)
      throw new OnnxRuntimeError(
        `solver '${FROZEN_PREDICTION_SOLVER}' (frozen-prediction steps) needs a diffusion model (a data prediction and a Gaussian forward process); use euler, heun or rk4`,
      );
    if (mode !== 'ode')
      throw new OnnxRuntimeError(`solver '${FROZEN_PREDICTION_SOLVER}' steps the probability-flow ODE: it needs mode 'ode', not '${mode}'`);
    return FROZEN_PREDICTION_SOLVER;
  }
  const solver = requested ?? (mode === 'sde' ? 'euler_maruyama' : 'euler');
  const valid = mode === 'ode' ? ['euler', 'heun', 'rk4'] : ['euler_maruyama', 'euler', 'heun'];
  if (!valid.includes(solver))
    throw new OnnxRuntimeError(`solver '${solver}' is not available in ${mode} mode (expected ${valid.join(', ')})`);
  return solver;
}

/**
 * The feeds `{ [name]: [n, dim], t: [n, 1] }` of a field graph; z (or x) row-major [n, dim],
 * t a number or one per row.
 */
export function timeFeeds(name: string, z: Float32Array, t: number | Float32Array, dim: number): Record<string, ort.Tensor> {
  const n = z.length / dim;
  if (!Number.isInteger(n)) throw new OnnxRuntimeError(`${name} has ${z.length} values, not a multiple of dim ${dim}`);
  const tc = typeof t === 'number' ? new Float32Array(n).fill(t) : t;
  if (tc.length !== n) throw new OnnxRuntimeError(`t has ${tc.length} values for ${n} rows`);
  return { [name]: new ort.Tensor('float32', z, [n, dim]), t: new ort.Tensor('float32', tc, [n, 1]) };
}

/** `slices` standard-normal slices of n·D numbers each, as a [slices, n, D] tensor (the Loop graphs' `noise`). */
export function noiseTensor(rng: Rng, slices: number, n: number, D: number): ort.Tensor {
  const noise = new Float32Array(slices * n * D);
  for (let k = 0; k < slices; k++) noise.set(rng.normalArray(n * D), k * n * D);
  return new ort.Tensor('float32', noise, [slices, n, D]);
}

/** The per-mode input of a Loop sampler graph: `steps` (ODE) or the Brownian `noise` [steps, n, D] (SDE). */
export function loopStepFeeds(mode: Mode, steps: number, brownian: Rng | null, n: number, D: number): Record<string, ort.Tensor> {
  if (mode === 'ode') return { steps: new ort.Tensor('int64', BigInt64Array.from([BigInt(steps)]), [1]) };
  return { noise: noiseTensor(brownian as Rng, steps, n, D) };
}

/** The states of a fixed-step solve: the steps + 1 grid times (t₁ first) and the states [steps + 1, n, D], row-major. */
export interface Trajectory {
  times: number[];
  states: Float32Array;
}

/** A trajectory to fill, and the solvers' `visit` that records each state of a solve of `steps` steps on `size` numbers. */
export function trajectoryRecorder(steps: number, size: number): { trajectory: Trajectory; visit: (t: number, y: Float64Array) => void } {
  const trajectory: Trajectory = { times: [], states: new Float32Array((steps + 1) * size) };
  const visit = (t: number, y: Float64Array) => {
    trajectory.states.set(y, trajectory.times.length * size);
    trajectory.times.push(t);
  };
  return { trajectory, visit };
}

/** The fields of a stepwise solve (model space, row-major [n, D]). */
export interface StepwiseFields {
  velocity(z: Float32Array, t: number): Promise<Float32Array>;
  drift(z: Float32Array, t: number): Promise<{ drift: Float32Array; g: Float32Array }>;
}

/**
 * Integrate z from t1 down to t0 with `steps` fixed steps: the probability-flow ODE dz = f dt
 * (Euler, Heun, RK4) or the reverse SDE dz = fB dt + g dW̄ (Euler–Maruyama, stochastic Heun),
 * the Brownian increments √|h|·N(0, I) drawn from `brownian`; `visit` sees every state (t₁ first).
 */
export async function integrateStepwise(
  fields: StepwiseFields,
  mode: Mode,
  solver: string,
  span: { t1: number; t0: number; steps: number },
  z1: Float64Array,
  brownian: Rng | null,
  D: number,
  visit?: (t: number, y: Float64Array) => void,
): Promise<{ z: Float32Array; stats: IntegrationStats }> {
  const { t1, t0, steps } = span;
  if (mode === 'ode') {
    const f: Field = async (t, y) => Float64Array.from(await fields.velocity(Float32Array.from(y), t));
    const r = await integrateFixed(f, TABLEAUX[solver as 'euler' | 'heun' | 'rk4'], t1, t0, z1, steps, visit);
    return { z: Float32Array.from(r.y), stats: r.stats };
  }
  const r = await integrateSde(
    async (t, y) => {
      const out = await fields.drift(Float32Array.from(y), t);
      return { drift: Float64Array.from(out.drift), g: out.g[0] };
    },
    t1,
    t0,
    z1,
    steps,
    solver === 'heun',
    (_k, h) => (brownian as Rng).normalArray(z1.length, 0, Math.sqrt(Math.abs(h))),
    D,
    visit,
  );
  return { z: Float32Array.from(r.y), stats: r.stats };
}

/** In place: model space → data space, x = y·std + mean. */
export function toDataSpace(z: Float32Array, s: StandardizationMeta, D: number): void {
  for (let i = 0; i < z.length; i++) z[i] = z[i] * s.std[i % D] + s.mean[i % D];
}

/** In place: data space → model space, y = (x − mean) / std. */
export function toModelSpace(z: Float32Array, s: StandardizationMeta, D: number): void {
  for (let i = 0; i < z.length; i++) z[i] = (z[i] - s.mean[i % D]) / s.std[i % D];
}
