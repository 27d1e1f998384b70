/**
 * The frozen-prediction ('ddim') ODE steps of frozen-step.ts against exact answers:
 * - with a predictor that does not depend on z, the probability-flow ODE of ANY Gaussian process
 *   (here a randomly initialised learned NFDM process) is solved exactly by one step, so one step,
 *   twenty steps and a tight dopri5 solve of the same ODE agree;
 * - with Gaussian data, a fixed VP process and the analytic optimal predictor (the oracle of
 *   oracle.test.ts), the steps converge to the exact ODE map at first order (error halves when
 *   the steps double);
 * - bad options are errors.
 */
import { initBackend } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ConstantVolatility,
  DiffusionModel,
  FixedGaussianProcess,
  MatchedVolatility,
  NeuralGaussianProcess,
  type Predictor,
  type SampleOptions,
} from '../src/index.js';
import { AnalyticPredictor } from './analytic-predictor.js';

beforeAll(async () => {
  await initBackend('wasm');
});

/** A predictor that returns fixed rows c [1, D] (or a function of t only): no z dependence. */
class FixedPredictor {
  readonly offset = 0;
  constructor(
    readonly dim: number,
    readonly value: (t: tf.Tensor) => tf.Tensor,
  ) {}
  predict(z: tf.Tensor, t: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.mul(tf.onesLike(z), this.value(t)));
  }
  toConfig() {
    return { fixed: true };
  }
  parameters() {
    return new Map<string, tf.Variable>();
  }
  dispose(): void {}
}

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

describe("frozen-prediction steps (solver 'ddim')", () => {
  it('solve the ODE of a z-independent prediction exactly, for a learned NFDM process: 1 step = 20 steps = dopri5', () => {
    const D = 3;
    const forward = new NeuralGaussianProcess({ dim: D, hidden: [16, 16], activation: 'tanh', rng: 4 });
    const c = tf.tensor2d([[0.7, -0.3, 1.2]]);
    const predictor = new FixedPredictor(D, () => c) as unknown as Predictor;
    const model = new DiffusionModel(forward, predictor, new ConstantVolatility(1));
    const draw = (options: Omit<SampleOptions, 'n'>) => model.sample({ n: 64, mode: 'ode', seed: 3, ...options }).samples;
    const one = draw({ solver: 'ddim', steps: 1 });
    const twenty = draw({ solver: 'ddim', steps: 20 });
    const exact = draw({ solver: 'dopri5', adaptive: { rtol: 1e-7, atol: 1e-7 } });
    expect(maxAbsDiff(one, twenty)).toBeLessThan(1e-5);
    expect(maxAbsDiff(one, exact)).toBeLessThan(1e-4);
    // The end point is F(ε, t₀, c) = c + δ ε with ε = z₁ − μ(c, 1) = z₁ (μ(·, 1) = 0, σ(·, 1) = 1).
    const z1 = tf.tidy(
      () =>
        model
          .sample({ n: 64, mode: 'ode', seed: 3, solver: 'ddim', steps: 1, trajectory: true })
          .trajectory?.slice([0, 0, 0], [1, -1, -1])
          .reshape([64, D]) as tf.Tensor,
    );
    const expected = tf.add(c, tf.mul(forward.delta, z1));
    expect(maxAbsDiff(one, expected)).toBeLessThan(1e-5);
    tf.dispose([one, twenty, exact, z1, expected, c]);
    model.dispose();
  });

  it('converge at first order to the exact ODE map (Gaussian data, VP, analytic predictor)', () => {
    const forward = new FixedGaussianProcess(2, { name: 'vp' });
    const predictor = new AnalyticPredictor(forward.schedule, [0.6, -0.4], [0.5, 1.4]) as unknown as Predictor;
    const model = new DiffusionModel(forward, predictor, new MatchedVolatility({ name: 'vp' }));
    const draw = (options: Omit<SampleOptions, 'n'>) => model.sample({ n: 200, mode: 'ode', seed: 5, ...options }).samples;
    const exact = draw({ solver: 'dopri5', adaptive: { rtol: 1e-7, atol: 1e-7 } });
    const errors = [25, 50, 100, 200, 400].map((steps) => {
      const s = draw({ solver: 'ddim', steps });
      const e = maxAbsDiff(s, exact);
      s.dispose();
      return e;
    });
    // Measured: 0.247, 0.126, 0.063, 0.032, 0.016 (max |Δ| over 200 samples).
    expect(errors[4]).toBeLessThan(0.02);
    for (let i = 1; i < errors.length; i++) {
      const ratio = errors[i - 1] / errors[i];
      expect(ratio).toBeGreaterThan(1.6);
      expect(ratio).toBeLessThan(2.5);
    }
    exact.dispose();
  });

  it('refuse rtol/atol and step counts that are not positive integers', () => {
    const forward = new FixedGaussianProcess(2, { name: 'vp' });
    const predictor = new AnalyticPredictor(forward.schedule, [0, 0], [1, 1]) as unknown as Predictor;
    const model = new DiffusionModel(forward, predictor, new MatchedVolatility({ name: 'vp' }));
    expect(() => model.sample({ n: 4, mode: 'ode', solver: 'ddim', adaptive: { rtol: 1e-3 } })).toThrow(/fixed steps/);
    expect(() => model.sample({ n: 4, mode: 'ode', solver: 'ddim', steps: 0 })).toThrow(/positive integer/);
    expect(() => model.sample({ n: 4, mode: 'ode', solver: 'ddim', steps: 2.5 })).toThrow(/positive integer/);
  });
});
