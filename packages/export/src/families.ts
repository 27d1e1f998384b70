/**
 * Family-level export: one entry point for any model, dispatched through a registry of
 * exporters keyed by the model's family id (`familyOf(model).id` of @nfdm/models — 'diffusion',
 * 'bridge', 'diffflow', 'cfm' built in). This file is the only place that names the built-in families;
 * each family's exporter lives next to its graphs (export.ts, bridge.ts, diffflow.ts, cfm.ts). A
 * downstream family registers its exporter with {@link registerFamilyExporter}.
 *
 * Each family's own entry points return the same `{ metadata, graphs }` (write it with
 * `writeOnnxExport`, or call the `dir` variants):
 *
 * | model                    | export                                                             | graphs |
 * |--------------------------|--------------------------------------------------------------------|--------|
 * | `DiffusionModel`         | `exportOnnx(model, opts)` (export.ts)                              | see export.ts |
 * | NFBM `BridgeModel`       | `exportBridgeOnnx(model, opts)`, `exportBridge(model, dir, opts)`  (bridge.ts)   | `bridge_velocity`, `bridge_drift` (z, t, source), `bridge_sampler_euler_{ode,sde}` (source, start_noise, steps / noise) |
 * | `CFMModel`               | `exportCFMOnnx(model, opts)`, `exportCFM(model, dir, opts)` (cfm.ts) | `velocity`, `velocity_divergence` (z, t), `sampler_{euler,heun,rk4}_ode` (prior_noise, steps) |
 * | `DiffFlowModel`          | `exportDiffFlowOnnx(model, { grid, g })`, `exportDiffFlow(model, dir, { grid, g })` (diffflow.ts) | `diffflow_drift`, `diffflow_score` (x, t), `diffflow_sampler_{sde,ode}` (prior_noise[, noise]) |
 */
import { type AnyModel, familyOf } from '@nfdm/models';
import { bridgeExporter } from './bridge.js';
import { cfmExporter } from './cfm.js';
import { diffflowExporter } from './diffflow.js';
import { diffusionExporter, type OnnxExport, writeOnnxExport } from './export.js';
import type { FamilyExporter, FamilyExportOptions } from './family-exporter.js';

const EXPORTERS = new Map<string, FamilyExporter>();

/** Register (or replace) the ONNX exporter of the model family `id`. */
export function registerFamilyExporter<M>(id: string, exporter: FamilyExporter<M>): void {
  if (typeof id !== 'string' || id.length === 0) throw new TypeError('a model family id must be a non-empty string');
  if (typeof exporter?.exportModel !== 'function') throw new TypeError(`family '${id}': an exporter needs exportModel(model, options)`);
  EXPORTERS.set(id, exporter as FamilyExporter);
}

registerFamilyExporter('diffusion', diffusionExporter);
registerFamilyExporter('bridge', bridgeExporter);
registerFamilyExporter('diffflow', diffflowExporter);
registerFamilyExporter('cfm', cfmExporter);

/** The exporter of family `id`; throws a TypeError naming the registered families when there is none. */
export function familyExporter(id: string): FamilyExporter {
  const exporter = EXPORTERS.get(id);
  if (!exporter) {
    throw new TypeError(
      `no ONNX exporter for the '${id}' model family (registered: ${[...EXPORTERS.keys()].join(', ')}); register one with registerFamilyExporter('${id}', { exportModel })`,
    );
  }
  return exporter;
}

/** Every graph of any model, by its family's exporter (see {@link FamilyExporter}). */
export function exportAnyModel(model: AnyModel, options: FamilyExportOptions = {}): OnnxExport {
  return familyExporter(familyOf(model).id).exportModel(model, options);
}

/** {@link exportAnyModel} written into `dir` by `writeOnnxExport`; returns the paths written. */
export function writeAnyExport(model: AnyModel, dir: string, options: FamilyExportOptions = {}): string[] {
  return writeOnnxExport(exportAnyModel(model, options), dir);
}
