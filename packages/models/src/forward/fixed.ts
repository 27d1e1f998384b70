/**
 * Fixed Gaussian forward processes: μ = α_t x, σ = σ_t (a {@link Schedule}), so
 * μ̇ = α̇_t x, σ̇ = σ̇_t and so on. These are the conventional diffusion baselines (VP, sub-VP,
 * VE, cosine, FM-OT, linear-log-SNR VP), trained with the same variational objective.
 */
import type { JetOrder, NamedVariables } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import type { ForwardProcessConfig, GaussianForwardProcess, GaussianParams } from './gaussian.js';
import { createSchedule, type Schedule, type ScheduleConfig } from './schedules.js';

export class FixedGaussianProcess implements GaussianForwardProcess {
  readonly kind = 'fixed';
  readonly learned = false;
  readonly schedule: Schedule;

  constructor(
    readonly dim: number,
    schedule: Schedule | ScheduleConfig,
  ) {
    this.schedule = 'at' in schedule ? schedule : createSchedule(schedule);
  }

  get start() {
    const t = this.schedule.tMin;
    return { t, ...this.schedule.atNumber(t) };
  }

  get priorStd(): number {
    return this.schedule.priorStd;
  }

  params(x: tf.Tensor, t: tf.Tensor, order: JetOrder): GaussianParams {
    const v = this.schedule.at(t, order);
    const out: GaussianParams = { mu: tf.mul(v.alpha, x), sigma: v.sigma };
    if (order >= 1) {
      out.dmu = tf.mul(v.dalpha as tf.Tensor, x);
      out.dsigma = v.dsigma;
    }
    if (order === 2) {
      out.d2mu = tf.mul(v.d2alpha as tf.Tensor, x);
      out.d2sigma = v.d2sigma;
    }
    return out;
  }

  toConfig(): ForwardProcessConfig {
    return { kind: this.kind, schedule: this.schedule.toConfig() };
  }

  parameters(): NamedVariables {
    return new Map();
  }

  dispose(): void {}
}
