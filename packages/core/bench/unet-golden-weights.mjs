/**
 * Inputs of the U-Net golden test (test/unet-golden.test.ts): two small UNets — layout 'adm'
 * (8×8, 1 → 2 channels, base 8, multipliers [1, 2], one ResBlock per level, 4 groups,
 * attention at resolution 4) and layout 'compact' (the same sizes, no attention) — with every
 * trainable parameter replaced by seeded N(0, 0.2²) values (so the zero-initialised output and
 * residual convolutions are not trivial), rounded to 4 decimals; the non-trainable embedding
 * frequencies ω are stored as built (float32). Plus x [2, 8, 8, 1] (NHWC, 4 decimals) and
 * t = [[0.3], [0.7]]. Every number is meant to be read as float32 by both sides.
 *
 * Writes test/fixtures/unet-golden-inputs.json:
 *   { x: {shape, values}, t: {shape, values},
 *     nets: { adm|compact: { options, parameters: [{ name, shape, trainable, values }] } } }
 * (values flat, row-major, in the TS layouts: conv kernels HWIO, Dense weights [in, out]).
 *
 * Regenerate the golden fixtures (from packages/core, after `npx turbo run build --filter=@nfdm/core`):
 *   node bench/unet-golden-weights.mjs
 *   /usr/bin/python3 bench/torch_unet_golden.py      # → test/fixtures/unet-golden.json
 */
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { initBackend, Rng, UNet } from '../dist/index.js';

const OUT = new URL('../test/fixtures/unet-golden-inputs.json', import.meta.url);
const STD = 0.2;

const common = { height: 8, width: 8, inChannels: 1, outChannels: 2, base: 8, multipliers: [1, 2], numResBlocks: 1, groups: 4 };
const NETS = {
  adm: { options: { ...common, layout: 'adm', attentionResolutions: [4], rng: 11 }, valueSeed: 101 },
  compact: { options: { ...common, layout: 'compact', attentionResolutions: [], rng: 12 }, valueSeed: 102 },
};

/** Short decimals that both sides read as the same float32. */
const round4 = (values) => Array.from(values, (v) => Number(v.toFixed(4)));

function describeNet({ options, valueSeed }) {
  const net = new UNet(options);
  const rng = new Rng(valueSeed);
  const parameters = [];
  for (const [name, v] of net.parameters()) {
    const values = v.trainable ? round4(rng.normalArray(v.size, 0, STD)) : Array.from(v.dataSync());
    parameters.push({ name, shape: v.shape, trainable: v.trainable, values });
  }
  net.dispose();
  return { options, parameters };
}

await initBackend('cpu');
const inputRng = new Rng(7);
const xShape = [2, 8, 8, 1];
const out = {
  x: { shape: xShape, values: round4(inputRng.normalArray(xShape.reduce((a, b) => a * b, 1))) },
  t: { shape: [2, 1], values: [0.3, 0.7] },
  nets: Object.fromEntries(Object.entries(NETS).map(([k, spec]) => [k, describeNet(spec)])),
};
writeFileSync(OUT, `${JSON.stringify(out)}\n`);
const counts = Object.entries(out.nets).map(
  ([k, n]) => `${k}: ${n.parameters.length} tensors, ${n.parameters.reduce((s, p) => s + p.values.length, 0)} numbers`,
);
console.log(`wrote ${OUT.pathname} (${counts.join('; ')})`);
tf.disposeVariables();
