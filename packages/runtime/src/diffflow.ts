/**
 * Runtime of exported DiffFlow models (`exportDiffFlowOnnx`): sampling on the grid baked into
 * the export, with onnxruntime-node only (no tfjs).
 *
 * ```ts
 * const flow = await loadOnnxDiffFlow('out/diffflow');
 * const { samples } = await flow.sample({ n: 1000, mode: 'sde', seed: 0 });
 * ```
 *
 * The same seed reproduces `diffflowSample(model, { n, grid, g, seed, deterministic })` of
 * @nfdm/models: x_K and then one slice of noise per noisy step, all from `new Rng(seed)`.
 */
import * as ort from 'onnxruntime-node';
import { assertFinite, type IntegrationStats } from './integrate.js';
import {
  familySessions,
  type GraphEntry,
  type LoadOnnxOptions,
  type ModelMetadata,
  type OnnxModelSource,
  OnnxRuntimeError,
  readEntries,
  SessionSet,
} from './load.js';
import type { StandardizationMeta } from './metadata.js';
import { Rng } from './rng.js';

/** Options of {@link OnnxDiffFlowModel.sample}. */
export interface DiffFlowRuntimeSampleOptions {
  n: number;
  /** 'sde' (stochastic, default; the last step returns its mean) or 'ode' (probability-flow steps). */
  mode?: 'ode' | 'sde';
  /** Seed (default 0). */
  seed?: number;
  /** 'stepwise' (default; diffflow_drift + diffflow_score per step) or 'loop' (the one-call sampler graph). */
  engine?: 'stepwise' | 'loop';
  /** 'data' (default; standardisation undone) or 'model'. */
  space?: 'data' | 'model';
}

export interface DiffFlowRuntimeSampleResult {
  /** Samples, row-major [n, dim]. */
  samples: Float32Array;
  n: number;
  dim: number;
  mode: 'ode' | 'sde';
  engine: 'stepwise' | 'loop';
  stats: IntegrationStats;
}

const DIFFFLOW_RUNTIME_GRAPHS = ['diffflow_drift', 'diffflow_score', 'diffflow_sampler_sde', 'diffflow_sampler_ode'];

/** @internal Load a DiffFlow model from already-read graph entries. */
export async function diffflowFromEntries(entries: GraphEntry[], options: LoadOnnxOptions = {}): Promise<OnnxDiffFlowModel> {
  const { metadata, sessions } = await familySessions(entries, options, 'diffflow', 'a DiffFlow', DIFFFLOW_RUNTIME_GRAPHS);
  return new OnnxDiffFlowModel(metadata, sessions);
}

/** Load an exported DiffFlow model (a directory from `exportDiffFlow`, graph bytes, or `{ graphs }`). */
export async function loadOnnxDiffFlow(source: OnnxModelSource, options: LoadOnnxOptions = {}): Promise<OnnxDiffFlowModel> {
  return diffflowFromEntries(readEntries(source), options);
}

/** An exported DiffFlow model loaded into onnxruntime. */
export class OnnxDiffFlowModel {
  readonly family = 'diffflow' as const;
  readonly dim: number;
  /** The grid t_0 < … < t_K. */
  readonly grid: readonly number[];
  /** g at the K + 1 grid points. */
  readonly g: readonly number[];
  readonly standardization: StandardizationMeta | undefined;
  private readonly set: SessionSet;

  constructor(
    readonly metadata: ModelMetadata,
    sessions: Map<string, ort.InferenceSession>,
  ) {
    this.dim = metadata.dim;
    this.grid = metadata.grid ?? [];
    this.g = metadata.g ?? [];
    this.standardization = metadata.standardization;
    this.set = new SessionSet(sessions);
  }

  /** Number of sampling steps K. */
  get steps(): number {
    return this.grid.length - 1;
  }

  get graphs(): string[] {
    return this.set.graphs;
  }

  has(graph: string): boolean {
    return this.set.has(graph);
  }

  /** Run a loaded graph on raw onnxruntime tensors. */
  async run(graph: string, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
    return this.set.get(graph, `run('${graph}')`).run(feeds) as Promise<Record<string, ort.Tensor>>;
  }

  private feeds(x: Float32Array, t: number | Float32Array): Record<string, ort.Tensor> {
    const n = x.length / this.dim;
    if (!Number.isInteger(n)) throw new OnnxRuntimeError(`x has ${x.length} values, not a multiple of dim ${this.dim}`);
    const tc = typeof t === 'number' ? new Float32Array(n).fill(t) : t;
    if (tc.length !== n) throw new OnnxRuntimeError(`t has ${tc.length} values for ${n} rows`);
    return { x: new ort.Tensor('float32', x, [n, this.dim]), t: new ort.Tensor('float32', tc, [n, 1]) };
  }

  /** The drift network f_θ(x, t) (model space). */
  async drift(x: Float32Array, t: number | Float32Array): Promise<Float32Array> {
    return (await this.set.get('diffflow_drift', 'the drift').run(this.feeds(x, t))).drift.data as Float32Array;
  }

  /** The score network s_θ(x, t) (model space). */
  async score(x: Float32Array, t: number | Float32Array): Promise<Float32Array> {
    return (await this.set.get('diffflow_score', 'the score').run(this.feeds(x, t))).score.data as Float32Array;
  }

  /** Which engine can run `mode`, or null (no graph for it). */
  engineFor(mode: 'ode' | 'sde'): 'stepwise' | 'loop' | null {
    if (this.has('diffflow_drift') && this.has('diffflow_score')) return 'stepwise';
    return this.has(`diffflow_sampler_${mode}`) ? 'loop' : null;
  }

  /** Draw n samples by running the backward chain on the export's grid. */
  async sample(options: DiffFlowRuntimeSampleOptions): Promise<DiffFlowRuntimeSampleResult> {
    const { n } = options;
    if (!Number.isInteger(n) || n < 1) throw new OnnxRuntimeError(`n must be a positive integer, got ${n}`);
    const mode = options.mode ?? 'sde';
    if (mode !== 'ode' && mode !== 'sde') throw new OnnxRuntimeError(`mode must be 'ode' or 'sde', got '${String(mode)}'`);
    const engine = options.engine ?? 'stepwise';
    if (engine !== 'stepwise' && engine !== 'loop')
      throw new OnnxRuntimeError(`engine must be 'stepwise' or 'loop', got '${String(engine)}'`);
    const seed = options.seed ?? 0;
    if (!Number.isSafeInteger(seed) || seed < 0) throw new OnnxRuntimeError(`seed must be a non-negative integer, got ${seed}`);
    const D = this.dim;
    const K = this.steps;
    const rng = new Rng(seed);
    let x = rng.normalArray(n * D);
    let stats: IntegrationStats;
    if (engine === 'loop') {
      const session = this.set.get(`diffflow_sampler_${mode}`, `engine 'loop' in ${mode} mode`);
      const feeds: Record<string, ort.Tensor> = { prior_noise: new ort.Tensor('float32', x, [n, D]) };
      if (mode === 'sde') {
        const noise = new Float32Array((K - 1) * n * D);
        for (let k = 0; k < K - 1; k++) noise.set(rng.normalArray(n * D), k * n * D);
        feeds.noise = new ort.Tensor('float32', noise, [K - 1, n, D]);
      }
      x = Float32Array.from((await session.run(feeds)).samples.data as Float32Array);
      stats = { nfe: 2 * K, steps: K, acceptedSteps: K, rejectedSteps: 0 };
    } else {
      const c = mode === 'ode' ? 0.5 : 1;
      const f32 = Math.fround;
      for (let i = K - 1; i >= 0; i--) {
        const t = this.grid[i + 1];
        const dt = f32(this.grid[i + 1] - this.grid[i]);
        const gi1 = this.g[i + 1];
        const cg2 = f32(c * gi1 * gi1);
        const noisy = mode === 'sde' && i > 0;
        const eps = noisy ? rng.normalArray(n * D) : null;
        const gs = f32(gi1 * Math.sqrt(this.grid[i + 1] - this.grid[i]));
        const [f, s] = [await this.drift(x, t), await this.score(x, t)];
        const next = new Float32Array(n * D);
        // float32 op by op, like tfjs: x − (f − s·cg²)·Δ (+ ε·g√Δ)
        for (let j = 0; j < next.length; j++) {
          let v = f32(x[j] - f32(f32(f[j] - f32(s[j] * cg2)) * dt));
          if (eps) v = f32(v + f32(eps[j] * gs));
          next[j] = v;
        }
        assertFinite(next, this.grid[i]);
        x = next;
      }
      stats = { nfe: 2 * K, steps: K, acceptedSteps: K, rejectedSteps: 0 };
      const st = this.standardization;
      if (st && (options.space ?? 'data') === 'data') for (let j = 0; j < x.length; j++) x[j] = x[j] * st.std[j % D] + st.mean[j % D];
    }
    if (engine === 'loop' && this.standardization && options.space === 'model') {
      const st = this.standardization;
      for (let j = 0; j < x.length; j++) x[j] = (x[j] - st.mean[j % D]) / st.std[j % D];
    }
    return { samples: x, n, dim: D, mode, engine, stats };
  }

  /** Release every session. */
  async dispose(): Promise<void> {
    await this.set.dispose();
  }
}
