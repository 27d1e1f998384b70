/**
 * What every loaded export shares: its metadata, the onnxruntime sessions of its graphs, its
 * family (from the table in families.ts) and what it can do with the graphs it was loaded with.
 */
import type * as ort from 'onnxruntime-node';
import type { FamilyId, RuntimeCapabilities, RuntimeFamily } from './families.js';
import { type ModelMetadata, SessionSet } from './load.js';
import type { ConditionMeta, ImageShapeMeta, StandardizationMeta } from './metadata.js';

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

  /** Run a loaded graph on raw onnxruntime tensors. */
  async run(graph: string, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
    return this.set.get(graph, `run('${graph}')`).run(feeds) as Promise<Record<string, ort.Tensor>>;
  }

  /** Release every session. */
  async dispose(): Promise<void> {
    await this.set.dispose();
  }
}
