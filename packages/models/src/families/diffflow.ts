/**
 * The DiffFlow family ({@link DiffFlowModel}, config format {@link DIFFFLOW_FORMAT},
 * docs/maths/diffflow.md): a learned discrete SDE chain on a time grid, trained by the path KL
 * with the memory-saving gradient walk. Samples by its own stochastic or probability-flow chain
 * (the core solver table does not apply); log p(x) by the probability-flow ODE of the chain.
 *
 * Training data rows are x [D]; held-out metrics: nll_bound ± stderr (nats per sample; apps
 * report bits/dim = nats / (D ln 2) + the dequantisation offset for images). Drift and score
 * are FourierMLPs or, for images, U-Nets (`network: { arch: 'unet', … }`); U-Net models
 * evaluate in small batches (`batchHint`).
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
import { diffflowBound, diffflowLogProb } from '../diffflow/likelihood.js';
import { diffflowPathKLGrad, drawDiffFlowNoise } from '../diffflow/loss.js';
import { DiffFlowModel } from '../diffflow/networks.js';
import { diffflowSample } from '../diffflow/sample.js';
import { diffflowEvalGrid, diffflowTrainingGrid } from '../diffflow/time.js';
import { expTimerGrid } from '../diffflow/timer.js';
import type { FamilyDescriptor, FamilyDrawResult, FamilyOperations, HeldOutMetric, TrainingTask } from './types.js';

const DIFFFLOW_METRICS: readonly HeldOutMetric[] = [
  { key: 'nll_bound', stderrKey: 'nll_bound_stderr', label: 'NLL bound', bound: true, role: 'bound' },
];

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

/** The sampling grid for `steps` steps: the model's own (ExpTimer) grid, or one re-gridded with the same tMin, tMax, exponent. */
function samplingGrid(model: DiffFlowModel, steps?: number): ArrayLike<number> {
  const time = model.time;
  if (steps === undefined || steps === time.N) return diffflowEvalGrid(time);
  return expTimerGrid({ N: steps, tMin: time.tMin, tMax: time.tMax, exponent: time.exponent });
}

/**
 * Sampling by the model's own discrete backward chain (stochastic for 'sde', the deterministic
 * probability flow for 'ode'; solver names do not apply): with `trajectory`, every state x_N … x_0
 * at the grid times t_N … t_0 ([N + 1, n, D]). log p(x) by the probability-flow ODE of the chain.
 */
const diffflowOperations: FamilyOperations<DiffFlowModel> = {
  sample(model, n, o): FamilyDrawResult {
    const grid = samplingGrid(model, o.steps);
    const N = grid.length - 1;
    const frames: tf.Tensor2D[] = [];
    const times: number[] = [];
    let calls = 0;
    const observe = (x: tf.Tensor2D, t: number) => {
      if (o.trajectory) {
        frames.push(x.clone());
        times.push(t);
      }
      o.onProgress?.(calls++ / N);
    };
    const samples = diffflowSample(model, {
      n,
      grid,
      g: model.time.g,
      seed: o.seed,
      deterministic: o.mode === 'ode',
      onStep: o.trajectory || o.onProgress ? observe : undefined,
    });
    const stats = { nfe: 2 * N, diffusionEvals: 0, steps: N, acceptedSteps: N, rejectedSteps: 0, initialStep: 0 };
    if (!o.trajectory) return { samples, stats };
    const trajectory = tf.stack(frames) as tf.Tensor3D;
    tf.dispose(frames);
    return { samples, trajectory, times, stats };
  },
  logProb: (model, x, o) => diffflowLogProb(model, x, { solver: o.solver, steps: o.steps, rtol: o.rtol, atol: o.atol, seed: o.seed }),
  nllBound(model, x, o) {
    const r = diffflowBound(model, x, o);
    return { mean: r.mean, stderr: r.stderr, n: x.shape[0] };
  },
  batchHint: (model) => model.evalBatch,
  ownSampler(model, mode, steps) {
    const n = steps ?? model.time.N;
    const kind = mode === 'ode' ? 'probability-flow' : 'stochastic';
    return { solver: 'diffflow-chain', steps: n, label: `DiffFlow ${kind} chain, ${n} steps` };
  },
};

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
  heldOutMetrics: () => DIFFFLOW_METRICS,
  operations: diffflowOperations,
};
