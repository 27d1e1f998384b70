/**
 * Training tasks: what one update of each model family computes, so that one {@link Trainer}
 * (optimizer, clipping, EMA, checkpoints, exact resume) trains every family.
 *
 * | family    | data row                         | loss of one update                                   | held-out metrics |
 * |-----------|----------------------------------|------------------------------------------------------|------------------|
 * | diffusion | x [D]                            | NELBO diffusion term, or NFDM-OT (objective `ot`)   | nelbo (or ot_loss) ± stderr |
 * | bridge    | [x0 (target) | x1 (source)] [2D] | bridge loss + path penalties (docs/maths/bridges.md) | bridge_bound ± stderr (−log p(x0 | x1) bound), bridge_penalty |
 * | diffflow  | x [D]                            | path KL on a (flexible, progressive) grid, gradient by the memory-saving walk | nll_bound ± stderr |
 *
 * Each update draws its noise from the trainer's noise generator, so a resumed run repeats an
 * uninterrupted one exactly.
 */
import { Rng } from '@nfdm/core';
import {
  type AnyModel,
  BridgeModel,
  DiffFlowModel,
  type DiffusionModel,
  diffflowBound,
  diffflowPathKLGrad,
  diffflowTrainingGrid,
  drawDiffFlowNoise,
  estimate,
  type ModelFamily,
  modelFamily,
  otLoss,
} from '@nfdm/models';
import * as tf from '@tensorflow/tfjs';
import type { TrainerObjective } from './config.js';

/** One family's update and evaluation. */
export interface TrainingTask {
  readonly family: ModelFamily;
  /** Columns of a data row: D, or 2D for bridges (target then source). */
  readonly dataDim: number;
  /**
   * Loss and gradients (by variable name) of one update on the batch `x` [B, dataDim]; called
   * inside the trainer's tf.tidy. `step` is the number of updates done before this one.
   */
  lossAndGrads(x: tf.Tensor2D, noiseRng: Rng, variables: tf.Variable[], step: number): { value: tf.Scalar; grads: tf.NamedTensorMap };
  /** Held-out metrics of the rows `x` [N, dataDim], deterministic given `seed`. */
  heldOut(x: tf.Tensor2D, draws: number, seed: number): Record<string, number>;
}

/** Mean and standard error over draws (0 for a single draw, as the NELBO reports). */
const meanStderr = (values: number[]): { mean: number; stderr: number } => {
  const e = estimate(values);
  return { mean: e.mean, stderr: values.length > 1 ? e.stderr : 0 };
};

class DiffusionTask implements TrainingTask {
  readonly family = 'diffusion' as const;
  constructor(
    readonly model: DiffusionModel,
    readonly objective: TrainerObjective,
  ) {}

  get dataDim(): number {
    return this.model.dim;
  }

  private loss(x: tf.Tensor2D, noise: ReturnType<DiffusionModel['drawNoise']>): tf.Scalar {
    if (this.objective.kind === 'ot') return otLoss(this.model, x, noise, { curvatureWeight: this.objective.curvatureWeight });
    return this.model.loss(x, noise);
  }

  lossAndGrads(x: tf.Tensor2D, noiseRng: Rng, variables: tf.Variable[]) {
    const noise = this.model.drawNoise(noiseRng, x.shape[0]);
    return tf.variableGrads(() => this.loss(x, noise), variables);
  }

  heldOut(x: tf.Tensor2D, draws: number, seed: number): Record<string, number> {
    if (this.objective.kind === 'ot') {
      // The NELBO does not apply to an NFDM-OT model (its volatility is unused): report the
      // held-out objective instead.
      const rng = new Rng(seed);
      const values: number[] = [];
      for (let d = 0; d < draws; d++) values.push(tf.tidy(() => this.loss(x, this.model.drawNoise(rng, x.shape[0])).dataSync()[0]));
      const r = meanStderr(values);
      return { ot_loss: r.mean, ot_loss_stderr: r.stderr };
    }
    const r = this.model.nelbo(x, { draws, seed });
    return { nelbo: r.nelbo.mean, nelbo_stderr: r.nelbo.stderr };
  }
}

/** Split bridge rows [B, 2D] into x0 (target, first D columns) and x1 (source). */
export function splitPairs(x: tf.Tensor2D, dim: number): { x0: tf.Tensor2D; x1: tf.Tensor2D } {
  if (x.shape[1] !== 2 * dim) throw new RangeError(`bridge rows must be [B, ${2 * dim}] (target then source), got [${x.shape}]`);
  const [x0, x1] = tf.split(x, 2, 1) as tf.Tensor2D[];
  return { x0, x1 };
}

class BridgeTask implements TrainingTask {
  readonly family = 'bridge' as const;
  constructor(readonly model: BridgeModel) {}

  get dataDim(): number {
    return 2 * this.model.dim;
  }

  lossAndGrads(x: tf.Tensor2D, noiseRng: Rng, variables: tf.Variable[]) {
    const { x0, x1 } = splitPairs(x, this.model.dim);
    const noise = this.model.drawNoise(noiseRng, x.shape[0]);
    return tf.variableGrads(() => this.model.loss(x0, x1, noise), variables);
  }

  heldOut(x: tf.Tensor2D, draws: number, seed: number): Record<string, number> {
    const rng = new Rng(seed);
    const bounds: number[] = [];
    const penalties: number[] = [];
    const rec = this.model.reconstructionTerm();
    for (let d = 0; d < draws; d++) {
      const [b, p] = tf.tidy(() => {
        const { x0, x1 } = splitPairs(x, this.model.dim);
        const terms = this.model.terms(x0, x1, this.model.drawNoise(rng, x.shape[0]));
        return tf.stack([tf.mean(terms.diffusion), tf.mean(terms.penalty)]).dataSync();
      });
      bounds.push(rec + b);
      penalties.push(p);
    }
    const r = meanStderr(bounds);
    return { bridge_bound: r.mean, bridge_bound_stderr: r.stderr, bridge_penalty: meanStderr(penalties).mean };
  }
}

class DiffFlowTask implements TrainingTask {
  readonly family = 'diffflow' as const;
  constructor(readonly model: DiffFlowModel) {}

  get dataDim(): number {
    return this.model.dim;
  }

  lossAndGrads(x: tf.Tensor2D, noiseRng: Rng, _variables: tf.Variable[], step: number) {
    const time = this.model.time;
    const grid = diffflowTrainingGrid(time, step, () => noiseRng.uniform());
    const noise = drawDiffFlowNoise(noiseRng, grid.length - 1, x.shape[0], this.model.dim);
    const r = diffflowPathKLGrad(this.model, x, { grid, g: time.g, noise });
    r.gradX0.dispose();
    return { value: tf.scalar(r.loss), grads: r.grads };
  }

  heldOut(x: tf.Tensor2D, draws: number, seed: number): Record<string, number> {
    const r = diffflowBound(this.model, x, { draws, seed });
    return { nll_bound: r.mean, nll_bound_stderr: r.stderr };
  }
}

/** The task of a model: diffusion models follow `objective`; bridges and DiffFlow have their own loss. */
export function trainingTask(model: AnyModel, objective: TrainerObjective = { kind: 'nelbo' }): TrainingTask {
  const family = modelFamily(model);
  if (family !== 'diffusion' && objective.kind !== 'nelbo')
    throw new RangeError(`the '${objective.kind}' objective applies to diffusion models only, not to a ${family} model`);
  if (model instanceof BridgeModel) return new BridgeTask(model);
  if (model instanceof DiffFlowModel) return new DiffFlowTask(model);
  return new DiffusionTask(model as DiffusionModel, objective);
}
