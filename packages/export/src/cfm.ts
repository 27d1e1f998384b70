/**
 * Export a velocity-parametrised flow-matching model (`CFMModel` of @nfdm/models: CFM, OT-CFM,
 * rectified flow; t = 0 data, t = 1 the prior N(0, I), the ODE dz/dt = v_θ(z, t)) to ONNX
 * (opset 17, IR 8, dynamic batch 'N'), with the graph names and signatures of the diffusion
 * export so one runtime code path integrates both:
 *
 * | graph                 | inputs                                | outputs |
 * |-----------------------|---------------------------------------|---------|
 * | `velocity`            | z [N, D], t [N, 1]                    | velocity [N, D] — v_θ(z, t) |
 * | `velocity_divergence` | z [N, D], t [N, 1]                    | velocity [N, D], divergence [N] (exact, D forward tangents; D ≤ maxDivergenceDim) |
 * | `sampler_<s>_ode`     | prior_noise [N, D], steps [1] (int64) | samples [N, D] (s = euler, heun, rk4) |
 *
 * The samplers are emit/sampler.ts's Loop graphs on the grid t_k = 1 − k/S from z(1) = ε; with
 * the same ε (drawn by `new Rng(seed)`, as `cfmSample` draws z₁) they reproduce `cfmSample`'s
 * fixed-step solves. There is no reverse SDE (no drift, no SDE samplers). Metadata: kind
 * 'cfm', priorStd 1, tStart 0, the model's config (`nfdm-cfm/1`), its standardisation (undone on
 * the samplers' output) and, for U-Nets, the image of one row.
 */
import { type CFMModel, cfmModelConfig, type Standardization } from '@nfdm/models';
import { type GraphName, ONNX_EXPORT_FORMAT, type OnnxGraphMetadata } from '@nfdm/runtime';
import { assertCFMExportable, cfmLoopFields, emitCFMVelocity, emitCFMVelocityDivergence } from './emit/cfm.js';
import { emitLoopSampler, type LoopSolver } from './emit/sampler.js';
import { declare, finishGraph, type OnnxExport, outputs, sig, writeOnnxExport } from './export.js';
import type { FamilyExporter } from './family-exporter.js';
import { type ImageExportOption, imageMetadata } from './image-meta.js';
import { Graph } from './onnx/builder.js';
import { NFDM_EXPORT_VERSION } from './version.js';

/** Options of {@link exportCFMOnnx}. */
export interface CFMExportOptions extends ImageExportOption {
  /** Standardisation to record and undo on samples (default: the one remembered with the model; null: none). */
  standardization?: Standardization | null;
  /** Write velocity_divergence when D ≤ this (default 16, as the diffusion export); 0 disables it. */
  maxDivergenceDim?: number;
  /** The ODE Loop samplers to write (default euler, heun and rk4). */
  samplers?: LoopSolver[];
}

/** The default ODE Loop samplers. */
export const CFM_SAMPLERS: readonly LoopSolver[] = ['euler', 'heun', 'rk4'];

type Base = Omit<OnnxGraphMetadata, 'graph' | 'signature'>;

/** The metadata shared by every graph of a flow-matching export. */
export function cfmMetadata(model: CFMModel, options: CFMExportOptions = {}): Base {
  assertCFMExportable(model);
  const config = cfmModelConfig(model, options.standardization === undefined ? {} : { standardization: options.standardization });
  const base: Base = {
    format: ONNX_EXPORT_FORMAT,
    version: NFDM_EXPORT_VERSION,
    kind: 'cfm',
    dim: model.dim,
    forwardKind: 'cfm',
    forward: { coupling: config.flow.coupling, sigmaMin: config.flow.sigmaMin },
    volatility: {},
    config: config as unknown as Record<string, unknown>,
    priorStd: 1,
    tStart: 0,
  };
  const st = config.standardization;
  if (st) base.standardization = { mean: [...st.mean], std: [...st.std] };
  const image = imageMetadata(options.image, model.dim, [model.net]);
  if (image) base.image = image;
  return base;
}

const fieldInputs = (D: number) => [sig('z', ['N', D], 'state z_t'), sig('t', ['N', 1], 'time per sample (0 data, 1 prior)')];

/** v_θ(z, t) as one graph: z [N, D], t [N, 1] → velocity [N, D]. */
function velocityGraph(model: CFMModel, base: Base): Uint8Array {
  const g = new Graph('nfdm_velocity');
  const ins = fieldInputs(model.dim);
  const [z, t] = ins.map((s) => declare(g, s));
  const outs = [sig('velocity', ['N', model.dim], 'velocity v_θ(z, t) of the ODE dz/dt = v_θ')];
  outputs(g, { velocity: emitCFMVelocity(g, model, z, t) }, outs);
  return finishGraph(base, g, 'velocity', { inputs: ins, outputs: outs });
}

/** v_θ and its exact divergence: z [N, D], t [N, 1] → velocity [N, D], divergence [N]. */
function divergenceGraph(model: CFMModel, base: Base): Uint8Array {
  const g = new Graph('nfdm_velocity_divergence');
  const ins = fieldInputs(model.dim);
  const [z, t] = ins.map((s) => declare(g, s));
  const outs = [
    sig('velocity', ['N', model.dim], 'velocity v_θ(z, t) of the ODE dz/dt = v_θ'),
    sig('divergence', ['N'], 'exact divergence Σ_i ∂v_i/∂z_i'),
  ];
  outputs(g, emitCFMVelocityDivergence(g, model, z, t), outs);
  return finishGraph(base, g, 'velocity_divergence', { inputs: ins, outputs: outs });
}

/** The one-call ODE Loop sampler with `solver` (see emit/sampler.ts). */
function samplerGraph(model: CFMModel, base: Base, solver: LoopSolver): Uint8Array {
  const D = model.dim;
  const g = new Graph(`nfdm_sampler_${solver}_ode`);
  emitLoopSampler(g, cfmLoopFields(model), { solver, mode: 'ode', standardization: base.standardization });
  const ins = [sig('prior_noise', ['N', D], 'standard normal ε; z(1) = ε'), sig('steps', [1], 'number of steps', 'int64')];
  const outs = [sig('samples', ['N', D], base.standardization ? 'samples in data space (standardisation undone)' : 'samples')];
  return finishGraph(base, g, `sampler_${solver}_ode` as GraphName, { inputs: ins, outputs: outs }, { solver, mode: 'ode' });
}

/** Every graph of a flow-matching model (see the module doc) with the shared metadata. */
export function exportCFMOnnx(model: CFMModel, options: CFMExportOptions = {}): OnnxExport {
  const base = cfmMetadata(model, options);
  const graphs: OnnxExport['graphs'] = { velocity: velocityGraph(model, base) };
  if (model.dim <= (options.maxDivergenceDim ?? 16)) graphs.velocity_divergence = divergenceGraph(model, base);
  for (const solver of options.samplers ?? CFM_SAMPLERS) {
    if (!CFM_SAMPLERS.includes(solver)) throw new RangeError(`unknown sampler solver '${solver}': expected euler, heun or rk4`);
    graphs[`sampler_${solver}_ode` as GraphName] = samplerGraph(model, base, solver);
  }
  return { metadata: base, graphs };
}

/** {@link exportCFMOnnx} written into `dir` with {@link writeOnnxExport}; returns the paths. */
export function exportCFM(model: CFMModel, dir: string, options: CFMExportOptions = {}): string[] {
  return writeOnnxExport(exportCFMOnnx(model, options), dir);
}

/** The flow-matching family's exporter (registered in families.ts): {@link exportCFMOnnx} with its defaults. */
export const cfmExporter: FamilyExporter<CFMModel> = {
  exportModel: (model, options) => exportCFMOnnx(model, { standardization: options.standardization, image: options.image }),
};
