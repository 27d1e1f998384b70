/**
 * Export a {@link DiffusionModel} to ONNX (opset 17, IR 8, dynamic batch 'N').
 *
 * Every graph is a standalone ONNX model with nfdm metadata in `metadata_props` (see
 * @nfdm/runtime's metadata.ts). Time is a per-sample column: graphs that take time take `t` [N, 1]
 * float32 (the project's convention for per-sample time tensors); feed the same value in
 * every row for a common time.
 *
 * | graph                 | inputs                         | outputs |
 * |-----------------------|--------------------------------|---------|
 * | `predictor`           | z [N, D], t [N, 1]             | xhat [N, D] |
 * | `forward`             | x [N, D], t [N, 1]             | mu [N, D], sigma [N, D or 1], dmu [N, D], dsigma [N, D or 1] |
 * | `volatility`          | t [N, 1]                       | g [N, 1] |
 * | `drift`               | z [N, D], t [N, 1]             | drift [N, D] — reverse-SDE drift fB; g [N, 1] — g(t) |
 * | `velocity`            | z [N, D], t [N, 1]             | velocity [N, D] — probability-flow f |
 * | `velocity_divergence` | z [N, D], t [N, 1]             | velocity [N, D], divergence [N] (exact, D forward tangents) |
 * | `frozen_step`         | z [N, D], t [N, 1], s [N, 1]   | z_s [N, D] — one frozen-prediction ("DDIM") ODE step t → s |
 * | `sampler_<s>_ode`     | prior_noise [N, D], steps [1] (int64) | samples [N, D] (s = euler, heun, rk4, ddim) |
 * | `sampler_<s>_sde`     | prior_noise [N, D], noise [S, N, D]   | samples [N, D] (s = euler, heun) |
 *
 * Conditional models (a `condition` section; metadata `nfdm.condition` = {kind, classes | dim})
 * take one more input, `condition` [N, w] float32 — labels (w = 1, the class index k, K = the null
 * condition ∅) or vectors (w = m, a row containing NaN = ∅), encoded as in @nfdm/core — in every
 * graph whose value depends on it: predictor, drift, velocity, velocity_divergence (log p(x | y)),
 * frozen_step, the samplers, and forward when the process is conditioned on y (volatility: never).
 * drift, velocity, frozen_step and the samplers also take `guidance` [1] float32, the classifier-free guidance weight
 * w: they use x̂_w = (1 + w) x̂(z, t, y) − w x̂(z, t, ∅) (one network call on [z; z] with [y; ∅],
 * ∅ built in the graph) in the drift of the conditional process; w = 0 is the conditional model.
 *
 * σ is [N, 1] for fixed schedules and NDM (one σ per sample), [N, D] for NFDM. NFDM-OT is an
 * NFDM model (constant volatility, ODE sampling) and exports with the same functions.
 *
 * The forward process is written by the ONNX emitter registered for its kind (built in: nfdm,
 * fixed, ndm; a downstream kind registers its own, see emit/forward/registry.ts), and the
 * metadata `kind` is the process's kind.
 *
 * Other model families have their own exporters with the same `{ metadata, graphs }` result;
 * `exportAnyModel(model)` (families.ts, which lists them) picks the model's.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ConditionSpec, conditionWidth } from '@nfdm/core';
import { type DiffusionModel, modelConfig, type Predictor, type Standardization } from '@nfdm/models';
import {
  type GraphName,
  metadataToProps,
  type ObjectiveMeta,
  ONNX_EXPORT_FORMAT,
  type OnnxGraphMetadata,
  type TensorSignature,
} from '@nfdm/runtime';
import { emitGuidedConditions, type FieldCondition } from './emit/condition.js';
import { forwardProcessEmitter } from './emit/forward/registry.js';
import { assertExportable, emitField, emitForward, emitFrozenStep, emitG2, emitPredictor } from './emit/model.js';
import { emitSampler, type SamplerMode, type SamplerSolver } from './emit/sampler.js';
import type { FamilyExporter } from './family-exporter.js';
import { type ImageExportOption, imageMetadata } from './image-meta.js';
import { buildModel, Graph } from './onnx/builder.js';
import { DataType } from './onnx/proto.js';
import { NFDM_EXPORT_VERSION } from './version.js';

/** Options shared by the export functions. */
export interface ExportOptions extends ImageExportOption {
  /**
   * Standardisation to record (and, for sampler graphs, to undo on the samples). Default: the
   * one remembered by `createModel`/`loadModel`; `null` records none.
   */
  standardization?: Standardization | null;
  /**
   * The objective the model was trained with, recorded as `nfdm.objective` (absent: not recorded).
   * `{ kind: 'ot', curvatureWeight }` (NFDM-OT) makes runtimes report `capabilities.fewStep` and
   * the playground default to few ODE steps. A model does not know its objective: its trainer does.
   */
  objective?: ObjectiveMeta;
}

interface Context {
  model: DiffusionModel;
  base: Omit<OnnxGraphMetadata, 'graph' | 'signature'>;
}

function context(model: DiffusionModel, options: ExportOptions): Context {
  assertExportable(model);
  let config: Record<string, unknown> | undefined;
  try {
    config = modelConfig(
      model,
      options.standardization === undefined ? {} : { standardization: options.standardization },
    ) as unknown as Record<string, unknown>;
  } catch {
    config = undefined;
  }
  const standardization =
    options.standardization === null
      ? undefined
      : (options.standardization ?? (config?.standardization as Standardization | undefined) ?? undefined);
  const forward = (config?.forward as Record<string, unknown> | undefined) ?? model.forward.toConfig();
  const base: Context['base'] = {
    format: ONNX_EXPORT_FORMAT,
    version: NFDM_EXPORT_VERSION,
    // The process's own kind, built in or registered downstream (@nfdm/runtime reads any kind it does not know as a diffusion model).
    kind: model.forward.kind as OnnxGraphMetadata['kind'],
    dim: model.dim,
    forwardKind: model.forward.kind,
    forward,
    volatility: model.volatility.toConfig() as unknown as Record<string, unknown>,
    priorStd: model.forward.priorStd,
    tStart: model.forward.start.t,
  };
  if (config) base.config = config;
  const spec = model.condition?.spec;
  if (spec) base.condition = conditionMetadata(spec);
  if (standardization) base.standardization = { mean: [...standardization.mean], std: [...standardization.std] };
  const nets = [model.predictor, model.forward].map((part) => (part as { net?: unknown }).net);
  const image = imageMetadata(options.image, model.dim, nets);
  if (image) base.image = image;
  if (options.objective) base.objective = objectiveMetadata(options.objective);
  return { model, base };
}

/** The `objective` option checked: the NELBO, or OT with a finite curvature weight ≥ 0. */
function objectiveMetadata(o: ObjectiveMeta): ObjectiveMeta {
  if (o.kind === 'nelbo') return { kind: 'nelbo' };
  if (o.kind === 'ot' && Number.isFinite(o.curvatureWeight) && o.curvatureWeight >= 0)
    return { kind: 'ot', curvatureWeight: o.curvatureWeight };
  throw new RangeError(`objective: need { kind: 'nelbo' } or { kind: 'ot', curvatureWeight ≥ 0 }, got ${JSON.stringify(o)}`);
}

/** @internal A tensor signature entry. */
export const sig = (name: string, shape: Array<number | string>, doc: string, type: 'float32' | 'int64' = 'float32'): TensorSignature => ({
  name,
  shape,
  type,
  doc,
});

/** What a model's condition is, for the `nfdm.condition` metadata: {kind, classes | dim}. */
export function conditionMetadata(spec: ConditionSpec): NonNullable<OnnxGraphMetadata['condition']> {
  return spec.kind === 'label' ? { kind: 'label', classes: spec.classes } : { kind: 'vector', dim: spec.dim };
}

/** A model that may be conditional (diffusion models and bridges alike). */
export interface MaybeConditional {
  readonly condition: { spec: ConditionSpec } | null | undefined;
}

/** @internal The `condition` input of a conditional model's graphs (null for an unconditional model). */
export function conditionSig(model: MaybeConditional): TensorSignature | null {
  const spec: ConditionSpec | undefined = model.condition?.spec;
  if (!spec) return null;
  const doc =
    spec.kind === 'label'
      ? `class label k per row as a float (0…${spec.classes - 1}; ${spec.classes} = the null condition)`
      : `condition vector per row (${spec.dim} values; a row containing NaN = the null condition)`;
  return sig('condition', ['N', conditionWidth(spec)], doc);
}

/** @internal The `guidance` input of a conditional model's drift, velocity and sampler graphs. */
export const GUIDANCE_SIG = sig('guidance', [1], 'classifier-free guidance weight w (0: the conditional model)');

/**
 * @internal Declare the condition inputs of a field graph: `condition` and, when `guided`,
 * `guidance` (appended to `ins`); returns what emitField / emitBridgeField read (null for an
 * unconditional model).
 */
export function declareCondition(g: Graph, model: MaybeConditional, ins: TensorSignature[], guided: boolean): FieldCondition | null {
  const cs = conditionSig(model);
  if (!cs || !model.condition) return null;
  ins.push(cs);
  const y = declare(g, cs);
  if (!guided) return { y };
  ins.push(GUIDANCE_SIG);
  return emitGuidedConditions(g, model.condition.spec, y, declare(g, GUIDANCE_SIG));
}

/** @internal Serialise a root graph with the metadata `base` + graph name and signature, without dead nodes (onnx/prune.ts). */
export function finishGraph(
  base: Omit<OnnxGraphMetadata, 'graph' | 'signature'>,
  g: Graph,
  graph: GraphName,
  signature: OnnxGraphMetadata['signature'],
  extra: Partial<OnnxGraphMetadata> = {},
): Uint8Array {
  const meta: OnnxGraphMetadata = { ...base, graph, signature, ...extra };
  return buildModel(g, {
    // emitters may compute what a graph does not return (e.g. μ̇, σ̇ in frozen_step): not run
    prune: true,
    metadata: metadataToProps(meta),
    producerVersion: NFDM_EXPORT_VERSION,
    docString: `nfdm ${graph} graph (${base.kind}, D = ${base.dim})`,
  });
}

function finish(
  ctx: Context,
  g: Graph,
  graph: GraphName,
  signature: OnnxGraphMetadata['signature'],
  extra: Partial<OnnxGraphMetadata> = {},
): Uint8Array {
  return finishGraph(ctx.base, g, graph, signature, extra);
}

/** @internal Declare a graph input from its signature. */
export function declare(g: Graph, s: TensorSignature): string {
  return g.input(s.name, s.shape, s.type === 'int64' ? DataType.INT64 : DataType.FLOAT);
}

/** @internal Declare the graph outputs named by `sigs` from `values`. */
export function outputs(g: Graph, values: Record<string, string | number>, sigs: TensorSignature[]): void {
  for (const s of sigs) {
    const v = values[s.name];
    if (v === undefined) throw new Error(`internal: no value for output '${s.name}'`);
    g.output(s.name, typeof v === 'number' ? g.value(v) : v, s.shape);
  }
}

/** x̂(z, t): inputs z [N, D], t [N, 1] (and condition [N, w]) → xhat [N, D]. */
export function exportPredictor(model: DiffusionModel, options: ExportOptions = {}): Uint8Array {
  const ctx = context(model, options);
  const D = model.dim;
  const g = new Graph('nfdm_predictor');
  const ins = [sig('z', ['N', D], 'state z_t'), sig('t', ['N', 1], 'time per sample')];
  const outs = [sig('xhat', ['N', D], model.condition ? 'data prediction x̂(z, t, y)' : 'data prediction x̂(z, t)')];
  const [z, t] = ins.map((s) => declare(g, s));
  const y = declareCondition(g, model, ins, false)?.y ?? null;
  outputs(g, { xhat: emitPredictor(g, model.predictor as Predictor, z, t, null, y).v }, outs);
  return finish(ctx, g, 'predictor', { inputs: ins, outputs: outs });
}

/** μ, σ, ∂μ/∂t, ∂σ/∂t of q(z_t | x): inputs x [N, D], t [N, 1] (and condition [N, w] when the process is conditioned on y). */
export function exportForwardProcess(model: DiffusionModel, options: ExportOptions = {}): Uint8Array {
  const ctx = context(model, options);
  const D = model.dim;
  const g = new Graph('nfdm_forward');
  const ins = [sig('x', ['N', D], 'data point x'), sig('t', ['N', 1], 'time per sample')];
  const sd = forwardProcessEmitter(model.forward).sigmaWidth(model.forward);
  const outs = [
    sig('mu', ['N', D], 'mean μ(x, t)'),
    sig('sigma', ['N', sd], 'standard deviation σ(x, t)'),
    sig('dmu', ['N', D], '∂μ/∂t'),
    sig('dsigma', ['N', sd], '∂σ/∂t'),
  ];
  const [x, t] = ins.map((s) => declare(g, s));
  const y = model.forward.conditioned ? (declareCondition(g, model, ins, false)?.y ?? null) : null;
  const p = emitForward(g, model.forward, x, null, t, y);
  // Constant columns (e.g. FM-OT's σ̇) are expanded to [N, 1] like tfjs's filled tensors.
  const col = (v: string | number) => (typeof v === 'number' ? g.expandLike(v, t) : v);
  outputs(g, { mu: p.mu, sigma: col(p.sigma), dmu: p.dmu, dsigma: col(p.dsigma) }, outs);
  return finish(ctx, g, 'forward', { inputs: ins, outputs: outs });
}

/** g(t) = √(g²(t)): input t [N, 1] → g [N, 1]. */
export function exportVolatility(model: DiffusionModel, options: ExportOptions = {}): Uint8Array {
  const ctx = context(model, options);
  const g = new Graph('nfdm_volatility');
  const ins = [sig('t', ['N', 1], 'time per sample')];
  const outs = [sig('g', ['N', 1], 'volatility g(t) (diffusion coefficient of the SDEs)')];
  const t = declare(g, ins[0]);
  outputs(g, { g: g.unary('Sqrt', emitG2(g, model.volatility, t)) }, outs);
  return finish(ctx, g, 'volatility', { inputs: ins, outputs: outs });
}

function fieldGraph(model: DiffusionModel, options: ExportOptions, graph: 'drift' | 'velocity' | 'velocity_divergence'): Uint8Array {
  const ctx = context(model, options);
  const D = model.dim;
  const g = new Graph(`nfdm_${graph}`);
  const ins = [sig('z', ['N', D], 'state z_t'), sig('t', ['N', 1], 'time per sample')];
  const [z, t] = ins.map((s) => declare(g, s));
  const cond = declareCondition(g, model, ins, graph !== 'velocity_divergence');
  let outs: TensorSignature[];
  if (graph === 'drift') {
    outs = [sig('drift', ['N', D], 'reverse-SDE drift fB(z, t)'), sig('g', ['N', 1], 'volatility g(t) (diffusion coefficient)')];
    const f = emitField(g, model, z, t, { drift: true }, t, cond);
    outputs(g, { drift: f.drift as string, g: g.unary('Sqrt', f.g2 as string) }, outs);
  } else if (graph === 'velocity') {
    outs = [sig('velocity', ['N', D], 'probability-flow velocity f(z, t)')];
    outputs(g, { velocity: emitField(g, model, z, t, { velocity: true }, t, cond).velocity as string }, outs);
  } else {
    outs = [sig('velocity', ['N', D], 'probability-flow velocity f(z, t)'), sig('divergence', ['N'], 'exact divergence Σ_i ∂f_i/∂z_i')];
    const f = emitField(g, model, z, t, { velocity: true, divergence: true }, t, cond);
    outputs(g, { velocity: f.velocity as string, divergence: f.divergence as string }, outs);
  }
  return finish(ctx, g, graph, { inputs: ins, outputs: outs });
}

/** Reverse-SDE drift fB(z, t) as one graph: z [N, D], t [N, 1] → drift [N, D] (and g [N, 1], the noise scale). */
export function exportDrift(model: DiffusionModel, options: ExportOptions = {}): Uint8Array {
  return fieldGraph(model, options, 'drift');
}

/** Probability-flow velocity f(z, t) as one graph: z [N, D], t [N, 1] → velocity [N, D]. */
export function exportVelocity(model: DiffusionModel, options: ExportOptions = {}): Uint8Array {
  return fieldGraph(model, options, 'velocity');
}

/**
 * f(z, t) and its exact divergence Σ_i ∂f_i/∂z_i (D forward-mode tangent passes stacked along a
 * leading axis): z [N, D], t [N, 1] → velocity [N, D], divergence [N]. Meant for small D
 * (cost grows like D + 1 evaluations of f).
 */
export function exportVelocityDivergence(model: DiffusionModel, options: ExportOptions = {}): Uint8Array {
  return fieldGraph(model, options, 'velocity_divergence');
}

/**
 * One frozen-prediction ("DDIM") step of the probability-flow ODE from t down to s
 * (docs/maths/sampling.md#frozen-prediction-steps; models' `frozenPredictionStep`): with
 * x̂ = x̂_w(z, t, y) held fixed, z_s = μ(x̂, s) + σ(x̂, s) ⊙ (z − μ(x̂, t)) / σ(x̂, t).
 * Inputs z [N, D], t [N, 1], s [N, 1] (and condition [N, w], guidance [1], as the velocity
 * graph) → z_s [N, D]. One predictor call (on 2N rows with guidance w ≠ 0) and two evaluations
 * of the forward process per call.
 */
export function exportFrozenStep(model: DiffusionModel, options: ExportOptions = {}): Uint8Array {
  const ctx = context(model, options);
  const D = model.dim;
  const g = new Graph('nfdm_frozen_step');
  const ins = [sig('z', ['N', D], 'state z_t'), sig('t', ['N', 1], 'time t per sample'), sig('s', ['N', 1], 'time s to step to')];
  const [z, t, s] = ins.map((x) => declare(g, x));
  const cond = declareCondition(g, model, ins, true);
  const outs = [sig('z_s', ['N', D], 'z_s = μ(x̂, s) + σ(x̂, s) ⊙ (z − μ(x̂, t)) / σ(x̂, t), x̂ frozen at (z, t)')];
  outputs(g, { z_s: emitFrozenStep(g, model, z, t, s, cond) }, outs);
  return finish(ctx, g, 'frozen_step', { inputs: ins, outputs: outs });
}

/** Options of {@link exportSampler}. */
export interface SamplerExportOptions extends ExportOptions {
  /** 'euler' (default), 'heun' or, for ODE, 'rk4' or 'ddim' (frozen-prediction steps). */
  solver?: SamplerSolver;
  /** 'ode' (probability flow, default) or 'sde' (reverse SDE; noise passed in). */
  mode?: SamplerMode;
}

/** The one-call Loop sampler (see emit/sampler.ts for inputs, outputs and schemes). */
export function exportSampler(model: DiffusionModel, options: SamplerExportOptions = {}): Uint8Array {
  const ctx = context(model, options);
  const solver = options.solver ?? 'euler';
  const mode = options.mode ?? 'ode';
  const D = model.dim;
  const g = new Graph(`nfdm_sampler_${solver}_${mode}`);
  emitSampler(g, model, { solver, mode, standardization: ctx.base.standardization });
  const ins = [sig('prior_noise', ['N', D], `standard normal ε; z(1) = ${ctx.base.priorStd}·ε`)];
  if (mode === 'ode') ins.push(sig('steps', [1], 'number of steps', 'int64'));
  else ins.push(sig('noise', ['S', 'N', D], 'standard normals of the S steps (ΔW = √|h| ξ)'));
  const cs = conditionSig(model);
  if (cs) ins.push(cs, GUIDANCE_SIG);
  const outs = [sig('samples', ['N', D], ctx.base.standardization ? 'samples in data space (standardisation undone)' : 'samples')];
  return finish(ctx, g, `sampler_${solver}_${mode}` as GraphName, { inputs: ins, outputs: outs }, { solver, mode });
}

/** Which graphs {@link exportOnnx} writes. */
export interface OnnxExportOptions extends ExportOptions {
  /** Component graphs (predictor, forward, volatility); default true. */
  components?: boolean;
  /** Write velocity_divergence when D ≤ this (default 16); 0 disables it. */
  maxDivergenceDim?: number;
  /** One-call Loop samplers to write; default all six (euler/heun/rk4/ddim ODE, euler/heun SDE). */
  samplers?: Array<{ solver: SamplerSolver; mode: SamplerMode }>;
  /** The `frozen_step` graph (one frozen-prediction ODE step per call); default true. */
  frozenStep?: boolean;
}

/** Everything exported from one model: graph bytes by name and the shared metadata. */
export interface OnnxExport {
  metadata: Omit<OnnxGraphMetadata, 'graph' | 'signature'>;
  graphs: Partial<Record<GraphName, Uint8Array>>;
}

/** Default sampler graphs. */
export const DEFAULT_SAMPLER_GRAPHS: ReadonlyArray<{ solver: SamplerSolver; mode: SamplerMode }> = [
  { solver: 'euler', mode: 'ode' },
  { solver: 'heun', mode: 'ode' },
  { solver: 'rk4', mode: 'ode' },
  { solver: 'ddim', mode: 'ode' },
  { solver: 'euler', mode: 'sde' },
  { solver: 'heun', mode: 'sde' },
];

/** Export every graph a runtime or a server needs. */
export function exportOnnx(model: DiffusionModel, options: OnnxExportOptions = {}): OnnxExport {
  const ctx = context(model, options);
  const graphs: OnnxExport['graphs'] = {};
  if (options.components ?? true) {
    graphs.predictor = exportPredictor(model, options);
    graphs.forward = exportForwardProcess(model, options);
    graphs.volatility = exportVolatility(model, options);
  }
  graphs.drift = exportDrift(model, options);
  graphs.velocity = exportVelocity(model, options);
  if (model.dim <= (options.maxDivergenceDim ?? 16)) graphs.velocity_divergence = exportVelocityDivergence(model, options);
  if (options.frozenStep ?? true) graphs.frozen_step = exportFrozenStep(model, options);
  for (const s of options.samplers ?? DEFAULT_SAMPLER_GRAPHS) {
    graphs[`sampler_${s.solver}_${s.mode}` as GraphName] = exportSampler(model, { ...options, ...s });
  }
  return { metadata: ctx.base, graphs };
}

/** Name of the manifest {@link writeOnnxExport} writes next to the graphs. */
export const ONNX_MANIFEST_FILE = 'nfdm-onnx.json';

/**
 * Write an export into `dir` (created if needed): `<graph>.onnx` for every graph and a
 * manifest `nfdm-onnx.json` (metadata and file list). Each file is written to a temporary name
 * and renamed. Returns the paths written.
 */
export function writeOnnxExport(exported: OnnxExport, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  const put = (name: string, bytes: Uint8Array) => {
    const path = join(dir, name);
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
    written.push(path);
  };
  const files: Record<string, string> = {};
  for (const [name, bytes] of Object.entries(exported.graphs)) {
    if (!bytes) continue;
    files[name] = `${name}.onnx`;
    put(`${name}.onnx`, bytes);
  }
  put(ONNX_MANIFEST_FILE, new TextEncoder().encode(`${JSON.stringify({ ...exported.metadata, graphs: files }, null, 2)}\n`));
  return written;
}

/** The diffusion family's exporter (registered in families.ts): {@link exportOnnx} with its defaults. */
export const diffusionExporter: FamilyExporter<DiffusionModel> = {
  exportModel: (model, options) => exportOnnx(model, options),
};
