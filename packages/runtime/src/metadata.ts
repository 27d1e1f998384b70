/**
 * nfdm's ONNX metadata (ModelProto.metadata_props) and a minimal protobuf reader that
 * extracts it from model bytes. Plain JS (no tfjs, no protobufjs): the runtime entry point
 * uses it to learn what a file holds before handing it to onnxruntime.
 *
 * Keys (all strings; JSON where noted):
 *   nfdm.format         'nfdm-onnx/1'
 *   nfdm.version        version of @nfdm/export that wrote the file
 *   nfdm.graph          which graph: predictor | forward | volatility | drift | velocity |
 *                       velocity_divergence | frozen_step | sampler_<solver>_<mode>
 *                       (diffusion models; solver euler | heun | rk4, or ddim for mode ode);
 *                       bridge_velocity | bridge_drift | bridge_sampler_euler_<mode> (NFBM);
 *                       diffflow_drift | diffflow_score | diffflow_sampler_<mode> (DiffFlow)
 *   nfdm.kind           model family: nfdm | ndm | fixed or any registered forward-process kind
 *                       (DiffusionModel), nfbm (BridgeModel), diffflow (DiffFlowModel)
 *   nfdm.dim            data dimension D
 *   nfdm.forward_kind   forward-process kind (nfdm | ndm | fixed | a registered kind)
 *   nfdm.forward        forward-process config (JSON)
 *   nfdm.volatility     volatility config (JSON)
 *   nfdm.config         the full model config (JSON; when the model can describe itself)
 *   nfdm.standardization  {"mean": [...], "std": [...]} (JSON; absent when none)
 *   nfdm.prior_std      s of the prior N(0, s²I) at t = 1
 *   nfdm.t_start        the process start t₀ (samplers integrate from 1 down to t₀)
 *   nfdm.signature      inputs and outputs with shapes (JSON)
 *   nfdm.solver, nfdm.mode   for one-call sampler graphs
 *   nfdm.delta          NFBM: σ at both ends (z(1) = source + δ·start_noise)
 *   nfdm.penalties      NFBM: the training path penalties (JSON array; descriptive only)
 *   nfdm.grid, nfdm.g   DiffFlow: the K + 1 grid times and diffusion values (JSON arrays)
 *   nfdm.image          image models: {"height", "width", "channels"} of one data row, whose
 *                       D = height·width·channels values are an NHWC image in [−1, 1)
 *                       (JSON; absent for other data)
 *   nfdm.condition      conditional models: {"kind": "label", "classes": K} or
 *                       {"kind": "vector", "dim": m} (JSON; absent for unconditional models).
 *                       Graphs then take an input `condition` [N, w] (w = 1 for labels, the
 *                       class index k as a float, K = the null condition ∅; w = m for
 *                       vectors, a row containing NaN = ∅), and the drift, velocity and
 *                       sampler graphs a `guidance` [1] (the classifier-free guidance weight)
 *   nfdm.objective      the training objective, when the exporter was told it:
 *                       {"kind": "nelbo"} or {"kind": "ot", "curvatureWeight": λ} (NFDM-OT,
 *                       made for few-step ODE sampling) (JSON; absent when unknown)
 *
 * For NFBM, nfdm.prior_std is δ and nfdm.t_start 0; for DiffFlow, nfdm.prior_std is 1 and
 * nfdm.t_start the first grid time.
 */

import { type ExportKind, familyOfKind } from './families.js';

/** The metadata format tag. */
export const ONNX_EXPORT_FORMAT = 'nfdm-onnx/1';

/** Names of the graphs an export can contain. */
export type GraphName =
  | 'predictor'
  | 'forward'
  | 'volatility'
  | 'drift'
  | 'velocity'
  | 'velocity_divergence'
  | 'frozen_step'
  | `sampler_${'euler' | 'heun' | 'rk4'}_${'ode' | 'sde'}`
  | 'sampler_ddim_ode'
  | 'bridge_velocity'
  | 'bridge_drift'
  | `bridge_sampler_euler_${'ode' | 'sde'}`
  | 'diffflow_drift'
  | 'diffflow_score'
  | `diffflow_sampler_${'ode' | 'sde'}`;

/** Model kinds of {@link OnnxGraphMetadata.kind} (the family table, families.ts). */
export type { ExportKind } from './families.js';

/** Per-dimension standardisation y = (x − mean)/std of the data the model was trained on. */
export interface StandardizationMeta {
  mean: number[];
  std: number[];
}

/** The image a data row holds: D = height·width·channels values, NHWC, pixel p ↦ x = 2(p + u)/256 − 1. */
export interface ImageShapeMeta {
  height: number;
  width: number;
  channels: number;
}

/** What a conditional model is conditioned on: K class labels, or vectors of m values. */
export type ConditionMeta = { kind: 'label'; classes: number } | { kind: 'vector'; dim: number };

/** The objective a model was trained with: the NELBO, or NFDM-OT's (velocity matching + λ · curvature). */
export type ObjectiveMeta = { kind: 'nelbo' } | { kind: 'ot'; curvatureWeight: number };

/** One input or output of a graph. */
export interface TensorSignature {
  name: string;
  shape: Array<number | string>;
  type: 'float32' | 'int64';
  doc: string;
}

/** Parsed nfdm metadata of one exported graph. */
export interface OnnxGraphMetadata {
  format: string;
  version: string;
  graph: GraphName;
  kind: ExportKind;
  dim: number;
  forwardKind: string;
  forward: Record<string, unknown>;
  volatility: Record<string, unknown>;
  config?: Record<string, unknown>;
  standardization?: StandardizationMeta;
  priorStd: number;
  tStart: number;
  signature: { inputs: TensorSignature[]; outputs: TensorSignature[] };
  solver?: string;
  mode?: 'ode' | 'sde';
  /** NFBM: δ. */
  delta?: number;
  /** NFBM: descriptions of the training path penalties (not used by any graph). */
  penalties?: Array<Record<string, unknown>>;
  /** DiffFlow: the grid t_0 < … < t_K. */
  grid?: number[];
  /** DiffFlow: g at the K + 1 grid points. */
  g?: number[];
  /** Image models: the image of one data row. */
  image?: ImageShapeMeta;
  /** Conditional models: what the `condition` input holds. */
  condition?: ConditionMeta;
  /** The training objective, when the exporter was told it (NFDM-OT: few-step sampling). */
  objective?: ObjectiveMeta;
}

/** Metadata as metadata_props key/value strings. */
export function metadataToProps(m: OnnxGraphMetadata): Record<string, string> {
  const props: Record<string, string> = {
    'nfdm.format': m.format,
    'nfdm.version': m.version,
    'nfdm.graph': m.graph,
    'nfdm.kind': m.kind,
    'nfdm.dim': String(m.dim),
    'nfdm.forward_kind': m.forwardKind,
    'nfdm.forward': JSON.stringify(m.forward),
    'nfdm.volatility': JSON.stringify(m.volatility),
    'nfdm.prior_std': String(m.priorStd),
    'nfdm.t_start': String(m.tStart),
    'nfdm.signature': JSON.stringify(m.signature),
  };
  if (m.config) props['nfdm.config'] = JSON.stringify(m.config);
  if (m.standardization) props['nfdm.standardization'] = JSON.stringify(m.standardization);
  if (m.solver) props['nfdm.solver'] = m.solver;
  if (m.mode) props['nfdm.mode'] = m.mode;
  if (m.delta !== undefined) props['nfdm.delta'] = String(m.delta);
  if (m.penalties) props['nfdm.penalties'] = JSON.stringify(m.penalties);
  if (m.grid) props['nfdm.grid'] = JSON.stringify(m.grid);
  if (m.g) props['nfdm.g'] = JSON.stringify(m.g);
  if (m.image) props['nfdm.image'] = JSON.stringify(m.image);
  if (m.condition) props['nfdm.condition'] = JSON.stringify(m.condition);
  if (m.objective) props['nfdm.objective'] = JSON.stringify(m.objective);
  return props;
}

/** An ONNX file without nfdm metadata, or with metadata that does not parse. */
export class OnnxMetadataError extends Error {
  override readonly name = 'OnnxMetadataError';
}

function json(props: Record<string, string>, key: string): Record<string, unknown> {
  try {
    const v = JSON.parse(props[key]);
    if (v === null || typeof v !== 'object') throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch (error) {
    throw new OnnxMetadataError(`metadata '${key}' is not a JSON object (${(error as Error).message})`);
  }
}

function jsonArray(props: Record<string, string>, key: string): unknown[] {
  try {
    const v = JSON.parse(props[key]);
    if (!Array.isArray(v)) throw new Error('not an array');
    return v;
  } catch (error) {
    throw new OnnxMetadataError(`metadata '${key}' is not a JSON array (${(error as Error).message})`);
  }
}

/** Parse metadata_props written by {@link metadataToProps}. */
export function propsToMetadata(props: Record<string, string>): OnnxGraphMetadata {
  if (props['nfdm.format'] !== ONNX_EXPORT_FORMAT) {
    throw new OnnxMetadataError(
      props['nfdm.format'] === undefined
        ? 'not an nfdm ONNX export (metadata_props has no nfdm.format)'
        : `unsupported nfdm ONNX format '${props['nfdm.format']}' (expected '${ONNX_EXPORT_FORMAT}')`,
    );
  }
  for (const key of ['nfdm.graph', 'nfdm.kind', 'nfdm.dim', 'nfdm.prior_std', 'nfdm.t_start', 'nfdm.signature']) {
    if (props[key] === undefined) throw new OnnxMetadataError(`metadata_props lacks '${key}'`);
  }
  const dim = Number(props['nfdm.dim']);
  if (!Number.isInteger(dim) || dim < 1)
    throw new OnnxMetadataError(`metadata 'nfdm.dim' must be a positive integer, got '${props['nfdm.dim']}'`);
  const m: OnnxGraphMetadata = {
    format: props['nfdm.format'],
    version: props['nfdm.version'] ?? '',
    graph: props['nfdm.graph'] as GraphName,
    kind: props['nfdm.kind'] as OnnxGraphMetadata['kind'],
    dim,
    forwardKind: props['nfdm.forward_kind'] ?? '',
    forward: props['nfdm.forward'] ? json(props, 'nfdm.forward') : {},
    volatility: props['nfdm.volatility'] ? json(props, 'nfdm.volatility') : {},
    priorStd: Number(props['nfdm.prior_std']),
    tStart: Number(props['nfdm.t_start']),
    signature: json(props, 'nfdm.signature') as unknown as OnnxGraphMetadata['signature'],
  };
  if (props['nfdm.config']) m.config = json(props, 'nfdm.config');
  if (props['nfdm.standardization']) {
    const s = json(props, 'nfdm.standardization') as unknown as StandardizationMeta;
    if (!Array.isArray(s.mean) || !Array.isArray(s.std) || s.mean.length !== dim || s.std.length !== dim) {
      throw new OnnxMetadataError(`metadata 'nfdm.standardization' needs mean and std arrays of length ${dim}`);
    }
    m.standardization = { mean: s.mean.map(Number), std: s.std.map(Number) };
  }
  if (props['nfdm.solver']) m.solver = props['nfdm.solver'];
  if (props['nfdm.mode']) m.mode = props['nfdm.mode'] as 'ode' | 'sde';
  if (props['nfdm.delta'] !== undefined) m.delta = Number(props['nfdm.delta']);
  if (props['nfdm.penalties']) m.penalties = jsonArray(props, 'nfdm.penalties') as Array<Record<string, unknown>>;
  if (props['nfdm.grid']) m.grid = (jsonArray(props, 'nfdm.grid') as unknown[]).map(Number);
  if (props['nfdm.g']) m.g = (jsonArray(props, 'nfdm.g') as unknown[]).map(Number);
  if (props['nfdm.image']) m.image = parseImage(json(props, 'nfdm.image'), dim);
  if (props['nfdm.condition']) m.condition = parseCondition(json(props, 'nfdm.condition'));
  if (props['nfdm.objective']) m.objective = parseObjective(json(props, 'nfdm.objective'));
  const problem = familyOfKind(m.kind).metadataProblem(m);
  if (problem) throw new OnnxMetadataError(problem);
  return m;
}

/** `nfdm.image`: positive integer height, width and channels whose product is D. */
function parseImage(v: Record<string, unknown>, dim: number): ImageShapeMeta {
  const { height, width, channels } = v as Record<string, number>;
  const ok = [height, width, channels].every((x) => Number.isInteger(x) && x > 0);
  if (!ok || height * width * channels !== dim)
    throw new OnnxMetadataError(
      `metadata 'nfdm.image' needs positive integers height, width and channels with height·width·channels = ${dim}, got ${JSON.stringify(v)}`,
    );
  return { height, width, channels };
}

/** `nfdm.condition`: {kind: 'label', classes ≥ 1} or {kind: 'vector', dim ≥ 1} (integers). */
function parseCondition(v: Record<string, unknown>): ConditionMeta {
  if (v.kind === 'label' && Number.isInteger(v.classes) && (v.classes as number) >= 1)
    return { kind: 'label', classes: v.classes as number };
  if (v.kind === 'vector' && Number.isInteger(v.dim) && (v.dim as number) >= 1) return { kind: 'vector', dim: v.dim as number };
  throw new OnnxMetadataError(
    `metadata 'nfdm.condition' needs {"kind": "label", "classes": K ≥ 1} or {"kind": "vector", "dim": m ≥ 1}, got ${JSON.stringify(v)}`,
  );
}

/** `nfdm.objective`: {kind: 'nelbo'} or {kind: 'ot', curvatureWeight ≥ 0}. */
function parseObjective(v: Record<string, unknown>): ObjectiveMeta {
  if (v.kind === 'nelbo') return { kind: 'nelbo' };
  const w = v.curvatureWeight;
  if (v.kind === 'ot' && typeof w === 'number' && Number.isFinite(w) && w >= 0) return { kind: 'ot', curvatureWeight: w };
  throw new OnnxMetadataError(
    `metadata 'nfdm.objective' needs {"kind": "nelbo"} or {"kind": "ot", "curvatureWeight": λ ≥ 0}, got ${JSON.stringify(v)}`,
  );
}

// ---------------------------------------------------------------------------------------------
// A minimal protobuf reader: enough to walk ModelProto's top-level fields.

class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}
  get done(): boolean {
    return this.pos >= this.buf.length;
  }
  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.length) throw new OnnxMetadataError('truncated protobuf varint');
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
    throw new OnnxMetadataError('malformed protobuf varint');
  }
  bytes(): Uint8Array {
    const n = this.varint();
    if (this.pos + n > this.buf.length) throw new OnnxMetadataError('truncated protobuf field');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new OnnxMetadataError(`unsupported protobuf wire type ${wire}`);
    if (this.pos > this.buf.length) throw new OnnxMetadataError('truncated protobuf field');
  }
}

/** ModelProto.metadata_props (field 14) of serialised model bytes, as a key → value map. */
export function readMetadataProps(bytes: Uint8Array): Record<string, string> {
  const r = new Reader(bytes);
  const decoder = new TextDecoder();
  const props: Record<string, string> = {};
  while (!r.done) {
    const tag = r.varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 14 && wire === 2) {
      const entry = new Reader(r.bytes());
      let key = '';
      let value = '';
      while (!entry.done) {
        const t = entry.varint();
        if (t === (1 << 3) + 2) key = decoder.decode(entry.bytes());
        else if (t === (2 << 3) + 2) value = decoder.decode(entry.bytes());
        else entry.skip(t & 7);
      }
      props[key] = value;
    } else {
      r.skip(wire);
    }
  }
  return props;
}

/** The nfdm metadata of serialised model bytes. */
export function readOnnxMetadata(bytes: Uint8Array): OnnxGraphMetadata {
  return propsToMetadata(readMetadataProps(bytes));
}
