/**
 * @nfdm/runtime — sample from and evaluate exported nfdm models with onnxruntime-node
 * only (no tfjs): this module imports onnxruntime-node, Node built-ins and plain JS.
 *
 * ```ts
 * import { loadOnnxModel } from '@nfdm/runtime';
 * const model = await loadOnnxModel('out/onnx');            // a directory written by writeOnnxExport
 * const { samples } = await model.sample({ n: 1000, steps: 100, solver: 'euler', mode: 'ode', seed: 0 });
 * const { logp } = await model.logProb(samples, { steps: 50 });
 * await model.dispose();
 * ```
 *
 * One onnxruntime InferenceSession per graph, created when the model is loaded and reused for
 * every call. Samplers and the log-density integrator are fixed-step (and, for log-densities,
 * adaptive Dormand–Prince) loops over typed arrays, one session call per field evaluation; or,
 * with `engine: 'loop'`, one call of an exported one-call Loop sampler graph.
 */
import * as ort from 'onnxruntime-node';
import { bridgeFromEntries, type OnnxBridgeModel } from './bridge.js';
import { diffflowFromEntries, type OnnxDiffFlowModel } from './diffflow.js';
import {
  type AdaptiveOptions,
  type Field,
  type IntegrationStats,
  integrateAdaptive,
  integrateFixed,
  integrateSde,
  TABLEAUX,
} from './integrate.js';
import {
  createSessions,
  familyOf,
  flatten,
  type LoadOnnxOptions,
  type ModelMetadata,
  type OnnxModelSource,
  OnnxRuntimeError,
  type Points,
  readEntries,
} from './load.js';
import type { StandardizationMeta } from './metadata.js';
import { Rng } from './rng.js';

export { loadOnnxBridge, OnnxBridgeModel, type TransportOptions, type TransportResult } from './bridge.js';
export { type DiffFlowRuntimeSampleOptions, type DiffFlowRuntimeSampleResult, loadOnnxDiffFlow, OnnxDiffFlowModel } from './diffflow.js';
export { type IntegrationStats, OnnxSolveError, type SolveFailure } from './integrate.js';
export { type LoadOnnxOptions, type ModelMetadata, type OnnxModelSource, OnnxRuntimeError, type Points } from './load.js';
export * from './metadata.js';
export { Rng } from './rng.js';

/** Solvers of {@link OnnxModel.sample}. */
export type RuntimeSolver = 'euler' | 'heun' | 'rk4' | 'euler_maruyama' | 'euler-maruyama';

/** Options of {@link OnnxModel.sample}. */
export interface RuntimeSampleOptions {
  n: number;
  /** Fixed number of steps (default 100). */
  steps?: number;
  /**
   * ODE: 'euler' (default), 'heun', 'rk4'. SDE: 'euler_maruyama' (default; 'euler' and 'euler-maruyama' are aliases)
   * or 'heun' (stochastic Heun).
   */
  solver?: RuntimeSolver;
  /** 'sde' (reverse SDE) or 'ode' (probability flow). Default: 'ode' for euler/heun/rk4, else 'sde'. */
  mode?: 'ode' | 'sde';
  /** Seed (default 0); the same seed gives the same z(1) and noise as `DiffusionModel.sample`. */
  seed?: number;
  /** 'stepwise' (default; one field call per stage) or 'loop' (the one-call Loop sampler graph). */
  engine?: 'stepwise' | 'loop';
  /** 'data' (default; standardisation undone) or 'model' (the model's standardised space). */
  space?: 'data' | 'model';
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
}

export interface RuntimeLogProbResult {
  /** log p(x) in nats per point. */
  logp: Float64Array;
  stats: IntegrationStats;
}

const RUNTIME_GRAPHS: ReadonlySet<string> = new Set(['drift', 'velocity', 'velocity_divergence']);
const isSampler = (name: string) => name.startsWith('sampler_');

/**
 * Load an exported DiffusionModel (nfdm, ndm, fixed; see {@link OnnxModelSource}); creates one
 * session per graph. NFBM and DiffFlow exports are loaded with {@link loadOnnxBridge} and
 * {@link loadOnnxDiffFlow}, or any of the three with {@link loadExportedModel}.
 */
export async function loadOnnxModel(source: OnnxModelSource, options: LoadOnnxOptions = {}): Promise<OnnxModel> {
  const entries = readEntries(source);
  const other = entries.find((e) => familyOf(e.meta.kind) !== 'diffusion');
  if (other) {
    const loader = other.meta.kind === 'nfbm' ? 'loadOnnxBridge' : 'loadOnnxDiffFlow';
    throw new OnnxRuntimeError(`${other.origin}: this is an ${other.meta.kind} export; load it with ${loader} or loadExportedModel`);
  }
  const { metadata, sessions } = await createSessions(
    entries,
    options,
    (graph) => RUNTIME_GRAPHS.has(graph) || isSampler(graph),
    'drift, velocity, velocity_divergence or sampler_*',
  );
  return new OnnxModel(metadata, sessions);
}

/** An exported model loaded into onnxruntime. */
export class OnnxModel {
  /** Discriminates the runtime model classes (see {@link loadExportedModel}). */
  readonly family = 'diffusion' as const;
  readonly dim: number;
  readonly priorStd: number;
  /** The process start t₀ (samplers integrate from 1 down to t₀). */
  readonly tStart: number;
  readonly standardization: StandardizationMeta | undefined;

  constructor(
    readonly metadata: ModelMetadata,
    private readonly sessions: Map<string, ort.InferenceSession>,
  ) {
    this.dim = metadata.dim;
    this.priorStd = metadata.priorStd;
    this.tStart = metadata.tStart;
    this.standardization = metadata.standardization;
  }

  /** Names of the loaded graphs. */
  get graphs(): string[] {
    return [...this.sessions.keys()];
  }

  has(graph: string): boolean {
    return this.sessions.has(graph);
  }

  private session(graph: string, why: string): ort.InferenceSession {
    const s = this.sessions.get(graph);
    if (!s)
      throw new OnnxRuntimeError(`${why} needs the '${graph}' graph, which was not loaded (have: ${this.graphs.join(', ') || 'none'})`);
    return s;
  }

  /** Run a loaded graph on raw onnxruntime tensors. */
  async run(graph: string, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
    return this.session(graph, `run('${graph}')`).run(feeds) as Promise<Record<string, ort.Tensor>>;
  }

  private fieldFeeds(z: Float32Array, t: number | Float32Array): Record<string, ort.Tensor> {
    const n = z.length / this.dim;
    if (!Number.isInteger(n)) throw new OnnxRuntimeError(`z has ${z.length} values, not a multiple of dim ${this.dim}`);
    const tc = typeof t === 'number' ? new Float32Array(n).fill(t) : t;
    if (tc.length !== n) throw new OnnxRuntimeError(`t has ${tc.length} values for ${n} rows`);
    return { z: new ort.Tensor('float32', z, [n, this.dim]), t: new ort.Tensor('float32', tc, [n, 1]) };
  }

  /** Probability-flow velocity f(z, t); z row-major [n, dim]; t a number or one per row. */
  async velocity(z: Float32Array, t: number | Float32Array): Promise<Float32Array> {
    const graph = this.has('velocity') ? 'velocity' : 'velocity_divergence';
    const out = await this.session(graph, 'velocity').run(this.fieldFeeds(z, t));
    return out.velocity.data as Float32Array;
  }

  /** Reverse-SDE drift fB(z, t) and g(t) per row. */
  async drift(z: Float32Array, t: number | Float32Array): Promise<{ drift: Float32Array; g: Float32Array }> {
    const out = await this.session('drift', 'the reverse drift').run(this.fieldFeeds(z, t));
    return { drift: out.drift.data as Float32Array, g: out.g.data as Float32Array };
  }

  /** f(z, t) and its exact divergence per row. */
  async velocityDivergence(z: Float32Array, t: number | Float32Array): Promise<{ velocity: Float32Array; divergence: Float32Array }> {
    const out = await this.session('velocity_divergence', 'the divergence').run(this.fieldFeeds(z, t));
    return { velocity: out.velocity.data as Float32Array, divergence: out.divergence.data as Float32Array };
  }

  /**
   * Draw n samples by integrating from t = 1 (z(1) ~ N(0, priorStd² I)) down to t₀. The same
   * seed, steps, solver and mode reproduce `DiffusionModel.sample` (same random numbers).
   */
  async sample(options: RuntimeSampleOptions): Promise<RuntimeSampleResult> {
    const { n } = options;
    if (!Number.isInteger(n) || n < 1) throw new OnnxRuntimeError(`n must be a positive integer, got ${n}`);
    const steps = options.steps ?? 100;
    if (!Number.isInteger(steps) || steps < 1) throw new OnnxRuntimeError(`steps must be a positive integer, got ${steps}`);
    const requested = options.solver === 'euler-maruyama' ? 'euler_maruyama' : options.solver;
    const mode = options.mode ?? (requested === undefined || requested === 'euler_maruyama' ? 'sde' : 'ode');
    if (mode !== 'ode' && mode !== 'sde') throw new OnnxRuntimeError(`mode must be 'ode' or 'sde', got '${String(mode)}'`);
    const solver = requested ?? (mode === 'sde' ? 'euler_maruyama' : 'euler');
    const valid = mode === 'ode' ? ['euler', 'heun', 'rk4'] : ['euler_maruyama', 'euler', 'heun'];
    if (!valid.includes(solver))
      throw new OnnxRuntimeError(`solver '${solver}' is not available in ${mode} mode (expected ${valid.join(', ')})`);
    const engine = options.engine ?? 'stepwise';
    const D = this.dim;
    const rng = new Rng(options.seed ?? 0);
    const eps = rng.normalArray(n * D);
    const brownian = mode === 'sde' ? new Rng(rng.nextUint32()) : null;
    let z: Float32Array;
    let stats: IntegrationStats;
    const inModelSpace = engine === 'stepwise';
    if (engine === 'loop') {
      const loopSolver = solver === 'euler_maruyama' ? 'euler' : solver;
      const graph = `sampler_${loopSolver}_${mode}`;
      const session = this.session(graph, `engine 'loop' with ${solver}/${mode}`);
      const feeds: Record<string, ort.Tensor> = { prior_noise: new ort.Tensor('float32', eps, [n, D]) };
      if (mode === 'ode') feeds.steps = new ort.Tensor('int64', BigInt64Array.from([BigInt(steps)]), [1]);
      else {
        const noise = new Float32Array(steps * n * D);
        for (let k = 0; k < steps; k++) noise.set((brownian as Rng).normalArray(n * D), k * n * D);
        feeds.noise = new ort.Tensor('float32', noise, [steps, n, D]);
      }
      const out = await session.run(feeds);
      z = Float32Array.from(out.samples.data as Float32Array);
      const perStep = mode === 'ode' ? TABLEAUX[loopSolver as 'euler'].c.length : loopSolver === 'heun' ? 2 : 1;
      stats = { nfe: steps * perStep, steps, acceptedSteps: steps, rejectedSteps: 0 };
    } else {
      const z1 = new Float64Array(n * D);
      for (let i = 0; i < z1.length; i++) z1[i] = Math.fround(eps[i] * this.priorStd);
      if (mode === 'ode') {
        const f: Field = async (t, y) => Float64Array.from(await this.velocity(Float32Array.from(y), t));
        const r = await integrateFixed(f, TABLEAUX[solver as 'euler' | 'heun' | 'rk4'], 1, this.tStart, z1, steps);
        z = Float32Array.from(r.y);
        stats = r.stats;
      } else {
        const r = await integrateSde(
          async (t, y) => {
            const out = await this.drift(Float32Array.from(y), t);
            return { drift: Float64Array.from(out.drift), g: out.g[0] };
          },
          1,
          this.tStart,
          z1,
          steps,
          solver === 'heun',
          (_k, h) => (brownian as Rng).normalArray(n * D, 0, Math.sqrt(Math.abs(h))),
          D,
        );
        z = Float32Array.from(r.y);
        stats = r.stats;
      }
    }
    const space = options.space ?? 'data';
    const s = this.standardization;
    if (s) {
      if (inModelSpace && space === 'data') {
        for (let i = 0; i < z.length; i++) z[i] = z[i] * s.std[i % D] + s.mean[i % D];
      } else if (!inModelSpace && space === 'model') {
        for (let i = 0; i < z.length; i++) z[i] = (z[i] - s.mean[i % D]) / s.std[i % D];
      }
    }
    return { samples: z, n, dim: D, solver, mode, engine, stats };
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
    const space = options.space ?? 'data';
    const s = space === 'data' ? this.standardization : undefined;
    const y0 = new Float64Array(n * D + n);
    for (let i = 0; i < n * D; i++) y0[i] = s ? (flat[i] - s.mean[i % D]) / s.std[i % D] : flat[i];
    this.session('velocity_divergence', 'logProb');
    const zBuf = new Float32Array(n * D);
    const f: Field = async (t, y) => {
      for (let i = 0; i < n * D; i++) zBuf[i] = y[i];
      const out = await this.velocityDivergence(zBuf, t);
      const k = new Float64Array(n * D + n);
      k.set(out.velocity);
      k.set(out.divergence, n * D);
      return k;
    };
    let result: { y: Float64Array; stats: IntegrationStats };
    if (options.steps !== undefined) {
      if (!Number.isInteger(options.steps) || options.steps < 1)
        throw new OnnxRuntimeError(`steps must be a positive integer, got ${options.steps}`);
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

  /** Release every session. */
  async dispose(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((s) => s.release()));
    this.sessions.clear();
  }
}

/** Any loaded export: a DiffusionModel, an NFBM bridge or a DiffFlow model (see `family`). */
export type ExportedModel = OnnxModel | OnnxBridgeModel | OnnxDiffFlowModel;

/**
 * Load any nfdm export and return the matching runtime class, told apart by `family`:
 * 'diffusion' ({@link OnnxModel}), 'nfbm' ({@link OnnxBridgeModel}) or 'diffflow'
 * ({@link OnnxDiffFlowModel}).
 */
export async function loadExportedModel(source: OnnxModelSource, options: LoadOnnxOptions = {}): Promise<ExportedModel> {
  const entries = readEntries(source);
  const families = new Set(entries.map((e) => familyOf(e.meta.kind)));
  if (families.size > 1) throw new OnnxRuntimeError(`the graphs mix model families (${[...families].join(', ')})`);
  const family = [...families][0];
  if (family === 'nfbm') return bridgeFromEntries(entries, options);
  if (family === 'diffflow') return diffflowFromEntries(entries, options);
  return loadOnnxModel(source, options);
}
