/**
 * Golden NFDM loss and gradients with U-Nets, from a PyTorch float64 rebuild of the model
 * (bench/torch_unet_nfdm_golden.py: the two U-Nets of packages/core/bench/torch_unet_golden.py,
 * the NFDM envelope μ = (1 − t)x + t(1 − t)m̄, log σ = (1 − t) log δ + t(1 − t)l̄ with ∂/∂t by
 * forward-mode AD, the predictor x̂ = (1 − t)z + (t + 0.01)·NN, the neural volatility g² and the
 * bound's diffusion term). The model is the NFDM image model of image-models.test.ts (8×8×1, a
 * 'compact' U-Net forward process with 2 output maps, an 'adm' U-Net predictor with attention, a
 * neural volatility) built by createModel, with every trainable parameter set to seeded
 * N(0, 0.1²) values, a batch x [4, 64] and the noise (t, ε) of drawNoise
 * (fixtures/unet-nfdm-golden-inputs.json, from bench/unet-nfdm-golden-inputs.mjs).
 * `model.loss(x, noise)` and its gradient for every trainable parameter (tf.variableGrads, float32
 * on wasm) must match: errors are max |ours − torch| / max |torch|, below 1e-4 for the loss, the
 * per-sample terms and g², for all gradients together and also for each parameter's gradient on
 * its own scale (no looser per-parameter bound is needed here: measured on wasm, loss 4e-7, all
 * gradients 7e-7, worst single parameter 1.6e-5, predictor.net.out.conv.bias, a sum over every
 * pixel of the batch). With these small random weights the U-Nets depend little on t: dropping the
 * forward U-Net's time tangent (m̄′, l̄′) moves the loss by only 4e-5, but all gradients by 4e-4
 * and single parameters' (forward.net.time.*) by up to 0.2, which the gradient checks catch.
 * Regenerate the fixtures (from packages/models, after `npx turbo run build --filter=@nfdm/models...`):
 *   node bench/unet-nfdm-golden-inputs.mjs && /usr/bin/python3 bench/torch_unet_nfdm_golden.py
 */
import { readFileSync } from 'node:fs';
import { initBackend, Rng } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModel, type DiffusionModel, diffusionTerms, type ModelConfig } from '../src/index.js';

type Stored = { shape: number[]; values: number[] };
const read = <T>(name: string): T => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as T;
const inputs = read<{
  config: ModelConfig;
  noiseSeed: number;
  x: Stored;
  noise: { t: Stored; eps: Stored };
  parameters: (Stored & { name: string; trainable: boolean })[];
}>('unet-nfdm-golden-inputs.json');
const golden = read<{ loss: number; perSample: number[]; g2: number[]; grads: Record<string, Stored> }>('unet-nfdm-golden.json');

const TOL = 1e-4;

beforeAll(async () => {
  await initBackend('wasm');
});

/** max |a − b| / max |b|. */
function relError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    err = Number.isNaN(d) ? Number.POSITIVE_INFINITY : Math.max(err, d);
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return err / scale;
}

const tensor = (s: Stored) => tf.tensor(Float32Array.from(s.values), s.shape);

/** The fixture's model with its stored values; fails on a missing, extra or misshapen parameter. */
function build(): DiffusionModel {
  const model = createModel(inputs.config);
  const params = model.parameters();
  expect([...params.keys()].sort()).toEqual(inputs.parameters.map((p) => p.name).sort());
  for (const p of inputs.parameters) {
    const v = params.get(p.name) as tf.Variable;
    expect(v.shape, p.name).toEqual(p.shape);
    expect(v.trainable, p.name).toBe(p.trainable);
    tf.tidy(() => v.assign(tensor(p)));
  }
  return model;
}

describe('NFDM with U-Nets against the PyTorch float64 rebuild', () => {
  const x = () => tensor(inputs.x);
  const noise = () => ({ t: tensor(inputs.noise.t), eps: tensor(inputs.noise.eps) });

  it('the stored noise is what drawNoise draws from its seed', () => {
    const model = build();
    const drawn = model.drawNoise(new Rng(inputs.noiseSeed), inputs.x.shape[0]);
    expect(Array.from(drawn.t.dataSync())).toEqual(inputs.noise.t.values);
    expect(Array.from(drawn.eps.dataSync())).toEqual(inputs.noise.eps.values);
    tf.dispose([drawn.t, drawn.eps]);
    model.dispose();
  });

  it('per-sample diffusion terms and g²', () => {
    const model = build();
    const [perSample, g2] = tf.tidy(() => {
      const terms = diffusionTerms(model, x(), noise());
      return [terms.perSample.dataSync().slice(), terms.g2.dataSync().slice()];
    });
    const errors = [relError(perSample, golden.perSample), relError(g2, golden.g2)];
    console.log(`per-sample terms: max rel error ${errors[0].toExponential(2)}; g² ${errors[1].toExponential(2)}`);
    for (const e of errors) expect(e).toBeLessThan(TOL);
    model.dispose();
  });

  it('model.loss(x, noise) and its gradient for every trainable parameter', () => {
    const model = build();
    const trainable = [...model.parameters()].filter(([, v]) => v.trainable);
    expect(trainable.map(([n]) => n).sort()).toEqual(Object.keys(golden.grads).sort());
    const { value, grads } = tf.variableGrads(
      () => tf.tidy(() => model.loss(x(), noise())),
      trainable.map(([, v]) => v),
    );
    const lossError = Math.abs(value.dataSync()[0] - golden.loss) / Math.abs(golden.loss);
    let worst = 0;
    let worstName = '';
    const ours: number[] = [];
    const theirs: number[] = [];
    for (const [name, v] of trainable) {
      const g = grads[v.name];
      expect(g, name).toBeDefined();
      expect(g.shape, name).toEqual(golden.grads[name].shape);
      const values = g.dataSync();
      const e = relError(values, golden.grads[name].values);
      if (e > worst) [worst, worstName] = [e, name];
      expect(e, name).toBeLessThan(TOL);
      ours.push(...values);
      theirs.push(...golden.grads[name].values);
    }
    const all = relError(ours, theirs);
    console.log(
      `loss ${value.dataSync()[0]} (torch ${golden.loss}): rel error ${lossError.toExponential(2)}; all ${trainable.length} gradients ` +
        `${all.toExponential(2)}; worst single parameter ${worst.toExponential(2)} (${worstName})`,
    );
    expect(lossError).toBeLessThan(TOL);
    expect(all).toBeLessThan(TOL);
    tf.dispose([value, ...Object.values(grads)]);
    model.dispose();
  });
});
