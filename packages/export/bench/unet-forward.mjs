/**
 * Issue 17's sampling cost: one evaluation of the probability-flow velocity f(z, t) (the
 * predictor U-Net, then the forward-process U-Net with its t-tangent at x̂) of the reference U-Net
 * NFDM model (packages/models/bench/unet-reference.mjs) at batch N, in tfjs
 * (`DiffusionModel.velocity`, the sampler's field) and in onnxruntime on the exported graph
 * (`exportVelocity`, run as packages/export/test/helpers.ts `runOnnx` does, one session per thread
 * count). The zero-initialised convolutions get small random weights first so the two outputs
 * can be compared (`max_rel_diff`, relative to the largest |f|).
 *
 * Usage: node bench/unet-forward.mjs [--base 16] [--batch 32] [--threads 1,2] [--native on|off] [--repeats 5] [--warmup 1]
 *   --threads: onnxruntime intra-op thread counts; NFDM_NATIVE_THREADS takes the first.
 * Prints one JSON object: tfjs and onnxruntime medians and quartiles (ms per evaluation), peak RSS,
 * the wasm heap, the export size and the agreement of the outputs.
 */
import { parseOptions, peakRssMb, referenceConfig, timingSummary, wasmHeapMb } from '../../models/bench/unet-reference.mjs';

const o = parseOptions(process.argv.slice(2), {
  base: ['int', '16'],
  batch: ['int', '32'],
  threads: ['string', '1,2'],
  native: ['onoff', 'on'],
  repeats: ['int', '5'],
  warmup: ['int', '1'],
  t: ['string', '0.5'],
});
const threadCounts = o.threads.split(',').map(Number);
process.env.NFDM_NATIVE_THREADS = String(threadCounts[0]);
const tf = await import('@tensorflow/tfjs');
const ort = await import('onnxruntime-node');
const { initBackend, Rng, setNativeKernels } = await import('@nfdm/core');
const { createModel } = await import('@nfdm/models');
const { exportVelocity } = await import('../dist/index.js');

/** Give every zero-initialised kernel (each ResBlock's second conv, the output conv) small random weights. */
function perturbZeroKernels(model, rng) {
  for (const part of [model.forward, model.predictor]) {
    for (const [name, v] of part.parameters()) {
      if (!/(conv2|out\.conv)\.kernel$/.test(name)) continue;
      v.assign(tf.tensor(rng.normalArray(v.size, 0, 0.05), v.shape));
    }
  }
}

/** `warmup` untimed then `repeats` timed calls of an async function: the timings in ms and the last result. */
async function timeCalls(f) {
  let last;
  for (let i = 0; i < o.warmup; i++) last = await f();
  const times = [];
  for (let i = 0; i < o.repeats; i++) {
    const t0 = performance.now();
    last = await f();
    times.push(performance.now() - t0);
  }
  return { times, last };
}

/** max |a − b| / max |b|. */
function relDiff(a, b) {
  let d = 0;
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return m > 0 ? d / m : d;
}

const report = await initBackend('wasm');
const nativeStatus = setNativeKernels(o.native);
const model = createModel(referenceConfig({ base: o.base }));
const rng = new Rng(7);
perturbZeroKernels(model, rng);
const D = model.dim;
const zData = rng.normalArray(o.batch * D);
const t = Number(o.t);
const z = tf.tensor2d(zData, [o.batch, D]);
const tfjs = await timeCalls(() => tf.tidy(() => model.velocity(z, t)).data());
const bytes = exportVelocity(model);
const feeds = {
  z: new ort.Tensor('float32', zData, [o.batch, D]),
  t: new ort.Tensor('float32', new Float32Array(o.batch).fill(t), [o.batch, 1]),
};
const onnx = [];
for (const threads of threadCounts) {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: threads, interOpNumThreads: 1 });
  const run = await timeCalls(async () => (await session.run(feeds)).velocity.data);
  onnx.push({ threads, ...timingSummary('onnx', run.times), max_rel_diff: relDiff(run.last, tfjs.last) });
  await session.release();
}
console.log(
  JSON.stringify({
    bench: 'unet-forward',
    base: o.base,
    batch: o.batch,
    t,
    warmup: o.warmup,
    repeats: o.repeats,
    backend: report.backend,
    native: nativeStatus.enabled,
    native_threads: nativeStatus.addon?.threads ?? null,
    onnxruntime: ort.env.versions?.common ?? null,
    onnx_bytes: bytes.length,
    ...timingSummary('tfjs', tfjs.times),
    onnx,
    peak_rss_mb: peakRssMb(),
    wasm_heap_mb: wasmHeapMb(tf),
  }),
);
z.dispose();
model.dispose();
