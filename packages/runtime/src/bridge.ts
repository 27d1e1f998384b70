/**
 * Runtime of exported NFBM bridges (`exportBridgeOnnx`): transport source points to generated
 * targets with onnxruntime-node only (no tfjs).
 *
 * ```ts
 * const bridge = await loadOnnxBridge('out/bridge');
 * const { samples } = await bridge.transport([[0, 1], [2, -1]], { mode: 'ode', steps: 100, seed: 0 });
 * ```
 *
 * The same seed reproduces `BridgeModel.sample(x1, { mode, steps, seed })`: z(1) = x1 + δ ε with
 * ε from `new Rng(seed)`, and the SDE's Brownian increments from `new Rng(seed + 1)`.
 *
 * Conditional bridges (`bridge.condition`, conditions.ts) transport given conditions y (one for
 * every source or one per source; the null condition ∅ gives the unconditional bridge) with a
 * classifier-free guidance weight w: the fields use x̂_w = (1 + w) x̂(z, t, x1, y) − w x̂(z, t, x1, ∅)
 * in the process at y, as `BridgeModel.sample(x1, { condition, guidance })`.
 */
import * as ort from 'onnxruntime-common';
import { LoadedOnnxModel } from './base.js';
import { type ConditionValues, conditionFeeds, conditionOrLabels } from './conditions.js';
import type { RuntimeFieldOptions } from './diffusion.js';
import { BRIDGE } from './families.js';
import type { IntegrationStats } from './integrate.js';
import { flatten, type ModelMetadata, OnnxRuntimeError, type Points } from './load.js';
import { Rng } from './rng.js';
import {
  canonicalSolver,
  checkEngine,
  checkMode,
  checkSeed,
  checkSteps,
  type Engine,
  integrateStepwise,
  loopStepFeeds,
  type Mode,
  solverFor,
  type Trajectory,
  timeFeeds,
  toDataSpace,
  toModelSpace,
  trajectoryRecorder,
} from './sampling.js';

/** Options of {@link OnnxBridgeModel.transport}. */
export interface TransportOptions {
  /** 'sde' (reverse SDE, default — like BridgeModel.sample) or 'ode' (probability flow). */
  mode?: 'ode' | 'sde';
  /** Fixed steps from t = 1 to 0 (default 100). */
  steps?: number;
  /** ODE: 'euler' (default), 'heun', 'rk4'; SDE: 'euler_maruyama' (default; 'euler' and 'euler-maruyama' are aliases) or 'heun'. */
  solver?: 'euler' | 'heun' | 'rk4' | 'euler_maruyama' | 'euler-maruyama';
  /** Seed (default 0) of the start noise ε (and, + 1, of the Brownian path). */
  seed?: number;
  /** 'stepwise' (default; bridge_velocity / bridge_drift per stage) or 'loop' (the one-call Euler graph). */
  engine?: 'stepwise' | 'loop';
  /** Space of the sources and samples: 'data' (default; the standardisation is applied) or 'model'. */
  space?: 'data' | 'model';
  /**
   * Conditional bridges (required): the conditions of the transports — labels (one number for
   * every source or one per source; K = the null condition) or vectors (one row of m values for
   * every source, n rows, or n·m numbers row-major; a row containing NaN = the null condition).
   */
  condition?: ConditionValues;
  /** Label-conditional bridges: the same as `condition` (give one of the two). */
  labels?: number | ArrayLike<number>;
  /** Classifier-free guidance weight w (default 0: the conditional bridge); conditional bridges only. */
  guidance?: number;
  /** Also return every state of the solve (`trajectory`; stepwise engine only). */
  trajectory?: boolean;
}

export interface TransportResult {
  /** Generated targets, row-major [n, dim]. */
  samples: Float32Array;
  n: number;
  dim: number;
  mode: 'ode' | 'sde';
  solver: string;
  engine: 'stepwise' | 'loop';
  stats: IntegrationStats;
  /** With `trajectory: true`: z(1) first, the targets last ([steps + 1, n, dim], in the samples' space). */
  trajectory?: Trajectory;
}

/** An exported NFBM bridge loaded into onnxruntime. */
export class OnnxBridgeModel extends LoadedOnnxModel {
  readonly family = BRIDGE.exportName;
  /** σ at both ends: z(1) = x1 + δ ε. */
  readonly delta: number;

  constructor(metadata: ModelMetadata, sessions: Map<string, ort.InferenceSession>) {
    super(metadata, sessions, BRIDGE);
    this.delta = metadata.delta ?? metadata.priorStd;
  }

  private feeds(z: Float32Array, t: number | Float32Array, source: Float32Array): Record<string, ort.Tensor> {
    const feeds = timeFeeds('z', z, t, this.dim);
    if (source.length !== z.length) throw new OnnxRuntimeError(`source has ${source.length} values, z has ${z.length}`);
    feeds.source = new ort.Tensor('float32', source, [z.length / this.dim, this.dim]);
    return feeds;
  }

  /**
   * Probability-flow velocity f(z, t, x̂0, x1) (model space; z and source row-major [n, dim]); a
   * conditional bridge takes the rows' conditions and a guidance weight (the guided field).
   */
  async velocity(
    z: Float32Array,
    t: number | Float32Array,
    source: Float32Array,
    options: RuntimeFieldOptions = {},
  ): Promise<Float32Array> {
    return this.velocityStage(z, t, source, this.fieldFeeds(z, options));
  }

  /** Reverse-SDE drift fB(z, t, x̂0, x1) and g(t) per row (model space; conditional bridges: guided, as {@link velocity}). */
  async drift(
    z: Float32Array,
    t: number | Float32Array,
    source: Float32Array,
    options: RuntimeFieldOptions = {},
  ): Promise<{ drift: Float32Array; g: Float32Array }> {
    return this.driftStage(z, t, source, this.fieldFeeds(z, options));
  }

  /** The condition feeds of a field evaluation on the rows of z. */
  private fieldFeeds(z: Float32Array, options: RuntimeFieldOptions): Record<string, ort.Tensor> {
    return conditionFeeds(this.condition, z.length / this.dim, options.condition, options.guidance);
  }

  /**
   * @internal The velocity with prepared condition feeds (conditionFeeds of conditions.ts): the
   * per-stage calls of the solvers, which an `abortable` view overrides (fieldMethods in families.ts).
   */
  async velocityStage(z: Float32Array, t: number | Float32Array, source: Float32Array, feeds: Record<string, ort.Tensor> = {}) {
    const out = await this.set.get('bridge_velocity', 'the bridge velocity').run({ ...this.feeds(z, t, source), ...feeds });
    return out.velocity.data as Float32Array;
  }

  /** @internal The reverse drift with prepared condition feeds (see {@link velocityStage}). */
  async driftStage(z: Float32Array, t: number | Float32Array, source: Float32Array, feeds: Record<string, ort.Tensor> = {}) {
    const out = await this.set.get('bridge_drift', 'the bridge drift').run({ ...this.feeds(z, t, source), ...feeds });
    return { drift: out.drift.data as Float32Array, g: out.g.data as Float32Array };
  }

  /**
   * Transport sources x1 (n rows of dim numbers) to generated targets: z(1) = x1 + δ ε, then the
   * probability-flow ODE or the reverse SDE from t = 1 to 0 with fixed steps. A conditional
   * bridge needs `condition` (or `labels`) and takes `guidance`; the same RangeErrors
   * (OnnxConditionError) as OnnxModel.sample on a missing, ill-shaped or refused condition.
   */
  async transport(sources: Points, options: TransportOptions = {}): Promise<TransportResult> {
    const flat = flatten(sources, this.dim);
    const steps = options.steps ?? 100;
    checkSteps(steps);
    const mode = options.mode ?? 'sde';
    checkMode(mode);
    const solver = solverFor(mode, canonicalSolver(options.solver));
    const engine = options.engine ?? 'stepwise';
    checkEngine(engine);
    if (options.trajectory && engine === 'loop')
      throw new OnnxRuntimeError("trajectory needs engine 'stepwise' (a Loop graph returns the targets only)");
    const seed = options.seed ?? 0;
    checkSeed(seed);
    const n = flat.length / this.dim;
    const conditions = conditionFeeds(this.condition, n, conditionOrLabels(options, this.condition), options.guidance, true, 'source');
    const run: TransportRun = {
      conditions,
      flat,
      n,
      steps,
      solver,
      mode,
      space: options.space ?? 'data',
      eps: new Rng(seed).normalArray(n * this.dim),
      brownian: mode === 'sde' ? new Rng(seed + 1) : null,
      recorder: options.trajectory ? trajectoryRecorder(steps, n * this.dim) : undefined,
    };
    const { z, stats } = engine === 'loop' ? await this.transportLoop(run) : await this.transportStepwise(run);
    const result: TransportResult = { samples: z, n, dim: this.dim, mode, solver, engine: engine as Engine, stats };
    if (run.recorder) result.trajectory = run.recorder.trajectory;
    return result;
  }

  /** One call of the `bridge_sampler_euler_<mode>` Loop graph (which takes and returns data-space points). */
  private async transportLoop(run: TransportRun): Promise<{ z: Float32Array; stats: IntegrationStats }> {
    const { flat, n, steps, solver, mode, space, eps, brownian, conditions } = run;
    const D = this.dim;
    const s = this.standardization;
    if (solver !== 'euler' && solver !== 'euler_maruyama')
      throw new OnnxRuntimeError(`engine 'loop' runs Euler / Euler–Maruyama only (bridge_sampler_euler_${mode}), not '${solver}'`);
    const session = this.set.get(`bridge_sampler_euler_${mode}`, `engine 'loop' in ${mode} mode`);
    const src = Float32Array.from(flat);
    if (s && space === 'model') toDataSpace(src, s, D);
    const feeds = {
      source: new ort.Tensor('float32', src, [n, D]),
      start_noise: new ort.Tensor('float32', eps, [n, D]),
      ...loopStepFeeds(mode, steps, brownian, n, D),
      ...conditions,
    };
    const out = await session.run(feeds);
    const z = Float32Array.from(out.samples.data as Float32Array);
    if (s && space === 'model') toModelSpace(z, s, D);
    return { z, stats: { nfe: steps, steps, acceptedSteps: steps, rejectedSteps: 0 } };
  }

  /** The fixed-step solve from z(1) = x1 + δ ε to t = 0 with one field call per stage. */
  private async transportStepwise(run: TransportRun): Promise<{ z: Float32Array; stats: IntegrationStats }> {
    const { flat, steps, solver, mode, space, eps, brownian, conditions, recorder } = run;
    const D = this.dim;
    const s = this.standardization;
    const x1 = new Float32Array(flat.length);
    for (let i = 0; i < x1.length; i++) x1[i] = s && space === 'data' ? (flat[i] - s.mean[i % D]) / s.std[i % D] : flat[i];
    const z1 = new Float64Array(flat.length);
    for (let i = 0; i < z1.length; i++) z1[i] = Math.fround(x1[i] + Math.fround(this.delta * eps[i]));
    const fields = {
      velocity: (z: Float32Array, t: number) => this.velocityStage(z, t, x1, conditions),
      drift: (z: Float32Array, t: number) => this.driftStage(z, t, x1, conditions),
    };
    const out = await integrateStepwise(fields, mode, solver, { t1: 1, t0: 0, steps }, z1, brownian, D, recorder?.visit);
    if (s && space === 'data') {
      toDataSpace(out.z, s, D);
      if (recorder) toDataSpace(recorder.trajectory.states, s, D);
    }
    return out;
  }
}

interface TransportRun {
  /** The condition feeds of a conditional bridge (empty otherwise). */
  conditions: Record<string, ort.Tensor>;
  flat: Float64Array;
  n: number;
  steps: number;
  solver: string;
  mode: Mode;
  space: 'data' | 'model';
  eps: Float32Array;
  brownian: Rng | null;
  /** Records the states of a stepwise solve (trajectory: true). */
  recorder?: ReturnType<typeof trajectoryRecorder>;
}
