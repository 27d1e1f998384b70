/**
 * Benchmark: forward + backward of an MLP with time tangents (the NFDM forward network's
 * shape: NN([x, t]) → ∂/∂t), batch 1024, widths 64 and 256, on the current tfjs backend.
 * Also measures the same network with tfjs's default matMul gradient (transposed-operand
 * kernels) as the in-run reference for the hand-written Dense gradient.
 * "nfdm order k" rows run the tfjs kernels (native kernels switched off); "native order k" rows
 * run the same MLP on @nfdm/native's fused kernels (when built; `--native no` skips them).
 *
 * Usage: node bench/mlp-tangents.mjs [--backend wasm|cpu] [--reps N] [--native yes|no] → JSON on stdout.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, nativeKernelsStatus, Rng, setNativeKernels, TimeMLP, trainableVariables } from '../dist/index.js';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : 0.5 * (s[s.length / 2 - 1] + s[s.length / 2]);
};

/** Plain tfjs MLP with default gradients, same maths (the reference). */
function naiveJetLoss(net, x, t) {
  const B = x.shape[0];
  const input = tf.concat([tf.concat([x, t], 1), tf.concat([tf.zerosLike(x), tf.onesLike(t)], 1)], 0);
  let h = input;
  net.net.layers.forEach((layer, i) => {
    const y = tf.matMul(h, layer.weight);
    const [v, d] = tf.split(y, 2, 0);
    h = tf.concat([tf.add(v, layer.bias), d], 0);
    if (i < net.net.layers.length - 1) {
      const [hv, hd] = tf.split(h, 2, 0);
      const a = tf.selu(hv);
      const mask = tf.cast(tf.step(hv), 'bool');
      const p1 = tf.where(mask, tf.scalar(1.0507009873554805), tf.add(a, 1.0507009873554805 * 1.6732632423543772));
      h = tf.concat([a, tf.mul(p1, hd)], 0);
    }
  });
  const [v, d] = tf.split(h, 2, 0);
  return tf.div(tf.add(tf.sum(tf.square(v)), tf.sum(tf.square(d))), B);
}

function jetLoss(net, x, t, order) {
  const parts = net.jet(x, t, order).parts();
  return tf.div(tf.addN(parts.map((p) => tf.sum(tf.square(p)))), x.shape[0]);
}

async function measure(name, lossFn, variables, reps) {
  const step = () =>
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(lossFn, variables);
      // Force completion: read one scalar that depends on every gradient.
      return tf.addN([value, ...Object.values(grads).map((g) => tf.sum(g))]);
    });
  for (let i = 0; i < 3; i++) step().dataSync();
  const times = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const r = step();
    r.dataSync();
    times.push(performance.now() - t0);
    r.dispose();
  }
  const profile = await tf.profile(() => {
    step().dispose();
  });
  return { name, median_ms: median(times), kernels_per_step: profile.kernels.length, reps };
}

export async function runMlpTangentBench({
  backend = 'wasm',
  reps = 20,
  widths = [64, 256],
  batch = 1024,
  reference = true,
  native = true,
} = {}) {
  const report = await initBackend(backend);
  const nativeStatus = setNativeKernels(true);
  const withNative = native && nativeStatus.enabled;
  const rng = new Rng(0);
  const x = rng.normalTensor([batch, 2]);
  const t = rng.uniformTensor([batch, 1]);
  const results = [];
  for (const width of widths) {
    const net = new TimeMLP({ dataDim: 2, outDim: 4, hidden: [width, width, width, width], activation: 'selu', rng: 1 });
    const vars = trainableVariables(net);
    setNativeKernels(false);
    results.push({ width, ...(await measure('nfdm order 1', () => jetLoss(net, x, t, 1), vars, reps)) });
    results.push({ width, ...(await measure('nfdm order 2', () => jetLoss(net, x, t, 2), vars, reps)) });
    if (withNative) {
      setNativeKernels(true);
      results.push({ width, ...(await measure('native order 1', () => jetLoss(net, x, t, 1), vars, reps)) });
      results.push({ width, ...(await measure('native order 2', () => jetLoss(net, x, t, 2), vars, reps)) });
      setNativeKernels(false);
    }
    if (reference) {
      results.push({ width, ...(await measure('reference: default tfjs gradients, order 1', () => naiveJetLoss(net, x, t), vars, reps)) });
    }
    net.dispose();
  }
  tf.dispose([x, t]);
  setNativeKernels(undefined);
  const status = nativeKernelsStatus();
  return {
    backend: report.backend,
    batch,
    native: withNative
      ? { isa: status.addon?.isa, threads: status.addon?.threads }
      : { skipped: native ? nativeStatus.reason : '--native no' },
    results,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const out = await runMlpTangentBench({
    backend: arg('backend', 'wasm'),
    reps: Number(arg('reps', 20)),
    reference: arg('reference', 'yes') !== 'no',
    native: arg('native', 'yes') !== 'no',
  });
  console.log(JSON.stringify(out));
}
