/**
 * The diffusion family: NFDM, NDM and the fixed processes ({@link DiffusionModel}, config format
 * {@link MODEL_FORMAT}). Trains by the NELBO (docs/maths/objectives.md) or, as NFDM-OT, by the
 * OT objective; samples by the probability-flow ODE or the reverse SDE; exact log p(x) by the ODE.
 *
 * Training data rows are x [D]; held-out metrics: nelbo ± stderr, or ot_loss ± stderr under `ot`.
 */
import { Rng } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { createModel, MODEL_FORMAT, type ModelConfig, modelConfig, parseModelConfig } from '../config.js';
import { DiffusionModel } from '../model.js';
import { otLoss } from '../ot.js';
import { meanStderr } from './held-out.js';
import type { FamilyDescriptor, HeldOutMetric, Objective, TrainingTask } from './types.js';

const NELBO_METRICS: readonly HeldOutMetric[] = [{ key: 'nelbo', stderrKey: 'nelbo_stderr', label: 'NELBO', bound: true }];
const OT_METRICS: readonly HeldOutMetric[] = [{ key: 'ot_loss', stderrKey: 'ot_loss_stderr', label: 'OT objective', bound: false }];

class DiffusionTask implements TrainingTask {
  readonly family = 'diffusion';
  readonly heldOutMetrics: readonly HeldOutMetric[];
  constructor(
    readonly model: DiffusionModel,
    readonly objective: Objective,
  ) {
    this.heldOutMetrics = objective.kind === 'ot' ? OT_METRICS : NELBO_METRICS;
  }

  get dataDim(): number {
    return this.model.dim;
  }

  get dataRow(): string {
    return `model dim ${this.model.dim}`;
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

export const diffusionFamily: FamilyDescriptor<DiffusionModel, ModelConfig> = {
  id: 'diffusion',
  format: MODEL_FORMAT,
  title: 'diffusion model',
  description:
    'A diffusion model with a Gaussian forward process q(z_t | x) = N(μ(x, t), σ²(x, t)): learned (NFDM, NDM) or fixed (VP, sub-VP, VE, cosine, flow matching). Samples from noise by the probability-flow ODE or the reverse SDE, with exact log p(x) by the ODE and the NELBO.',
  capabilities: {
    sample: true,
    transport: false,
    logProb: true,
    nelbo: true,
    bound: false,
    curvature: true,
    fewStep: false,
    sde: true,
    solvers: true,
    adaptive: true,
    forwardTrajectories: true,
  },
  objectives: ['nelbo', 'ot'],
  owns: (model: unknown): model is DiffusionModel => model instanceof DiffusionModel,
  parseConfig: parseModelConfig,
  create: createModel,
  configOf: (model, options) => modelConfig(model, options),
  standardization: (config) => config.standardization,
  trainingTask: (model, objective) => new DiffusionTask(model, objective),
  // NFDM-OT: trained for straight, few-step ODE paths; its volatility is never trained, so the
  // NELBO does not measure it.
  objectiveCapabilities: (objective) => (objective.kind === 'ot' ? { fewStep: true, nelbo: false } : {}),
};
