/**
 * One quick measurement: 4,096 points × 100 Euler steps (probability-flow ODE and reverse SDE)
 * with the reference NFDM architecture (4 × 64 SELU networks, D = 2), tfjs
 * (DiffusionModel.sample on the backend core picks) vs onnxruntime (stepwise runtime and the
 * one-call Loop graph). Run after `npx tsup`: `node bench/sampler-speed.mjs [threads]`.
 */
import { initBackend } from '@nfdm/core';
import { createModel } from '@nfdm/models';
import { exportOnnx, loadOnnxModel } from '../dist/index.js';

const threads = process.argv[2] ? Number(process.argv[2]) : undefined;
const backend = await initBackend();
const model = createModel({
  format: 'nfdm-model/1',
  dim: 2,
  forward: { kind: 'nfdm' },
  predictor: {},
  volatility: { kind: 'neural' },
  seed: 0,
});
const n = 4096;
const steps = 100;
const time = async (f) => {
  const t0 = performance.now();
  const out = await f();
  return [performance.now() - t0, out];
};
const rt = await loadOnnxModel(exportOnnx(model, { components: false }), threads ? { intraOpNumThreads: threads } : {});
const rows = [];
for (const mode of ['ode', 'sde']) {
  const solver = mode === 'ode' ? 'euler' : 'euler-maruyama';
  // warm-up (kernels, sessions)
  model.sample({ n: 64, steps: 2, mode, solver: mode === 'ode' ? 'euler' : 'euler_maruyama', seed: 1 }).samples.dispose();
  await rt.sample({ n: 64, steps: 2, mode, solver, seed: 1 });
  await rt.sample({ n: 64, steps: 2, mode, solver, seed: 1, engine: 'loop' });
  const [tTf, r] = await time(async () => {
    const s = model.sample({ n, steps, mode, solver: mode === 'ode' ? 'euler' : 'euler_maruyama', seed: 1 });
    const data = await s.samples.data();
    s.samples.dispose();
    return data;
  });
  const [tStep, a] = await time(() => rt.sample({ n, steps, mode, solver, seed: 1 }));
  const [tLoop, b] = await time(() => rt.sample({ n, steps, mode, solver, seed: 1, engine: 'loop' }));
  let maxDiff = 0;
  for (let i = 0; i < r.length; i++) maxDiff = Math.max(maxDiff, Math.abs(r[i] - a.samples[i]), Math.abs(r[i] - b.samples[i]));
  rows.push({
    mode,
    tfjs_ms: tTf.toFixed(0),
    onnx_stepwise_ms: tStep.toFixed(0),
    onnx_loop_ms: tLoop.toFixed(0),
    max_abs_diff: maxDiff.toExponential(2),
  });
}
console.log(
  `tfjs backend: ${backend.chosen ?? backend.name ?? JSON.stringify(backend)}; onnxruntime threads: ${threads ?? 'default'}; n = ${n}, steps = ${steps}`,
);
console.table(rows);
await rt.dispose();
