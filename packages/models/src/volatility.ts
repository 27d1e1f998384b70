/**
 * Volatility g(t) of the forward and reverse SDEs (docs/maths/forward-processes.md#volatility). Any g ≥ 0 gives the same
 * marginals; it weights the objective by 1/g² and sets the noise of the SDE sampler.
 *
 * - `neural`: g(t) = softplus(NN(t)) + floor (the notebook's VolatilityNeural; floor 0 by
 *   default, e.g. 1e-3 for safety since the loss scales as 1/g²);
 * - `constant`: g(t) = value;
 * - `matched`: g² = −σ_t² λ′(t) from a fixed schedule (the SDE whose marginals are the
 *   schedule's, e.g. VP's β(t); NDM-continuous uses it).
 *
 * Shapes: t [B, 1] → g² [B, 1].
 */
import { type ActivationName, collectParameters, type NamedVariables, type Rng, TimeMLP } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { createSchedule, matchedG2, type Schedule, type ScheduleConfig } from './forward/schedules.js';

export type VolatilityConfig =
  | { kind: 'neural'; hidden?: number[]; activation?: ActivationName; floor?: number }
  | { kind: 'constant'; value: number }
  | { kind: 'matched'; schedule: ScheduleConfig };

export interface Volatility {
  readonly kind: VolatilityConfig['kind'];
  /** g(t)², [B, 1]. */
  g2(t: tf.Tensor): tf.Tensor;
  toConfig(): VolatilityConfig;
  parameters(): NamedVariables;
  dispose(): void;
}

export class NeuralVolatility implements Volatility {
  readonly kind = 'neural';
  readonly net: TimeMLP;
  readonly floor: number;
  constructor(options: { hidden?: number[]; activation?: ActivationName; floor?: number; rng?: Rng | number } = {}) {
    this.floor = options.floor ?? 0;
    this.net = new TimeMLP({
      dataDim: 0,
      outDim: 1,
      hidden: options.hidden ?? [64, 64, 64, 64],
      activation: options.activation ?? 'selu',
      rng: options.rng,
    });
  }
  /** g(t) = softplus(NN(t)) + floor. */
  g(t: tf.Tensor): tf.Tensor {
    const g = tf.softplus(this.net.apply(null, t as tf.Tensor2D));
    return (this.floor > 0 ? tf.add(g, this.floor) : g) as tf.Tensor;
  }
  g2(t: tf.Tensor): tf.Tensor {
    return tf.square(this.g(t));
  }
  toConfig(): VolatilityConfig {
    const o = this.net.options;
    return { kind: 'neural', hidden: o.hidden, activation: o.activation ?? 'selu', floor: this.floor };
  }
  parameters(): NamedVariables {
    return collectParameters({ net: this.net });
  }
  dispose(): void {
    this.net.dispose();
  }
}

export class ConstantVolatility implements Volatility {
  readonly kind = 'constant';
  constructor(readonly value: number) {
    if (!(value > 0)) throw new RangeError(`constant volatility must be > 0, got ${value}`);
  }
  g2(t: tf.Tensor): tf.Tensor {
    return tf.fill(t.shape, this.value * this.value) as tf.Tensor;
  }
  toConfig(): VolatilityConfig {
    return { kind: 'constant', value: this.value };
  }
  parameters(): NamedVariables {
    return new Map();
  }
  dispose(): void {}
}

export class MatchedVolatility implements Volatility {
  readonly kind = 'matched';
  readonly schedule: Schedule;
  constructor(schedule: Schedule | ScheduleConfig) {
    this.schedule = 'at' in schedule ? schedule : createSchedule(schedule);
  }
  g2(t: tf.Tensor): tf.Tensor {
    return matchedG2(this.schedule.at(t, 1));
  }
  toConfig(): VolatilityConfig {
    return { kind: 'matched', schedule: this.schedule.toConfig() };
  }
  parameters(): NamedVariables {
    return new Map();
  }
  dispose(): void {}
}

export function createVolatility(config: VolatilityConfig, rng?: Rng | number): Volatility {
  switch (config.kind) {
    case 'neural':
      return new NeuralVolatility({ ...config, rng });
    case 'constant':
      return new ConstantVolatility(config.value);
    case 'matched':
      return new MatchedVolatility(config.schedule);
    default:
      throw new RangeError(`unknown volatility kind '${(config as { kind: string }).kind}': expected neural, constant or matched`);
  }
}
