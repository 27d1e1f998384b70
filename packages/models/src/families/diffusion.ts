/**
 * The diffusion family: NFDM, NDM and the fixed processes ({@link DiffusionModel}, config format
 * {@link MODEL_FORMAT}). Trains by the NELBO (docs/maths/objectives.md) or, as NFDM-OT, by the
 * OT objective; samples by the probability-flow ODE or the reverse SDE; exact log p(x) by the ODE.
 *
 * Training data rows are x [D]; held-out metrics: nelbo ± stderr, or ot_loss ± stderr under `ot`.
 */
import { conditionWidth, Rng } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { createModel, MODEL_FORMAT, type ModelConfig, modelConfig, parseModelConfig } from '../config.js';
import { DiffusionModel } from '../model.js';
import { curvatureMetric, otLoss } from '../ot.js';
import { meanStderr } from './held-out.js';
import { type BatchNoise, microBatchedGrads, microBatchedLoss } from './micro-batch.js';
import type { FamilyDescriptor, FamilyOperations, HeldOutMetric, Objective, TrainingTask } from './types.js';

const NELBO_METRICS: readonly HeldOutMetric[] = [{ key: 'nelbo', stderrKey: 'nelbo_stderr', label: 'NELBO', bound: true, role: 'nelbo' }];
const OT_METRICS: readonly HeldOutMetric[] = [
  { key: 'ot_loss', stderrKey: 'ot_loss_stderr', label: 'NFDM-OT loss', bound: false, role: 'objective' },
];

class DiffusionTask implements TrainingTask {
  readonly family = 'diffusion';
  readonly heldOutMetrics: readonly HeldOutMetric[];
  constructor(
    readonly model: DiffusionModel,
    readonly objective: Objective,
  ) {
    this.heldOutMetrics = objective.kind === 'ot' ? OT_METRICS : NELBO_METRICS;
  }

  /** Width of the rows' conditions y for a conditional model (0: unconditional). */
  get conditionDim(): number {
    const c = this.model.condition;
    return c ? conditionWidth(c.spec) : 0;
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

  /**
   * Loss and gradients of one batch, in micro-batches of `model.trainBatch` rows for image models
   * (micro-batch.ts); a conditional model's rows bring their conditions y, which drawNoise
   * carries (after condition dropout) as `noise.condition`, sliced with the rows.
   */
  lossAndGrads(x: tf.Tensor2D, noiseRng: Rng, variables: tf.Variable[], _step?: number, condition?: tf.Tensor2D) {
    const noise = this.model.drawNoise(noiseRng, x.shape[0], condition);
    type Noise = typeof noise & BatchNoise;
    return microBatchedGrads(x, noise as Noise, variables, this.model.trainBatch, (xs, ns) => this.loss(xs, ns));
  }

  /** Held-out NELBO (conditional models: the conditional NELBO given the rows' y, no dropout), or the NFDM-OT loss. */
  heldOut(x: tf.Tensor2D, draws: number, seed: number, condition?: tf.Tensor2D): Record<string, number> {
    if (this.objective.kind === 'ot') {
      // The NELBO does not apply to an NFDM-OT model (its volatility is unused): report the
      // held-out objective instead.
      const rng = new Rng(seed);
      const values: number[] = [];
      // In micro-batches of the training's size: one pass over a held-out image set would not fit.
      type Noise = ReturnType<DiffusionModel['drawNoise']> & BatchNoise;
      for (let d = 0; d < draws; d++) {
        const noise = this.model.drawNoise(rng, x.shape[0], condition, { dropout: false }) as Noise;
        try {
          values.push(microBatchedLoss(x, noise, this.model.trainBatch, (xs, ns) => this.loss(xs, ns)));
        } finally {
          tf.dispose(Object.values(noise).filter((v) => v !== condition)); // the caller's y is not ours
        }
      }
      const r = meanStderr(values);
      return { ot_loss: r.mean, ot_loss_stderr: r.stderr };
    }
    const r = this.model.nelbo(x, { draws, seed, condition });
    return { nelbo: r.nelbo.mean, nelbo_stderr: r.nelbo.stderr };
  }
}

/**
 * Sampling from the prior at t = 1 down to the process start t₀ (progress (1 − t)/(1 − t₀)),
 * log p(x) by the probability-flow ODE from t₀ up to 1, the NELBO, curvature, and forward paths
 * z_t = μ(x, t) + σ(x, t) ε at T times from t₀ to 1.
 */
const diffusionOperations: FamilyOperations<DiffusionModel> = {
  sample(model, n, o) {
    const t0 = model.forward.start.t;
    const r = model.sample({
      n,
      mode: o.mode,
      solver: o.solver,
      steps: o.steps,
      adaptive: o.adaptive,
      seed: o.seed,
      trajectory: o.trajectory,
      nonFinite: o.nonFinite,
      onStep: o.onProgress ? (t) => o.onProgress?.((1 - t) / (1 - t0)) : undefined,
      condition: o.condition,
      guidance: o.guidance,
    });
    return { ...r, samples: r.samples as tf.Tensor2D, trajectory: r.trajectory as tf.Tensor3D | undefined };
  },
  logProb(model, x, o) {
    const t0 = model.forward.start.t;
    const onStep = o.onProgress ? (t: number) => o.onProgress?.((t - t0) / (1 - t0)) : undefined;
    const solve = { solver: o.solver, steps: o.steps, rtol: o.rtol, atol: o.atol, seed: o.seed, onStep };
    return model.logProb(x, { ...solve, condition: o.condition });
  },
  nllBound(model, x, o) {
    const r = model.nelbo(x, { draws: o.draws, seed: o.seed, condition: o.condition });
    return { mean: r.nelbo.mean, stderr: r.nelbo.stderr, n: r.nelbo.n };
  },
  curvature: (model, o) => curvatureMetric(model, o).mean,
  batchHint: (model) => model.evalBatch,
  forwardTrajectories(model, x, T, eps) {
    const t0 = model.forward.start.t;
    const times = Array.from({ length: T }, (_, k) => t0 + ((1 - t0) * k) / (T - 1));
    const n = x.shape[0];
    const paths = tf.tidy(() =>
      tf.stack(
        times.map((t) => {
          const p = model.forward.params(x, tf.fill([n, 1], t), 0);
          return tf.add(p.mu, tf.mul(p.sigma, eps));
        }),
      ),
    ) as tf.Tensor3D;
    return { paths, times };
  },
};

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
  heldOutMetrics: (objective) => (objective.kind === 'ot' ? OT_METRICS : NELBO_METRICS),
  operations: diffusionOperations,
};
