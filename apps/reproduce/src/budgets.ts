/**
 * The budgets of `nfdm reproduce`: how much training and evaluation each experiment gets.
 * `smoke` checks the pipeline in seconds (it runs in the test suite; its numbers mean
 * nothing), `quick` fits in about a quarter of an hour on two cores, `full` is the serious
 * run (thousands of steps, three seeds; sized for about 90 minutes on two cores), and `long`
 * runs the density experiment alone near convergence (20,000 updates of the reference-size
 * networks; hours).
 */
import { MODEL_NAMES, type ModelName, presetCapabilities } from '@nfdm/cli/lib';
import type { ToyName } from '@nfdm/datasets';

export const BUDGET_NAMES = ['smoke', 'quick', 'full', 'long'] as const;
export type BudgetName = (typeof BUDGET_NAMES)[number];

export const EXPERIMENT_NAMES = ['density', 'fewstep', 'bridges', 'images'] as const;
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

export const IMAGE_MODELS = ['nfdm', 'vp'] as const satisfies readonly ModelName[];
export type ImageModel = (typeof IMAGE_MODELS)[number];

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

export interface ImageBudget {
  seeds: number;
  train: TrainBudget;
  /** Test images for bits/dim (the first n of the test split). */
  testImages: number;
  nelboDraws: number;
  /** Exact NLL: dopri5 with this tolerance (Hutchinson divergence, D = 196 > 16), or fixed rk4 steps. */
  nll: { solver: 'dopri5'; tol: number } | { solver: 'rk4'; steps: number };
  gridImages: number;
  sampleSteps: number;
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
  /** What this budget leaves out compared with the paper's setup (stated in the report). */
  cuts: string[];
}

const SMOKE_TRAIN: TrainBudget = { steps: 20, hidden: [16, 16], batch: 64, lr: 5e-3, ema: 0.9, clip: 1, checkpointEvery: 10 };

/** The serious run of every experiment. */
const FULL: Budget = {
  name: 'full',
  description:
    'the serious run: 3000 updates of 64×64 networks (DiffFlow 200, bridges 5000, images 2000 of 256×256), 3 seeds, all five density sets; estimated 45 minutes on two idle cores, up to 90 under other load.',
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
    seeds: 1,
    train: { steps: 2000, hidden: [256, 256], batch: 128, lr: 1e-3, ema: 0.995, clip: 1 },
    testImages: 500,
    nelboDraws: 4,
    nll: { solver: 'dopri5', tol: 1e-4 },
    gridImages: 64,
    sampleSteps: 200,
  },
  cuts: [
    'density: 3000 updates of 64×64 networks per model (the papers train for 10⁴–10⁵ updates of larger networks); DiffFlow 200 updates of 32×32 networks (one DiffFlow update costs ~30 network passes, 0.15–0.35 s here)',
    'few-step: 8gaussians and moons, 3000 updates',
    'images: Fashion-MNIST at 14×14, 2000 updates of an MLP (no U-Net), one seed, 500 test images; bits/dim are not comparable with published image numbers',
    'time estimate from the per-update costs measured in the quick run (2–5 ms per update for 64×64 diffusion models, ~150 ms for DiffFlow on an idle machine; about twice that under other load), not from a full run',
  ],
};

/**
 * The density experiment near convergence: 20,000 updates of the reference-size networks (the
 * CLI's default 4×64 MLPs, batch 1024, Adam 1e-3) on 8gaussians and checkerboard for NFDM, NDM,
 * VP, FM-OT and CFM, 3 seeds. Only the density experiment runs; the other sections are `full`'s
 * (never run under this budget). The wall time is an estimate from the measured per-update
 * costs (BENCHMARKS.md, native kernels, batch 1024), not from a run.
 */
const LONG: Budget = {
  name: 'long',
  description:
    'the density experiment alone near convergence: 20,000 updates of 4×64 networks (batch 1024) for NFDM, NDM, VP, FM-OT and CFM on 8gaussians and checkerboard, 3 seeds; estimated 3 hours on two idle cores (≈ 1.8 h of training at 7–21 ms per update plus the exact NLL at tolerance 1e-5), up to twice that under other load.',
  experiments: ['density'],
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
  images: FULL.images,
  cuts: [
    'long: the density experiment only (few-step, bridges and images: run the full budget); 8gaussians and checkerboard, NFDM, NDM, VP, FM-OT and CFM (no sub-VP, OT-CFM or DiffFlow)',
    'density: 20,000 updates of 4×64 networks at batch 1024 (the papers train for 10⁴–10⁵ updates); near, not at, convergence',
    'time estimate from per-update costs measured in BENCHMARKS.md (native kernels: NFDM 21 ms, NDM 14 ms, fixed processes ~7 ms at batch 1024), not from a long run',
  ],
};

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
      seeds: 1,
      train: { ...SMOKE_TRAIN, steps: 5, hidden: [16], batch: 16 },
      testImages: 8,
      nelboDraws: 1,
      nll: { solver: 'rk4', steps: 4 },
      gridImages: 4,
      sampleSteps: 5,
    },
    cuts: [
      'smoke: every experiment runs with 3–20 updates, 16-unit networks and 8–200 evaluation points; it checks that the pipeline produces every table, figure and verdict, not the science',
      'density: checkerboard and 2spirals only, one seed (standard errors over test points)',
      'few-step: 8gaussians only, one seed',
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
      seeds: 1,
      train: { steps: 300, hidden: [128, 128], batch: 64, lr: 2e-3, ema: 0.99, clip: 1 },
      testImages: 100,
      nelboDraws: 2,
      nll: { solver: 'dopri5', tol: 1e-3 },
      gridImages: 36,
      sampleSteps: 100,
    },
    cuts: [
      'density: 3 of the 5 data sets (checkerboard, 8gaussians, 2spirals; moons and rings only in full), 1500 updates of 64×64 networks instead of tens of thousands: every model is far from converged',
      'DiffFlow: checkerboard and 2spirals only (the sets of claim d), 80 updates of 32×32 networks (one DiffFlow update costs ~30 network passes, ~0.35 s here), so its numbers are far from converged',
      'few-step: 8gaussians only, one seed (standard errors over 3 sample draws), 3000 updates',
      'bridges: one seed, 2000 updates',
      'images: 300 updates on Fashion-MNIST 14×14, 100 test images, adaptive ODE at tolerance 1e-3',
    ],
  },
  full: FULL,
  long: LONG,
};
