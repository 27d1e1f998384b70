/**
 * Model families share one folder layout (config.json + weights.safetensors) and are told apart
 * by the config's `format`. These functions build, describe, save and load a model of any
 * registered family (families/registry.ts) by asking its descriptor.
 */

import type { BridgeModelConfig } from './bridge/config.js';
import type { BridgeModel } from './bridge/model.js';
import type { CFMModelConfig } from './cfm/config.js';
import type { CFMModel } from './cfm/model.js';
import type { ModelConfig } from './config.js';
import { ModelConfigError, readModelFolder, readValidatedConfig, type Standardization, writeModelFolder } from './config.js';
import type { DiffFlowModelConfig } from './diffflow/config.js';
import type { DiffFlowModel } from './diffflow/networks.js';
import { familyOf, familyOfConfig } from './families/registry.js';
import type { FamilyId } from './families/types.js';
import type { DiffusionModel } from './model.js';

export * from './families/index.js';

export type AnyModel = DiffusionModel | BridgeModel | DiffFlowModel | CFMModel;
export type AnyModelConfig = ModelConfig | BridgeModelConfig | DiffFlowModelConfig | CFMModelConfig;

/** The family id of a model object (see {@link familyOf} for its descriptor). */
export function modelFamily(model: AnyModel): FamilyId {
  return familyOf(model).id;
}

/** The family id of a config, from its `format` (see {@link familyOfConfig}). */
export function configFamily(config: { format?: unknown }): FamilyId {
  return familyOfConfig(config).id;
}

/** Validate any model config (dispatching on `format`) and fill its defaults. */
export function parseAnyModelConfig(raw: unknown): AnyModelConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ModelConfigError('config', 'expected an object');
  return familyOfConfig(raw as { format?: unknown }).parseConfig(raw);
}

/** Build any model from its config (seeded initial weights). */
export function createAnyModel(config: AnyModelConfig): AnyModel {
  return familyOfConfig(config).create(config);
}

/** The config of any model (its family's `configOf`). */
export function anyModelConfig(model: AnyModel, options: { seed?: number; standardization?: Standardization | null } = {}): AnyModelConfig {
  return familyOf(model).configOf(model, options);
}

/** Standardisation of the data a config's model sees, if any (bridges have none). */
export function configStandardization(config: AnyModelConfig): Standardization | undefined {
  return familyOfConfig(config).standardization(config);
}

/** Write config.json and weights.safetensors of any model into `dir`, atomically. Returns the config. */
export function saveAnyModel(
  model: AnyModel,
  dir: string,
  options: { seed?: number; standardization?: Standardization | null } = {},
): AnyModelConfig {
  return writeModelFolder(model, dir, anyModelConfig(model, options));
}

/** Read and validate the config of a model folder of any family. */
export function readAnyModelConfig(dir: string): AnyModelConfig {
  return readValidatedConfig(dir, parseAnyModelConfig);
}

/** Load a model folder of any family (config checked field by field, weights tensor by tensor). */
export function loadAnyModel(dir: string): AnyModel {
  return readModelFolder(dir, readAnyModelConfig(dir), createAnyModel);
}
