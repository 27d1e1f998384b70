/**
 * A minimal model family, as a downstream package would write one: a diagonal Gaussian
 * p(x) = N(m, diag(exp(2s))) fitted by maximum likelihood (parameters m, s [D]; loss and held-out
 * metric: mean −log p(x) in nats). It is a template for a family descriptor and a fixture for
 * tests of code that dispatches through the registry (training, the CLI). Not registered until
 * `registerFamily(gaussianFitFamily)` is called.
 */

import type { NamedVariables } from '@nfdm/core';
import { Rng } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { ModelConfigError } from '../config.js';
import type { FamilyDescriptor, FamilyOperations, TrainingTask } from '../families/types.js';

let instances = 0;

export interface GaussianFitConfig {
  format: 'example-gaussian-fit/1';
  dim: number;
  seed: number;
}

/** p(x) = N(m, diag(exp(2 s))); parameters m, s [D]. */
export class GaussianFit {
  readonly m: tf.Variable;
  readonly s: tf.Variable;
  constructor(
    readonly dim: number,
    seed: number,
  ) {
    const rng = new Rng(seed);
    this.m = tf.variable(tf.tensor1d(Array.from({ length: dim }, () => 0.1 * rng.normal())), true, `gaussian-fit.${++instances}.m`);
    this.s = tf.variable(tf.zeros([dim]), true, `gaussian-fit.${instances}.s`);
  }
  parameters(): NamedVariables {
    return new Map([
      ['m', this.m],
      ['s', this.s],
    ]);
  }
  /** Negative log-likelihood in nats of each row of x [B, D]: [B]. */
  nllPerRow(x: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => {
      const z = tf.div(tf.sub(x, this.m), tf.exp(this.s));
      return tf.add(tf.mul(0.5, tf.sum(tf.square(z), 1)), tf.add(tf.sum(this.s), 0.5 * this.dim * Math.log(2 * Math.PI))) as tf.Tensor1D;
    });
  }
  /** Mean negative log-likelihood in nats of rows x [B, D]. */
  nll(x: tf.Tensor2D): tf.Scalar {
    return tf.tidy(() => tf.mean(this.nllPerRow(x)) as tf.Scalar);
  }
  dispose(): void {
    this.m.dispose();
    this.s.dispose();
  }
}

const NO_SOLVE = { nfe: 0, diffusionEvals: 0, steps: 0, acceptedSteps: 0, rejectedSteps: 0, initialStep: 0 };

/** Exact draws x = m + exp(s) ε, closed-form log p(x), and the exact NLL as its own bound. */
const gaussianFitOperations: FamilyOperations<GaussianFit> = {
  sample(model, n, o) {
    const eps = new Rng(o.seed).normalTensor([n, model.dim]);
    const samples = tf.tidy(() => tf.add(model.m, tf.mul(tf.exp(model.s), eps))) as tf.Tensor2D;
    eps.dispose();
    o.onProgress?.(1);
    return { samples, stats: { ...NO_SOLVE } };
  },
  logProb(model, x) {
    const nll = model.nllPerRow(x);
    const logp = Float32Array.from(nll.dataSync(), (v) => -v);
    nll.dispose();
    return { logp, stats: { ...NO_SOLVE } };
  },
  nllBound(model, x) {
    const values = model.nllPerRow(x);
    const v = Array.from(values.dataSync());
    values.dispose();
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, v.length - 1);
    return { mean, stderr: Math.sqrt(variance / v.length), n: v.length };
  },
  ownSampler: () => ({ solver: 'exact', steps: 0, label: 'exact Gaussian draw' }),
};

export const gaussianFitFamily: FamilyDescriptor<GaussianFit, GaussianFitConfig> = {
  id: 'example-gaussian-fit',
  format: 'example-gaussian-fit/1',
  title: 'Gaussian fit',
  description: 'A diagonal Gaussian fitted by maximum likelihood (test family).',
  capabilities: {
    sample: true,
    transport: false,
    logProb: true,
    nelbo: false,
    bound: true,
    curvature: false,
    fewStep: false,
    sde: false,
    solvers: false,
    adaptive: false,
    forwardTrajectories: false,
  },
  objectives: ['nelbo'],
  owns: (model: unknown): model is GaussianFit => model instanceof GaussianFit,
  parseConfig: (raw) => {
    const c = raw as GaussianFitConfig;
    if (c.format !== 'example-gaussian-fit/1') throw new ModelConfigError('format', 'expected "example-gaussian-fit/1"');
    if (!Number.isInteger(c.dim) || c.dim < 1) throw new ModelConfigError('dim', 'expected a positive integer');
    return { format: c.format, dim: c.dim, seed: c.seed ?? 0 };
  },
  create: (config) => new GaussianFit(config.dim, config.seed),
  configOf: (model, options) => ({ format: 'example-gaussian-fit/1', dim: model.dim, seed: options?.seed ?? 0 }),
  standardization: () => undefined,
  trainingTask: (model): TrainingTask => ({
    family: 'example-gaussian-fit',
    dataDim: model.dim,
    dataRow: `model dim ${model.dim}`,
    heldOutMetrics: [{ key: 'nll', label: 'NLL', bound: true }],
    lossAndGrads: (x, _rng, variables) => tf.variableGrads(() => model.nll(x), variables),
    heldOut: (x) => ({ nll: tf.tidy(() => model.nll(x).dataSync()[0]) }),
  }),
  operations: gaussianFitOperations,
};
