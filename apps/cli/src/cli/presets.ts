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
 * | `fixed-bridge` | fixed Brownian-bridge-type process (NFBM's with m̄ ≡ 0, σ(1/2) = 0.5), same predictor, loss and sampler | learned |
 * | `diffflow` | learned drift + score (DiffFlow), FourierMLPs (or U-Nets), ExpTimer grid | constant g (0.2) |
 * | `cfm`    | flow matching: a velocity network, independent coupling (σ_min 0) | none (ODE only) |
 * | `ot-cfm` | flow matching with the exact mini-batch OT coupling        | none (ODE only)                        |
 * | `rectified-flow` | flow matching (σ_min 0); with `--reflow-from DIR`, one reflow round on the pairs of DIR's model | none (ODE only) |
 *
 * `nfbm` trains on pairs (target, source) drawn from two toy sets, or two image sets (with
 * `--arch unet`: U-Nets of both images as channels); `--obstacle cx,cy,r[,w]` adds the disc
 * penalty (toy sets). `fixed-bridge` is its baseline with the same data, flags, predictor, volatility
 * and objective but a fixed two-sided process (@nfdm/models' FixedBridgeProcess: nothing learned in
 * the process, so comparing the two isolates what learning it buys; `--obstacle` then only
 * measures, since a penalty on fixed paths trains nothing). `diffflow` maps `--hidden` to its FourierMLPs: channels = the largest
 * width, layers = the number of widths − 1; with `--arch unet` (image data) the drift and the
 * score are U-Nets instead (see {@link diffflowUNet}).
 *
 * `nfdm-ot` trains on the NFDM-OT objective (velocity matching + λ · curvature, λ from
 * `--curvature-weight`, default 1) instead of the NELBO; it samples with the ODE by default and
 * has no NELBO (see {@link presetObjective}).
 *
 * `cfm`, `ot-cfm` and `rectified-flow` are the flow-matching family (@nfdm/models' 'cfm',
 * docs/maths/flow-matching.md): the network regresses the ODE's velocity; σ_min (default 0) is
 * the config's `flow.sigmaMin` (`modelConfig` in --config).
 */
import {
  type AnyModelConfig,
  BRIDGE_FORMAT,
  CFM_FORMAT,
  type CFMCoupling,
  capabilitiesOf,
  DIFFFLOW_FORMAT,
  type FamilyCapabilities,
  type FamilyDescriptor,
  type FamilyId,
  familyById,
  MODEL_FORMAT,
  type ModelConfig,
  NDM_DEFAULT_SCHEDULE,
  type Objective,
  type Standardization,
} from '@nfdm/models';
import type { TrainerObjective } from '@nfdm/training';

export const MODEL_NAMES = [
  'nfdm',
  'ndm',
  'vp',
  'subvp',
  've',
  'cosine',
  'fm',
  'nfdm-ot',
  'nfbm',
  'fixed-bridge',
  'diffflow',
  'cfm',
  'ot-cfm',
  'rectified-flow',
] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

/** One row of the model table: what a command-line model name means. */
export interface Preset {
  /** One line for `nfdm train --help`. */
  description: string;
  /** The model family (@nfdm/models' registry id). */
  family: FamilyId;
  /** The training objective kind (`ot`: NFDM-OT, trained for straight ODE paths). */
  objective: Objective['kind'];
  /** The model config for these options. */
  config(options: PresetOptions): AnyModelConfig;
  /** Its networks can be U-Nets (`--arch unet`, image data). */
  unet?: boolean;
}

/** The model names on the command line: the only place that maps a name to a family and a config. */
export const PRESETS: Record<ModelName, Preset> = {
  nfdm: {
    family: 'diffusion',
    unet: true,
    objective: 'nelbo',
    description: 'Neural Flow Diffusion Model: learned forward process and learned volatility',
    config: (o) => diffusionConfig(o, { kind: 'nfdm', hidden: [...o.hidden] }, neuralVolatility(o)),
  },
  ndm: {
    family: 'diffusion',
    unet: true,
    objective: 'nelbo',
    description: 'Neural Diffusion Model: learned data transform under a linear log-SNR schedule, matched volatility',
    config: (o) =>
      diffusionConfig(
        o,
        { kind: 'ndm', schedule: { ...NDM_DEFAULT_SCHEDULE }, hidden: [...o.hidden] },
        { kind: 'matched', schedule: { ...NDM_DEFAULT_SCHEDULE } },
      ),
  },
  vp: fixedSchedulePreset('vp', 'fixed VP (DDPM) schedule, matched volatility'),
  subvp: fixedSchedulePreset('subvp', 'fixed sub-VP schedule, matched volatility'),
  ve: fixedSchedulePreset('ve', 'fixed VE schedule, matched volatility'),
  cosine: fixedSchedulePreset('cosine', 'fixed cosine schedule, matched volatility'),
  fm: {
    family: 'diffusion',
    unet: true,
    objective: 'nelbo',
    description: 'fixed flow-matching (OT) path, learned volatility',
    config: (o) => diffusionConfig(o, { kind: 'fixed', schedule: { name: 'fm-ot' } }, neuralVolatility(o)),
  },
  'nfdm-ot': {
    family: 'diffusion',
    unet: true,
    objective: 'ot',
    description: 'NFDM-OT: learned forward process trained for straight ODE paths (--curvature-weight); ODE sampling, no NELBO',
    config: (o) => diffusionConfig(o, { kind: 'nfdm', hidden: [...o.hidden] }, { kind: 'constant', value: 1 }),
  },
  nfbm: {
    family: 'bridge',
    unet: true,
    objective: 'nelbo',
    description: 'Neural Flow Bridge Model: learned transport from --source to --target data, optional --obstacle penalty',
    config: (o) => bridgeConfig(o, 'learned'),
  },
  'fixed-bridge': {
    family: 'bridge',
    unet: true,
    objective: 'nelbo',
    description:
      "fixed-process bridge baseline: NFBM's predictor, volatility and loss with a fixed Brownian-bridge-type process (σ(1/2) = 0.5), --source to --target",
    config: (o) => bridgeConfig(o, 'fixed'),
  },
  diffflow: {
    family: 'diffflow',
    unet: true,
    objective: 'nelbo',
    description: 'DiffFlow: learned drift and score on an ExpTimer grid (path-KL loss, memory-saving gradient); NLL bound',
    config: diffflowConfig,
  },
  cfm: cfmPreset('independent', 'flow matching (CFM): a velocity network, independent coupling; ODE sampling, exact NLL, no NELBO'),
  'ot-cfm': cfmPreset('ot', 'OT-CFM: flow matching with the exact mini-batch optimal-transport coupling; ODE only'),
  'rectified-flow': cfmPreset(
    'independent',
    'rectified flow: flow matching (σ_min 0); with --reflow-from DIR one reflow round on the ODE pairs of the model at DIR',
  ),
};

export const MODEL_DESCRIPTIONS: Record<ModelName, string> = Object.fromEntries(
  MODEL_NAMES.map((m) => [m, PRESETS[m].description]),
) as Record<ModelName, string>;

/** The family descriptor of a named model. */
export function presetFamily(name: ModelName): FamilyDescriptor {
  return familyById(PRESETS[name].family);
}

/** What a named model can do, under its objective. */
export function presetCapabilities(name: ModelName): FamilyCapabilities {
  return capabilitiesOf(presetFamily(name), presetObjective(name));
}

/** Bridge models (trained on pairs from --source and --target): those whose family transports. */
export function isBridgeModel(name: string | undefined): boolean {
  return name !== undefined && isModelName(name) && presetFamily(name).capabilities.transport;
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
export const OT_MODELS: readonly ModelName[] = MODEL_NAMES.filter((m) => PRESETS[m].objective === 'ot');

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
  /** Image data: [height, width, channels] (rows are flattened NHWC images). */
  image?: [number, number, number];
  /** 'unet': U-Nets for the predictor and the learned forward process, or DiffFlow's drift and score (needs `image`). */
  arch?: 'mlp' | 'unet';
  /** U-Net width (channels of the first level, default 16). */
  base?: number;
  /** Dropout rate of the predictor U-Net's ResBlocks (default 0: none). */
  dropout?: number;
}

/** The model config of a named model. */
export function presetConfig(name: ModelName, options: PresetOptions): AnyModelConfig {
  return PRESETS[name].config(options);
}

function neuralVolatility(o: PresetOptions): ModelConfig['volatility'] {
  return { kind: 'neural', hidden: [...o.hidden] };
}

/**
 * A fixed schedule with its matched volatility. VP, sub-VP and VE predict ε (x̂ = (z − σ_t NN)/α_t),
 * their standard parametrisation: the 'data' form is ill-conditioned where σ_t ≪ t (sub-VP).
 * cosine has α_1 = 0: 'data'.
 */
function fixedSchedulePreset(name: 'vp' | 'subvp' | 've' | 'cosine', description: string): Preset {
  const parametrization = name === 'cosine' ? 'data' : 'eps';
  return {
    family: 'diffusion',
    unet: true,
    objective: 'nelbo',
    description,
    config: (o) => diffusionConfig(o, { kind: 'fixed', schedule: { name } }, { kind: 'matched', schedule: { name } }, parametrization),
  };
}

function diffusionConfig(
  o: PresetOptions,
  forward: ModelConfig['forward'],
  volatility: ModelConfig['volatility'],
  parametrization: 'data' | 'eps' = 'data',
): ModelConfig {
  const predictor: ModelConfig['predictor'] =
    parametrization === 'eps' ? { hidden: [...o.hidden], parametrization: 'eps' } : { hidden: [...o.hidden] };
  const config: ModelConfig = { format: MODEL_FORMAT, dim: o.dim, forward, predictor, volatility, seed: o.seed };
  if (o.standardization) config.standardization = o.standardization;
  return o.arch === 'unet' ? withUNets(config, o) : config;
}

/**
 * The presets' U-Net for H×W×C images, scaled by `base` (default 16): levels while the size
 * halves evenly (at most 3; multipliers 1, 2, 2), 8 groups, ADM layout; attention at the lowest
 * resolution when it is ≤ 8 (for the networks that take it).
 */
function unetRecipe(o: PresetOptions) {
  if (!o.image) throw new RangeError('a U-Net needs image data (rows of H×W×C images)');
  const [height, width, channels] = o.image;
  const multipliers = [1];
  let res = height;
  while (multipliers.length < 3 && res % 2 === 0 && width % 2 ** multipliers.length === 0) {
    multipliers.push(2);
    res /= 2;
  }
  const net = {
    arch: 'unet' as const,
    image: { height, width, channels },
    base: o.base ?? 16,
    multipliers,
    groups: 8,
    layout: 'adm' as const,
  };
  return { net, attentionResolutions: res <= 8 ? [res] : [] };
}

/**
 * The `network` sections of an image model's U-Nets (docs/maths/image-networks.md; {@link unetRecipe},
 * a small ADM-style recipe scaled by `base`): the predictor's — attention at the lowest
 * resolution when it is ≤ 8, the embedding of 1000·t, dropout `o.dropout` (ADM's regulariser of
 * the denoiser) — and the learned process's (a diffusion model's forward process, a bridge's
 * two-sided process; its t-derivatives enter the loss, so keep it smooth): no attention,
 * frequencies 2π … 16π on raw t, no dropout (the loss evaluates it at x and at x̂, which would
 * draw different masks).
 */
function unetNetworks(o: PresetOptions) {
  const { net, attentionResolutions } = unetRecipe(o);
  const dropout = o.dropout ? { dropout: o.dropout } : {};
  return {
    predictor: { ...net, attentionResolutions, ...dropout },
    process: { ...net, embedding: { minFrequency: 2 * Math.PI, maxFrequency: 16 * Math.PI } },
  };
}

/** An image diffusion model: U-Nets ({@link unetNetworks}) for the predictor and a learned forward process. */
function withUNets(config: ModelConfig, o: PresetOptions): ModelConfig {
  const nets = unetNetworks(o);
  const predictor = { ...config.predictor, network: nets.predictor };
  const learned = config.forward.kind === 'nfdm' || config.forward.kind === 'ndm';
  const forward = learned ? { ...config.forward, network: nets.process } : config.forward;
  return { ...config, forward, predictor } as ModelConfig;
}

/**
 * A bridge: MLPs, or with `arch: 'unet'` U-Nets that take the two images of a pair as
 * channels (the process as a learned forward process, the predictor as a diffusion predictor,
 * see {@link unetNetworks}); the volatility g(t) stays an MLP of t. `fixed`: the fixed-process
 * baseline (σ = δ at the ends, the default peak σ(1/2) of @nfdm/models' FixedBridgeProcess), no process network.
 */
function bridgeConfig(o: PresetOptions, process: 'learned' | 'fixed'): AnyModelConfig {
  const net = { hidden: [...o.hidden] };
  const nets = o.arch === 'unet' ? unetNetworks(o) : undefined;
  return {
    format: BRIDGE_FORMAT,
    dim: o.dim,
    process:
      process === 'fixed'
        ? { kind: 'fixed-bridge' as const, delta: BRIDGE_DELTA }
        : { ...net, delta: BRIDGE_DELTA, ...(nets ? { network: nets.process } : {}) },
    predictor: { ...net, ...(nets ? { network: nets.predictor } : {}) },
    volatility: { kind: 'neural', hidden: [...o.hidden] },
    penalties: o.obstacle
      ? [{ kind: 'obstacle', center: [...o.obstacle.center], radius: o.obstacle.radius, weight: o.obstacle.weight }]
      : [],
    seed: o.seed,
    ...(o.pair ? { data: { ...o.pair } } : {}),
  };
}

/**
 * DiffFlow's U-Net (docs/maths/diffflow.md#networks), one section for the drift and the score:
 * the presets' recipe with attention at the lowest resolution ≤ 8, and a time embedding for
 * DiffFlow's short range t ∈ [0.001, 0.05]: frequencies 2 … 600, from 0.1 rad over [0, tMax]
 * to about one radian per mean grid step (N / (tMax − tMin) ≈ 612 for N = 30).
 */
export function diffflowUNet(o: PresetOptions) {
  const { net, attentionResolutions } = unetRecipe(o);
  return { ...net, attentionResolutions, embedding: { minFrequency: 2, maxFrequency: 600 } };
}

function diffflowConfig(o: PresetOptions): AnyModelConfig {
  return {
    format: DIFFFLOW_FORMAT,
    dim: o.dim,
    network: o.arch === 'unet' ? diffflowUNet(o) : { channels: Math.max(2, ...o.hidden), layers: Math.max(0, o.hidden.length - 1) },
    time: { N: 30, tMin: 0.001, tMax: 0.05, exponent: 0.9, g: 0.2, flexible: false, progressive: [] },
    seed: o.seed,
    ...(o.standardization ? { standardization: o.standardization } : {}),
  };
}

/** A flow-matching preset (family 'cfm') with this coupling of data and noise. */
function cfmPreset(coupling: CFMCoupling, description: string): Preset {
  return { family: 'cfm', unet: true, objective: 'nelbo', description, config: (o) => cfmConfig(o, coupling) };
}

/**
 * A flow-matching model: the velocity MLP of `--hidden`, or with `arch: 'unet'` the presets'
 * U-Net recipe with attention at the lowest resolution ≤ 8 and the embedding of 1000·t (as the
 * diffusion predictor's; dropout `o.dropout`); σ_min 0.
 */
function cfmConfig(o: PresetOptions, coupling: CFMCoupling): AnyModelConfig {
  const velocity = o.arch === 'unet' ? { hidden: [...o.hidden], network: unetNetworks(o).predictor } : { hidden: [...o.hidden] };
  return {
    format: CFM_FORMAT,
    dim: o.dim,
    flow: { coupling, sigmaMin: 0 },
    velocity,
    seed: o.seed,
    ...(o.standardization ? { standardization: o.standardization } : {}),
  } as AnyModelConfig;
}
