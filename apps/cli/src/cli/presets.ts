/**
 * Model names on the command line → model configs (@nfdm/models' `ModelConfig`).
 *
 * | name     | forward process                         | volatility g(t)                        |
 * | -------- | --------------------------------------- | -------------------------------------- |
 * | `nfdm`   | learned (NFDM, μ and σ from one MLP)    | learned (softplus MLP)                 |
 * | `ndm`    | learned transform under linear log-SNR  | matched to the schedule                |
 * | `vp`     | fixed VP (DDPM) schedule, ε-predictor   | matched (the VP-SDE's g)               |
 * | `subvp`  | fixed sub-VP schedule                   | matched                                |
 * | `ve`     | fixed VE schedule                       | matched                                |
 * | `cosine` | fixed cosine schedule                   | matched                                |
 * | `fm`     | fixed flow-matching (OT) path           | learned (the matched g diverges at t = 1) |
 * | `nfdm-ot`| learned (NFDM), trained with NFDM-OT    | constant 1 (unused: ODE-only model)    |
 * | `nfbm`   | learned bridge between --source and --target (NFBM), optional --obstacle | learned |
 * | `diffflow` | learned drift + score (DiffFlow), FourierMLPs, ExpTimer grid | constant g (0.2) |
 *
 * `nfbm` trains on pairs (target, source) drawn from two toy sets; `--obstacle cx,cy,r[,w]`
 * adds the disc penalty. `diffflow` maps `--hidden` to its FourierMLPs: channels = the largest
 * width, layers = the number of widths − 1.
 *
 * `nfdm-ot` trains on the NFDM-OT objective (velocity matching + λ · curvature, λ from
 * `--curvature-weight`, default 1) instead of the NELBO; it samples with the ODE by default and
 * has no NELBO (see {@link presetObjective}).
 */
import {
  type AnyModelConfig,
  BRIDGE_FORMAT,
  DIFFFLOW_FORMAT,
  MODEL_FORMAT,
  type ModelConfig,
  NDM_DEFAULT_SCHEDULE,
  type Standardization,
} from '@nfdm/models';
import type { TrainerObjective } from '@nfdm/training';

export const MODEL_NAMES = ['nfdm', 'ndm', 'vp', 'subvp', 've', 'cosine', 'fm', 'nfdm-ot', 'nfbm', 'diffflow'] as const;
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
  nfbm: 'Neural Flow Bridge Model: learned transport from --source to --target data, optional --obstacle penalty',
  diffflow: 'DiffFlow: learned drift and score on an ExpTimer grid (path-KL loss, memory-saving gradient); NLL bound',
};

/** Bridge models (trained on pairs from --source and --target). */
export function isBridgeModel(name: string | undefined): boolean {
  return name === 'nfbm';
}

/** The disc obstacle of `--obstacle cx,cy,r[,weight]`. */
export interface ObstacleSetting {
  center: [number, number];
  radius: number;
  /** Penalty weight (default 10). */
  weight: number;
}

export const DEFAULT_OBSTACLE_WEIGHT = 10;

/**
 * σ at both ends of the nfbm preset (data units). The reverse SDE is stiff where σ is small
 * (its score term pulls with rate g²/2σ²), so Euler–Maruyama needs steps h < 4σ²/g²: δ = 0.1
 * keeps the default 100 steps stable for g up to ~2, at the price of endpoints blurred by 0.1.
 */
export const BRIDGE_DELTA = 0.1;

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
  /** nfbm: the obstacle penalty. */
  obstacle?: ObstacleSetting;
  /** nfbm: names of the data at each end (descriptive). */
  pair?: { source: string; target: string };
}

/** The model config of a named model. */
export function presetConfig(name: ModelName, options: PresetOptions): AnyModelConfig {
  const { dim, hidden, seed } = options;
  if (name === 'nfbm') {
    const net = { hidden: [...hidden] };
    return {
      format: BRIDGE_FORMAT,
      dim,
      process: { ...net, delta: BRIDGE_DELTA },
      predictor: { ...net },
      volatility: { kind: 'neural', hidden: [...hidden] },
      penalties: options.obstacle
        ? [{ kind: 'obstacle', center: [...options.obstacle.center], radius: options.obstacle.radius, weight: options.obstacle.weight }]
        : [],
      seed,
      ...(options.pair ? { data: { ...options.pair } } : {}),
    };
  }
  if (name === 'diffflow') {
    return {
      format: DIFFFLOW_FORMAT,
      dim,
      network: { channels: Math.max(2, ...hidden), layers: Math.max(0, hidden.length - 1) },
      time: { N: 30, tMin: 0.001, tMax: 0.05, exponent: 0.9, g: 0.2, flexible: false, progressive: [] },
      seed,
      ...(options.standardization ? { standardization: options.standardization } : {}),
    };
  }
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
  // VP, sub-VP and VE predict ε (x̂ = (z − σ_t NN)/α_t), their standard parametrisation: the
  // 'data' form is ill-conditioned where σ_t ≪ t (sub-VP). fm and cosine have α_1 = 0: 'data'.
  const eps = name === 'vp' || name === 'subvp' || name === 've';
  const predictor: ModelConfig['predictor'] = eps ? { hidden: [...hidden], parametrization: 'eps' } : { hidden: [...hidden] };
  const config: ModelConfig = { format: MODEL_FORMAT, dim, forward, predictor, volatility, seed };
  if (options.standardization) config.standardization = options.standardization;
  return config;
}
