/**
 * Benchmark: one DiffFlow training update (issue 17 point 4) as @nfdm/training's Trainer runs it
 * for the `diffflow` family: a batch, the flexible/progressive grid and the forward noise δ^F
 * [N, B, d] from the trainer's generators, the path-KL loss and its memory-saving exact gradient
 * (diffflowPathKLGrad: one forward walk of N drift passes, then per step i = N−1…0 the drift and
 * score at x_{i+1} and the drift at x_i, each re-run with its gradient — ~5N network passes),
 * global-norm clipping, fused Adam and the EMA.
 *
 * The default is the reproduction's DiffFlow configuration (apps/reproduce budgets.ts, `full`
 * density budget, reproduction/full/configs/density.json: `diffflow: { hidden: [32, 32], batch: 128,
 * lr: 5e-3, ema: 0.95, clip: 1 }`, cosine schedule over 200 updates; the `diffflow` preset maps
 * hidden [32, 32] to FourierMLPs of C = 32 channels and L = 1 hidden layer, and fixes the time grid
 * N = 30, t ∈ [0.001, 0.05], exponent 0.9, g = 0.2) on 2-D checkerboard data.
 *
 * Usage:
 *   node bench/diffflow-step.mjs [--native on|off] [--channels 32] [--layers 1] [--batch 128] [--steps-n 30]
 *        [--repeats 10] [--warmup 15] [--backend wasm|cpu] [--profile on|off] [--seed 0]
 *
 * `--native` maps to `setNativeKernels` of @nfdm/core (as NFDM_NATIVE). The default warm-up is 15
 * updates: the native path's per-node JavaScript needs ~10 before V8 has optimised it (20–28 ms per
 * update → 10–13 ms at the reproduction's size). Prints one JSON object:
 * train_step_ms_median / p25 / p75 over `repeats` timed steps after `warmup` untimed ones (the
 * Trainer's own per-step ms), the losses, and with `--profile on` one tf.profile'd step: kernels
 * per step and the kernels that took the most time.
 */

import { profileStep } from './profile-step.mjs';
import { parseOptions, timingSummary, wasmHeapMb } from './unet-reference.mjs';

const args = parseOptions(process.argv.slice(2), {
  native: ['onoff', 'on'],
  channels: ['int', '32'],
  layers: ['int', '1'],
  batch: ['int', '128'],
  'steps-n': ['int', '30'],
  repeats: ['int', '10'],
  warmup: ['int', '15'],
  backend: ['string', 'wasm'],
  profile: ['onoff', 'on'],
  seed: ['int', '0'],
});
const tf = await import('@tensorflow/tfjs');
const { initBackend, setNativeKernels } = await import('@nfdm/core');
const { createDiffFlowModel } = await import('../dist/index.js');
const { Trainer } = await import('@nfdm/training');
const { sampleToy } = await import('@nfdm/datasets');

/** The reproduction's DiffFlow model config (the `diffflow` preset's, with hidden [C, …] of length L + 1). */
function modelConfig(o) {
  return {
    format: 'nfdm-diffflow/1',
    dim: 2,
    network: { channels: o.channels, layers: o.layers },
    time: { N: o.stepsN, tMin: 0.001, tMax: 0.05, exponent: 0.9, g: 0.2, flexible: false, progressive: [] },
    seed: o.seed,
  };
}

/** A Trainer with the reproduction's DiffFlow settings on a pool of checkerboard points. */
function makeTrainer(model, o) {
  const pool = sampleToy('checkerboard', 20000, 1);
  const data = {
    dim: 2,
    batch: (rng, b) => {
      const out = new Float32Array(2 * b);
      for (let i = 0; i < b; i++) {
        const k = rng.int(pool.n);
        out[2 * i] = pool.data[2 * k];
        out[2 * i + 1] = pool.data[2 * k + 1];
      }
      return tf.tensor2d(out, [b, 2]);
    },
  };
  const config = {
    steps: 200,
    batchSize: o.batch,
    seed: o.seed,
    schedule: { kind: 'cosine', lr: 5e-3 },
    ema: 0.95,
    clipNorm: 1,
    evalEvery: 0,
    checkpointEvery: 0,
  };
  return new Trainer({ model, data, config, metricsPath: null });
}

const report = await initBackend(args.backend);
const nativeStatus = setNativeKernels(args.native);
const model = createDiffFlowModel(modelConfig(args));
const trainer = makeTrainer(model, args);
const losses = [];
for (let i = 0; i < args.warmup; i++) losses.push(trainer.trainStep().loss);
const times = [];
for (let i = 0; i < args.repeats; i++) {
  const s = trainer.trainStep();
  times.push(s.ms);
  losses.push(s.loss);
}
const profile = args.profile ? await profileStep(trainer, 12) : {};
let params = 0;
for (const [, v] of model.parameters()) if (v.trainable) params += v.size;
const out = {
  bench: 'diffflow-step',
  channels: args.channels,
  layers: args.layers,
  batch: args.batch,
  N: args.stepsN,
  warmup: args.warmup,
  repeats: args.repeats,
  backend: report.backend,
  native: nativeStatus.enabled,
  ...(nativeStatus.enabled ? {} : { native_reason: nativeStatus.reason }),
  ...timingSummary('train_step', times),
  params,
  ...profile,
  wasm_heap_mb: wasmHeapMb(tf),
  losses: losses.map((l) => Number(l.toPrecision(6))),
  loadavg1: Number((await import('node:os')).loadavg()[0].toFixed(2)),
  node: process.version,
};
trainer.dispose();
model.dispose();
console.log(JSON.stringify(out));
