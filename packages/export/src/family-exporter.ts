/**
 * The contract of a model family's ONNX exporter: one call that writes every graph a runtime
 * or server needs, with the family's own defaults (sampling grid, penalties, standardisation
 * remembered with the model). Exporters are registered by family id in families.ts.
 */
import type { Standardization } from '@nfdm/models';
import type { ObjectiveMeta } from '@nfdm/runtime';
import type { OnnxExport } from './export.js';
import type { ImageExportOption } from './image-meta.js';

/** Options every family exporter accepts. */
export interface FamilyExportOptions extends ImageExportOption {
  /**
   * Standardisation to record (and undo on samples). Default: the one the family remembers
   * with the model, if any (see each exporter); `null` records none.
   */
  standardization?: Standardization | null;
  /**
   * Diffusion models: the training objective to record as `nfdm.objective` (see the diffusion
   * exporter's `ExportOptions.objective`); the other built-in families do not take it.
   */
  objective?: ObjectiveMeta;
}

/** Exports models of one family. */
export interface FamilyExporter<M = unknown> {
  /** Every graph of `model`, as `{ metadata, graphs }` (write it with `writeOnnxExport`). */
  exportModel(model: M, options: FamilyExportOptions): OnnxExport;
}
