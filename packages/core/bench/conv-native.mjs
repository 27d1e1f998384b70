/**
 * Benchmark: the U-Net's convolutions on @nfdm/native's kernels against the tfjs path (wasm).
 *
 * 1. `conv` rows: one 3×3 stride-1 `Conv2d.jet` on an order-0 batch (conv + bias), forward and
 *    backward (∂x, ∂kernel, ∂bias) under tf.variableGrads, at [B, 28, 28, 16→16],
 *    [B, 14, 14, 32→32], [B, 7, 7, 32→32] (B = 32), native on vs off.
 * 2. `step` rows: one U-Net NFDM loss + gradients — tf.variableGrads(() => model.loss(x, noise))
 *    of createModel({ dim: 784, forward: nfdm, predictor, volatility constant 1 }) with the
 *    'compact' U-Net (base 16 or --base, multipliers [1, 2, 2], 8 groups, 28×28×1) — at batch 8 and 32,
 *    native on vs off. Needs @nfdm/models built (skipped otherwise). Adam is not included.
 * Both switch with setNativeKernels(true | false) in one process; medians over `--reps` runs
 * after warm-up. The MLP kernels (time embedding) switch with the same flag.
 *
 * Usage: node bench/conv-native.mjs [--reps N] [--step-reps N] [--batches 8,32] [--base 16] [--no-conv] [--no-step]
 *        [--native-only] (step rows without the slow tfjs-only runs) → JSON on stdout.
 * With the addon's image kernels, "native" covers the convolutions, GroupNorm(+SiLU) jets and
 * skip concatenations as well as the time-embedding MLP; "tfjs" switches all of them off.
 */
import * as tf from '@tensorflow/tfjs';
import { Conv2d, ImageJet, initBackend, nativeKernelsStatus, Rng, setNativeKernels, trainableVariables } from '../dist/index.js';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : 0.5 * (s[s.length / 2 - 1] + s[s.length / 2]);
};
const log = (msg) => process.stderr.write(`[bench:conv-native] ${msg}\n`);

/** Median ms of `step` (returns a tensor to read) for native on and off, interleaved run by run. */
async function compare(step, reps, warmup = 2, modes = [true, false]) {
  const out = {};
  for (const native of modes) {
    setNativeKernels(native);
    for (let i = 0; i < warmup; i++) tf.dispose(step().dataSync());
  }
  const times = { native: [], tfjs: [] };
  for (let r = 0; r < reps; r++) {
    for (const native of modes) {
      setNativeKernels(native);
      const t0 = performance.now();
      const result = step();
      result.dataSync();
      times[native ? 'native' : 'tfjs'].push(performance.now() - t0);
      result.dispose();
    }
  }
  for (const native of modes) {
    setNativeKernels(native);
    const profile = await tf.profile(() => step().dispose());
    const key = native ? 'native' : 'tfjs';
    out[key] = { median_ms: median(times[key]), kernels: profile.kernels.length };
  }
  if (out.tfjs && out.native) out.speedup = out.tfjs.median_ms / out.native.median_ms;
  setNativeKernels(undefined);
  return out;
}

async function convRows(reps) {
  const rows = [];
  for (const [B, H, cin, cout] of [
    [32, 28, 16, 16],
    [32, 14, 32, 32],
    [32, 7, 32, 32],
  ]) {
    const rng = new Rng(H);
    const conv = new Conv2d({ inChannels: cin, outChannels: cout, rng });
    const x = tf.variable(rng.normalTensor([B, H, H, cin]), true);
    const R = rng.normalTensor([B, H, H, cout]);
    const vars = [x, conv.kernel, conv.bias];
    const step = () =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(conv.jet(new ImageJet(x, 0)).data, R)), vars);
        return tf.addN([value, ...Object.values(grads).map((g) => tf.sum(g))]);
      });
    const r = await compare(step, reps);
    const row = { shape: `[${B}, ${H}, ${H}, ${cin}→${cout}]`, ...r };
    log(`conv ${row.shape}: native ${r.native.median_ms.toFixed(2)} ms, tfjs ${r.tfjs.median_ms.toFixed(2)} ms (×${r.speedup.toFixed(2)})`);
    rows.push(row);
    conv.dispose();
    tf.dispose([x, R]);
  }
  return rows;
}

async function stepRows(reps, batches, base, withTfjs) {
  let models;
  try {
    models = await import('@nfdm/models');
  } catch (error) {
    return { skipped: `@nfdm/models not available (${String(error.message).split('\n')[0]})` };
  }
  const net = {
    arch: 'unet',
    image: { height: 28, width: 28, channels: 1 },
    base,
    multipliers: [1, 2, 2],
    layout: 'compact',
    groups: 8,
  };
  const model = models.createModel({
    format: 'nfdm-model/1',
    dim: 784,
    forward: { kind: 'nfdm', network: net },
    predictor: { network: net },
    volatility: { kind: 'constant', value: 1 },
    seed: 1,
  });
  const vars = trainableVariables(model);
  const rows = [];
  for (const B of batches) {
    const rng = new Rng(B);
    const x = rng.uniformTensor([B, 784], -1, 1);
    const noise = models.drawDiffusionNoise(rng, B, 784, 0);
    const step = () =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => model.loss(x, noise), vars);
        return tf.addN([value, ...Object.values(grads).map((g) => tf.sum(g))]);
      });
    const r = await compare(step, reps, 1, withTfjs ? [true, false] : [true]);
    log(
      `U-Net NFDM step (base ${base}), batch ${B}: native ${r.native.median_ms.toFixed(0)} ms` +
        (r.tfjs ? `, tfjs ${r.tfjs.median_ms.toFixed(0)} ms (×${r.speedup.toFixed(2)})` : ''),
    );
    rows.push({ batch: B, ...r });
    tf.dispose([x, noise.t, noise.eps]);
  }
  model.dispose?.();
  return { network: net, rows };
}

const reps = Number(arg('reps', '15'));
const stepReps = Number(arg('step-reps', '5'));
const batches = arg('batches', '8,32').split(',').map(Number);
const report = await initBackend(arg('backend', 'wasm'));
const status = nativeKernelsStatus();
if (!status.conv2d) throw new Error(`native conv kernels are off: ${status.reason}`);
const result = {
  bench: 'conv-native',
  backend: report.backend,
  native: status.addon,
  reps,
  ...(process.argv.includes('--no-conv') ? {} : { conv: await convRows(reps) }),
  ...(process.argv.includes('--no-step')
    ? {}
    : {
        step: {
          reps: stepReps,
          ...(await stepRows(stepReps, batches, Number(arg('base', '16')), !process.argv.includes('--native-only'))),
        },
      }),
};
console.log(JSON.stringify(result));
