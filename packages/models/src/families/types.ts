/**
 * The family contract: one {@link FamilyDescriptor} per model family (diffusion models, NFBM
 * bridges, DiffFlow, and any a downstream package registers) says how to read, build and save
 * its models, what one training update computes, and what the family can do
 * ({@link FamilyCapabilities}). Training, export, serving and the CLI ask the descriptor instead
 * of switching on names or classes (docs/architecture.md §Families).
 */
import type { Rng, SolveStats } from '@nfdm/core';
import type * as tf from '@tensorflow/tfjs';
import type { Standardization } from '../config.js';

/** A family's id: the one vocabulary for families in code ('diffusion' | 'bridge' | 'diffflow' built in). */
export type FamilyId = 'diffusion' | 'bridge' | 'diffflow' | (string & {});

/** @deprecated the family id; use {@link FamilyId}. */
export type ModelFamily = FamilyId;

/** What a family's models can do. */
export interface FamilyCapabilities {
  /** Draws x ~ p(x) from the prior (no input points). */
  sample: boolean;
  /** Maps given source points to the target distribution (bridges). */
  transport: boolean;
  /** log p(x) of given points (diffusion: exact probability-flow ODE; DiffFlow: the ODE of its chain). */
  logProb: boolean;
  /** The NELBO (−log p(x) ≤ NELBO) as a training and evaluation metric. */
  nelbo: boolean;
  /** A held-out bound other than the NELBO, reported in training (bridge bound, DiffFlow NLL bound). */
  bound: boolean;
  /** The trajectory curvature metric of the probability-flow ODE. */
  curvature: boolean;
  /** Trained for few-step ODE sampling (the NFDM-OT objective). */
  fewStep: boolean;
  /** Stochastic (reverse-SDE) sampling. */
  sde: boolean;
  /** The core ODE/SDE solver table applies (false: the family runs its own discrete chain). */
  solvers: boolean;
  /** Adaptive (error-controlled) ODE stepping. */
  adaptive: boolean;
  /** Trajectories of the forward process from data towards the prior. */
  forwardTrajectories: boolean;
}

/**
 * Training objectives. `nelbo` trains every family by its own bound (or, for a family without
 * one such as flow matching, its own loss); `ot` (NFDM-OT,
 * docs/maths/objectives.md) trains a diffusion model for straight probability-flow paths.
 */
export type Objective = { kind: 'nelbo' } | { kind: 'ot'; curvatureWeight: number };

/**
 * What a held-out metric is: `nelbo` the NELBO (−log p(x) ≤ NELBO, nats per sample); `bound`
 * another bound on a negative log-likelihood in nats (bridge bound, DiffFlow NLL bound); `objective`
 * the held-out training objective where no bound applies (NFDM-OT); `diagnostic` anything else
 * (e.g. the bridge's path penalty). Nats-valued roles (`nelbo`, `bound`) shift by the log-Jacobian
 * of a data standardisation when reported in data units.
 */
export type HeldOutRole = 'nelbo' | 'bound' | 'objective' | 'diagnostic';

/** A metric a family's training task reports on held-out data. */
export interface HeldOutMetric {
  /** Key in the task's metrics record, e.g. 'nelbo'. */
  key: string;
  /** Key of its standard error, if reported. */
  stderrKey?: string;
  /** For people, e.g. 'NELBO', 'bound on −log p(target | source)'. */
  label: string;
  /** The metric is a bound on a negative log-likelihood in nats (role `nelbo` or `bound`). */
  bound: boolean;
  /** What the metric is (default: `bound` when {@link HeldOutMetric.bound}, else `diagnostic`). */
  role?: HeldOutRole;
}

/** One family's update and evaluation (what the Trainer runs). */
export interface TrainingTask {
  readonly family: FamilyId;
  /** Columns of a data row: D, or 2D for bridges (target then source). */
  readonly dataDim: number;
  /** Human description of a data row, for messages: e.g. 'model dim 2'. */
  readonly dataRow: string;
  /** The held-out metrics {@link TrainingTask.heldOut} reports, in order. */
  readonly heldOutMetrics: readonly HeldOutMetric[];
  /**
   * Width w of the condition y [B, w] each data row carries, for conditional models (labels: 1,
   * vectors: their dim); absent or 0 when the task trains on rows alone.
   */
  readonly conditionDim?: number;
  /**
   * Loss and gradients (by variable name) of one update on the batch `x` [B, dataDim] (with the
   * rows' conditions `condition` [B, w] for a conditional task); called inside the trainer's
   * tf.tidy. `step` is the number of updates done before this one.
   */
  lossAndGrads(
    x: tf.Tensor2D,
    noiseRng: Rng,
    variables: tf.Variable[],
    step: number,
    condition?: tf.Tensor2D,
  ): { value: tf.Scalar; grads: tf.NamedTensorMap };
  /** Held-out metrics of the rows `x` [N, dataDim] (and their conditions [N, w] for a conditional task), deterministic given `seed`. */
  heldOut(x: tf.Tensor2D, draws: number, seed: number, condition?: tf.Tensor2D): Record<string, number>;
}

/** How a family draws: the sampler a user chose (model units, one batch). */
export interface FamilyDrawOptions {
  /** 'sde' (reverse SDE) or 'ode' (probability flow). */
  mode: 'sde' | 'ode';
  /** A core solver name; families without `capabilities.solvers` run their own chain and ignore it. */
  solver: string;
  /** Fixed steps (undefined: the family's default, or adaptive with `adaptive`). */
  steps?: number;
  /** Adaptive ODE stepping (families with `capabilities.adaptive`). */
  adaptive?: { rtol: number; atol: number };
  seed: number;
  /** Return the states at every step as `trajectory` [T, n, D] with their `times`. */
  trajectory?: boolean;
  /** `'freeze-rows'`: rows that turn NaN/±Inf are frozen and listed in `nonFiniteRows` (where supported). */
  nonFinite?: 'error' | 'freeze-rows';
  /** Called after every step with the fraction of the integration done, in [0, 1]. */
  onProgress?: (fraction: number) => void;
  /** Conditional models: the samples' conditions y [n, w] (labels: [n, 1], the null label K for unconditional rows). */
  condition?: tf.Tensor2D;
  /** Conditional models: the classifier-free guidance weight w (default 0). */
  guidance?: number;
}

/** What a draw returns (model units; the caller disposes the tensors). */
export interface FamilyDrawResult {
  /** [n, D]. */
  samples: tf.Tensor2D;
  /** [T, n, D] with `trajectory`. */
  trajectory?: tf.Tensor3D;
  times?: number[];
  stats: SolveStats;
  nonFiniteRows?: number[];
}

/** Options of {@link FamilyOperations.logProb}: the probability-flow ODE solve. */
export interface FamilyLogProbOptions {
  solver: string;
  steps?: number;
  rtol: number;
  atol: number;
  seed: number;
  /** Called after every accepted step with the fraction of the integration done, in [0, 1]. */
  onProgress?: (fraction: number) => void;
  /** Conditional models: the rows' conditions y [n, w], giving log p(x | y). */
  condition?: tf.Tensor;
}

/**
 * What a family's models compute at evaluation and sampling time, in model units (standardised
 * data), on tensors. Each operation exists exactly when the matching capability is true; apps
 * (CLI, reproduce) call them instead of switching on model classes.
 */
export interface FamilyOperations<M> {
  /** `capabilities.sample`: draw `n` samples from the prior through the generative dynamics. */
  sample?(model: M, n: number, options: FamilyDrawOptions): FamilyDrawResult;
  /** `capabilities.transport`: carry source points [n, D] to the target distribution. */
  transport?(model: M, sources: tf.Tensor2D, options: FamilyDrawOptions): FamilyDrawResult;
  /** `capabilities.logProb`: log p(x) per row of x [n, D], nats. */
  logProb?(model: M, x: tf.Tensor2D, options: FamilyLogProbOptions): { logp: Float32Array; stats: SolveStats };
  /**
   * `capabilities.nelbo` or a family bound on −log p(x) of rows x [n, D] (nats per sample): the
   * NELBO for diffusion models, the chain's NLL bound for DiffFlow.
   */
  nllBound?(
    model: M,
    x: tf.Tensor2D,
    options: { draws: number; seed: number; condition?: tf.Tensor },
  ): { mean: number; stderr: number; n: number };
  /** `capabilities.curvature`: mean ‖d²z/dt²‖ along `n` probability-flow paths (Euler, `steps`). */
  curvature?(model: M, options: { n: number; steps: number; seed: number }): number;
  /**
   * `capabilities.forwardTrajectories`: z_t of the forward process for data rows [n, dataDim]
   * (bridges: target then source columns) with one ε [n, D] per row, at `T` times from the
   * process start to 1; paths [T, n, D].
   */
  forwardTrajectories?(model: M, rows: tf.Tensor2D, T: number, eps: tf.Tensor2D): { paths: tf.Tensor3D; times: number[] };
  /**
   * Rows per batch that keep `model`'s memory bounded (e.g. 64 for U-Net image models), or
   * undefined when the callers' usual batches (thousands of rows) are fine.
   */
  batchHint?(model: M): number | undefined;
  /**
   * Families without `capabilities.solvers`: the sampler they run instead of a core solver, for
   * `steps` (undefined: the model's own grid), with a label for people.
   */
  ownSampler?(model: M, mode: 'sde' | 'ode', steps?: number): { solver: string; steps: number; label: string };
}

/** Options of {@link FamilyDescriptor.configOf}. */
export interface ConfigOfOptions {
  seed?: number;
  standardization?: Standardization | null;
}

/**
 * A model family. `M` is its model class, `C` its config (config.json, told apart by `format`).
 * Register downstream families with `registerFamily`.
 */
export interface FamilyDescriptor<M = unknown, C extends { format: string; dim: number } = { format: string; dim: number }> {
  readonly id: FamilyId;
  /** The config's `format` string, e.g. 'nfdm-model/1'. */
  readonly format: string;
  /** For messages: 'diffusion model', 'NFBM bridge', 'DiffFlow model'. */
  readonly title: string;
  /** One paragraph for `nfdm info` and the docs. */
  readonly description: string;
  /** What the family can do under its default objective (see {@link capabilitiesOf}). */
  readonly capabilities: FamilyCapabilities;
  /** Objectives this family trains with (the first is the default). */
  readonly objectives: readonly Objective['kind'][];
  /** Whether `model` belongs to this family. */
  owns(model: unknown): model is M;
  /** Validate a config (field paths in errors) and fill its defaults. */
  parseConfig(raw: unknown): C;
  /** Build a model from its config (seeded initial weights). */
  create(config: C): M;
  /** The config that rebuilds `model` (its current architecture; weights are saved separately). */
  configOf(model: M, options?: ConfigOfOptions): C;
  /** Standardisation of the data the model sees, if its config has one. */
  standardization(config: C): Standardization | undefined;
  /** The task one training update of `model` runs under `objective`. */
  trainingTask(model: M, objective: Objective): TrainingTask;
  /** Capabilities under an objective other than the default (merged over {@link capabilities}). */
  objectiveCapabilities?(objective: Objective): Partial<FamilyCapabilities>;
  /**
   * The held-out metrics the family's training task reports under `objective` (the task's
   * `heldOutMetrics`, known without a model: apps label stored results with it).
   */
  heldOutMetrics?(objective: Objective): readonly HeldOutMetric[];
  /** What the models compute for evaluation and sampling (see {@link FamilyOperations}). */
  readonly operations?: FamilyOperations<M>;
}
