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
 * | `nfdm-ot`| learned (NFDM), trained with NFDM-OT    | constant 1 (unused: ODE-only model)    |
 *
 * `nfdm-ot` trains on the NFDM-OT objective (velocity matching + λ · curvature, λ from
 * `--curvature-weight`, default 1) instead of the NELBO; it samples with the ODE by default and
 * has no NELBO (see {@link presetObjective}).
 */
import { MODEL_FORMAT, type ModelConfig, NDM_DEFAULT_SCHEDULE, type Standardization } from '@nfdm/models';
import type { TrainerObjective } from '@nfdm/training';

export const MODEL_NAMES = ['nfdm', 'ndm', 'vp', 'subvp', 've', 'cosine', 'fm', 'nfdm-ot'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

export const MODEL_DESCRIPTIONS: Record<ModelName, string> = {
  nfdm: 'Neural Flow Diffusion Model: learned forward process and learned volatility',
  ndm: 'Neural Diffusion Model: learned data transform under a linear log-SNR schedule, matched volatility',
  vp: 'fixed VP (DDPM) schedule, matched volatility',
  subvp: 'fixed sub-VP schedule, matched volatility',
  ve: 'fixed VE schedule, matched volatility',
  cosine: 'fixed cosine schedule, matched volatility',
  fm: 'fixed flow-matching (OT) path, learned volatility',
  'nfdm-ot': 'NFDM-OT: learned forward process trained for straight ODE paths (--curvature-weight); ODE sampling, no NELBO',
};

/** Models trained on the NFDM-OT objective (deterministic ODE models without a NELBO). */
export const OT_MODELS: readonly ModelName[] = ['nfdm-ot'];

/** Default λ of `--curvature-weight`. */
export const DEFAULT_CURVATURE_WEIGHT = 1;

export function isOTModel(name: string | undefined): boolean {
  return name !== undefined && (OT_MODELS as readonly string[]).includes(name);
}

/** The training objective of a named model (`curvatureWeight` applies to NFDM-OT models only). */
export function presetObjective(name: ModelName, curvatureWeight?: number): TrainerObjective {
  if (isOTModel(name)) return { kind: 'ot', curvatureWeight: curvatureWeight ?? DEFAULT_CURVATURE_WEIGHT };
  return { kind: 'nelbo' };
}

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
    case 'nfdm-ot':
      forward = { kind: 'nfdm', hidden: [...hidden] };
      volatility = { kind: 'constant', value: 1 };
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
