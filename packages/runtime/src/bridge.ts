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
 */
import * as ort from 'onnxruntime-node';
import { type Field, type IntegrationStats, integrateFixed, integrateSde, TABLEAUX } from './integrate.js';
import {
  familySessions,
  flatten,
  type GraphEntry,
  type LoadOnnxOptions,
  type ModelMetadata,
  type OnnxModelSource,
  OnnxRuntimeError,
  type Points,
  readEntries,
  SessionSet,
} from './load.js';
import type { StandardizationMeta } from './metadata.js';
import { Rng } from './rng.js';

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
}

const BRIDGE_RUNTIME_GRAPHS = ['bridge_velocity', 'bridge_drift', 'bridge_sampler_euler_ode', 'bridge_sampler_euler_sde'];

/** @internal Load a bridge from already-read graph entries. */
export async function bridgeFromEntries(entries: GraphEntry[], options: LoadOnnxOptions = {}): Promise<OnnxBridgeModel> {
  const { metadata, sessions } = await familySessions(entries, options, 'nfbm', 'an NFBM', BRIDGE_RUNTIME_GRAPHS);
  return new OnnxBridgeModel(metadata, sessions);
}

/** Load an exported NFBM bridge (a directory from `exportBridge`, graph bytes, or `{ graphs }`). */
export async function loadOnnxBridge(source: OnnxModelSource, options: LoadOnnxOptions = {}): Promise<OnnxBridgeModel> {
  return bridgeFromEntries(readEntries(source), options);
}

/** An exported NFBM bridge loaded into onnxruntime. */
export class OnnxBridgeModel {
  readonly family = 'nfbm' as const;
  readonly dim: number;
  /** σ at both ends: z(1) = x1 + δ ε. */
  readonly delta: number;
  readonly standardization: StandardizationMeta | undefined;
  private readonly set: SessionSet;

  constructor(
    readonly metadata: ModelMetadata,
    sessions: Map<string, ort.InferenceSession>,
  ) {
    this.dim = metadata.dim;
    this.delta = metadata.delta ?? metadata.priorStd;
    this.standardization = metadata.standardization;
    this.set = new SessionSet(sessions);
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

  private feeds(z: Float32Array, t: number | Float32Array, source: Float32Array): Record<string, ort.Tensor> {
    const D = this.dim;
    const n = z.length / D;
    if (!Number.isInteger(n)) throw new OnnxRuntimeError(`z has ${z.length} values, not a multiple of dim ${D}`);
    if (source.length !== z.length) throw new OnnxRuntimeError(`source has ${source.length} values, z has ${z.length}`);
    const tc = typeof t === 'number' ? new Float32Array(n).fill(t) : t;
    if (tc.length !== n) throw new OnnxRuntimeError(`t has ${tc.length} values for ${n} rows`);
    return {
      z: new ort.Tensor('float32', z, [n, D]),
      t: new ort.Tensor('float32', tc, [n, 1]),
      source: new ort.Tensor('float32', source, [n, D]),
    };
  }

  /** Probability-flow velocity f(z, t, x̂0, x1) (model space; z and source row-major [n, dim]). */
  async velocity(z: Float32Array, t: number | Float32Array, source: Float32Array): Promise<Float32Array> {
    const out = await this.set.get('bridge_velocity', 'the bridge velocity').run(this.feeds(z, t, source));
    return out.velocity.data as Float32Array;
  }

  /** Reverse-SDE drift fB(z, t, x̂0, x1) and g(t) per row (model space). */
  async drift(z: Float32Array, t: number | Float32Array, source: Float32Array): Promise<{ drift: Float32Array; g: Float32Array }> {
    const out = await this.set.get('bridge_drift', 'the bridge drift').run(this.feeds(z, t, source));
    return { drift: out.drift.data as Float32Array, g: out.g.data as Float32Array };
  }

  /**
   * Transport sources x1 (n rows of dim numbers) to generated targets: z(1) = x1 + δ ε, then the
   * probability-flow ODE or the reverse SDE from t = 1 to 0 with fixed steps.
   */
  async transport(sources: Points, options: TransportOptions = {}): Promise<TransportResult> {
    const D = this.dim;
    const flat = flatten(sources, D);
    const n = flat.length / D;
    const steps = options.steps ?? 100;
    if (!Number.isInteger(steps) || steps < 1) throw new OnnxRuntimeError(`steps must be a positive integer, got ${steps}`);
    const mode = options.mode ?? 'sde';
    if (mode !== 'ode' && mode !== 'sde') throw new OnnxRuntimeError(`mode must be 'ode' or 'sde', got '${String(mode)}'`);
    const requested = options.solver === 'euler-maruyama' ? 'euler_maruyama' : options.solver;
    const solver = requested ?? (mode === 'sde' ? 'euler_maruyama' : 'euler');
    const valid = mode === 'ode' ? ['euler', 'heun', 'rk4'] : ['euler_maruyama', 'euler', 'heun'];
    if (!valid.includes(solver))
      throw new OnnxRuntimeError(`solver '${solver}' is not available in ${mode} mode (expected ${valid.join(', ')})`);
    const engine = options.engine ?? 'stepwise';
    if (engine !== 'stepwise' && engine !== 'loop')
      throw new OnnxRuntimeError(`engine must be 'stepwise' or 'loop', got '${String(engine)}'`);
    const seed = options.seed ?? 0;
    if (!Number.isSafeInteger(seed) || seed < 0) throw new OnnxRuntimeError(`seed must be a non-negative integer, got ${seed}`);
    const space = options.space ?? 'data';
    const s = this.standardization;
    const eps = new Rng(seed).normalArray(n * D);
    const brownian = mode === 'sde' ? new Rng(seed + 1) : null;
    let z: Float32Array;
    let stats: IntegrationStats;
    if (engine === 'loop') {
      if (solver !== 'euler' && solver !== 'euler_maruyama')
        throw new OnnxRuntimeError(`engine 'loop' runs Euler / Euler–Maruyama only (bridge_sampler_euler_${mode}), not '${solver}'`);
      const graph = `bridge_sampler_euler_${mode}`;
      const session = this.set.get(graph, `engine 'loop' in ${mode} mode`);
      // The Loop graph takes (and returns) data-space points when the export is standardised.
      const src = Float32Array.from(flat);
      if (s && space === 'model') for (let i = 0; i < src.length; i++) src[i] = src[i] * s.std[i % D] + s.mean[i % D];
      const feeds: Record<string, ort.Tensor> = {
        source: new ort.Tensor('float32', src, [n, D]),
        start_noise: new ort.Tensor('float32', eps, [n, D]),
      };
      if (mode === 'ode') feeds.steps = new ort.Tensor('int64', BigInt64Array.from([BigInt(steps)]), [1]);
      else {
        const noise = new Float32Array(steps * n * D);
        for (let k = 0; k < steps; k++) noise.set((brownian as Rng).normalArray(n * D), k * n * D);
        feeds.noise = new ort.Tensor('float32', noise, [steps, n, D]);
      }
      const out = await session.run(feeds);
      z = Float32Array.from(out.samples.data as Float32Array);
      if (s && space === 'model') for (let i = 0; i < z.length; i++) z[i] = (z[i] - s.mean[i % D]) / s.std[i % D];
      stats = { nfe: steps, steps, acceptedSteps: steps, rejectedSteps: 0 };
    } else {
      const x1 = new Float32Array(n * D);
      for (let i = 0; i < x1.length; i++) x1[i] = s && space === 'data' ? (flat[i] - s.mean[i % D]) / s.std[i % D] : flat[i];
      const z1 = new Float64Array(n * D);
      for (let i = 0; i < z1.length; i++) z1[i] = Math.fround(x1[i] + Math.fround(this.delta * eps[i]));
      if (mode === 'ode') {
        const f: Field = async (t, y) => Float64Array.from(await this.velocity(Float32Array.from(y), t, x1));
        const r = await integrateFixed(f, TABLEAUX[solver as 'euler' | 'heun' | 'rk4'], 1, 0, z1, steps);
        z = Float32Array.from(r.y);
        stats = r.stats;
      } else {
        const r = await integrateSde(
          async (t, y) => {
            const out = await this.drift(Float32Array.from(y), t, x1);
            return { drift: Float64Array.from(out.drift), g: out.g[0] };
          },
          1,
          0,
          z1,
          steps,
          solver === 'heun',
          (_k, h) => (brownian as Rng).normalArray(n * D, 0, Math.sqrt(Math.abs(h))),
          D,
        );
        z = Float32Array.from(r.y);
        stats = r.stats;
      }
      if (s && space === 'data') for (let i = 0; i < z.length; i++) z[i] = z[i] * s.std[i % D] + s.mean[i % D];
    }
    return { samples: z, n, dim: D, mode, solver, engine, stats };
  }

  /** Release every session. */
  async dispose(): Promise<void> {
    await this.set.dispose();
  }
}
