/**
 * Issue-4 comparison: train the reference configuration (docs/maths/objectives.md#training-step: SELU MLPs 4×64,
 * batch 1024, Adam 1e-3, 8 Gaussians) for N steps, then report the NELBO in nats on 20,000
 * held-out points (10 Monte Carlo draws each, ± standard error over points) and the median
 * train-step time; with --torch, run shared/bench/torch_reference.py with the same settings in
 * the same run and report its NELBO and the step-time ratio.
 *
 * Usage: node bench/nelbo-vs-torch.mjs --forward neural|fixed --steps 5000 --seed 0 [--torch PATH]
 */
import { execFileSync } from 'node:child_process';
import { initBackend, Rng } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { eightGaussians, referenceModel } from './train-step.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const forward = arg('forward', 'neural');
const steps = Number(arg('steps', 5000));
const seed = Number(arg('seed', 0));
const torchScript = arg('torch', null);

await initBackend(arg('backend', 'wasm'));
const model = referenceModel(forward, 64, seed);
const optimizer = tf.train.adam(1e-3);
const rng = new Rng(seed + 1);
const times = [];
const losses = [];
for (let i = 0; i < steps; i++) {
  const t0 = performance.now();
  const x = eightGaussians(rng, 1024);
  const noise = model.drawNoise(rng, 1024);
  const loss = optimizer.minimize(() => model.loss(x, noise), true);
  losses.push(loss.dataSync()[0]);
  tf.dispose([x, noise.t, noise.eps, loss]);
  times.push(performance.now() - t0);
  if (!Number.isFinite(losses[i])) throw new Error(`non-finite loss at step ${i}`);
  if (i % 500 === 0) process.stderr.write(`[${forward} seed ${seed}] step ${i} loss ${losses[i].toFixed(3)}\n`);
}
const held = eightGaussians(new Rng(10_000 + seed), 20_000);
const result = model.nelbo(held, { draws: 10, seed: seed + 2 });
const tail = times.slice(Math.floor(steps / 5)).sort((a, b) => a - b);
const out = {
  forward,
  seed,
  steps,
  nelbo_nats: result.nelbo.mean,
  nelbo_stderr: result.nelbo.stderr,
  train_step_ms_median: tail[Math.floor(tail.length / 2)],
  loss_last50: losses.slice(-50).reduce((a, b) => a + b, 0) / 50,
};
if (torchScript) {
  const json = execFileSync('/usr/bin/python3', [torchScript, '--steps', String(steps), '--forward', forward, '--seed', String(seed)], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  const ref = JSON.parse(json.slice(json.indexOf('{')));
  out.torch = { nelbo_nats: ref.nelbo_nats, train_step_ms_median: ref.train_step_ms_median, torch: ref.torch };
  out.ratio_step_time = out.train_step_ms_median / ref.train_step_ms_median;
  out.nelbo_difference = out.nelbo_nats - ref.nelbo_nats;
}
console.log(JSON.stringify(out));
