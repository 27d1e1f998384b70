/**
 * Issue-5 run: NFDM in the reference configuration (SELU MLPs 4×64, Adam 1e-3, batch 1024)
 * trained on checkerboard for N steps (default 20,000) with the Trainer (EMA 0.999,
 * checkpoints), then: NELBO (20,000 held-out points × 4 draws, EMA weights) and exact ODE NLL
 * (dopri5, rtol = atol = 1e-5, exact divergence, 2,000 held-out points), in nats, next to the
 * entropy floor ln 32 = 3.466. Prints one JSON object.
 *
 * Usage: node bench/checkerboard-run.mjs [--steps 20000] [--out DIR] [--seed 0]
 */

import { initBackend } from '@nfdm/core';
import { sampleToy, TOY_DATASETS } from '@nfdm/datasets';
import { createModel, loadModel, MODEL_FORMAT } from '@nfdm/models';
import { arraySource, Trainer } from '@nfdm/training';
import * as tf from '@tensorflow/tfjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const steps = Number(arg('steps', 20000));
const seed = Number(arg('seed', 0));
const dir = arg('out', '/tmp/nfdm-checkerboard');

const report = await initBackend('wasm');
const train = sampleToy('checkerboard', 500_000, seed);
const held = sampleToy('checkerboard', 20_000, seed + 1000);
const heldT = tf.tensor2d(held.data, [held.n, 2]);
const hidden = [64, 64, 64, 64];
const model = createModel({
  format: MODEL_FORMAT,
  dim: 2,
  forward: { kind: 'nfdm', hidden },
  predictor: { hidden },
  volatility: { kind: 'neural', hidden },
  seed,
});
const trainer = new Trainer({
  model,
  data: arraySource(train.data, train.n, 2),
  evalData: heldT,
  checkpointDir: dir,
  overwrite: true,
  onEvent: (e) => {
    if (e.type === 'step' && e.step % 1000 === 0)
      process.stderr.write(`step ${e.step} loss ${e.loss.toFixed(3)} ${e.msPerStep.toFixed(1)} ms/step\n`);
  },
  config: { steps, batchSize: 1024, seed, schedule: 1e-3, ema: 0.999, checkpointEvery: 2000, keep: 2, logEvery: 100, evalDraws: 4 },
});
const t0 = performance.now();
const result = await trainer.run();
const wallS = (performance.now() - t0) / 1000;
const metrics = await trainer.evaluate(); // EMA weights
trainer.saveModel(`${dir}/model`); // config + EMA weights
const ema = loadModel(`${dir}/model`);
const nllPoints = tf.slice(heldT, [0, 0], [2000, 2]);
const t1 = performance.now();
const { logp, stats } = ema.logProb(nllPoints, { solver: 'dopri5', rtol: 1e-5, atol: 1e-5 });
const nllS = (performance.now() - t1) / 1000;
let mean = 0;
for (const v of logp) mean -= v;
mean /= logp.length;
let varSum = 0;
for (const v of logp) varSum += (-v - mean) ** 2;
const out = {
  backend: report.backend,
  steps: result.step,
  wall_s: wallS,
  ms_per_step: (wallS * 1000) / result.step,
  nelbo_nats: metrics.nelbo,
  nelbo_stderr: metrics.nelbo_stderr,
  ode_nll_nats: mean,
  ode_nll_stderr: Math.sqrt(varSum / (logp.length - 1) / logp.length),
  ode_nll_points: logp.length,
  ode_nll_nfe: stats.nfe,
  ode_nll_s: nllS,
  entropy_floor: TOY_DATASETS.checkerboard.entropy,
};
console.log(JSON.stringify(out));
trainer.dispose();
