/**
 * The runtime's family table: the one module of `@nfdm/runtime` that knows which model family an
 * export belongs to and what a loaded model of each family can do. Everything else (loaders,
 * apps such as `@nfdm/serve`) asks this table instead of comparing family names.
 *
 * Two spellings meet here and nowhere else:
 * - on disk (`nfdm.kind` of the ONNX metadata, and the HTTP API's `family`): the diffusion kinds
 *   nfdm | ndm | fixed — an open set: a downstream forward process exports with its own kind —
 *   then 'nfbm' (bridges), 'diffflow' and 'cfm' (velocity-parametrised flow matching);
 * - the family ids of `@nfdm/models`: 'diffusion' | 'bridge' | 'diffflow' | 'cfm'.
 *
 * A family's {@link RuntimeCapabilities} use the field names of `FamilyCapabilities` in
 * `@nfdm/models`, but say what *this runtime* can do with the graphs a model was loaded with
 * (e.g. `logProb` only with a `velocity_divergence` graph; NELBO, bounds and curvature are never
 * computed here).
 */
import type { OnnxBridgeModel } from './bridge.js';
import type { OnnxCFMModel } from './cfm.js';
import type { OnnxDiffFlowModel } from './diffflow.js';
import type { OnnxModel } from './diffusion.js';
import type { ModelMetadata } from './load.js';
import type { OnnxGraphMetadata } from './metadata.js';

/** Family ids (the vocabulary of `@nfdm/models`: the built-ins, or a family a downstream package registers). */
export type FamilyId = 'diffusion' | 'bridge' | 'diffflow' | 'cfm' | (string & {});

/** The family names written on disk and served over HTTP (`family` of a runtime model). */
export const EXPORT_FAMILIES = ['diffusion', 'nfbm', 'diffflow', 'cfm'] as const;
export type ExportFamily = (typeof EXPORT_FAMILIES)[number];

/** The built-in `nfdm.kind` values (diffusion kinds, then the bridge, DiffFlow and flow-matching kinds). */
export const EXPORT_KINDS = ['nfdm', 'ndm', 'fixed', 'nfbm', 'diffflow', 'cfm'] as const;

/**
 * `nfdm.kind` of an export: a built-in kind or, for the diffusion family, the kind of a
 * downstream forward process (e.g. 'linear-interpolation'); descriptive only for the runtime.
 */
export type ExportKind = (typeof EXPORT_KINDS)[number] | (string & {});

/** What a loaded model can do in this runtime (the field names of `FamilyCapabilities`). */
export interface RuntimeCapabilities {
  /** Draws x ~ p(x) from the prior (`sample`). */
  sample: boolean;
  /** Maps given source points to targets (`transport`). */
  transport: boolean;
  /** Exact log-density through the probability-flow ODE (`logProb`). */
  logProb: boolean;
  /** The NELBO (never computed by the runtime). */
  nelbo: boolean;
  /** A held-out bound (never computed by the runtime). */
  bound: boolean;
  /** Trajectory curvature (never computed by the runtime). */
  curvature: boolean;
  /** Trained for few-step ODE sampling (the NFDM-OT objective, from the export's config). */
  fewStep: boolean;
  /** Reverse-SDE sampling / transport is available. */
  sde: boolean;
  /** The fixed-step solver table (euler, heun, rk4, euler_maruyama) applies; false: the model runs its own grid. */
  solvers: boolean;
  /** Adaptive (Dormand–Prince) stepping is available (for log-densities). */
  adaptive: boolean;
  /** The forward process is loaded (the `forward` graph), so forward trajectories can be computed. */
  forwardTrajectories: boolean;
}

/** One row of the table. */
export interface RuntimeFamily<N extends ExportFamily = ExportFamily> {
  readonly id: FamilyId;
  /** The on-disk / HTTP spelling. */
  readonly exportName: N;
  /** For messages: 'diffusion model' | 'NFBM bridge' | 'DiffFlow model'. */
  readonly title: string;
  /** The title with its indefinite article ('an NFBM bridge'). */
  readonly aTitle: string;
  /** Plural for messages ('NFBM bridges'). */
  readonly plural: string;
  /** The public loader of this family's exports. */
  readonly loader: string;
  /** What a complete export of this family can do in the runtime. */
  readonly capabilities: RuntimeCapabilities;
  /** The model's per-stage field evaluations (an `abortable` view overrides these). */
  readonly fieldMethods: readonly string[];
  /** Whether a graph of this family is loaded by default (component graphs are not). */
  wants(graph: string): boolean;
  /** The default graphs, for messages. */
  readonly graphList: string;
  /** Capabilities of a model loaded with `graphs`. */
  capabilitiesOf(metadata: ModelMetadata, graphs: readonly string[]): RuntimeCapabilities;
  /** The message when `kind` (of `origin`, a `found` export) is loaded as this family. */
  mismatch(origin: string, kind: string, found: RuntimeFamily): string;
  /** A problem of this family's metadata, or undefined. */
  metadataProblem(m: OnnxGraphMetadata): string | undefined;
}

const NOTHING: RuntimeCapabilities = {
  sample: false,
  transport: false,
  logProb: false,
  nelbo: false,
  bound: false,
  curvature: false,
  fewStep: false,
  sde: false,
  solvers: false,
  adaptive: false,
  forwardTrajectories: false,
};

/**
 * Trained with the NFDM-OT objective: `nfdm.objective` {kind: 'ot'} as `nfdm export` records it,
 * else `objective.kind` 'ot' or the 'nfdm-ot' preset in the export's config (false when neither says).
 */
function trainedFewStep(metadata: ModelMetadata): boolean {
  if (metadata.objective) return metadata.objective.kind === 'ot';
  const c = metadata.config as {
    objective?: { kind?: unknown };
    model?: unknown;
    meta?: { objective?: { kind?: unknown }; model?: unknown };
  };
  return c?.objective?.kind === 'ot' || c?.model === 'nfdm-ot' || c?.meta?.objective?.kind === 'ot' || c?.meta?.model === 'nfdm-ot';
}

const DIFFUSION_GRAPHS: ReadonlySet<string> = new Set(['drift', 'velocity', 'velocity_divergence', 'frozen_step']);
const isSampler = (graph: string) => graph.startsWith('sampler_');

/** Diffusion models (kinds nfdm, ndm, fixed and downstream forward processes): {@link OnnxModel}. */
export const DIFFUSION: RuntimeFamily<'diffusion'> = {
  id: 'diffusion',
  exportName: 'diffusion',
  title: 'diffusion model',
  aTitle: 'a diffusion model',
  plural: 'diffusion models',
  loader: 'loadOnnxModel',
  capabilities: { ...NOTHING, sample: true, logProb: true, sde: true, solvers: true, adaptive: true, forwardTrajectories: true },
  fieldMethods: [
    'velocity',
    'drift',
    'velocityDivergence',
    'frozenStep',
    'velocityStage',
    'driftStage',
    'divergenceStage',
    'frozenStepStage',
  ],
  wants: (graph) => DIFFUSION_GRAPHS.has(graph) || isSampler(graph),
  graphList: 'drift, velocity, velocity_divergence, frozen_step or sampler_*',
  capabilitiesOf(metadata, graphs) {
    const has = (g: string) => graphs.includes(g);
    const logProb = has('velocity_divergence');
    const sde = has('drift') || graphs.some((g) => isSampler(g) && g.endsWith('_sde'));
    return {
      ...NOTHING,
      sample: sde || logProb || has('velocity') || has('frozen_step') || graphs.some(isSampler),
      logProb,
      fewStep: trainedFewStep(metadata),
      sde,
      solvers: true,
      adaptive: logProb,
      forwardTrajectories: has('forward'),
    };
  },
  mismatch: (origin, kind, found) => `${origin}: this is an ${kind} export; load it with ${found.loader} or loadExportedModel`,
  metadataProblem: () => undefined,
};

/** `wants` and `graphList` of a family that loads exactly `graphs` by default. */
function loadsGraphs(graphs: readonly string[]): Pick<RuntimeFamily, 'wants' | 'graphList'> {
  return { wants: (graph) => graphs.includes(graph), graphList: graphs.join(', ') };
}

const BRIDGE_GRAPHS = ['bridge_velocity', 'bridge_drift', 'bridge_sampler_euler_ode', 'bridge_sampler_euler_sde'];

/** NFBM bridges (kind 'nfbm'): {@link OnnxBridgeModel}, transport only. */
export const BRIDGE: RuntimeFamily<'nfbm'> = {
  id: 'bridge',
  exportName: 'nfbm',
  title: 'NFBM bridge',
  aTitle: 'an NFBM bridge',
  plural: 'NFBM bridges',
  loader: 'loadOnnxBridge',
  capabilities: { ...NOTHING, transport: true, sde: true, solvers: true },
  fieldMethods: ['velocity', 'drift', 'velocityStage', 'driftStage'],
  ...loadsGraphs(BRIDGE_GRAPHS),
  capabilitiesOf(_metadata, graphs) {
    const has = (g: string) => graphs.includes(g);
    return {
      ...NOTHING,
      transport: BRIDGE_GRAPHS.some(has),
      sde: has('bridge_drift') || has('bridge_sampler_euler_sde'),
      solvers: true,
    };
  },
  mismatch: (origin, kind) => `${origin}: not an NFBM export (kind '${kind}')`,
  metadataProblem: (m) => (m.delta !== undefined && m.delta > 0 ? undefined : "NFBM metadata needs a positive 'nfdm.delta'"),
};

const DIFFFLOW_GRAPHS = ['diffflow_drift', 'diffflow_score', 'diffflow_sampler_sde', 'diffflow_sampler_ode'];

/** DiffFlow models (kind 'diffflow'): {@link OnnxDiffFlowModel}, sampling on the exported grid. */
export const DIFFFLOW: RuntimeFamily<'diffflow'> = {
  id: 'diffflow',
  exportName: 'diffflow',
  title: 'DiffFlow model',
  aTitle: 'a DiffFlow model',
  plural: 'diffflow models',
  loader: 'loadOnnxDiffFlow',
  capabilities: { ...NOTHING, sample: true, sde: true },
  fieldMethods: ['drift', 'score'],
  ...loadsGraphs(DIFFFLOW_GRAPHS),
  capabilitiesOf(_metadata, graphs) {
    const has = (g: string) => graphs.includes(g);
    const stepwise = has('diffflow_drift') && has('diffflow_score');
    return {
      ...NOTHING,
      sample: stepwise || has('diffflow_sampler_sde') || has('diffflow_sampler_ode'),
      sde: stepwise || has('diffflow_sampler_sde'),
    };
  },
  mismatch: (origin, kind) => `${origin}: not a DiffFlow export (kind '${kind}')`,
  metadataProblem(m) {
    const K = (m.grid?.length ?? 0) - 1;
    if (K < 1 || m.g?.length !== K + 1 || !m.grid?.every(Number.isFinite) || !m.g.every((v) => v > 0)) {
      return "DiffFlow metadata needs 'nfdm.grid' (≥ 2 times) and 'nfdm.g' (positive, one per grid time)";
    }
    return undefined;
  },
};

const CFM_FIELD_GRAPHS: ReadonlySet<string> = new Set(['velocity', 'velocity_divergence']);
const isOdeSampler = (graph: string) => isSampler(graph) && graph.endsWith('_ode');

/** Rectified flow after a reflow round (the export's config: `flow.coupling` 'reflow'). */
function reflowed(metadata: ModelMetadata): boolean {
  return (metadata.config as { flow?: { coupling?: unknown } } | undefined)?.flow?.coupling === 'reflow';
}

/**
 * Velocity-parametrised flow matching (kind 'cfm': CFM, OT-CFM, rectified flow):
 * {@link OnnxCFMModel}. The ODE dz/dt = v_θ(z, t) with the solver table, log p(x) with the
 * divergence graph; no reverse SDE.
 */
export const CFM: RuntimeFamily<'cfm'> = {
  id: 'cfm',
  exportName: 'cfm',
  title: 'flow-matching model',
  aTitle: 'a flow-matching model',
  plural: 'flow-matching models',
  loader: 'loadOnnxCFM',
  capabilities: { ...NOTHING, sample: true, logProb: true, solvers: true, adaptive: true },
  fieldMethods: ['velocity', 'velocityDivergence', 'velocityStage', 'divergenceStage'],
  wants: (graph) => CFM_FIELD_GRAPHS.has(graph) || isOdeSampler(graph),
  graphList: 'velocity, velocity_divergence or sampler_*_ode',
  capabilitiesOf(metadata, graphs) {
    const has = (g: string) => graphs.includes(g);
    const logProb = has('velocity_divergence');
    return {
      ...NOTHING,
      sample: logProb || has('velocity') || graphs.some(isOdeSampler),
      logProb,
      // rectified flow's reflow straightens the ODE for few-step sampling
      fewStep: reflowed(metadata),
      solvers: true,
      adaptive: logProb,
    };
  },
  mismatch: (origin, kind) => `${origin}: not a flow-matching export (kind '${kind}')`,
  metadataProblem: () => undefined,
};

/** Every family of the runtime. */
export const RUNTIME_FAMILIES: readonly RuntimeFamily[] = [DIFFUSION, BRIDGE, DIFFFLOW, CFM];

const BY_KIND: ReadonlyMap<string, RuntimeFamily> = new Map<string, RuntimeFamily>([
  [BRIDGE.exportName, BRIDGE],
  [DIFFFLOW.exportName, DIFFFLOW],
  [CFM.exportName, CFM],
]);

/** The family of an export's `nfdm.kind`: 'nfbm' → bridge, 'diffflow' → DiffFlow, 'cfm' → flow matching, any other kind → diffusion. */
export function familyOfKind(kind: string): RuntimeFamily {
  return BY_KIND.get(kind) ?? DIFFUSION;
}

/** The family of an id ('diffusion' | 'bridge' | 'diffflow' | 'cfm') or of its on-disk name; throws a TypeError for others. */
export function runtimeFamily(name: string): RuntimeFamily {
  const f = RUNTIME_FAMILIES.find((x) => x.id === name || x.exportName === name);
  if (!f) throw new TypeError(`unknown model family '${name}' (known: ${RUNTIME_FAMILIES.map((x) => x.id).join(', ')})`);
  return f;
}

/** Any loaded export ({@link OnnxCFMModel} is an {@link OnnxModel} that samples by its ODE only). */
export type ExportedModel = OnnxModel | OnnxCFMModel | OnnxBridgeModel | OnnxDiffFlowModel;

/** The model transports sources (`capabilities.transport`): it is an {@link OnnxBridgeModel}. */
export function canTransport(model: ExportedModel): model is OnnxBridgeModel {
  return model.capabilities.transport;
}

/** The model samples with the fixed-step solver table (`sample && solvers`): an {@link OnnxModel} (or its {@link OnnxCFMModel}). */
export function samplesWithSolvers(model: ExportedModel): model is OnnxModel {
  return model.capabilities.sample && model.capabilities.solvers;
}

/** The model samples on its own exported grid (`sample && !solvers`): an {@link OnnxDiffFlowModel}. */
export function samplesOnGrid(model: ExportedModel): model is OnnxDiffFlowModel {
  return model.capabilities.sample && !model.capabilities.solvers;
}

/** The model computes log-densities (`capabilities.logProb`): an {@link OnnxModel}. */
export function hasLogProb(model: ExportedModel): model is OnnxModel {
  return model.capabilities.logProb;
}
