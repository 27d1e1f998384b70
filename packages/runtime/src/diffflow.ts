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
import * as ort from 'onnxruntime-common';
import { LoadedOnnxModel } from './base.js';
import { DIFFFLOW } from './families.js';
import { assertFinite, type IntegrationStats } from './integrate.js';
import type { ModelMetadata } from './load.js';
import { Rng } from './rng.js';
import { checkCount, checkEngine, checkMode, checkSeed, type Mode, noiseTensor, timeFeeds, toDataSpace, toModelSpace } from './sampling.js';

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

/** An exported DiffFlow model loaded into onnxruntime. */
export class OnnxDiffFlowModel extends LoadedOnnxModel {
  readonly family = DIFFFLOW.exportName;
  /** The grid t_0 < … < t_K. */
  readonly grid: readonly number[];
  /** g at the K + 1 grid points. */
  readonly g: readonly number[];

  constructor(metadata: ModelMetadata, sessions: Map<string, ort.InferenceSession>) {
    super(metadata, sessions, DIFFFLOW);
    this.grid = metadata.grid ?? [];
    this.g = metadata.g ?? [];
  }

  /** Number of sampling steps K. */
  get steps(): number {
    return this.grid.length - 1;
  }

  /** The drift network f_θ(x, t) (model space). */
  async drift(x: Float32Array, t: number | Float32Array): Promise<Float32Array> {
    return (await this.set.get('diffflow_drift', 'the drift').run(timeFeeds('x', x, t, this.dim))).drift.data as Float32Array;
  }

  /** The score network s_θ(x, t) (model space). */
  async score(x: Float32Array, t: number | Float32Array): Promise<Float32Array> {
    return (await this.set.get('diffflow_score', 'the score').run(timeFeeds('x', x, t, this.dim))).score.data as Float32Array;
  }

  /** Which engine can run `mode`, or null (no graph for it). */
  engineFor(mode: 'ode' | 'sde'): 'stepwise' | 'loop' | null {
    if (this.has('diffflow_drift') && this.has('diffflow_score')) return 'stepwise';
    return this.has(`diffflow_sampler_${mode}`) ? 'loop' : null;
  }

  /** Draw n samples by running the backward chain on the export's grid. */
  async sample(options: DiffFlowRuntimeSampleOptions): Promise<DiffFlowRuntimeSampleResult> {
    const { n } = options;
    checkCount(n);
    const mode = options.mode ?? 'sde';
    checkMode(mode);
    const engine = options.engine ?? 'stepwise';
    checkEngine(engine);
    const seed = options.seed ?? 0;
    checkSeed(seed);
    const K = this.steps;
    const rng = new Rng(seed);
    const x = engine === 'loop' ? await this.sampleLoop(n, mode, rng) : await this.sampleStepwise(n, mode, rng);
    const st = this.standardization;
    if (st && engine === 'stepwise' && (options.space ?? 'data') === 'data') toDataSpace(x, st, this.dim);
    if (st && engine === 'loop' && options.space === 'model') toModelSpace(x, st, this.dim);
    return { samples: x, n, dim: this.dim, mode, engine, stats: { nfe: 2 * K, steps: K, acceptedSteps: K, rejectedSteps: 0 } };
  }

  /** One call of the `diffflow_sampler_<mode>` Loop graph (data space out). */
  private async sampleLoop(n: number, mode: Mode, rng: Rng): Promise<Float32Array> {
    const D = this.dim;
    const K = this.steps;
    const session = this.set.get(`diffflow_sampler_${mode}`, `engine 'loop' in ${mode} mode`);
    const feeds: Record<string, ort.Tensor> = { prior_noise: new ort.Tensor('float32', rng.normalArray(n * D), [n, D]) };
    if (mode === 'sde') feeds.noise = noiseTensor(rng, K - 1, n, D);
    return Float32Array.from((await session.run(feeds)).samples.data as Float32Array);
  }

  /**
   * The chain x_{i} = x_{i+1} − (f − c g² s)·Δ (+ g √Δ ε on the noisy steps) from x_K ~ N(0, I),
   * c = 1 (SDE) or ½ (ODE), in float32 op by op like tfjs; model space out.
   */
  private async sampleStepwise(n: number, mode: Mode, rng: Rng): Promise<Float32Array> {
    const D = this.dim;
    let x = rng.normalArray(n * D);
    const c = mode === 'ode' ? 0.5 : 1;
    const f32 = Math.fround;
    for (let i = this.steps - 1; i >= 0; i--) {
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
    return x;
  }
}
