/**
 * Issue-7 sampler benchmark: 4,096 points × 100 Euler–Maruyama steps of the reverse SDE with the
 * reference NFDM architecture (4 × 64 SELU networks, D = 2): tfjs (DiffusionModel.sample on the
 * default backend), onnxruntime stepwise and one-call Loop graph (1 and 2 intra-op threads), and
 * — in the same run, when /usr/bin/python3 has torch and the reference script is given —
 * PyTorch's sampler from shared/bench/torch_reference.py (1 and 2 threads). Medians over `--reps`
 * (default 5).
 *
 * Usage: node bench/sampler-vs-torch.mjs [--reps 5] [--torch ../../../shared/bench/torch_reference.py]
 */
import { execFileSync } from 'node:child_process';
import { initBackend } from '@nfdm/core';
import { createModel } from '@nfdm/models';
import { exportOnnx, loadOnnxModel } from '../dist/index.js';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const reps = Number(arg('reps', 5));
const torchScript = arg('torch', null);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : 0.5 * (s[s.length / 2 - 1] + s[s.length / 2]);
};

const backend = await initBackend();
const model = createModel({
  format: 'nfdm-model/1',
  dim: 2,
  forward: { kind: 'nfdm' },
  predictor: {},
  volatility: { kind: 'neural' },
  seed: 0,
});
const exported = exportOnnx(model, { components: false });
const rt = await loadOnnxModel(exported, { intraOpNumThreads: 1 });
const rt2 = await loadOnnxModel(exported, { intraOpNumThreads: 2 });
const n = 4096;
const steps = 100;

async function timeIt(f) {
  await f(); // warm-up
  const times = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await f();
    times.push(performance.now() - t0);
  }
  return median(times);
}

const tfjsMs = await timeIt(async () => {
  const s = model.sample({ n, steps, mode: 'sde', solver: 'euler_maruyama', seed: 1 });
  await s.samples.data();
  s.samples.dispose();
});
const stepMs = await timeIt(() => rt.sample({ n, steps, mode: 'sde', solver: 'euler-maruyama', seed: 1 }));
const loopMs = await timeIt(() => rt.sample({ n, steps, mode: 'sde', solver: 'euler-maruyama', seed: 1, engine: 'loop' }));
const loop2Ms = await timeIt(() => rt2.sample({ n, steps, mode: 'sde', solver: 'euler-maruyama', seed: 1, engine: 'loop' }));
const out = {
  n,
  steps,
  mode: 'sde',
  solver: 'euler-maruyama',
  reps,
  tfjs_backend: backend.backend,
  tfjs_ms: tfjsMs,
  onnx_stepwise_ms: stepMs,
  onnx_loop_ms: loopMs,
  onnx_loop_2threads_ms: loop2Ms,
};
if (torchScript) {
  const torchMs = (threads) => {
    const runs = [];
    for (let i = 0; i < Math.max(3, Math.min(reps, 5)); i++) {
      const json = execFileSync(
        '/usr/bin/python3',
        [torchScript, '--steps', '1', '--eval', '1000', '--sample-steps', String(steps), '--seed', String(i), '--threads', String(threads)],
        { encoding: 'utf8' },
      );
      runs.push(1000 * JSON.parse(json.slice(json.indexOf('{')))[`sample_4096x${steps}_s`]);
    }
    return median(runs);
  };
  out.torch_ms = torchMs(1);
  out.torch_2threads_ms = torchMs(2);
  out.ratio_onnx_loop_2threads_vs_torch_2threads = out.torch_2threads_ms / loop2Ms;
  out.ratio_onnx_stepwise_vs_torch = out.torch_ms / stepMs;
  out.ratio_onnx_loop_vs_torch = out.torch_ms / loopMs;
  out.ratio_tfjs_vs_torch = out.torch_ms / tfjsMs;
}
console.log(JSON.stringify(out));
await rt.dispose();
await rt2.dispose();
model.dispose();
