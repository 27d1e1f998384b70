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
import type { FamilyDescriptor, TrainingTask } from '../families/types.js';

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
  /** Mean negative log-likelihood in nats of rows x [B, D]. */
  nll(x: tf.Tensor2D): tf.Scalar {
    return tf.tidy(() => {
      const z = tf.div(tf.sub(x, this.m), tf.exp(this.s));
      const perRow = tf.add(tf.mul(0.5, tf.sum(tf.square(z), 1)), tf.add(tf.sum(this.s), 0.5 * this.dim * Math.log(2 * Math.PI)));
      return tf.mean(perRow) as tf.Scalar;
    });
  }
  dispose(): void {
    this.m.dispose();
    this.s.dispose();
  }
}

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
};
