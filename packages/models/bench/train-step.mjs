/**
 * Benchmark: one NFDM training step (loss + gradients + Adam) in the reference configuration
 * (docs/maths/objectives.md#training-step: SELU MLPs 4×64, batch 1024, 8 Gaussians), learned ('neural') or fixed
 * FM-OT ('fixed') forward process with the learned volatility, as in torch_reference.py.
 *
 * Usage: node bench/train-step.mjs [--forward neural|fixed] [--backend wasm|cpu] [--steps N] [--width W] [--native on|off]
 * `--native on` (default when @nfdm/native is built) runs every MLP jet on the fused native kernels,
 * `--native off` on tfjs kernels only (same as NFDM_NATIVE=0).
 * Prints one JSON object: median ms/step over the last 80% of steps, kernels/step, losses.
 */

import { initBackend, Rng, setNativeKernels } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { createModel, DiffusionModel, FixedGaussianProcess, NeuralGaussianProcess, NeuralVolatility, Predictor } from '../dist/index.js';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};

/** 8 Gaussians (docs/maths/toy-data.md#generators): centres 4(cos kπ/4, sin kπ/4), std 0.5, divided by √2. */
export function eightGaussians(rng, n) {
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const k = rng.int(8);
    out[2 * i] = (4 * Math.cos((k * Math.PI) / 4) + 0.5 * rng.normal()) / Math.SQRT2;
    out[2 * i + 1] = (4 * Math.sin((k * Math.PI) / 4) + 0.5 * rng.normal()) / Math.SQRT2;
  }
  return tf.tensor2d(out, [n, 2]);
}

export function referenceModel(forwardKind, width = 64, seed = 0) {
  const hidden = [width, width, width, width];
  if (forwardKind === 'ndm') {
    // NDM: learned transform under the linear log-SNR schedule, matched volatility (no volatility net).
    return createModel({
      format: 'nfdm-model/1',
      dim: 2,
      forward: { kind: 'ndm', schedule: { name: 'linear-logsnr' }, hidden },
      predictor: { hidden },
      volatility: { kind: 'matched', schedule: { name: 'linear-logsnr' } },
      seed,
    });
  }
  const rng = new Rng(seed);
  const forward =
    forwardKind === 'neural'
      ? new NeuralGaussianProcess({ dim: 2, hidden, rng })
      : new FixedGaussianProcess(2, { name: 'fm-ot', sigmaMin: 0.01 });
  return new DiffusionModel(forward, new Predictor({ dim: 2, hidden, rng }), new NeuralVolatility({ hidden, rng }));
}

export async function runTrainStepBench({
  forward = 'neural',
  backend = 'wasm',
  steps = 100,
  width = 64,
  batch = 1024,
  seed = 0,
  native = undefined,
  trainer = false,
} = {}) {
  const report = await initBackend(backend);
  const nativeStatus = setNativeKernels(native);
  const model = referenceModel(forward, width, seed);
  const rng = new Rng(seed + 1);
  if (trainer) return trainerBench({ report, nativeStatus, model, forward, width, batch, steps, rng });
  const optimizer = tf.train.adam(1e-3);
  const step = () => {
    const x = eightGaussians(rng, batch);
    const noise = model.drawNoise(rng, batch);
    const loss = optimizer.minimize(() => model.loss(x, noise), true);
    tf.dispose([x, noise.t, noise.eps]);
    return loss;
  };
  const times = [];
  const losses = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    const loss = step();
    losses.push(loss.dataSync()[0]);
    times.push(performance.now() - t0);
    loss.dispose();
  }
  const profile = await tf.profile(() => step().dispose());
  const tail = times.slice(Math.floor(steps / 5)).sort((a, b) => a - b);
  const median = tail[Math.floor(tail.length / 2)];
  model.dispose();
  optimizer.dispose();
  return {
    backend: report.backend,
    forward,
    width,
    batch,
    steps,
    native: nativeStatus.enabled,
    ...(nativeStatus.enabled ? {} : { native_reason: nativeStatus.reason }),
    train_step_ms_median: median,
    kernels_per_step: profile.kernels.length,
    loss_first: losses.slice(0, 20).reduce((a, b) => a + b, 0) / Math.min(20, losses.length),
    loss_last: losses.slice(-50).reduce((a, b) => a + b, 0) / Math.min(50, losses.length),
  };
}

/**
 * The step users run: @nfdm/training's Trainer.trainStep (fused Adam, one read-back), no EMA or
 * clipping (as the PyTorch reference). Also a tf.profile of one step: peak tensor bytes and the
 * kernel histogram (where time goes: kernels are ~35 µs launches on wasm).
 */
async function trainerBench({ report, nativeStatus, model, forward, width, batch, steps, rng }) {
  const { Trainer } = await import('@nfdm/training');
  const data = {
    dim: 2,
    batch: (r, b) => eightGaussians(r, b),
  };
  const t = new Trainer({
    model,
    data,
    config: {
      steps: steps + 1,
      batchSize: batch,
      seed: 1,
      schedule: { kind: 'constant', lr: 1e-3 },
      ema: null,
      clipNorm: null,
      evalEvery: 0,
      checkpointEvery: 0,
    },
    metricsPath: null,
  });
  void rng;
  const times = [];
  const losses = [];
  for (let i = 0; i < steps; i++) {
    const s = t.trainStep();
    times.push(s.ms);
    losses.push(s.loss);
  }
  const rss0 = process.memoryUsage().rss;
  const profile = await tf.profile(() => {
    t.trainStep();
  });
  const byKernel = new Map();
  for (const k of profile.kernels) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + 1);
  const tail = times.slice(Math.floor(steps / 5)).sort((a, b) => a - b);
  t.dispose();
  model.dispose();
  return {
    backend: report.backend,
    forward,
    width,
    batch,
    steps,
    trainer: true,
    native: nativeStatus.enabled,
    ...(nativeStatus.enabled ? {} : { native_reason: nativeStatus.reason }),
    train_step_ms_median: tail[Math.floor(tail.length / 2)],
    kernels_per_step: profile.kernels.length,
    peak_tensor_mb: profile.peakBytes / 2 ** 20,
    rss_mb: Math.max(rss0, process.memoryUsage().rss) / 2 ** 20,
    top_kernels: [...byKernel.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8),
    loss_first: losses.slice(0, 20).reduce((a, b) => a + b, 0) / Math.min(20, losses.length),
    loss_last: losses.slice(-20).reduce((a, b) => a + b, 0) / Math.min(20, losses.length),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const out = await runTrainStepBench({
    forward: arg('forward', 'neural'),
    backend: arg('backend', 'wasm'),
    steps: Number(arg('steps', 100)),
    width: Number(arg('width', 64)),
    native: { on: true, off: false }[arg('native', '')],
    batch: Number(arg('batch', 1024)),
    trainer: arg('trainer', 'off') === 'on',
  });
  console.log(JSON.stringify(out));
}
