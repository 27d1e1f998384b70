/**
 * Export a {@link DiffFlowModel} (two FourierMLPs: drift f_θ and score s_θ) to ONNX with its
 * sampling grid baked in (opset 17, IR 8, dynamic batch 'N').
 *
 * | graph                  | inputs                                       | outputs |
 * |------------------------|----------------------------------------------|---------|
 * | `diffflow_drift`       | x [N, D], t [N, 1]                           | drift [N, D] — f_θ(x, t) |
 * | `diffflow_score`       | x [N, D], t [N, 1]                           | score [N, D] — s_θ(x, t) |
 * | `diffflow_sampler_sde` | prior_noise [N, D], noise [K − 1, N, D]      | samples [N, D] |
 * | `diffflow_sampler_ode` | prior_noise [N, D]                           | samples [N, D] |
 *
 * The samplers are `diffflowSample` of @nfdm/models as one Loop graph on the fixed grid
 * t_0 < … < t_K: stochastic (the last step returns its mean, no final noise; K − 1 noise slices)
 * or deterministic probability-flow steps. With the same normals (prior first, then one slice per
 * noisy step, as `new Rng(seed)` draws them) they reproduce `diffflowSample`.
 */
import type { DiffFlowModel, FourierMLP, Standardization } from '@nfdm/models';
import { DiffFlowUNet, diffflowEvalGrid, diffflowSchedule, diffflowStandardization } from '@nfdm/models';
import { ONNX_EXPORT_FORMAT, type OnnxGraphMetadata } from '@nfdm/runtime';
import { assertDiffFlowExportable, type DiffFlowGrid, emitDiffFlowDrift, emitDiffFlowSampler, emitDiffFlowScore } from './emit/diffflow.js';
import { declare, finishGraph, type OnnxExport, outputs, sig, writeOnnxExport } from './export.js';
import type { FamilyExporter } from './family-exporter.js';
import { type ImageExportOption, imageMetadata } from './image-meta.js';
import { Graph } from './onnx/builder.js';
import { NFDM_EXPORT_VERSION } from './version.js';

/** Options of {@link exportDiffFlowOnnx}. */
export interface DiffFlowExportOptions extends ImageExportOption {
  /** The K + 1 increasing grid times (e.g. `expTimerGrid(...)`), baked into the sampler graphs. */
  grid: ArrayLike<number>;
  /** The diffusion: a constant, or its K + 1 grid values. */
  g: number | ArrayLike<number>;
  /** Standardisation to record and undo on the samples (default none). */
  standardization?: Standardization | null;
  /** Which graphs (default all four). */
  graphs?: DiffFlowGraphName[];
}

export type DiffFlowGraphName = 'diffflow_drift' | 'diffflow_score' | 'diffflow_sampler_sde' | 'diffflow_sampler_ode';

export const DIFFFLOW_GRAPHS: readonly DiffFlowGraphName[] = [
  'diffflow_drift',
  'diffflow_score',
  'diffflow_sampler_sde',
  'diffflow_sampler_ode',
];

type Base = Omit<OnnxGraphMetadata, 'graph' | 'signature'>;

/** A network's description for the metadata: FourierMLP width and depth, or the U-Net's options. */
function netConfig(net: DiffFlowModel['driftNet']): Record<string, unknown> {
  if (net instanceof DiffFlowUNet) {
    const { image, base, multipliers, numResBlocks, attentionResolutions, groups, layout, scaleShift } = net.net.options;
    return { kind: 'unet', image, base, multipliers, numResBlocks, attentionResolutions, groups, layout, scaleShift };
  }
  const mlp = net as FourierMLP;
  return { kind: 'fourier-mlp', channels: mlp.channels, layers: mlp.hidden.length };
}

/** The metadata shared by every graph of a DiffFlow export, and the validated grid. */
export function diffflowMetadata(model: DiffFlowModel, options: DiffFlowExportOptions): { base: Base; grid: DiffFlowGrid } {
  assertDiffFlowExportable(model);
  if (options === undefined || options.grid === undefined || options.g === undefined)
    throw new TypeError('exportDiffFlowOnnx needs { grid, g } (the sampling grid and diffusion)');
  const s = diffflowSchedule(options.grid, options.g);
  const drift = netConfig(model.driftNet);
  const score = netConfig(model.scoreNet);
  const base: Base = {
    format: ONNX_EXPORT_FORMAT,
    version: NFDM_EXPORT_VERSION,
    kind: 'diffflow',
    dim: model.dim,
    forwardKind: 'diffflow',
    forward: { drift, score },
    volatility: { kind: 'grid', g: s.g },
    config: { kind: 'diffflow', dim: model.dim, drift, score, grid: s.t, g: s.g },
    priorStd: 1,
    tStart: s.t[0],
    grid: s.t,
    g: s.g,
  };
  const st = options.standardization;
  if (st) {
    if (st.mean.length !== model.dim || st.std.length !== model.dim)
      throw new RangeError(`standardization needs mean and std of length ${model.dim}`);
    base.standardization = { mean: [...st.mean], std: [...st.std] };
  }
  const image = imageMetadata(
    options.image,
    model.dim,
    [model.driftNet, model.scoreNet].map((n) => (n instanceof DiffFlowUNet ? n.net : n)),
  );
  if (image) base.image = image;
  return { base, grid: { t: s.t, dt: s.dt, g: s.g } };
}

function netGraph(model: DiffFlowModel, base: Base, which: 'drift' | 'score'): Uint8Array {
  const D = model.dim;
  const name = `diffflow_${which}` as const;
  const g = new Graph(`nfdm_${name}`);
  const ins = [sig('x', ['N', D], 'state x (model space)'), sig('t', ['N', 1], 'time per sample')];
  const [x, t] = ins.map((s) => declare(g, s));
  const outs = [sig(which, ['N', D], which === 'drift' ? 'drift network f_θ(x, t)' : 'score network s_θ(x, t)')];
  outputs(g, { [which]: which === 'drift' ? emitDiffFlowDrift(g, model, x, t) : emitDiffFlowScore(g, model, x, t) }, outs);
  return finishGraph(base, g, name, { inputs: ins, outputs: outs });
}

function samplerGraph(model: DiffFlowModel, base: Base, grid: DiffFlowGrid, mode: 'ode' | 'sde'): Uint8Array {
  const D = model.dim;
  const K = grid.dt.length;
  const g = new Graph(`nfdm_diffflow_sampler_${mode}`);
  emitDiffFlowSampler(g, model, { mode, grid, standardization: base.standardization });
  const ins = [sig('prior_noise', ['N', D], 'standard normal x_K')];
  if (mode === 'sde') ins.push(sig('noise', [K - 1, 'N', D], `standard normals of the ${K - 1} noisy steps (in sampling order)`));
  const outs = [sig('samples', ['N', D], base.standardization ? 'samples in data space (standardisation undone)' : 'samples x_0')];
  return finishGraph(base, g, `diffflow_sampler_${mode}`, { inputs: ins, outputs: outs }, { solver: 'diffflow', mode });
}

/** Every DiffFlow graph (or those in `options.graphs`) with the shared metadata. */
export function exportDiffFlowOnnx(model: DiffFlowModel, options: DiffFlowExportOptions): OnnxExport {
  const { base, grid } = diffflowMetadata(model, options);
  const want = new Set(options.graphs ?? DIFFFLOW_GRAPHS);
  for (const name of want) if (!DIFFFLOW_GRAPHS.includes(name)) throw new RangeError(`unknown DiffFlow graph '${name}'`);
  const graphs: OnnxExport['graphs'] = {};
  if (want.has('diffflow_drift')) graphs.diffflow_drift = netGraph(model, base, 'drift');
  if (want.has('diffflow_score')) graphs.diffflow_score = netGraph(model, base, 'score');
  if (want.has('diffflow_sampler_sde')) graphs.diffflow_sampler_sde = samplerGraph(model, base, grid, 'sde');
  if (want.has('diffflow_sampler_ode')) graphs.diffflow_sampler_ode = samplerGraph(model, base, grid, 'ode');
  return { metadata: base, graphs };
}

/** {@link exportDiffFlowOnnx} written into `dir` with {@link writeOnnxExport}; returns the paths. */
export function exportDiffFlow(model: DiffFlowModel, dir: string, options: DiffFlowExportOptions): string[] {
  return writeOnnxExport(exportDiffFlowOnnx(model, options), dir);
}

/**
 * The DiffFlow family's exporter (registered in families.ts): the model's evaluation grid
 * (`diffflowEvalGrid`) and diffusion g, and the standardisation remembered with the model
 * unless `options.standardization` says otherwise.
 */
export const diffflowExporter: FamilyExporter<DiffFlowModel> = {
  exportModel: (model, options) =>
    exportDiffFlowOnnx(model, {
      grid: diffflowEvalGrid(model.time),
      g: model.time.g,
      standardization: options.standardization === undefined ? (diffflowStandardization(model) ?? null) : options.standardization,
      image: options.image,
    }),
};
