/**
 * The ε-parametrised predictor x̂ = (z − σ_t NN)/α_t of fixed schedules: with the matched
 * volatility the bound's diffusion term is exactly the λ′-weighted ε error
 * (1 − t₀)(−λ′/2)‖NN − ε‖² (derivation in docs/maths/objectives.md#eps-parametrisation), its config round-trips,
 * and schedules whose α reaches 0 are refused.
 */
import { initBackend, Rng } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModel, MODEL_FORMAT, type ModelConfig, modelConfig, type Predictor } from '../src/index.js';
import { diffusionTerms } from '../src/objective.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const config = (name: 'vp' | 'subvp' | 've' | 'fm-ot' | 'cosine'): ModelConfig => ({
  format: MODEL_FORMAT,
  dim: 2,
  forward: { kind: 'fixed', schedule: { name } },
  predictor: { hidden: [16, 16], parametrization: 'eps' },
  volatility: { kind: 'matched', schedule: { name } },
  seed: 3,
});

describe("'eps' predictor", () => {
  it.each(['vp', 'subvp', 've'] as const)('%s: the diffusion term equals (1 − t₀)(−λ′/2)‖NN − ε‖² per sample', (name) => {
    const model = createModel(config(name));
    const rng = new Rng(5);
    const x = rng.normalTensor([64, 2]);
    const noise = model.drawNoise(rng, 64);
    const [got, want] = tf.tidy(() => {
      const terms = diffusionTerms(model, x, noise);
      const p = model.predictor as Predictor;
      const nn = p.net.apply(terms.z as tf.Tensor2D, noise.t as tf.Tensor2D);
      const s = p.schedule?.at(noise.t, 1);
      if (!s?.dalpha || !s.dsigma) throw new Error('schedule derivatives missing');
      const lambda1 = tf.mul(2, tf.sub(tf.div(s.dalpha, s.alpha), tf.div(s.dsigma, s.sigma)));
      const err = tf.sum(tf.square(tf.sub(nn, noise.eps)), 1);
      const t0 = model.forward.start.t;
      return [terms.perSample.dataSync(), tf.mul((1 - t0) * -0.5, tf.mul(tf.reshape(lambda1, [-1]), err)).dataSync()];
    });
    for (let i = 0; i < 64; i++) expect(got[i]).toBeCloseTo(want[i], Math.max(0, 3 - Math.ceil(Math.log10(Math.abs(want[i]) + 1))));
    tf.dispose([x, noise.t, noise.eps]);
    model.dispose();
  });

  it('round-trips through the config and is refused where α_t reaches 0', () => {
    const model = createModel(config('subvp'));
    expect(modelConfig(model).predictor.parametrization).toBe('eps');
    model.dispose();
    expect(() => createModel(config('fm-ot'))).toThrow(/α_1 = 0/);
    expect(() => createModel(config('cosine'))).toThrow(/α_1 = 0/);
    expect(() => createModel({ ...config('vp'), forward: { kind: 'nfdm', hidden: [8] } })).toThrow(/needs a fixed forward process/);
    expect(() => createModel({ ...config('vp'), predictor: { parametrization: 'v' as never } })).toThrow(/predictor\.parametrization/);
  });
});
