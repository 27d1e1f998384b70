/**
 * Runtime of exported velocity-parametrised flow-matching models (kind 'cfm': CFM, OT-CFM,
 * rectified flow; t = 0 data, t = 1 the prior N(0, I)). The ODE dz/dt = v_θ(z, t) is integrated
 * by the diffusion runtime's code ({@link OnnxModel}: the `velocity` graph stepwise, or a
 * `sampler_<s>_ode` Loop graph), with its seeding — `new Rng(seed)` draws z(1) = ε [n, D] as
 * `cfmSample` of @nfdm/models does — and log p(x) = log N(z(1); 0, I) + ∫₀¹ div v_θ dt by the
 * `velocity_divergence` graph. There is no reverse SDE: SDE sampling and the drift are refused, and
 * no data prediction: the frozen-prediction 'ddim' steps are refused too.
 */
import type * as ort from 'onnxruntime-common';
import { OnnxModel, type RuntimeSampleOptions, type RuntimeSampleResult } from './diffusion.js';
import { CFM } from './families.js';
import { type IntegrationStats, integrateFixed, TABLEAUX } from './integrate.js';
import { type ModelMetadata, OnnxRuntimeError } from './load.js';
import { Rng } from './rng.js';
import {
  canonicalSolver,
  checkCount,
  checkSteps,
  FROZEN_PREDICTION_SOLVER,
  isFrozenPredictionSolver,
  toDataSpace,
  trajectoryRecorder,
} from './sampling.js';

/** Options of {@link OnnxCFMModel.trajectory}. */
export interface CFMTrajectoryOptions {
  n: number;
  /** Fixed steps (default 100). */
  steps?: number;
  /** 'euler' (default), 'heun' or 'rk4'. */
  solver?: 'euler' | 'heun' | 'rk4';
  /** Seed of z(1) (default 0; the same draws as {@link OnnxCFMModel.sample}). */
  seed?: number;
  /** 'data' (default; standardisation undone) or 'model'. */
  space?: 'data' | 'model';
}

/** The states of an ODE solve from t = 1 down to 0. */
export interface CFMTrajectoryResult {
  /** The steps + 1 grid times, 1 first. */
  times: number[];
  /** Row-major [steps + 1, n, dim]: z(1) first, the samples last. */
  states: Float32Array;
  n: number;
  dim: number;
  solver: string;
  stats: IntegrationStats;
}

const SDE_REFUSED =
  'a flow-matching model has no reverse SDE: it samples by its ODE dz/dt = v_θ(z, t) only (mode "ode" with euler, heun or rk4)';

const FROZEN_REFUSED =
  `a flow-matching model has no data prediction and no Gaussian forward process: solver '${FROZEN_PREDICTION_SOLVER}' ` +
  '(frozen-prediction steps) needs a diffusion model; use euler, heun or rk4';

/** An exported flow-matching model loaded into onnxruntime: ODE sampling, trajectories and log p(x). */
export class OnnxCFMModel extends OnnxModel {
  constructor(metadata: ModelMetadata, sessions: Map<string, ort.InferenceSession>) {
    super(metadata, sessions, CFM);
  }

  /**
   * Draw n samples by the ODE from z(1) = ε ~ N(0, I) down to t = 0 (mode 'ode' only; the default
   * solver is Euler). The same seed, steps and solver reproduce `cfmSample`.
   */
  override async sample(options: RuntimeSampleOptions): Promise<RuntimeSampleResult> {
    const solver = canonicalSolver(options.solver);
    if (isFrozenPredictionSolver(solver)) throw new OnnxRuntimeError(FROZEN_REFUSED);
    if (options.mode === 'sde' || solver === 'euler_maruyama') throw new OnnxRuntimeError(SDE_REFUSED);
    return super.sample({ ...options, mode: 'ode' });
  }

  /** Refused: there is no frozen-prediction step (no x̂, no Gaussian process). */
  override async frozenStep(_z: Float32Array, _t: number | Float32Array, _s: number | Float32Array): Promise<Float32Array> {
    throw new OnnxRuntimeError(FROZEN_REFUSED);
  }

  /** @internal Refused: there is no frozen-prediction step. */
  override async frozenStepStage(_z: Float32Array, _t: number | Float32Array, _s: number | Float32Array): Promise<Float32Array> {
    throw new OnnxRuntimeError(FROZEN_REFUSED);
  }

  /** Refused: there is no reverse drift. */
  override async drift(_z: Float32Array, _t: number | Float32Array): Promise<{ drift: Float32Array; g: Float32Array }> {
    throw new OnnxRuntimeError(SDE_REFUSED);
  }

  /** @internal Refused: there is no reverse drift. */
  override async driftStage(_z: Float32Array, _t: number | Float32Array): Promise<{ drift: Float32Array; g: Float32Array }> {
    throw new OnnxRuntimeError(SDE_REFUSED);
  }

  /**
   * The whole ODE path: z(1) = ε from `new Rng(seed)` (as {@link sample}) and the state after every
   * fixed step of `solver`, down to the samples at t = 0 (stepwise, with the velocity graph).
   */
  async trajectory(options: CFMTrajectoryOptions): Promise<CFMTrajectoryResult> {
    const { n } = options;
    checkCount(n);
    const steps = options.steps ?? 100;
    checkSteps(steps);
    const solver = options.solver ?? 'euler';
    if (!(solver in TABLEAUX)) throw new OnnxRuntimeError(`trajectory solver must be euler, heun or rk4, got '${solver}'`);
    const D = this.dim;
    const eps = new Rng(options.seed ?? 0).normalArray(n * D);
    const { trajectory, visit } = trajectoryRecorder(steps, n * D);
    const f = async (t: number, y: Float64Array) => Float64Array.from(await this.velocityStage(Float32Array.from(y), t));
    const { stats } = await integrateFixed(f, TABLEAUX[solver], 1, 0, Float64Array.from(eps), steps, visit);
    const s = this.standardization;
    if (s && (options.space ?? 'data') === 'data') toDataSpace(trajectory.states, s, D);
    return { ...trajectory, n, dim: D, solver, stats };
  }
}
