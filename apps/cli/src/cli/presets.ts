/**
 * Model names on the command line → model configs (@nfdm/models' `ModelConfig`).
 *
 * | name     | forward process                         | volatility g(t)                        |
 * | -------- | --------------------------------------- | -------------------------------------- |
 * | `nfdm`   | learned (NFDM, μ and σ from one MLP)    | learned (softplus MLP)                 |
 * | `ndm`    | learned transform under linear log-SNR  | matched to the schedule                |
 * | `vp`     | fixed VP (DDPM) schedule                | matched (the VP-SDE's g)               |
 * | `subvp`  | fixed sub-VP schedule                   | matched                                |
 * | `ve`     | fixed VE schedule                       | matched                                |
 * | `cosine` | fixed cosine schedule                   | matched                                |
 * | `fm`     | fixed flow-matching (OT) path           | learned (the matched g diverges at t = 1) |
 */
import { MODEL_FORMAT, type ModelConfig, NDM_DEFAULT_SCHEDULE, type Standardization } from '@nfdm/models';

export const MODEL_NAMES = ['nfdm', 'ndm', 'vp', 'subvp', 've', 'cosine', 'fm'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

export const MODEL_DESCRIPTIONS: Record<ModelName, string> = {
  nfdm: 'Neural Flow Diffusion Model: learned forward process and learned volatility',
  ndm: 'Neural Diffusion Model: learned data transform under a linear log-SNR schedule, matched volatility',
  vp: 'fixed VP (DDPM) schedule, matched volatility',
  subvp: 'fixed sub-VP schedule, matched volatility',
  ve: 'fixed VE schedule, matched volatility',
  cosine: 'fixed cosine schedule, matched volatility',
  fm: 'fixed flow-matching (OT) path, learned volatility',
};

export function isModelName(name: string): name is ModelName {
  return (MODEL_NAMES as readonly string[]).includes(name);
}

export interface PresetOptions {
  dim: number;
  /** Hidden widths of every network (forward, predictor, volatility). */
  hidden: number[];
  seed: number;
  standardization?: Standardization;
}

/** The model config of a named model. */
export function presetConfig(name: ModelName, options: PresetOptions): ModelConfig {
  const { dim, hidden, seed } = options;
  const neuralG = { kind: 'neural' as const, hidden: [...hidden] };
  let forward: ModelConfig['forward'];
  let volatility: ModelConfig['volatility'];
  switch (name) {
    case 'nfdm':
      forward = { kind: 'nfdm', hidden: [...hidden] };
      volatility = neuralG;
      break;
    case 'ndm':
      forward = { kind: 'ndm', schedule: { ...NDM_DEFAULT_SCHEDULE }, hidden: [...hidden] };
      volatility = { kind: 'matched', schedule: { ...NDM_DEFAULT_SCHEDULE } };
      break;
    case 'fm':
      forward = { kind: 'fixed', schedule: { name: 'fm-ot' } };
      volatility = neuralG;
      break;
    default:
      forward = { kind: 'fixed', schedule: { name } };
      volatility = { kind: 'matched', schedule: { name } };
  }
  const config: ModelConfig = { format: MODEL_FORMAT, dim, forward, predictor: { hidden: [...hidden] }, volatility, seed };
  if (options.standardization) config.standardization = options.standardization;
  return config;
}
