/**
 * Gradients with respect to parameters of a loss built from time tangents — the case that
 * nested tf.grad gets wrong through tanh/exp (tfjs#3252) — against float64 finite differences.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ActivationName, initBackend, Rng, SinusoidalEmbedding, TimeMLP, trainableVariables } from '../src/index.js';
import { layers64 } from './helpers/extract.js';
import { DERIVATIVES64, fourier64, type Layer64, mlpJet64 } from './helpers/reference64.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const B = 4;
const OUT = 2;
// Loss weights: L = mean_b Σ_j [ c0_j v_j + c1_j (v′_j)² + c2_j v″_j + ½ (v″_j)² ].
const C0 = [0.3, -0.7];
const C1 = [1.1, 0.4];
const C2 = [-0.5, 0.8];

function loss64(
  layers: Layer64[],
  phi: (h: number) => [number, number, number],
  x: number[][],
  t: number[],
  omega: number[] | null,
): number {
  let total = 0;
  for (let b = 0; b < B; b++) {
    let e = [t[b]];
    let e1 = [1];
    let e2 = [0];
    if (omega) {
      const h = omega.length;
      e = fourier64(omega, t[b]);
      e1 = e.map((_, i) => (i < h ? omega[i] * e[h + i] : -omega[i - h] * e[i - h]));
      e2 = e.map((v, i) => -(omega[i % h] ** 2) * v);
    }
    const [v, v1, v2] = mlpJet64(layers, phi, [
      [...x[b], ...e],
      [0, 0, ...e1],
      [0, 0, ...e2],
    ]);
    for (let j = 0; j < OUT; j++) total += C0[j] * v[j] + C1[j] * v1[j] ** 2 + C2[j] * v2[j] + 0.5 * v2[j] ** 2;
  }
  return total / B;
}

function lossTf(net: TimeMLP, x: tf.Tensor2D, t: tf.Tensor2D): tf.Scalar {
  const [v, v1, v2] = net.jet(x, t, 2).parts();
  const c = (w: number[]) => tf.tensor2d(w, [1, OUT]);
  const per = tf.addN([tf.mul(v, c(C0)), tf.mul(tf.square(v1), c(C1)), tf.mul(v2, c(C2)), tf.mul(0.5, tf.square(v2))]);
  return tf.div(tf.sum(per), B) as tf.Scalar;
}

describe('∂L/∂θ of a loss of tangents equals float64 central differences', () => {
  const nets: TimeMLP[] = [];
  afterAll(() => {
    for (const n of nets) n.dispose();
  });

  const cases: Array<[ActivationName, boolean]> = [
    ['tanh', false],
    ['gelu-tanh', false],
    ['selu', false],
    ['silu', true],
    ['softplus', false],
  ];
  for (const [activation, embed] of cases) {
    it(`${activation}${embed ? ' with sinusoidal embedding' : ''}`, () => {
      const embedding = embed ? new SinusoidalEmbedding({ dim: 4, maxFrequency: 4 }) : null;
      const net = new TimeMLP({ dataDim: 2, outDim: OUT, hidden: [8, 8], activation, embedding, rng: 11 });
      nets.push(net);
      const rng = new Rng(5);
      const x = Array.from({ length: B }, () => [rng.normal(), rng.normal()]);
      const t = Array.from({ length: B }, () => 0.1 + 0.8 * rng.uniform());
      const variables = trainableVariables(net);
      const grads = tf.tidy(() => {
        const { grads: g } = tf.variableGrads(() => lossTf(net, tf.tensor2d(x), tf.tensor2d(t, [B, 1])), variables);
        return variables.map((v) => Array.from(g[v.name].dataSync()));
      });
      const layers = layers64(net.net);
      const omega = embedding ? Array.from(embedding.frequencies.dataSync()) : null;
      const phi = DERIVATIVES64[activation];
      // Each variable is a layer's weight or bias, in order.
      let checked = 0;
      variables.forEach((v, vi) => {
        const layer = layers[Math.floor(vi / 2)];
        const target = (vi % 2 === 0 ? layer.weight : layer.bias) as number[];
        const step = Math.max(1, Math.floor(target.length / 6));
        for (let k = 0; k < target.length; k += step) {
          const saved = target[k];
          const eps = 1e-6;
          target[k] = saved + eps;
          const up = loss64(layers, phi, x, t, omega);
          target[k] = saved - eps;
          const down = loss64(layers, phi, x, t, omega);
          target[k] = saved;
          const fd = (up - down) / (2 * eps);
          expect(Math.abs(grads[vi][k] - fd), `${v.name}[${k}]: ${grads[vi][k]} vs ${fd}`).toBeLessThan(2e-4 + 2e-3 * Math.abs(fd));
          checked++;
        }
      });
      expect(checked).toBeGreaterThan(30);
    });
  }
});
