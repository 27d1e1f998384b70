/**
 * The family contract: one {@link FamilyDescriptor} per model family (diffusion models, NFBM
 * bridges, DiffFlow, and any a downstream package registers) says how to read, build and save
 * its models, what one training update computes, and what the family can do
 * ({@link FamilyCapabilities}). Training, export, serving and the CLI ask the descriptor instead
 * of switching on names or classes (docs/architecture.md §Families).
 */
import type { Rng } from '@nfdm/core';
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
 * Training objectives. `nelbo` trains every family by its own bound; `ot` (NFDM-OT,
 * docs/maths/objectives.md) trains a diffusion model for straight probability-flow paths.
 */
export type Objective = { kind: 'nelbo' } | { kind: 'ot'; curvatureWeight: number };

/** A metric a family's training task reports on held-out data. */
export interface HeldOutMetric {
  /** Key in the task's metrics record, e.g. 'nelbo'. */
  key: string;
  /** Key of its standard error, if reported. */
  stderrKey?: string;
  /** For people, e.g. 'NELBO', 'bound on −log p(target | source)'. */
  label: string;
  /** The metric is a bound on a negative log-likelihood in nats. */
  bound: boolean;
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
   * Loss and gradients (by variable name) of one update on the batch `x` [B, dataDim]; called
   * inside the trainer's tf.tidy. `step` is the number of updates done before this one.
   */
  lossAndGrads(x: tf.Tensor2D, noiseRng: Rng, variables: tf.Variable[], step: number): { value: tf.Scalar; grads: tf.NamedTensorMap };
  /** Held-out metrics of the rows `x` [N, dataDim], deterministic given `seed`. */
  heldOut(x: tf.Tensor2D, draws: number, seed: number): Record<string, number>;
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
}
