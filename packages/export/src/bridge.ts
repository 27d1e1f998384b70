/**
 * Export an NFBM {@link BridgeModel} to ONNX (opset 17, IR 8, dynamic batch 'N'). x1 is the
 * source (t = 1, the condition), x0 the target (t = 0); every graph takes the source as input.
 *
 * | graph                       | inputs                                                  | outputs |
 * |-----------------------------|---------------------------------------------------------|---------|
 * | `bridge_velocity`           | z [N, D], t [N, 1], source [N, D]                       | velocity [N, D] — probability-flow f(z, t, x̂0, x1) |
 * | `bridge_drift`              | z [N, D], t [N, 1], source [N, D]                       | drift [N, D] — reverse-SDE fB; g [N, 1] — g(t) |
 * | `bridge_sampler_euler_ode`  | source [N, D], start_noise [N, D], steps [1] (int64)    | samples [N, D] |
 * | `bridge_sampler_euler_sde`  | source [N, D], start_noise [N, D], noise [S, N, D]      | samples [N, D] |
 *
 * Samplers: z(1) = source + δ·start_noise, then Euler (ODE) / Euler–Maruyama (SDE, ΔW_k =
 * √|h| noise_k) from t = 1 to 0 on t_k = 1 − k/S in one ONNX Loop. The field graphs work in the
 * model's space; with a standardisation (recorded in the metadata) the sampler graphs
 * standardise the source and return the samples in data space.
 *
 * Conditional bridges (a `condition`; metadata `nfdm.condition` = {kind, classes | dim}) take
 * `condition` [N, w] float32 in every graph (labels: w = 1, the class index k, K = ∅; vectors:
 * w = m, a row containing NaN = ∅; encoded as for diffusion models, export.ts) and `guidance`
 * [1] float32, the classifier-free guidance weight w: the fields use x̂_w = (1 + w) x̂(z, t, x1, y)
 * − w x̂(z, t, x1, ∅) in the process at y (emit/bridge.ts); w = 0 is the conditional bridge.
 */
import { type BridgeModel, bridgeModelConfig, type Standardization } from '@nfdm/models';
import { ONNX_EXPORT_FORMAT, type OnnxGraphMetadata, type TensorSignature } from '@nfdm/runtime';
import { assertBridgeExportable, emitBridgeField, emitBridgeSampler } from './emit/bridge.js';
import {
  conditionMetadata,
  conditionSig,
  declare,
  declareCondition,
  finishGraph,
  GUIDANCE_SIG,
  type OnnxExport,
  outputs,
  sig,
  writeOnnxExport,
} from './export.js';
import type { FamilyExporter } from './family-exporter.js';
import { type ImageExportOption, imageMetadata } from './image-meta.js';
import { Graph } from './onnx/builder.js';
import { NFDM_EXPORT_VERSION } from './version.js';

/** Options of {@link exportBridgeOnnx}. */
export interface BridgeExportOptions extends ImageExportOption {
  /**
   * Standardisation y = (x − mean)/std of the data the bridge was trained on (sources and
   * targets alike): recorded, and applied by the sampler graphs (standardise the source, undo
   * it on the samples). Default: none.
   */
  standardization?: Standardization | null;
  /**
   * Descriptions of the training path penalties, recorded in `nfdm.penalties` (no graph uses
   * them). Default: one `{ name }` per entry of `model.penalties` (the function's name).
   */
  penalties?: Array<Record<string, unknown>>;
  /** Which graphs (default all four). */
  graphs?: BridgeGraphName[];
}

export type BridgeGraphName = 'bridge_velocity' | 'bridge_drift' | 'bridge_sampler_euler_ode' | 'bridge_sampler_euler_sde';

export const BRIDGE_GRAPHS: readonly BridgeGraphName[] = [
  'bridge_velocity',
  'bridge_drift',
  'bridge_sampler_euler_ode',
  'bridge_sampler_euler_sde',
];

/** The metadata shared by every graph of a bridge export. */
export function bridgeMetadata(model: BridgeModel, options: BridgeExportOptions = {}): Omit<OnnxGraphMetadata, 'graph' | 'signature'> {
  assertBridgeExportable(model);
  const config = model.toConfig() as unknown as Record<string, unknown>;
  const base: Omit<OnnxGraphMetadata, 'graph' | 'signature'> = {
    format: ONNX_EXPORT_FORMAT,
    version: NFDM_EXPORT_VERSION,
    kind: 'nfbm',
    dim: model.dim,
    forwardKind: model.process.kind,
    forward: model.process.toConfig() as unknown as Record<string, unknown>,
    volatility: model.volatility.toConfig() as unknown as Record<string, unknown>,
    config,
    priorStd: model.process.delta,
    tStart: 0,
    delta: model.process.delta,
    penalties: options.penalties ?? model.penalties.map((p) => ({ name: p.name || 'anonymous' })),
  };
  if (model.condition) base.condition = conditionMetadata(model.condition.spec);
  const s = options.standardization;
  if (s) {
    if (s.mean.length !== model.dim || s.std.length !== model.dim)
      throw new RangeError(`standardization needs mean and std of length ${model.dim}`);
    base.standardization = { mean: [...s.mean], std: [...s.std] };
  }
  const image = imageMetadata(options.image, model.dim, [model.predictor.net, ...model.process.networks]);
  if (image) base.image = image;
  return base;
}

function fieldGraph(model: BridgeModel, base: Omit<OnnxGraphMetadata, 'graph' | 'signature'>, drift: boolean): Uint8Array {
  const D = model.dim;
  const name = drift ? 'bridge_drift' : 'bridge_velocity';
  const g = new Graph(`nfdm_${name}`);
  const ins = [
    sig('z', ['N', D], 'state z_t (model space)'),
    sig('t', ['N', 1], 'time per sample'),
    sig('source', ['N', D], 'source x1 (model space), the condition'),
  ];
  const [z, t, x1] = ins.map((s) => declare(g, s));
  const cond = declareCondition(g, model, ins, true);
  let outs: TensorSignature[];
  if (drift) {
    outs = [sig('drift', ['N', D], 'reverse-SDE drift fB(z, t, x̂0, x1)'), sig('g', ['N', 1], 'volatility g(t)')];
    const f = emitBridgeField(g, model, z, t, x1, { drift: true }, t, cond);
    outputs(g, { drift: f.drift as string, g: g.unary('Sqrt', f.g2 as string) }, outs);
  } else {
    outs = [sig('velocity', ['N', D], 'probability-flow velocity f(z, t, x̂0, x1)')];
    outputs(g, { velocity: emitBridgeField(g, model, z, t, x1, {}, t, cond).velocity }, outs);
  }
  return finishGraph(base, g, name, { inputs: ins, outputs: outs });
}

function samplerGraph(model: BridgeModel, base: Omit<OnnxGraphMetadata, 'graph' | 'signature'>, mode: 'ode' | 'sde'): Uint8Array {
  const D = model.dim;
  const g = new Graph(`nfdm_bridge_sampler_euler_${mode}`);
  emitBridgeSampler(g, model, { mode, standardization: base.standardization });
  const space = base.standardization ? 'data space' : 'model space';
  const ins = [
    sig('source', ['N', D], `source points x1 (${space})`),
    sig('start_noise', ['N', D], `standard normal ε; z(1) = x1 + ${base.delta}·ε`),
  ];
  if (mode === 'ode') ins.push(sig('steps', [1], 'number of Euler steps', 'int64'));
  else ins.push(sig('noise', ['S', 'N', D], 'standard normals of the S steps (ΔW = √|h| ξ)'));
  const cs = conditionSig(model);
  if (cs) ins.push(cs, GUIDANCE_SIG);
  const outs = [sig('samples', ['N', D], `generated targets z(0) (${space})`)];
  return finishGraph(base, g, `bridge_sampler_euler_${mode}`, { inputs: ins, outputs: outs }, { solver: 'euler', mode });
}

/** Every bridge graph (or those in `options.graphs`) with the shared metadata. */
export function exportBridgeOnnx(model: BridgeModel, options: BridgeExportOptions = {}): OnnxExport {
  const base = bridgeMetadata(model, options);
  const graphs: OnnxExport['graphs'] = {};
  const want = new Set(options.graphs ?? BRIDGE_GRAPHS);
  for (const name of want) if (!BRIDGE_GRAPHS.includes(name)) throw new RangeError(`unknown bridge graph '${name}'`);
  if (want.has('bridge_velocity')) graphs.bridge_velocity = fieldGraph(model, base, false);
  if (want.has('bridge_drift')) graphs.bridge_drift = fieldGraph(model, base, true);
  if (want.has('bridge_sampler_euler_ode')) graphs.bridge_sampler_euler_ode = samplerGraph(model, base, 'ode');
  if (want.has('bridge_sampler_euler_sde')) graphs.bridge_sampler_euler_sde = samplerGraph(model, base, 'sde');
  return { metadata: base, graphs };
}

/** {@link exportBridgeOnnx} written into `dir` with {@link writeOnnxExport}; returns the paths. */
export function exportBridge(model: BridgeModel, dir: string, options: BridgeExportOptions = {}): string[] {
  return writeOnnxExport(exportBridgeOnnx(model, options), dir);
}

/**
 * The bridge family's exporter (registered in families.ts): every graph, the training penalties
 * described by the model's config, standardisation only when given (bridges store none).
 */
export const bridgeExporter: FamilyExporter<BridgeModel> = {
  exportModel: (model, options) =>
    exportBridgeOnnx(model, {
      penalties: bridgeModelConfig(model).penalties as unknown as Array<Record<string, unknown>>,
      ...(options.standardization === undefined ? {} : { standardization: options.standardization }),
      image: options.image,
    }),
};
