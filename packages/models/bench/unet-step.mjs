/**
 * Benchmark: the trainer's NFDM training step (loss, gradients, Adam) on the reference U-Net of
 * issue 17 (28×28×1 images; BENCHMARKS.md "U-Net NFDM training step"): a learned NFDM forward
 * process (δ = 0.01) and a data predictor, each a `compact` U-Net (multipliers [1, 2, 2], one
 * ResBlock per level, GroupNorm(8), no attention, no dropout), the neural volatility of the `nfdm`
 * preset (SELU MLP 4×64 of raw t) or a constant g = 1. The step is @nfdm/training's
 * `Trainer.trainStep` (fused Adam 1e-3, one read-back per step; no EMA or clipping, as the PyTorch
 * reference torch_unet_step.py).
 *
 * Usage:
 *   node bench/unet-step.mjs --base B --batch N [--threads 1|2] [--native on|off] [--layout compact|adm]
 *        [--repeats R] [--warmup W] [--backend wasm|cpu] [--volatility neural|constant] [--profile on|off]
 *
 * `--native` maps to `setNativeKernels` of @nfdm/core (as NFDM_NATIVE), `--threads` to
 * NFDM_NATIVE_THREADS (read by @nfdm/native when its thread pool starts). Today only the MLP jets
 * (time MLPs, volatility) use either; the convolutions run on tfjs kernels. Each run should be a
 * fresh process (the thread count is fixed once the addon has started its pool).
 *
 * Prints one JSON object: train_step_ms_median / p25 / p75 over `repeats` timed steps after
 * `warmup` untimed ones, every step's ms, peak RSS (getrusage), the wasm heap (it only grows, so
 * its size at the end is its peak), parameter counts, the backend and the native-kernel status;
 * with `--profile on` (default) also one tf.profile'd step: kernels per step, peak tensor bytes
 * and the kernels that took the most time.
 */

import { profileStep } from './profile-step.mjs';
import { parseOptions, peakRssMb, referenceConfig, referenceNetwork, timingSummary, wasmHeapMb } from './unet-reference.mjs';

const args = parseOptions(process.argv.slice(2), {
  base: ['int', '16'],
  batch: ['int', '32'],
  threads: ['int', '1'],
  native: ['onoff', 'on'],
  layout: ['string', 'compact'],
  repeats: ['int', '5'],
  warmup: ['int', '2'],
  backend: ['string', 'wasm'],
  volatility: ['string', 'neural'],
  profile: ['onoff', 'on'],
  seed: ['int', '0'],
});
// Before @nfdm/core loads the addon: its thread pool reads NFDM_NATIVE_THREADS once.
process.env.NFDM_NATIVE_THREADS = String(args.threads);
const tf = await import('@tensorflow/tfjs');
const { initBackend, setNativeKernels } = await import('@nfdm/core');
const { createModel } = await import('../dist/index.js');
const { Trainer } = await import('@nfdm/training');

/** Trainable parameter counts of the model's parts (compared with PyTorch's by the driver). */
function parameterCounts(model) {
  const count = (part) => {
    let n = 0;
    for (const [, v] of part.parameters()) if (v.trainable) n += v.size;
    return n;
  };
  return { forward: count(model.forward), predictor: count(model.predictor), volatility: count(model.volatility) };
}

/** A Trainer (Adam 1e-3, no EMA, no clipping) on stand-in image rows, uniform in [−1, 1] (values do not change the cost). */
function makeTrainer(model, batch, steps) {
  const dim = model.forward.dim;
  const data = { dim, batch: (rng, b) => rng.uniformTensor([b, dim], -1, 1) };
  const config = {
    steps,
    batchSize: batch,
    seed: 1,
    schedule: { kind: 'constant', lr: 1e-3 },
    ema: null,
    clipNorm: null,
    evalEvery: 0,
    checkpointEvery: 0,
  };
  return new Trainer({ model, data, config, metricsPath: null });
}

/** Build the model and its trainer (parameter counts into `state`), warm up, time `repeats` steps: the JSON report. */
async function run(o, state) {
  const report = await initBackend(o.backend);
  const nativeStatus = setNativeKernels(o.native);
  const model = createModel(referenceConfig(o));
  state.params = parameterCounts(model);
  const trainer = makeTrainer(model, o.batch, o.warmup + o.repeats + 2);
  const losses = [];
  for (let i = 0; i < o.warmup; i++) losses.push(trainer.trainStep().loss);
  const times = [];
  for (let i = 0; i < o.repeats; i++) {
    const s = trainer.trainStep();
    times.push(s.ms);
    losses.push(s.loss);
  }
  const profile = o.profile ? await profileStep(trainer, 10) : {};
  const out = {
    bench: 'unet-step',
    base: o.base,
    batch: o.batch,
    layout: o.layout,
    volatility: o.volatility,
    network: referenceNetwork(o.base, o.layout),
    warmup: o.warmup,
    repeats: o.repeats,
    backend: report.backend,
    ...(report.wasm ? { wasm: report.wasm } : {}),
    native: nativeStatus.enabled,
    ...(nativeStatus.enabled ? {} : { native_reason: nativeStatus.reason }),
    threads: o.threads,
    native_threads: nativeStatus.addon?.threads ?? null,
    ...timingSummary('train_step', times),
    params: state.params,
    ...profile,
    peak_rss_mb: peakRssMb(),
    wasm_heap_mb: wasmHeapMb(tf),
    losses: losses.map((l) => Number(l.toPrecision(6))),
    node: process.version,
  };
  trainer.dispose();
  model.dispose();
  return out;
}

/** What a failed run reports (the wasm heap stops at 4 GB: tfjs-wasm then fails with a RuntimeError). */
function failure(o, state, error) {
  const message = String(error?.message ?? error).split('\n')[0];
  const heap = wasmHeapMb(tf);
  const oom = /memory access out of bounds|out of memory|Cannot enlarge memory|Array buffer allocation failed/i.test(message);
  return {
    bench: 'unet-step',
    base: o.base,
    batch: o.batch,
    layout: o.layout,
    native: o.native,
    threads: o.threads,
    error: oom ? `out of memory (${message}; wasm heap ${heap?.toFixed(0)} MB of at most 4096)` : message,
    oom,
    ...state,
    peak_rss_mb: peakRssMb(),
    wasm_heap_mb: heap,
  };
}

const state = {};
try {
  console.log(JSON.stringify(await run(args, state)));
} catch (error) {
  console.log(JSON.stringify(failure(args, state, error)));
  process.exitCode = 1;
}
