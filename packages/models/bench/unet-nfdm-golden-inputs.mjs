/**
 * Inputs of the U-Net NFDM golden test (test/unet-nfdm-golden.test.ts): the NFDM model of
 * test/image-models.test.ts (8×8×1 images, dim 64) — forward process a 'compact' U-Net with
 * 2 output maps (m̄, l̄), base 8, multipliers [1, 2], 4 groups, embedding frequencies 1 … 16;
 * predictor an 'adm' U-Net with attention at resolution 4 (default embedding 0.1 … 1000);
 * neural volatility hidden [8] (SELU), seed 1 — built by createModel, with every trainable
 * parameter replaced by seeded N(0, 0.1²) values rounded to 4 decimals (so the zero-initialised
 * output convolutions are not trivial); the non-trainable embedding frequencies ω are stored as
 * built (float32). Plus a batch x [4, 64] of uniforms in [−1, 1) (4 decimals, rounded down) and
 * the noise of one training step, `model.drawNoise(new Rng(NOISE_SEED), 4)` = { t [4, 1], eps [4, 64] },
 * stored as the exact float32 values drawn. Every number is meant to be read as float32 by both sides.
 *
 * Writes test/fixtures/unet-nfdm-golden-inputs.json:
 *   { config, noiseSeed, x: {shape, values}, noise: { t: {shape, values}, eps: {shape, values} },
 *     parameters: [{ name, shape, trainable, values }] }
 * (values flat, row-major, in the TS layouts: conv kernels HWIO, Dense weights [in, out]; x and ε
 * are rows of flattened NHWC images).
 *
 * Regenerate the golden fixtures (from packages/models, after `npx turbo run build --filter=@nfdm/models...`):
 *   node bench/unet-nfdm-golden-inputs.mjs              # → test/fixtures/unet-nfdm-golden-inputs.json
 *   /usr/bin/python3 bench/torch_unet_nfdm_golden.py    # → test/fixtures/unet-nfdm-golden.json
 */
import { writeFileSync } from 'node:fs';
import { initBackend, Rng } from '@nfdm/core';
import { createModel, MODEL_FORMAT } from '@nfdm/models';
import * as tf from '@tensorflow/tfjs';

const OUT = new URL('../test/fixtures/unet-nfdm-golden-inputs.json', import.meta.url);
const STD = 0.1;
const VALUE_SEED = 161;
const X_SEED = 162;
const NOISE_SEED = 163;
const BATCH = 4;

const IMAGE = { height: 8, width: 8, channels: 1 };
const common = { arch: 'unet', image: IMAGE, base: 8, multipliers: [1, 2], groups: 4 };
const config = {
  format: MODEL_FORMAT,
  dim: 64,
  forward: { kind: 'nfdm', network: { ...common, layout: 'compact', embedding: { minFrequency: 1, maxFrequency: 16 } } },
  predictor: { network: { ...common, layout: 'adm', attentionResolutions: [4] } },
  volatility: { kind: 'neural', hidden: [8] },
  seed: 1,
};

/** Short decimals that both sides read as the same float32. */
const round4 = (values) => Array.from(values, (v) => Number(v.toFixed(4)));
const stored = (tensor) => ({ shape: tensor.shape, values: Array.from(tensor.dataSync()) });

await initBackend('cpu');
const model = createModel(config);
const valueRng = new Rng(VALUE_SEED);
const parameters = [];
for (const [name, v] of model.parameters()) {
  const values = v.trainable ? round4(valueRng.normalArray(v.size, 0, STD)) : Array.from(v.dataSync());
  parameters.push({ name, shape: v.shape, trainable: v.trainable, values });
}
const xRng = new Rng(X_SEED);
const x = Array.from(xRng.uniformArray(BATCH * config.dim, -1, 1), (v) => Math.floor(v * 1e4) / 1e4);
const noise = model.drawNoise(new Rng(NOISE_SEED), BATCH);
const out = {
  config,
  noiseSeed: NOISE_SEED,
  x: { shape: [BATCH, config.dim], values: x },
  noise: { t: stored(noise.t), eps: stored(noise.eps) },
  parameters,
};
writeFileSync(OUT, `${JSON.stringify(out)}\n`);
const trainable = parameters.filter((p) => p.trainable);
console.log(
  `wrote ${OUT.pathname}: ${parameters.length} tensors (${trainable.length} trainable, ` +
    `${trainable.reduce((s, p) => s + p.values.length, 0)} numbers); t = [${out.noise.t.values.map((v) => v.toFixed(4)).join(', ')}]`,
);
tf.dispose([noise.t, noise.eps]);
model.dispose();
