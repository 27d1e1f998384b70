/**
 * The DiffFlow family ({@link DiffFlowModel}, config format {@link DIFFFLOW_FORMAT},
 * docs/maths/diffflow.md): a learned discrete SDE chain on a time grid, trained by the path KL
 * with the memory-saving gradient walk. Samples by its own stochastic or probability-flow chain
 * (the core solver table does not apply); log p(x) by the probability-flow ODE of the chain.
 *
 * Training data rows are x [D]; held-out metrics: nll_bound ± stderr.
 */
import type { Rng } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import {
  createDiffFlowModel,
  DIFFFLOW_FORMAT,
  type DiffFlowModelConfig,
  diffflowModelConfig,
  parseDiffFlowConfig,
} from '../diffflow/config.js';
import { diffflowBound } from '../diffflow/likelihood.js';
import { diffflowPathKLGrad, drawDiffFlowNoise } from '../diffflow/loss.js';
import { DiffFlowModel } from '../diffflow/networks.js';
import { diffflowTrainingGrid } from '../diffflow/time.js';
import type { FamilyDescriptor, HeldOutMetric, TrainingTask } from './types.js';

const DIFFFLOW_METRICS: readonly HeldOutMetric[] = [{ key: 'nll_bound', stderrKey: 'nll_bound_stderr', label: 'NLL bound', bound: true }];

class DiffFlowTask implements TrainingTask {
  readonly family = 'diffflow';
  readonly heldOutMetrics = DIFFFLOW_METRICS;
  constructor(readonly model: DiffFlowModel) {}

  get dataDim(): number {
    return this.model.dim;
  }

  get dataRow(): string {
    return `model dim ${this.model.dim}`;
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

export const diffflowFamily: FamilyDescriptor<DiffFlowModel, DiffFlowModelConfig> = {
  id: 'diffflow',
  format: DIFFFLOW_FORMAT,
  title: 'DiffFlow model',
  description:
    'DiffFlow: a discrete SDE chain whose forward drift is a learned network, trained by the KL between forward and backward path measures. Samples by its own chain on its time grid; reports an NLL bound and log p(x) by the probability-flow ODE of the chain.',
  capabilities: {
    sample: true,
    transport: false,
    logProb: true,
    nelbo: false,
    bound: true,
    curvature: false,
    fewStep: false,
    sde: true,
    solvers: false,
    adaptive: false,
    forwardTrajectories: false,
  },
  objectives: ['nelbo'],
  owns: (model: unknown): model is DiffFlowModel => model instanceof DiffFlowModel,
  parseConfig: parseDiffFlowConfig,
  create: createDiffFlowModel,
  configOf: (model, options) => diffflowModelConfig(model, options),
  standardization: (config) => config.standardization,
  trainingTask: (model) => new DiffFlowTask(model),
};
