/**
 * The flow-matching family ({@link CFMModel}, config format {@link CFM_FORMAT},
 * docs/maths/flow-matching.md): a velocity network v_θ(z, t) trained by conditional flow
 * matching — CFM (independent coupling), OT-CFM (exact mini-batch OT coupling) or rectified flow's
 * reflow (given pairs) — set by the config's `flow.coupling`. It trains with the family's own
 * objective (the registry's default kind), samples by the ODE dz/dt = v_θ with any core solver,
 * and gives exact log p(x) by the same ODE. There is no NELBO and no SDE; the held-out metric is
 * the flow-matching loss itself (role 'objective').
 *
 * Training rows are x [D], or pairs [x | ε] [2D] for a reflow model.
 */
import { Rng } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { CFM_FORMAT, type CFMModelConfig, cfmModelConfig, createCFMModel, parseCFMConfig } from '../cfm/config.js';
import { CFMModel } from '../cfm/model.js';
import { cfmBatch, cfmLoss } from '../cfm/objective.js';
import { cfmLogProb, cfmSample } from '../cfm/sampling.js';
import { curvatureMetric, type ODEModel } from '../ot.js';
import { meanStderr } from './held-out.js';
import { microBatchedGrads } from './micro-batch.js';
import type { FamilyDescriptor, FamilyOperations, HeldOutMetric, TrainingTask } from './types.js';

const CFM_METRICS: readonly HeldOutMetric[] = [
  { key: 'cfm_loss', stderrKey: 'cfm_loss_stderr', label: 'flow-matching loss', bound: false, role: 'objective' },
];

/** Rows per OT coupling of the held-out loss (the trainer's batch is not known to the task). */
export const OT_HELD_OUT_BATCH = 256;

class CFMTask implements TrainingTask {
  readonly family = 'cfm';
  readonly heldOutMetrics = CFM_METRICS;
  constructor(readonly model: CFMModel) {}

  get dataDim(): number {
    return this.model.rowDim;
  }

  get dataRow(): string {
    return this.model.coupling === 'reflow' ? `pair [x | ε] of 2 × model dim ${this.model.dim}` : `model dim ${this.model.dim}`;
  }

  lossAndGrads(x: tf.Tensor2D, noiseRng: Rng, variables: tf.Variable[]) {
    const b = cfmBatch(x, this.model.coupling, this.model.dim, noiseRng);
    return microBatchedGrads(b.x, { eps: b.eps, t: b.t }, variables, this.model.trainBatch, (xs, ns) =>
      cfmLoss(this.model, { x: xs, eps: ns.eps as tf.Tensor2D, t: ns.t as tf.Tensor2D }),
    );
  }

  /**
   * The loss on held-out rows, `draws` draws of (t, ε) (each coupled as in training; OT couples
   * chunks of {@link OT_HELD_OUT_BATCH} rows, a mini-batch coupling as in training, not one plan
   * over the whole set), mean ± stderr over draws.
   */
  heldOut(x: tf.Tensor2D, draws: number, seed: number): Record<string, number> {
    const rng = new Rng(seed);
    const n = x.shape[0];
    const batch = this.model.evalBatch ?? n;
    const chunk = this.model.coupling === 'ot' ? Math.min(batch, OT_HELD_OUT_BATCH) : batch;
    const values: number[] = [];
    for (let d = 0; d < draws; d++) {
      let sum = 0;
      for (let start = 0; start < n; start += chunk) {
        const rows = Math.min(chunk, n - start);
        sum += rows * this.chunkLoss(tf.slice(x, [start, 0], [rows, -1]), rng);
      }
      values.push(sum / n);
    }
    const r = meanStderr(values);
    return { cfm_loss: r.mean, cfm_loss_stderr: r.stderr };
  }

  /** The loss of rows [b, dataDim] with fresh (t, ε) from `rng` (the rows are disposed). */
  private chunkLoss(rows: tf.Tensor2D, rng: Rng): number {
    const value = tf.tidy(() => cfmLoss(this.model, cfmBatch(rows, this.model.coupling, this.model.dim, rng)).dataSync()[0]);
    rows.dispose();
    return value;
  }
}

/** The model as a generative ODE from N(0, I) at t = 1 down to t = 0 (what curvatureMetric integrates). */
function odeModel(model: CFMModel): ODEModel {
  return { dim: model.dim, forward: { priorStd: 1, start: { t: 0 } }, velocity: (z, t) => model.velocity(z as tf.Tensor2D, t) };
}

/** ODE sampling from t = 1 to 0 (progress 1 − t), exact log p(x) from 0 to 1. */
const cfmOperations: FamilyOperations<CFMModel> = {
  sample(model, n, o) {
    if (o.mode === 'sde') throw new RangeError('a flow-matching model samples by its ODE only (mode "ode"); it has no reverse SDE');
    if (o.condition || o.guidance) throw new RangeError('flow-matching models are unconditional: they take no condition or guidance');
    return cfmSample(model, {
      n,
      solver: o.solver,
      steps: o.steps,
      adaptive: o.adaptive,
      seed: o.seed,
      trajectory: o.trajectory,
      nonFinite: o.nonFinite,
      onStep: o.onProgress ? (t) => o.onProgress?.(1 - t) : undefined,
    });
  },
  logProb(model, x, o) {
    if (o.condition) throw new RangeError('flow-matching models are unconditional: they take no condition');
    const onStep = o.onProgress ? (t: number) => o.onProgress?.(t) : undefined;
    return cfmLogProb(model, x, { solver: o.solver, steps: o.steps, rtol: o.rtol, atol: o.atol, seed: o.seed, onStep });
  },
  batchHint: (model) => model.evalBatch,
  /** Mean ‖d²z/dt²‖ along `n` Euler paths of the ODE from z₁ ~ N(0, I) at t = 1 to 0 (ot.ts). */
  curvature: (model, o) => curvatureMetric(odeModel(model), o).mean,
  /**
   * The conditional paths x_t = (1 − t) x + (σ_min + (1 − σ_min) t) ε at T times from 0 to 1, with
   * the given ε; a reflow model's rows [x | ε] bring their own ε (the pairs it trains on).
   */
  forwardTrajectories(model, rows, T, eps) {
    const times = Array.from({ length: T }, (_, k) => k / (T - 1));
    const s = model.sigmaMin;
    const paths = tf.tidy(() => {
      const [x, e] = model.coupling === 'reflow' ? tf.split(rows, 2, 1) : [rows, eps];
      return tf.stack(times.map((t) => tf.add(tf.mul(1 - t, x), tf.mul(s + (1 - s) * t, e))));
    }) as tf.Tensor3D;
    return { paths, times };
  },
};

export const cfmFamily: FamilyDescriptor<CFMModel, CFMModelConfig> = {
  id: 'cfm',
  format: CFM_FORMAT,
  title: 'flow-matching model',
  description:
    'Flow matching with a velocity network v(z, t): CFM (independent coupling), OT-CFM (exact mini-batch OT coupling) or rectified flow (reflow pairs), set by flow.coupling. Samples by the ODE dz/dt = v with any solver; exact log p(x) by the same ODE; no NELBO.',
  capabilities: {
    sample: true,
    transport: false,
    logProb: true,
    nelbo: false,
    bound: false,
    curvature: true,
    fewStep: false,
    sde: false,
    solvers: true,
    adaptive: true,
    forwardTrajectories: true,
  },
  objectives: ['nelbo'],
  owns: (model: unknown): model is CFMModel => model instanceof CFMModel,
  parseConfig: parseCFMConfig,
  create: createCFMModel,
  configOf: (model, options) => cfmModelConfig(model, options),
  standardization: (config) => config.standardization,
  trainingTask: (model) => new CFMTask(model),
  heldOutMetrics: () => CFM_METRICS,
  operations: cfmOperations,
};
