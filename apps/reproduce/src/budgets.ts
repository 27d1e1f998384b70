/**
 * The budgets of `nfdm reproduce`: how much training and evaluation each experiment gets.
 * `smoke` checks the pipeline in seconds (it runs in the test suite; its numbers mean
 * nothing), `quick` fits in about a quarter of an hour on two cores, `full` is the serious
 * run (thousands of steps, three seeds; sized for about 90 minutes on two cores), and `long`
 * is the largest: the density experiment near convergence (20,000 updates of the reference-size
 * networks), few-step and bridges as in `full`, and the images and the image bridge on
 * Fashion-MNIST 28×28 with U-Nets (hours).
 */
import { MODEL_NAMES, type ModelName, presetCapabilities } from '@nfdm/cli/lib';
import type { ToyName } from '@nfdm/datasets';

export const BUDGET_NAMES = ['smoke', 'quick', 'full', 'long'] as const;
export type BudgetName = (typeof BUDGET_NAMES)[number];

export const EXPERIMENT_NAMES = ['density', 'fewstep', 'bridges', 'images', 'image-bridge'] as const;
export type ExperimentName = (typeof EXPERIMENT_NAMES)[number];

/** Training settings of one run (the rest: the CLI's defaults, see run-config.ts). */
export interface TrainBudget {
  steps: number;
  hidden: number[];
  batch: number;
  lr: number;
  /** EMA decay of the exported weights. */
  ema: number;
  /** Gradient clipping by global norm. */
  clip: number;
  /** Checkpoint every this many updates (default 0: none), so that `--resume` continues a long run mid-way. */
  checkpointEvery?: number;
}

/**
 * Models that sample with their own discrete chain rather than the ODE/SDE solvers (DiffFlow):
 * in the density experiment they train on their own budget and sample with that chain.
 */
export function ownChain(model: ModelName): boolean {
  return !presetCapabilities(model).solvers;
}

/**
 * The density models next to each other: the five diffusion models, the velocity flow-matching
 * baselines (CFM, OT-CFM: exact NLL, no NELBO), then the models with their own chain
 * (DiffFlow; trained on its own budget).
 */
export const DENSITY_MODELS: readonly ModelName[] = [
  ...(['nfdm', 'ndm', 'vp', 'subvp', 'fm', 'cfm', 'ot-cfm'] as const),
  ...MODEL_NAMES.filter(ownChain),
];
export type DensityModel = ModelName;

/**
 * The few-step models: NFDM-OT, the fixed baselines, the velocity flow-matching baselines and,
 * last, rectified flow — one reflow round from the CFM run of the same data set and seed, so
 * it must come after 'cfm' (see REFLOW_TEACHER).
 */
export const FEWSTEP_MODELS = ['nfdm-ot', 'fm', 'vp', 'nfdm', 'cfm', 'ot-cfm', 'rectified-flow'] as const satisfies readonly ModelName[];
export type FewstepModel = (typeof FEWSTEP_MODELS)[number];

/** Few-step models trained on the ODE pairs of another few-step model's run (same data set and seed): the reflow teacher. */
export const REFLOW_TEACHER: Partial<Record<FewstepModel, FewstepModel>> = { 'rectified-flow': 'cfm' };

/** The image density models: bits/dim of the NELBO (CFM has none: n/a) and of the exact NLL. */
export const IMAGE_DENSITY_MODELS = ['nfdm', 'ndm', 'vp', 'cfm'] as const satisfies readonly ModelName[];
/** The image few-step models: the classifier's Fréchet distance at NFE 1, 2, 4, 8 (Euler ODE). */
export const IMAGE_FEWSTEP_MODELS = ['nfdm-ot', 'cfm', 'ot-cfm', 'rectified-flow', 'vp'] as const satisfies readonly ModelName[];
/**
 * Every image model, each trained once per seed (CFM and VP serve both tables), in training
 * order: CFM before rectified flow, its reflow teacher (REFLOW_TEACHER).
 */
export const IMAGE_MODELS = ['nfdm', 'ndm', 'vp', 'cfm', 'nfdm-ot', 'ot-cfm', 'rectified-flow'] as const satisfies readonly ModelName[];
export type ImageModel = (typeof IMAGE_MODELS)[number];

/** The image bridge: NFBM against the bridge with the same objective and predictor on a fixed Brownian-bridge process. */
export const IMAGE_BRIDGE_MODELS = ['nfbm', 'fixed-bridge'] as const satisfies readonly ModelName[];
export type ImageBridgeModel = (typeof IMAGE_BRIDGE_MODELS)[number];

/** The model of the bridges experiment: the one whose family transports source points to the target. */
export const BRIDGE_MODEL: ModelName = transportModel();

function transportModel(): ModelName {
  const model = MODEL_NAMES.find((m) => presetCapabilities(m).transport);
  if (!model) throw new Error('the model table (@nfdm/cli presets) has no model that transports');
  return model;
}

export interface DensityBudget {
  datasets: ToyName[];
  /** The models of this budget (default: all of DENSITY_MODELS, in that order). */
  models?: ModelName[];
  seeds: number;
  train: TrainBudget;
  /** DiffFlow (the models with their own chain) costs ~30 network passes per update: its own (smaller) budget. */
  diffflow: TrainBudget;
  /** Data sets DiffFlow (the models with their own chain) is trained on (default: all of `datasets`). */
  diffflowDatasets?: ToyName[];
  /** Test points for the NLL, the NELBO and the sliced-W distance. */
  testPoints: number;
  nelboDraws: number;
  /** Tolerance of the adaptive (dopri5) probability-flow ODE of the exact NLL. */
  nllTol: number;
  /** Reverse-SDE steps of the samples compared with the test points (DiffFlow: its own chain). */
  sampleSteps: number;
}

export interface FewstepBudget {
  datasets: ToyName[];
  seeds: number;
  train: TrainBudget;
  /** λ of the NFDM-OT objective. */
  curvatureWeight: number;
  /** Rectified flow: ODE pairs drawn from the CFM teacher for its reflow round. */
  reflowPairs: number;
  nfe: number[];
  /** Samples (and held-out points) per metric evaluation. */
  points: number;
  /** Independent sample draws per (model, seed, NFE); their spread gives the s.e. with one seed. */
  repeats: number;
  curvaturePaths: number;
  curvatureSteps: number;
}

export interface BridgeBudget {
  source: ToyName;
  target: ToyName;
  seeds: number;
  train: TrainBudget;
  /** Weight of the disc penalty weight · relu(r − ‖z − c‖)². */
  obstacleWeight: number;
  /** Transported points per evaluation. */
  points: number;
  repeats: number;
  /** Reverse-SDE steps of the transport. */
  sampleSteps: number;
}

/** Fashion-MNIST at 28×28 (D = 784) or 14×14 (D = 196). */
export type ImageData = 'fashion-mnist' | 'fashion-mnist-14';

/** The image network: a U-Net with `base` channels at its first level (else the MLP of the training budget's `hidden`). */
export interface ImageNet {
  arch: 'unet';
  base: number;
}

export interface ImageBudget {
  data: ImageData;
  /** Default: the MLP of `train.hidden`. */
  net?: ImageNet;
  seeds: number;
  train: TrainBudget;
  /** Test images for bits/dim (the first n of the test split). */
  testImages: number;
  nelboDraws: number;
  /** Exact NLL: dopri5 with this tolerance (Hutchinson divergence, D = 196 > 16), or fixed rk4 steps. */
  nll: { solver: 'dopri5'; tol: number } | { solver: 'rk4'; steps: number };
  gridImages: number;
  /** The fixed sampler of the density models' Fréchet distance and of every grid: probability-flow ODE, Euler, this many steps. */
  sampleSteps: number;
  /** λ of the NFDM-OT objective. */
  curvatureWeight: number;
  /** Rectified flow: ODE pairs drawn from the CFM run for its reflow round. */
  reflowPairs: number;
  /** NFE of the few-step table (Euler ODE steps). */
  nfe: number[];
  /** Samples per Fréchet distance (compared with the test images: the whole test split, at most 10,000). */
  frechetSamples: number;
  /** Independent sample draws per few-step model and NFE; their spread gives the s.e. with one seed. */
  repeats: number;
}

/** The classifier the harness trains (`nfdm classifier train`) to judge images: Adam updates, batch, learning rate. */
export interface ClassifierBudget {
  steps: number;
  batch: number;
  lr: number;
}

export interface ImageBridgeBudget {
  data: ImageData;
  /** Fashion-MNIST class of the source (t = 1) and of the target (t = 0). */
  source: number;
  target: number;
  net?: ImageNet;
  seeds: number;
  train: TrainBudget;
  /** Held-out source images transported (the first of class `source` in the test split). */
  points: number;
  /** Transports of those images (independent noise); their spread gives the s.e. with one seed. */
  repeats: number;
  /** Reverse-SDE steps of the transport. */
  sampleSteps: number;
  /** The trajectory strip: source images (rows) and frames from t = 1 to 0 (columns). */
  stripImages: number;
  stripFrames: number;
}

export interface Budget {
  name: BudgetName;
  description: string;
  /** The experiments this budget defines a run for (default: all); `--only` picks among these. */
  experiments?: ExperimentName[];
  density: DensityBudget;
  fewstep: FewstepBudget;
  bridges: BridgeBudget;
  images: ImageBudget;
  imageBridge: ImageBridgeBudget;
  classifier: ClassifierBudget;
  /** What this budget leaves out compared with the paper's setup (stated in the report). */
  cuts: string[];
}

/** The classes of the image bridge: sneaker (7) → ankle boot (9), in the spirit of the papers' AFHQ dog → cat. */
const SNEAKER_TO_ANKLE_BOOT = { source: 7, target: 9 } as const;

const SMOKE_TRAIN: TrainBudget = { steps: 20, hidden: [16, 16], batch: 64, lr: 5e-3, ema: 0.9, clip: 1, checkpointEvery: 10 };
/** The smoke budget's image networks: the tiniest U-Net, a few updates (checkpointed, so --resume is exercised). */
const SMOKE_UNET: ImageNet = { arch: 'unet', base: 8 };
const SMOKE_UNET_TRAIN: TrainBudget = { steps: 3, hidden: [8], batch: 8, lr: 1e-3, ema: 0.9, clip: 1, checkpointEvery: 2 };

/** The serious run of every experiment. */
const FULL: Budget = {
  name: 'full',
  description:
    'the serious run: 3000 updates of 64×64 networks (DiffFlow 200, bridges 5000), 3 seeds, all five density sets; images and the image bridge on Fashion-MNIST 14×14 with 256×256 MLPs (2000 updates each, a classifier of 3000); estimated 60 minutes on two idle cores (45 without the image experiments, which are estimated, not measured, at 10–20 minutes), up to twice that under other load.',
  density: {
    datasets: ['checkerboard', '8gaussians', 'moons', 'rings', '2spirals'],
    seeds: 3,
    train: { steps: 3000, hidden: [64, 64], batch: 256, lr: 5e-3, ema: 0.995, clip: 1 },
    diffflow: { steps: 200, hidden: [32, 32], batch: 128, lr: 5e-3, ema: 0.95, clip: 1 },
    testPoints: 2000,
    nelboDraws: 10,
    nllTol: 1e-5,
    sampleSteps: 200,
  },
  fewstep: {
    datasets: ['8gaussians', 'moons'],
    seeds: 3,
    train: { steps: 3000, hidden: [64, 64], batch: 256, lr: 5e-3, ema: 0.995, clip: 1 },
    curvatureWeight: 1,
    reflowPairs: 10_000,
    nfe: [1, 2, 4, 8, 16, 100],
    points: 2000,
    repeats: 2,
    curvaturePaths: 1000,
    curvatureSteps: 100,
  },
  bridges: {
    source: '8gaussians',
    target: 'moons',
    seeds: 3,
    train: { steps: 5000, hidden: [64, 64], batch: 256, lr: 3e-3, ema: 0.995, clip: 1 },
    obstacleWeight: 1000,
    points: 2000,
    repeats: 3,
    sampleSteps: 200,
  },
  images: {
    data: 'fashion-mnist-14',
    seeds: 1,
    train: { steps: 2000, hidden: [256, 256], batch: 128, lr: 1e-3, ema: 0.995, clip: 1 },
    testImages: 500,
    nelboDraws: 4,
    nll: { solver: 'dopri5', tol: 1e-4 },
    gridImages: 64,
    sampleSteps: 200,
    curvatureWeight: 1,
    reflowPairs: 5000,
    nfe: [1, 2, 4, 8],
    frechetSamples: 1000,
    repeats: 2,
  },
  imageBridge: {
    data: 'fashion-mnist-14',
    ...SNEAKER_TO_ANKLE_BOOT,
    seeds: 1,
    train: { steps: 2000, hidden: [256, 256], batch: 128, lr: 1e-3, ema: 0.995, clip: 1 },
    points: 1000,
    repeats: 2,
    sampleSteps: 100,
    stripImages: 4,
    stripFrames: 6,
  },
  classifier: { steps: 3000, batch: 128, lr: 2e-3 },
  cuts: [
    'density: 3000 updates of 64×64 networks per model (the papers train for 10⁴–10⁵ updates of larger networks); DiffFlow 200 updates of 32×32 networks (one DiffFlow update costs ~30 network passes, 0.15–0.35 s here)',
    'few-step: 8gaussians and moons, 3000 updates',
    "images: Fashion-MNIST at 14×14 with 256×256 MLPs (no U-Net; the long budget has the 28×28 U-Nets), 2000 updates, one seed, 500 test images; bits/dim are not comparable with published image numbers; the Fréchet distance uses the harness's own classifier (3000 updates), not Inception",
    'image bridge: sneaker (7) → ankle boot (9) at 14×14 with 256×256 MLPs, 2000 updates, one seed',
    'time estimate from the per-update costs measured in the quick run (2–5 ms per update for 64×64 diffusion models, ~150 ms for DiffFlow on an idle machine; about twice that under other load), not from a full run',
  ],
};

/**
 * Tolerance (rtol = atol) of the long budget's exact image NLL: dopri5, Hutchinson divergence,
 * D = 784. Fixed RK4 steps do not converge for VP's stiff probability-flow ODE (on 20 test images:
 * 2.90 / 4.12 / 4.24 bits/dim at 10 / 40 / 160 steps); dopri5 at 1e-3 gives 4.245 there (1e-4:
 * 4.244) in 222 evaluations, NFDM 5.216 (RK4 at 40 steps: 5.22).
 */
const LONG_NLL_TOL = 1e-3;

const LONG_DESCRIPTION =
  'the largest budget: density near convergence (20,000 updates of 4×64 networks at batch 1024 for NFDM, NDM, VP, FM-OT and CFM on 8gaussians and checkerboard, 3 seeds), ' +
  'few-step and bridges as in full, images and the image bridge on Fashion-MNIST 28×28 with U-Nets of base 16 (7 image models and 2 bridges, 1500 updates of batch 32 each, ' +
  'a classifier of 3000 updates). Measured, summed over the runs of each part: density 94 min of training (≈ 1 h of wall time in two processes); few-step and bridges 22 min; ' +
  'images 225 min of training and 122 min of evaluation; the image bridge 65 min of training and 19 min of transports — about 9.5 hours of process time, the image parts measured ' +
  'with 2–4 processes sharing the two cores (so roughly twice their time on an idle core): about 5 hours of wall time on two idle cores with two processes (--models); ' +
  'it resumes run by run (--resume) across sessions.';

const LONG_CUTS = [
  'long: the density experiment on 8gaussians and checkerboard only, for NFDM, NDM, VP, FM-OT and CFM (no sub-VP, OT-CFM or DiffFlow); few-step and bridges as in full',
  'density: 20,000 updates of 4×64 networks at batch 1024 (the papers train for 10⁴–10⁵ updates); near, not at, convergence',
  'images: Fashion-MNIST 28×28 with U-Nets of base 16 (the papers: base 64–128, 10⁵+ updates), 1500 updates of batch 32 each, one seed; bits/dim on 500 test images with the exact NLL by dopri5 at rtol = atol = 1e-3 (converged to 0.001 bits/dim on 20 test images against 1e-4); 1000 samples per Fréchet distance; bits/dim are not comparable with published numbers',
  "the Fréchet distance uses the features of the harness's own small classifier (3000 updates), NOT Inception: it ranks models measured with the same classifier only",
  'image bridge: sneaker (7) → ankle boot (9) at 28×28, U-Nets of base 16, 1500 updates each, one seed, 1000 transported test images',
  'times, measured (the wall-time table sums each part over its runs): density per update at batch 1024 with native MLP kernels, two processes on the 2 cores: NFDM ≈ 14 ms, NDM ≈ 12 ms, VP and FM-OT ≈ 5 ms, CFM ≈ 2–3 ms; the 28×28 U-Nets of base 16 at batch 32, median per update with 2–4 processes on the 2 cores: NFDM-OT 3.3 s (second time derivatives through the U-Net), NFBM 2.1 s, NDM 2.0 s, NFDM 1.0 s, rectified flow 0.6 s, fixed bridge 0.5 s, OT-CFM 0.44 s, CFM 0.38 s, VP 0.32 s (NFDM on an idle core: 0.6 s); evaluation: NFDM 37 min and NDM 36 min (exact NLL by dopri5, NELBO, 1000 samples for the Fréchet distance), VP and CFM 18 min each, the few-step models 2–6 min, the bridge transports 5 min (fixed) and 14 min (NFBM)',
];

/** The image network of the long budget: the presets' U-Net with 16 channels at its first level. */
const LONG_UNET: ImageNet = { arch: 'unet', base: 16 };
/** Training of the long budget's 28×28 U-Nets: checkpoints every 250 updates, so `--resume` continues mid-run. */
const LONG_UNET_TRAIN: TrainBudget = { steps: 1500, hidden: [64, 64], batch: 32, lr: 2e-4, ema: 0.999, clip: 1, checkpointEvery: 250 };

/**
 * The largest budget. Density near convergence: 20,000 updates of the reference-size networks
 * (the CLI's default 4×64 MLPs, batch 1024, Adam 1e-3) on 8gaussians and checkerboard for NFDM,
 * NDM, VP, FM-OT and CFM, 3 seeds (its settings must not change: runs are resumed by settings).
 * Few-step and bridges as in `full`; images and the image bridge on Fashion-MNIST 28×28 with
 * U-Nets (base 16). Its description states the wall times measured in the run of REPRODUCTION.md.
 */
const LONG: Budget = {
  name: 'long',
  description: LONG_DESCRIPTION,
  experiments: [...EXPERIMENT_NAMES],
  density: {
    datasets: ['8gaussians', 'checkerboard'],
    models: ['nfdm', 'ndm', 'vp', 'fm', 'cfm'],
    seeds: 3,
    train: { steps: 20_000, hidden: [64, 64, 64, 64], batch: 1024, lr: 1e-3, ema: 0.999, clip: 1, checkpointEvery: 2000 },
    diffflow: FULL.density.diffflow,
    testPoints: 2000,
    nelboDraws: 10,
    nllTol: 1e-5,
    sampleSteps: 200,
  },
  fewstep: FULL.fewstep,
  bridges: FULL.bridges,
  images: {
    data: 'fashion-mnist',
    net: LONG_UNET,
    seeds: 1,
    train: LONG_UNET_TRAIN,
    testImages: 500,
    nelboDraws: 2,
    nll: { solver: 'dopri5', tol: LONG_NLL_TOL },
    gridImages: 64,
    sampleSteps: 50,
    curvatureWeight: 1,
    reflowPairs: 1000,
    nfe: [1, 2, 4, 8],
    frechetSamples: 1000,
    repeats: 2,
  },
  imageBridge: {
    data: 'fashion-mnist',
    ...SNEAKER_TO_ANKLE_BOOT,
    net: LONG_UNET,
    seeds: 1,
    train: LONG_UNET_TRAIN,
    points: 1000,
    repeats: 2,
    sampleSteps: 50,
    stripImages: 4,
    stripFrames: 6,
  },
  classifier: { steps: 3000, batch: 128, lr: 2e-3 },
  cuts: LONG_CUTS,
};

/**
 * The models an experiment trains under `budget`, in training order (the bridges experiment's
 * variants are not models: none). What `--models` selects from.
 */
export function experimentModels(budget: Budget, name: ExperimentName): readonly string[] {
  if (name === 'density') return budget.density.models ?? DENSITY_MODELS;
  if (name === 'fewstep') return FEWSTEP_MODELS;
  if (name === 'images') return IMAGE_MODELS;
  if (name === 'image-bridge') return IMAGE_BRIDGE_MODELS;
  return [];
}

/**
 * The models of `models` an invocation trains: all without a selection, else those selected —
 * with the reflow teacher of a selected student (rectified flow needs its CFM run), in order.
 */
export function selectModels<T extends string>(models: readonly T[], selection?: readonly string[]): T[] {
  if (!selection) return [...models];
  const wanted = new Set(selection);
  for (const [student, teacher] of Object.entries(REFLOW_TEACHER)) if (wanted.has(student) && teacher) wanted.add(teacher);
  return models.filter((m) => wanted.has(m));
}

export const BUDGETS: Record<BudgetName, Budget> = {
  smoke: {
    name: 'smoke',
    description: 'pipeline check in seconds: tiny networks, 5–20 updates, a few hundred points. The numbers carry no scientific meaning.',
    density: {
      datasets: ['checkerboard', '2spirals'],
      seeds: 1,
      train: SMOKE_TRAIN,
      diffflow: { ...SMOKE_TRAIN, steps: 3, batch: 32 },
      testPoints: 100,
      nelboDraws: 2,
      nllTol: 1e-3,
      sampleSteps: 10,
    },
    fewstep: {
      datasets: ['8gaussians'],
      seeds: 1,
      train: SMOKE_TRAIN,
      curvatureWeight: 1,
      reflowPairs: 200,
      nfe: [1, 2, 4, 8, 16, 100],
      points: 200,
      repeats: 2,
      curvaturePaths: 50,
      curvatureSteps: 10,
    },
    bridges: {
      source: '8gaussians',
      target: 'moons',
      seeds: 1,
      train: SMOKE_TRAIN,
      obstacleWeight: 1000,
      points: 100,
      repeats: 2,
      sampleSteps: 10,
    },
    images: {
      data: 'fashion-mnist-14',
      seeds: 1,
      // The MLP: seven U-Nets (rectified flow's reflow pairs above all) would cost minutes here; the image bridge runs the U-Net path.
      train: { ...SMOKE_TRAIN, steps: 3, hidden: [16], batch: 16, checkpointEvery: 2 },
      testImages: 8,
      nelboDraws: 1,
      nll: { solver: 'rk4', steps: 2 },
      gridImages: 4,
      sampleSteps: 4,
      curvatureWeight: 1,
      reflowPairs: 16,
      nfe: [1, 2, 4, 8],
      frechetSamples: 32,
      repeats: 2,
    },
    imageBridge: {
      data: 'fashion-mnist-14',
      ...SNEAKER_TO_ANKLE_BOOT,
      net: SMOKE_UNET,
      seeds: 1,
      train: SMOKE_UNET_TRAIN,
      points: 16,
      repeats: 2,
      sampleSteps: 4,
      stripImages: 3,
      stripFrames: 5,
    },
    classifier: { steps: 3, batch: 16, lr: 2e-3 },
    cuts: [
      'smoke: every experiment runs with 3–20 updates, 16-unit networks and 8–200 evaluation points; it checks that the pipeline produces every table, figure and verdict, not the science',
      'density: checkerboard and 2spirals only, one seed (standard errors over test points)',
      'few-step: 8gaussians only, one seed',
      'images: 16-unit MLPs on Fashion-MNIST 14×14, 3 updates, 32 samples per Fréchet distance, a classifier of 3 updates; image bridge: U-Nets of base 8 (the smallest the group norm allows), 3 updates',
    ],
  },
  quick: {
    name: 'quick',
    description:
      '7–14 minutes on two cores (depending on other load): 1500–3000 updates of 64×64 networks, 3 seeds on 3 density sets, a tiny image run.',
    density: {
      datasets: ['checkerboard', '8gaussians', '2spirals'],
      seeds: 3,
      train: { steps: 1500, hidden: [64, 64], batch: 256, lr: 5e-3, ema: 0.99, clip: 1 },
      diffflow: { steps: 80, hidden: [32, 32], batch: 128, lr: 5e-3, ema: 0.9, clip: 1 },
      diffflowDatasets: ['checkerboard', '2spirals'],
      testPoints: 1000,
      nelboDraws: 4,
      nllTol: 1e-4,
      sampleSteps: 100,
    },
    fewstep: {
      datasets: ['8gaussians'],
      seeds: 1,
      train: { steps: 3000, hidden: [64, 64], batch: 256, lr: 5e-3, ema: 0.99, clip: 1 },
      curvatureWeight: 1,
      reflowPairs: 10_000,
      nfe: [1, 2, 4, 8, 16, 100],
      points: 1000,
      repeats: 3,
      curvaturePaths: 500,
      curvatureSteps: 100,
    },
    bridges: {
      source: '8gaussians',
      target: 'moons',
      seeds: 1,
      train: { steps: 2000, hidden: [64, 64], batch: 256, lr: 3e-3, ema: 0.99, clip: 1 },
      obstacleWeight: 1000,
      points: 1000,
      repeats: 3,
      sampleSteps: 100,
    },
    images: {
      data: 'fashion-mnist-14',
      seeds: 1,
      train: { steps: 300, hidden: [128, 128], batch: 64, lr: 2e-3, ema: 0.99, clip: 1 },
      testImages: 100,
      nelboDraws: 2,
      nll: { solver: 'dopri5', tol: 1e-3 },
      gridImages: 36,
      sampleSteps: 100,
      curvatureWeight: 1,
      reflowPairs: 2000,
      nfe: [1, 2, 4, 8],
      frechetSamples: 500,
      repeats: 2,
    },
    imageBridge: {
      data: 'fashion-mnist-14',
      ...SNEAKER_TO_ANKLE_BOOT,
      seeds: 1,
      train: { steps: 300, hidden: [128, 128], batch: 64, lr: 2e-3, ema: 0.99, clip: 1 },
      points: 500,
      repeats: 2,
      sampleSteps: 50,
      stripImages: 4,
      stripFrames: 6,
    },
    classifier: { steps: 1000, batch: 128, lr: 2e-3 },
    cuts: [
      'density: 3 of the 5 data sets (checkerboard, 8gaussians, 2spirals; moons and rings only in full), 1500 updates of 64×64 networks instead of tens of thousands: every model is far from converged',
      'DiffFlow: checkerboard and 2spirals only (the sets of claim d), 80 updates of 32×32 networks (one DiffFlow update costs ~30 network passes, ~0.35 s here), so its numbers are far from converged',
      'few-step: 8gaussians only, one seed (standard errors over 3 sample draws), 3000 updates',
      'bridges: one seed, 2000 updates',
      'images: 300 updates of 128×128 MLPs on Fashion-MNIST 14×14, 100 test images, adaptive ODE at tolerance 1e-3, 500 samples per Fréchet distance, a classifier of 1000 updates',
      'image bridge: 300 updates of 128×128 MLPs at 14×14, 500 transported images',
    ],
  },
  full: FULL,
  long: LONG,
};
