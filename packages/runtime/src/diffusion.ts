/**
 * Runtime of exported DiffusionModels (nfdm, ndm, fixed and downstream forward processes):
 * samples through the probability-flow ODE (Runge–Kutta steps, or the frozen-prediction 'ddim'
 * steps of the `frozen_step` graph) or the reverse SDE, and exact log-densities.
 *
 * One onnxruntime InferenceSession per graph, created when the model is loaded and reused for
 * every call. Samplers and the log-density integrator are fixed-step (and, for log-densities,
 * adaptive Dormand–Prince) loops over typed arrays, one session call per field evaluation; or,
 * with `engine: 'loop'`, one call of an exported one-call Loop sampler graph.
 *
 * Conditional models (`model.condition`, conditions.ts) take the samples' conditions y and a
 * classifier-free guidance weight w (sample, velocity, drift) or the points' conditions
 * (logProb: log p(x | y) of the unguided model).
 */
import * as ort from 'onnxruntime-common';
import { LoadedOnnxModel } from './base.js';
import { type ConditionValues, conditionFeeds, conditionOrLabels } from './conditions.js';
import { DIFFUSION, type RuntimeFamily } from './families.js';
import {
  type AdaptiveOptions,
  assertFinite,
  type Field,
  gridTime,
  type IntegrationStats,
  integrateAdaptive,
  integrateFixed,
  TABLEAUX,
} from './integrate.js';
import { flatten, type ModelMetadata, OnnxRuntimeError, type Points } from './load.js';
import { Rng } from './rng.js';
import {
  canonicalSolver,
  checkCount,
  checkMode,
  checkSteps,
  integrateStepwise,
  isFrozenPredictionSolver,
  loopStepFeeds,
  solverFor,
  type Trajectory,
  timeFeeds,
  toDataSpace,
  toModelSpace,
  trajectoryRecorder,
} from './sampling.js';

/** Solvers of {@link OnnxModel.sample}. */
export type RuntimeSolver = 'euler' | 'heun' | 'rk4' | 'ddim' | 'euler_maruyama' | 'euler-maruyama';

/** Options of {@link OnnxModel.sample}. */
export interface RuntimeSampleOptions {
  n: number;
  /** Fixed number of steps (default 100). */
  steps?: number;
  /**
   * ODE: 'euler' (default), 'heun', 'rk4', or 'ddim' — frozen-prediction steps (diffusion models
   * only; the `frozen_step` graph stepwise, `sampler_ddim_ode` with engine 'loop'; see
   * {@link OnnxModel.frozenStep}). SDE: 'euler_maruyama' (default; 'euler' and 'euler-maruyama'
   * are aliases) or 'heun' (stochastic Heun).
   */
  solver?: RuntimeSolver;
  /** 'sde' (reverse SDE) or 'ode' (probability flow). Default: 'ode' for euler/heun/rk4/ddim, else 'sde'. */
  mode?: 'ode' | 'sde';
  /** Seed (default 0); the same seed gives the same z(1) and noise as `DiffusionModel.sample`. */
  seed?: number;
  /** 'stepwise' (default; one field call per stage) or 'loop' (the one-call Loop sampler graph). */
  engine?: 'stepwise' | 'loop';
  /** 'data' (default; standardisation undone) or 'model' (the model's standardised space). */
  space?: 'data' | 'model';
  /**
   * Conditional models (required): the samples' conditions — labels (one number for every
   * sample or one per sample; K = the null condition) or vectors (one row of m values for every
   * sample, n rows, or n·m numbers row-major; a row containing NaN = the null condition).
   */
  condition?: ConditionValues;
  /** Label-conditional models: the same as `condition` (give one of the two). */
  labels?: number | ArrayLike<number>;
  /** Classifier-free guidance weight w (default 0: the conditional model); conditional models only. */
  guidance?: number;
  /** Also return every state of the solve (`trajectory`; stepwise engine only). */
  trajectory?: boolean;
}

/** The condition of a field evaluation: y for every row, and the guidance weight w (default 0). */
export interface RuntimeFieldOptions {
  condition?: ConditionValues;
  guidance?: number;
}

export interface RuntimeSampleResult {
  /** Row-major [n, dim]. */
  samples: Float32Array;
  n: number;
  dim: number;
  solver: string;
  mode: 'ode' | 'sde';
  engine: 'stepwise' | 'loop';
  stats: IntegrationStats;
  /** With `trajectory: true`: z(1) first, the samples last ([steps + 1, n, dim], in the samples' space). */
  trajectory?: Trajectory;
}

/** Options of {@link OnnxModel.logProb}. */
export interface RuntimeLogProbOptions {
  /** Fixed steps (with `solver`, default 'rk4'); without it the solve is adaptive. */
  steps?: number;
  solver?: 'euler' | 'heun' | 'rk4';
  /** Adaptive Dormand–Prince tolerances (default rtol = atol = 1e-5, like DiffusionModel.logProb). */
  adaptive?: AdaptiveOptions | boolean;
  /** 'data' (default; points are standardised and the log-det added) or 'model'. */
  space?: 'data' | 'model';
  /** Conditional models (required): the points' conditions (as in sample), giving log p(x | y). */
  condition?: ConditionValues;
}

export interface RuntimeLogProbResult {
  /** log p(x) in nats per point. */
  logp: Float64Array;
  stats: IntegrationStats;
}

/** An exported DiffusionModel loaded into onnxruntime. */
export class OnnxModel extends LoadedOnnxModel {
  /** Discriminates the runtime model classes (see {@link loadExportedModel}): 'diffusion', or 'cfm' for OnnxCFMModel (cfm.ts). */
  readonly family: 'diffusion' | 'cfm';
  readonly priorStd: number;
  /** The process start t₀ (samplers integrate from 1 down to t₀). */
  readonly tStart: number;

  /** `family`: the row of the family table (default diffusion; the flow-matching subclass passes its own). */
  constructor(
    metadata: ModelMetadata,
    sessions: Map<string, ort.InferenceSession>,
    family: RuntimeFamily<'diffusion' | 'cfm'> = DIFFUSION,
  ) {
    super(metadata, sessions, family);
    this.family = family.exportName;
    this.priorStd = metadata.priorStd;
    this.tStart = metadata.tStart;
  }

  /**
   * Probability-flow velocity f(z, t); z row-major [n, dim]; t a number or one per row. A
   * conditional model takes the rows' conditions and a guidance weight (the guided field).
   */
  async velocity(z: Float32Array, t: number | Float32Array, options: RuntimeFieldOptions = {}): Promise<Float32Array> {
    return this.velocityStage(z, t, this.conditionFeeds(z.length / this.dim, options.condition, options.guidance));
  }

  /** Reverse-SDE drift fB(z, t) and g(t) per row (conditional models: guided, as {@link velocity}). */
  async drift(
    z: Float32Array,
    t: number | Float32Array,
    options: RuntimeFieldOptions = {},
  ): Promise<{ drift: Float32Array; g: Float32Array }> {
    return this.driftStage(z, t, this.conditionFeeds(z.length / this.dim, options.condition, options.guidance));
  }

  /** f(z, t) and its exact divergence per row (conditional models: f(z, t, y), unguided). */
  async velocityDivergence(
    z: Float32Array,
    t: number | Float32Array,
    options: { condition?: ConditionValues } = {},
  ): Promise<{ velocity: Float32Array; divergence: Float32Array }> {
    return this.divergenceStage(z, t, this.conditionFeeds(z.length / this.dim, options.condition, undefined, false));
  }

  /**
   * One frozen-prediction ("DDIM") step of the probability-flow ODE from t down to s
   * (docs/maths/sampling.md#frozen-prediction-steps): with x̂ = x̂_w(z, t, y) held fixed,
   * z_s = μ(x̂, s) + σ(x̂, s) ⊙ (z − μ(x̂, t)) / σ(x̂, t). z row-major [n, dim]; t and s a number
   * or one per row; returns z_s [n, dim] (model space). Needs the `frozen_step` graph; a
   * conditional model takes the rows' conditions and a guidance weight (as {@link velocity}).
   */
  async frozenStep(
    z: Float32Array,
    t: number | Float32Array,
    s: number | Float32Array,
    options: RuntimeFieldOptions = {},
  ): Promise<Float32Array> {
    return this.frozenStepStage(z, t, s, this.conditionFeeds(z.length / this.dim, options.condition, options.guidance));
  }

  /**
   * The `condition` [n, w] (and, for guided graphs, `guidance` [1]) feeds of a conditional
   * model's graphs; none for an unconditional one (which refuses a condition or a guidance
   * weight ≠ 0). Throws an OnnxConditionError (conditions.ts) on a missing or ill-shaped condition.
   */
  conditionFeeds(
    n: number,
    condition: ConditionValues | undefined,
    guidance: number | undefined,
    guided = true,
  ): Record<string, ort.Tensor> {
    return conditionFeeds(this.condition, n, condition, guidance, guided);
  }

  /**
   * @internal One field evaluation with prepared feeds ({@link conditionFeeds}): the per-stage
   * calls of the solvers, which an `abortable` view overrides (fieldMethods in families.ts).
   * Uses the divergence graph when the velocity graph is not loaded and the field is unguided.
   */
  async velocityStage(z: Float32Array, t: number | Float32Array, feeds: Record<string, ort.Tensor> = {}) {
    const guided = feeds.guidance !== undefined && (feeds.guidance.data as Float32Array)[0] !== 0;
    const graph = this.has('velocity') || guided ? 'velocity' : 'velocity_divergence';
    const inputs = graph === 'velocity' ? feeds : withoutGuidance(feeds);
    const out = await this.set.get(graph, 'velocity').run({ ...timeFeeds('z', z, t, this.dim), ...inputs });
    return out.velocity.data as Float32Array;
  }

  /** @internal The reverse drift with prepared feeds (see {@link velocityStage}). */
  async driftStage(z: Float32Array, t: number | Float32Array, feeds: Record<string, ort.Tensor> = {}) {
    const out = await this.set.get('drift', 'the reverse drift').run({ ...timeFeeds('z', z, t, this.dim), ...feeds });
    return { drift: out.drift.data as Float32Array, g: out.g.data as Float32Array };
  }

  /** @internal The frozen-prediction step with prepared feeds (see {@link velocityStage} and {@link frozenStep}). */
  async frozenStepStage(z: Float32Array, t: number | Float32Array, s: number | Float32Array, feeds: Record<string, ort.Tensor> = {}) {
    const time = timeFeeds('z', z, t, this.dim);
    const n = z.length / this.dim;
    const sc = typeof s === 'number' ? new Float32Array(n).fill(s) : s;
    if (sc.length !== n) throw new OnnxRuntimeError(`s has ${sc.length} values for ${n} rows`);
    const out = await this.set
      .get('frozen_step', "solver 'ddim' (frozen-prediction steps)")
      .run({ ...time, s: new ort.Tensor('float32', sc, [n, 1]), ...feeds });
    return out.z_s.data as Float32Array;
  }

  /** @internal f and div f with prepared feeds (see {@link velocityStage}). */
  async divergenceStage(z: Float32Array, t: number | Float32Array, feeds: Record<string, ort.Tensor> = {}) {
    const inputs = { ...timeFeeds('z', z, t, this.dim), ...withoutGuidance(feeds) };
    const out = await this.set.get('velocity_divergence', 'the divergence').run(inputs);
    return { velocity: out.velocity.data as Float32Array, divergence: out.divergence.data as Float32Array };
  }

  /**
   * Draw n samples by integrating from t = 1 (z(1) ~ N(0, priorStd² I)) down to t₀. The same
   * seed, steps, solver and mode reproduce `DiffusionModel.sample` (same random numbers).
   */
  async sample(options: RuntimeSampleOptions): Promise<RuntimeSampleResult> {
    const { n } = options;
    checkCount(n);
    const steps = options.steps ?? 100;
    checkSteps(steps);
    const requested = canonicalSolver(options.solver);
    const mode = options.mode ?? (requested === undefined || requested === 'euler_maruyama' ? 'sde' : 'ode');
    checkMode(mode);
    const solver = solverFor(mode, requested, true);
    const engine = options.engine ?? 'stepwise';
    if (options.trajectory && engine === 'loop')
      throw new OnnxRuntimeError("trajectory needs engine 'stepwise' (a Loop graph returns the samples only)");
    const feeds = this.conditionFeeds(n, conditionOrLabels(options, this.condition), options.guidance);
    const rng = new Rng(options.seed ?? 0);
    const eps = rng.normalArray(n * this.dim);
    const brownian = mode === 'sde' ? new Rng(rng.nextUint32()) : null;
    const recorder = options.trajectory ? trajectoryRecorder(steps, n * this.dim) : undefined;
    const run = { n, steps, solver, mode, eps, brownian, feeds, visit: recorder?.visit };
    const { z, stats } = engine === 'loop' ? await this.sampleLoop(run) : await this.sampleStepwise(run);
    // the stepwise solve ends in model space, the Loop graph in data space
    const space = options.space ?? 'data';
    const s = this.standardization;
    if (s && engine === 'stepwise' && space === 'data') {
      toDataSpace(z, s, this.dim);
      if (recorder) toDataSpace(recorder.trajectory.states, s, this.dim);
    } else if (s && engine !== 'stepwise' && space === 'model') toModelSpace(z, s, this.dim);
    const result: RuntimeSampleResult = { samples: z, n, dim: this.dim, solver, mode, engine, stats };
    if (recorder) result.trajectory = recorder.trajectory;
    return result;
  }

  /**
   * Trajectories of the forward process q(z_t | x) from the points x (data space unless `space:
   * 'model'`): z_t = μ(x, t) + σ(x, t) ε at `times` times from t₀ to 1 (default 21), one
   * ε ~ N(0, I) per point from `new Rng(seed)` held fixed along t (σ of width 1 or D). For a
   * learned process (NFDM) these are the learned forward paths. Needs the `forward` graph (load it
   * by naming it in `graphs`); conditional processes take the points' `condition`.
   */
  async forwardTrajectory(
    points: Points,
    options: { times?: number; seed?: number; space?: 'data' | 'model'; condition?: ConditionValues } = {},
  ): Promise<Trajectory> {
    const D = this.dim;
    const flat = flatten(points, D);
    const n = flat.length / D;
    const T = options.times ?? 21;
    if (!Number.isInteger(T) || T < 2) throw new OnnxRuntimeError(`times must be an integer ≥ 2, got ${T}`);
    const session = this.set.get('forward', 'forwardTrajectory');
    const s = (options.space ?? 'data') === 'data' ? this.standardization : undefined;
    const x = Float32Array.from(flat);
    if (s) toModelSpace(x, s, D);
    const eps = new Rng(options.seed ?? 0).normalArray(n * D);
    const feeds = session.inputNames.includes('condition') ? this.conditionFeeds(n, options.condition, undefined, false) : {};
    const trajectory: Trajectory = { times: [], states: new Float32Array(T * n * D) };
    for (let k = 0; k < T; k++) {
      const t = this.tStart + ((1 - this.tStart) * k) / (T - 1);
      const out = await session.run({ ...timeFeeds('x', x, t, D), ...feeds });
      const mu = out.mu.data as Float32Array;
      const sigma = out.sigma.data as Float32Array;
      const width = sigma.length / n;
      const z = trajectory.states.subarray(k * n * D, (k + 1) * n * D);
      for (let i = 0; i < n * D; i++) z[i] = mu[i] + sigma[width === 1 ? Math.floor(i / D) : i] * eps[i];
      if (s) toDataSpace(z, s, D);
      trajectory.times.push(t);
    }
    return trajectory;
  }

  /** One call of the `sampler_<solver>_<mode>` Loop graph. */
  private async sampleLoop(run: SampleRun): Promise<{ z: Float32Array; stats: IntegrationStats }> {
    const { n, steps, solver, mode, eps, brownian } = run;
    const D = this.dim;
    const loopSolver = solver === 'euler_maruyama' ? 'euler' : solver;
    const session = this.set.get(`sampler_${loopSolver}_${mode}`, `engine 'loop' with ${solver}/${mode}`);
    const feeds = { prior_noise: new ort.Tensor('float32', eps, [n, D]), ...loopStepFeeds(mode, steps, brownian, n, D), ...run.feeds };
    const out = await session.run(feeds);
    const perStep = mode === 'sde' ? (loopSolver === 'heun' ? 2 : 1) : (TABLEAUX[loopSolver as 'euler']?.c.length ?? 1);
    return {
      z: Float32Array.from(out.samples.data as Float32Array),
      stats: { nfe: steps * perStep, steps, acceptedSteps: steps, rejectedSteps: 0 },
    };
  }

  /** The fixed-step ODE / SDE solve with one field call per stage (one frozen_step call per 'ddim' step), from z(1) = priorStd·ε. */
  private async sampleStepwise(run: SampleRun): Promise<{ z: Float32Array; stats: IntegrationStats }> {
    const { steps, solver, mode, eps, brownian, feeds, visit } = run;
    const z1 = new Float64Array(eps.length);
    for (let i = 0; i < z1.length; i++) z1[i] = Math.fround(eps[i] * this.priorStd);
    if (isFrozenPredictionSolver(solver)) return this.sampleFrozen(Float32Array.from(z1), steps, feeds, visit);
    const fields = {
      velocity: (z: Float32Array, t: number) => this.velocityStage(z, t, feeds),
      drift: (z: Float32Array, t: number) => this.driftStage(z, t, feeds),
    };
    return integrateStepwise(fields, mode, solver, { t1: 1, t0: this.tStart, steps }, z1, brownian, this.dim, visit);
  }

  /**
   * The frozen-prediction steps from z(1) at t = 1 down to t₀ on the uniform grid t_k = 1 + k(t₀ − 1)/steps
   * (t_steps = t₀ exactly, as `DiffusionModel.sample({ mode: 'ode', solver: 'ddim' })`): one
   * `frozen_step` call per step; `visit` sees every state, z(1) first.
   */
  private async sampleFrozen(
    z1: Float32Array,
    steps: number,
    feeds: Record<string, ort.Tensor>,
    visit?: (t: number, y: Float64Array) => void,
  ): Promise<{ z: Float32Array; stats: IntegrationStats }> {
    this.set.get('frozen_step', "solver 'ddim' (frozen-prediction steps)");
    let z = z1;
    visit?.(1, Float64Array.from(z));
    for (let k = 0; k < steps; k++) {
      const s = gridTime(k + 1, steps, 1, this.tStart);
      z = Float32Array.from(await this.frozenStepStage(z, gridTime(k, steps, 1, this.tStart), s, feeds));
      visit?.(s, Float64Array.from(z));
    }
    assertFinite(z, this.tStart);
    return { z, stats: { nfe: steps, steps, acceptedSteps: steps, rejectedSteps: 0 } };
  }

  /**
   * log p(x) (nats) through the probability-flow ODE from t₀ to 1 with the exact divergence:
   * log p(x) = log N(z(1); 0, priorStd² I) + ∫ div f dt (+ the standardisation's log-det in data
   * space). Needs the `velocity_divergence` graph.
   */
  async logProb(points: Points, options: RuntimeLogProbOptions = {}): Promise<RuntimeLogProbResult> {
    const D = this.dim;
    const flat = flatten(points, D);
    const n = flat.length / D;
    const feeds = this.conditionFeeds(n, options.condition, undefined, false);
    const space = options.space ?? 'data';
    const s = space === 'data' ? this.standardization : undefined;
    const y0 = new Float64Array(n * D + n);
    for (let i = 0; i < n * D; i++) y0[i] = s ? (flat[i] - s.mean[i % D]) / s.std[i % D] : flat[i];
    this.set.get('velocity_divergence', 'logProb');
    const zBuf = new Float32Array(n * D);
    const f: Field = async (t, y) => {
      for (let i = 0; i < n * D; i++) zBuf[i] = y[i];
      const out = await this.divergenceStage(zBuf, t, feeds);
      const k = new Float64Array(n * D + n);
      k.set(out.velocity);
      k.set(out.divergence, n * D);
      return k;
    };
    let result: { y: Float64Array; stats: IntegrationStats };
    if (options.steps !== undefined) {
      checkSteps(options.steps);
      const solver = options.solver ?? 'rk4';
      if (!(solver in TABLEAUX)) throw new OnnxRuntimeError(`logProb solver must be euler, heun or rk4, got '${solver}'`);
      result = await integrateFixed(f, TABLEAUX[solver], this.tStart, 1, y0, options.steps);
    } else {
      result = await integrateAdaptive(f, this.tStart, 1, y0, typeof options.adaptive === 'object' ? options.adaptive : {});
    }
    const prior = this.priorStd;
    const logNorm = -0.5 * D * Math.log(2 * Math.PI) - D * Math.log(prior);
    const logDet = s ? -s.std.reduce((a, v) => a + Math.log(v), 0) : 0;
    const logp = new Float64Array(n);
    for (let r = 0; r < n; r++) {
      let q = 0;
      for (let d = 0; d < D; d++) q += result.y[r * D + d] ** 2;
      logp[r] = logNorm - (0.5 * q) / (prior * prior) + result.y[n * D + r] + logDet;
    }
    return { logp, stats: result.stats };
  }
}

interface SampleRun {
  n: number;
  steps: number;
  solver: string;
  mode: 'ode' | 'sde';
  eps: Float32Array;
  brownian: Rng | null;
  /** The condition feeds of a conditional model (empty otherwise). */
  feeds: Record<string, ort.Tensor>;
  /** Records the states of a stepwise solve (trajectory: true). */
  visit?: (t: number, y: Float64Array) => void;
}

/** The feeds without `guidance` (for the unguided divergence graph). */
function withoutGuidance(feeds: Record<string, ort.Tensor>): Record<string, ort.Tensor> {
  const { guidance: _w, ...rest } = feeds;
  return rest;
}
