/**
 * What every loaded export shares: its metadata, the onnxruntime sessions of its graphs, its
 * family (from the table in families.ts) and what it can do with the graphs it was loaded with.
 */
import type * as ort from 'onnxruntime-common';
import type { FamilyId, RuntimeCapabilities, RuntimeFamily } from './families.js';
import { type ModelMetadata, SessionSet } from './load.js';
import type { ConditionMeta, ImageShapeMeta, StandardizationMeta } from './metadata.js';

/** One input or output of a graph: its element type and shape (symbolic dims are strings). */
export interface GraphTensor {
  name: string;
  /** onnxruntime's element type ('float32', 'int64', …; 'unknown' for non-tensor values). */
  type: string;
  shape: Array<number | string>;
}

/** One onnxruntime run of a graph. */
export type RunFn = (feeds: Record<string, ort.Tensor>) => Promise<Record<string, ort.Tensor>>;

/** The inputs and outputs of a graph, in the graph's order. */
export interface GraphSignature {
  inputs: GraphTensor[];
  outputs: GraphTensor[];
}

export abstract class LoadedOnnxModel {
  /** The family id (`FamilyId`, the vocabulary of @nfdm/models). */
  readonly familyId: FamilyId;
  /** What this model can do with the graphs it was loaded with. */
  readonly capabilities: RuntimeCapabilities;
  /** Data dimension D. */
  readonly dim: number;
  readonly standardization: StandardizationMeta | undefined;
  /** Image models: the NHWC image of one data row (see imageGridPng); undefined otherwise. */
  readonly image: ImageShapeMeta | undefined;
  /** Conditional models: what the graphs' `condition` input holds (metadata `nfdm.condition`); undefined otherwise. */
  readonly condition: ConditionMeta | undefined;
  protected readonly set: SessionSet;

  constructor(
    readonly metadata: ModelMetadata,
    sessions: Map<string, ort.InferenceSession>,
    /** This model's row of the family table. */
    readonly runtimeFamily: RuntimeFamily,
  ) {
    this.familyId = runtimeFamily.id;
    this.dim = metadata.dim;
    this.standardization = metadata.standardization;
    this.image = metadata.image;
    this.condition = metadata.condition;
    this.set = new SessionSet(sessions);
    this.capabilities = runtimeFamily.capabilitiesOf(metadata, this.set.graphs);
  }

  /** Names of the loaded graphs. */
  get graphs(): string[] {
    return this.set.graphs;
  }

  has(graph: string): boolean {
    return this.set.has(graph);
  }

  /**
   * The inputs and outputs of a loaded graph as onnxruntime reports them: name, element type
   * ('float32', 'int64', …) and shape (numbers, or strings for symbolic dims such as 'N').
   */
  signature(graph: string): GraphSignature {
    const session = this.set.get(graph, `signature('${graph}')`);
    const tensors = (values: readonly ort.InferenceSession.ValueMetadata[]): GraphTensor[] =>
      values.map((v) => (v.isTensor ? { name: v.name, type: v.type, shape: [...v.shape] } : { name: v.name, type: 'unknown', shape: [] }));
    return { inputs: tensors(session.inputMetadata), outputs: tensors(session.outputMetadata) };
  }

  /**
   * Route every later run of `graph` — by the samplers, log-densities and {@link run} alike —
   * through `run` (a server's cross-request batcher, say), given the session's own run.
   */
  interceptRuns(graph: string, run: (feeds: Record<string, ort.Tensor>, next: RunFn) => Promise<Record<string, ort.Tensor>>): void {
    const session = this.set.get(graph, `interceptRuns('${graph}')`);
    const next: RunFn = (feeds) => session.run(feeds) as Promise<Record<string, ort.Tensor>>;
    const view = Object.create(session) as ort.InferenceSession;
    (view as { run: unknown }).run = (feeds: Record<string, ort.Tensor>) => run(feeds, next);
    this.set.sessions.set(graph, view);
  }

  /** Run a loaded graph on raw onnxruntime tensors. */
  async run(graph: string, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
    return this.set.get(graph, `run('${graph}')`).run(feeds) as Promise<Record<string, ort.Tensor>>;
  }

  /** Release every session. */
  async dispose(): Promise<void> {
    await this.set.dispose();
  }
}
