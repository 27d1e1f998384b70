/**
 * Training and sampling a model whose forward process is the custom
 * {@link TrigonometricProcess}, with nothing but the library's public API:
 *
 * - the model is built from a JSON config by `createModel` (the process is registered first),
 *   with the library's `Predictor` x̂_θ(z, t) and a learned volatility g_φ(t) = softplus(NN(t));
 * - the loss is the library's `diffusionLoss` (NFDM's bound, docs/maths/objectives.md#the-nfdm-bound):
 *     L = E_{t ~ U(0,1), ε} ‖fB(z_t, t, x) − fB(z_t, t, x̂_θ(z_t, t))‖² / (2 g²(t)),
 *   with fB the reverse drift of the closed forms, here of the trigonometric process;
 * - sampling is `DiffusionModel.sample` (reverse SDE or probability-flow ODE from t = 1 to 0).
 */
import { Rng, trainableVariables } from '@nfdm/core';
import { createModel, type DiffusionModel, diffusionLoss, MODEL_FORMAT, type ModelConfig } from '@nfdm/models';
import * as tf from '@tensorflow/tfjs';
import { registerTrigonometricProcess, TRIGONOMETRIC_KIND } from './trigonometric.js';

/**
 * The 8-Gaussians toy data: x = (4 (cos kπ/4, sin kπ/4) + 0.5 n) / √2, k uniform in {0, …, 7},
 * n ~ N(0, I). Returns [n, 2].
 */
export function eightGaussians(rng: Rng, n: number): tf.Tensor2D {
  const out = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    const k = rng.int(8);
    out[2 * i] = (4 * Math.cos((k * Math.PI) / 4) + 0.5 * rng.normal()) / Math.SQRT2;
    out[2 * i + 1] = (4 * Math.sin((k * Math.PI) / 4) + 0.5 * rng.normal()) / Math.SQRT2;
  }
  return tf.tensor2d(out, [n, 2]);
}

export interface ModelOptions {
  /** σ at t = 0 of the trigonometric process (default 0.01). */
  delta?: number;
  /** Hidden widths of the predictor and the volatility networks (default [64, 64]). */
  hidden?: number[];
  /** Seed of the initial weights (default 0). */
  seed?: number;
}

/** The JSON config of a 2-D model with the trigonometric forward process. */
export function trigonometricModelConfig(options: ModelOptions = {}): ModelConfig {
  const hidden = options.hidden ?? [64, 64];
  return {
    format: MODEL_FORMAT,
    dim: 2,
    forward: { kind: TRIGONOMETRIC_KIND, delta: options.delta ?? 0.01 },
    predictor: { hidden },
    volatility: { kind: 'neural', hidden, floor: 1e-3 },
    seed: options.seed ?? 0,
  };
}

/** Register the process and build the model (deterministic weights from the seed). */
export function buildModel(options: ModelOptions = {}): DiffusionModel {
  registerTrigonometricProcess();
  return createModel(trigonometricModelConfig(options));
}

export interface TrainOptions {
  steps: number;
  /** Batch size (default 256). */
  batch?: number;
  /** Adam learning rate (default 1e-3). */
  lr?: number;
  /** Seed of the data and (t, ε) draws (default 1). */
  seed?: number;
  /** Called after each step with the step index and the loss. */
  onStep?: (step: number, loss: number) => void;
}

/**
 * Train every trainable variable of the model (predictor and volatility; the trigonometric
 * process has none) with Adam on the diffusion term of the bound. Returns the loss of every
 * step. One tf.tidy per step; the optimizer is disposed at the end.
 */
export function train(model: DiffusionModel, options: TrainOptions): number[] {
  const rng = new Rng(options.seed ?? 1);
  const batch = options.batch ?? 256;
  const optimizer = tf.train.adam(options.lr ?? 1e-3);
  const variables = trainableVariables(model);
  const losses: number[] = [];
  try {
    for (let step = 0; step < options.steps; step++) {
      const loss = tf.tidy(() => {
        const x = eightGaussians(rng, batch);
        const noise = model.drawNoise(rng, batch);
        return optimizer.minimize(() => diffusionLoss(model, x, noise), true, variables) as tf.Scalar;
      });
      const value = loss.dataSync()[0];
      loss.dispose();
      losses.push(value);
      options.onStep?.(step, value);
    }
  } finally {
    optimizer.dispose();
  }
  return losses;
}

/** Mean distance of samples [n, 2] to the nearest of the 8 centres 4(cos kπ/4, sin kπ/4)/√2. */
export function meanDistanceToCentres(samples: tf.Tensor): number {
  const v = samples.dataSync();
  const n = samples.shape[0];
  let total = 0;
  for (let i = 0; i < n; i++) {
    let best = Number.POSITIVE_INFINITY;
    for (let k = 0; k < 8; k++) {
      const cx = (4 * Math.cos((k * Math.PI) / 4)) / Math.SQRT2;
      const cy = (4 * Math.sin((k * Math.PI) / 4)) / Math.SQRT2;
      best = Math.min(best, Math.hypot(v[2 * i] - cx, v[2 * i + 1] - cy));
    }
    total += best;
  }
  return total / n;
}
