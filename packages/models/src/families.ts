/**
 * Model families: diffusion models (NFDM, NDM, fixed processes — {@link ModelConfig}), NFBM
 * bridges ({@link BridgeModelConfig}) and DiffFlow ({@link DiffFlowModelConfig}) share one
 * folder layout (config.json + weights.safetensors) and are told apart by the config's
 * `format`. These functions build, describe, save and load any of them.
 */
import { BRIDGE_FORMAT, type BridgeModelConfig, bridgeModelConfig, createBridgeModel, parseBridgeConfig } from './bridge/config.js';
import { BridgeModel } from './bridge/model.js';
import {
  createModel,
  MODEL_FORMAT,
  type ModelConfig,
  ModelConfigError,
  modelConfig,
  parseModelConfig,
  readModelFolder,
  readValidatedConfig,
  type Standardization,
  writeModelFolder,
} from './config.js';
import {
  createDiffFlowModel,
  DIFFFLOW_FORMAT,
  type DiffFlowModelConfig,
  diffflowModelConfig,
  parseDiffFlowConfig,
} from './diffflow/config.js';
import { DiffFlowModel } from './diffflow/networks.js';
import { DiffusionModel } from './model.js';

export type AnyModel = DiffusionModel | BridgeModel | DiffFlowModel;
export type AnyModelConfig = ModelConfig | BridgeModelConfig | DiffFlowModelConfig;
export type ModelFamily = 'diffusion' | 'bridge' | 'diffflow';

/** The family of a model object. */
export function modelFamily(model: AnyModel): ModelFamily {
  if (model instanceof BridgeModel) return 'bridge';
  if (model instanceof DiffFlowModel) return 'diffflow';
  if (model instanceof DiffusionModel) return 'diffusion';
  throw new TypeError('not an nfdm model (expected a DiffusionModel, BridgeModel or DiffFlowModel)');
}

/** The family of a config, from its `format`. */
export function configFamily(config: { format?: unknown }): ModelFamily {
  switch (config?.format) {
    case MODEL_FORMAT:
      return 'diffusion';
    case BRIDGE_FORMAT:
      return 'bridge';
    case DIFFFLOW_FORMAT:
      return 'diffflow';
    default:
      throw new ModelConfigError(
        'format',
        `expected one of "${MODEL_FORMAT}", "${BRIDGE_FORMAT}", "${DIFFFLOW_FORMAT}", got ${JSON.stringify(config?.format)}`,
      );
  }
}

/** Validate any model config (dispatching on `format`) and fill its defaults. */
export function parseAnyModelConfig(raw: unknown): AnyModelConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ModelConfigError('config', 'expected an object');
  switch (configFamily(raw as { format?: unknown })) {
    case 'bridge':
      return parseBridgeConfig(raw);
    case 'diffflow':
      return parseDiffFlowConfig(raw);
    default:
      return parseModelConfig(raw);
  }
}

/** Build any model from its config (seeded initial weights). */
export function createAnyModel(config: AnyModelConfig): AnyModel {
  switch (configFamily(config)) {
    case 'bridge':
      return createBridgeModel(config as BridgeModelConfig);
    case 'diffflow':
      return createDiffFlowModel(config as DiffFlowModelConfig);
    default:
      return createModel(config as ModelConfig);
  }
}

/** The config of any model (see {@link modelConfig}, {@link bridgeModelConfig}, {@link diffflowModelConfig}). */
export function anyModelConfig(model: AnyModel, options: { seed?: number; standardization?: Standardization | null } = {}): AnyModelConfig {
  switch (modelFamily(model)) {
    case 'bridge':
      return bridgeModelConfig(model as BridgeModel, { seed: options.seed });
    case 'diffflow':
      return diffflowModelConfig(model as DiffFlowModel, options);
    default:
      return modelConfig(model as DiffusionModel, options);
  }
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
