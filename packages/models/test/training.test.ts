/**
 * A short seeded NFDM training run on 8 Gaussians: the learned forward process
 * (NeuralGaussianProcess), the predictor and the learned volatility (NeuralVolatility) are
 * trained jointly with Adam on the diffusion term of the bound (docs/maths/objectives.md#training-step):
 *
 *   L(φ, θ) = E_{t ~ U(0,1), ε} [ ‖fB_φ(z_t, t, x) − fB_φ(z_t, t, x̂_θ(z_t, t))‖² / (2 g_φ²(t)) ],
 *   z_t = μ_φ(x, t) + σ_φ(x, t) ε.
 *
 * Checks: the loss goes down (mean of the last 30 losses < mean of the first 30 — an assertion
 * on averages of a noisy Monte Carlo loss, not on speed), it stays finite, every parameter
 * group receives gradient, and tf.memory().numTensors is constant across steps (after the
 * first, which creates Adam's slot variables).
 */
import { initBackend, Rng, trainableVariables } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModel, MODEL_FORMAT, NeuralGaussianProcess, NeuralVolatility, Predictor } from '../src/index.js';
import { eightGaussians, mean } from './toy-data.js';

beforeAll(async () => {
  await initBackend('wasm');
});

/**
 * The 8-Gaussians toy: x = (4 (cos kπ/4, sin kπ/4) + 0.5 n) / √2 with k uniform in {0..7}
 * and n ~ N(0, I); returns [batch, 2].
 */

describe('NFDM training (8 Gaussians, seeded)', () => {
  it('150 Adam steps lower the loss, with a constant number of tensors', () => {
    const model = createModel({
      format: MODEL_FORMAT,
      dim: 2,
      forward: { kind: 'nfdm', hidden: [32, 32] },
      predictor: { hidden: [32, 32] },
      volatility: { kind: 'neural', hidden: [32, 32] },
      seed: 0,
    });
    expect(model.forward).toBeInstanceOf(NeuralGaussianProcess);
    expect(model.predictor).toBeInstanceOf(Predictor);
    expect(model.volatility).toBeInstanceOf(NeuralVolatility);

    const variables = trainableVariables(model);
    const initial = new Map([...model.parameters()].map(([name, v]) => [name, Float32Array.from(v.dataSync())]));
    const optimizer = tf.train.adam(1e-3);
    const rng = new Rng(1);
    const batch = 256;
    const steps = 150;
    const losses: number[] = [];
    const tensorCounts: number[] = [];
    for (let step = 0; step < steps; step++) {
      const loss = tf.tidy(() => {
        const x = eightGaussians(rng, batch);
        const noise = model.drawNoise(rng, batch);
        return optimizer.minimize(() => model.loss(x, noise), true, variables) as tf.Scalar;
      });
      losses.push(loss.dataSync()[0]);
      loss.dispose();
      tensorCounts.push(tf.memory().numTensors);
    }

    expect(losses.every(Number.isFinite)).toBe(true);
    const first = mean(losses.slice(0, 30));
    const last = mean(losses.slice(-30));
    console.info(`[training] mean loss of the first 30 steps ${first.toFixed(3)}, of the last 30 ${last.toFixed(3)}`);
    expect(last).toBeLessThan(first);
    // Step 0 creates Adam's two slot variables per parameter; after it nothing may accumulate.
    expect(new Set(tensorCounts.slice(1)).size).toBe(1);
    // The forward process, the predictor and the volatility all moved.
    const moved = new Set<string>();
    for (const [name, v] of model.parameters()) {
      const start = initial.get(name) as Float32Array;
      if (v.trainable && v.dataSync().some((w, i) => w !== start[i])) moved.add(name.split('.')[0]);
    }
    expect([...moved].sort()).toEqual(['forward', 'predictor', 'volatility']);
    optimizer.dispose();
    model.dispose();
  });
});
