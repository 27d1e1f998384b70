/**
 * Golden values from the PyTorch reference (shared/bench/torch_reference.py, float64):
 * the NFDM forward network and predictor of a trained model, evaluated with our float32
 * layers and forward-mode tangents, must reproduce μ, σ, ∂μ/∂t, ∂σ/∂t and x̂.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, TimeMLP } from '../src/index.js';
import { closeness } from './helpers/reference64.js';

type Linear = { weight: number[][]; bias: number[] };
const golden = JSON.parse(readFileSync(new URL('./fixtures/nfdm_golden_layers.json', import.meta.url), 'utf8')) as {
  log_delta: number;
  weights: Record<'forward' | 'predictor' | 'volatility', Linear[]>;
  inputs: { x: number[][]; t: number[][]; eps: number[][] };
  intermediates: Record<string, number[][]>;
};

beforeAll(async () => {
  await initBackend('wasm');
});

function net(dataDim: number, outDim: number, layers: Linear[]): TimeMLP {
  const m = new TimeMLP({ dataDim, outDim, hidden: [64, 64, 64, 64], activation: 'selu' });
  m.net.loadTorchLinear(layers);
  return m;
}

const flat = (rows: number[][]) => rows.flat();

describe('golden values from the PyTorch reference', () => {
  it('forward process μ, σ and their time derivatives (SELU 4×64, raw t input)', () => {
    const forward = net(2, 4, golden.weights.forward);
    const { x, t } = golden.inputs;
    const L = golden.log_delta;
    const out = tf.tidy(() => {
      const X = tf.tensor2d(x);
      const T = tf.tensor2d(t);
      const [o, o1] = forward.jet(X, T, 1).parts();
      const [m, l] = tf.split(o, 2, 1);
      const [dm, dl] = tf.split(o1, 2, 1);
      const one = tf.sub(1, T);
      const tt = tf.mul(T, one);
      const mu = tf.add(tf.mul(one, X), tf.mul(tt, m));
      const logSigma = tf.add(tf.mul(one, L), tf.mul(tt, l));
      const sigma = tf.exp(logSigma);
      const dmu = tf.add(tf.add(tf.neg(X), tf.mul(tf.sub(1, tf.mul(2, T)), m)), tf.mul(tt, dm));
      const dls = tf.add(tf.add(-L, tf.mul(tf.sub(1, tf.mul(2, T)), l)), tf.mul(tt, dl));
      return [mu, sigma, dmu, tf.mul(sigma, dls)].map((a) => Array.from(a.dataSync()));
    });
    const g = golden.intermediates;
    expect(closeness(out[0], flat(g.mu), 1e-5, 1e-4)).toBeLessThanOrEqual(1);
    expect(closeness(out[1], flat(g.sigma), 1e-7, 1e-4)).toBeLessThanOrEqual(1);
    expect(closeness(out[2], flat(g.dmu_dt), 1e-4, 1e-4)).toBeLessThanOrEqual(1);
    expect(closeness(out[3], flat(g.dsigma_dt), 1e-5, 1e-4)).toBeLessThanOrEqual(1);
    forward.dispose();
  });

  it('predictor x̂ = (1 − t) z + (t + 0.01) NN([z, t])', () => {
    const predictor = net(2, 2, golden.weights.predictor);
    const xhat = tf.tidy(() => {
      const z = tf.tensor2d(golden.intermediates.z);
      const T = tf.tensor2d(golden.inputs.t);
      const nn = predictor.apply(z, T);
      return Array.from(tf.add(tf.mul(tf.sub(1, T), z), tf.mul(tf.add(T, 0.01), nn)).dataSync());
    });
    expect(closeness(xhat, flat(golden.intermediates.xhat), 1e-5, 1e-4)).toBeLessThanOrEqual(1);
    predictor.dispose();
  });

  it('volatility g(t) = softplus(NN(t)) on a time-only network', () => {
    const vol = net(0, 1, golden.weights.volatility);
    const g = tf.tidy(() => Array.from(tf.softplus(vol.apply(null, tf.tensor2d(golden.inputs.t))).dataSync()));
    expect(closeness(g, flat(golden.intermediates.g), 1e-6, 1e-5)).toBeLessThanOrEqual(1);
    vol.dispose();
  });

  it('loadTorchLinear checks shapes before assigning', () => {
    const m = net(2, 2, golden.weights.predictor);
    expect(() => m.net.loadTorchLinear(golden.weights.forward)).toThrow(/layer 4: expected weight \[2\]\[64\]/);
    expect(() => m.net.loadTorchLinear(golden.weights.forward.slice(1))).toThrow(/expected 5 linear layers, got 4/);
    m.dispose();
  });
});
