import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ActivationName,
  initBackend,
  Jet,
  RandomFourierEmbedding,
  Rng,
  SinusoidalEmbedding,
  type TimeEmbedding,
  TimeMLP,
} from '../src/index.js';
import { layers64 } from './helpers/extract.js';
import { centralDiff, closeness, DERIVATIVES64, fourier64, mlp64, mlpJet64 } from './helpers/reference64.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const TANGENT_ACTIVATIONS: ActivationName[] = ['selu', 'tanh', 'silu', 'softplus', 'gelu-tanh'];
const B = 6;
const D = 2;

function inputs(seed: number): { x: number[][]; t: number[] } {
  const rng = new Rng(seed);
  return {
    x: Array.from({ length: B }, () => [rng.normal(), rng.normal()]),
    t: Array.from({ length: B }, () => 0.05 + 0.9 * rng.uniform()),
  };
}

/** Embedding e(t) and its derivatives in float64 from ω (analytic). */
function embedding64(emb: TimeEmbedding | null, t: number): [number[], number[], number[]] {
  if (!emb) return [[t], [1], [0]];
  const omega = Array.from((emb as SinusoidalEmbedding).frequencies.dataSync());
  const e = fourier64(omega, t);
  const h = omega.length;
  const e1 = e.map((_, i) => (i < h ? omega[i] * e[h + i] : -omega[i - h] * e[i - h]));
  const e2 = e.map((v, i) => -(omega[i % h] ** 2) * v);
  return [e, e1, e2];
}

function runJet(net: TimeMLP, x: number[][], t: number[], order: 0 | 1 | 2): number[][][] {
  return tf.tidy(() => {
    const jet = net.jet(tf.tensor2d(x), tf.tensor2d(t, [t.length, 1]), order);
    return jet.parts().map((p) => p.arraySync() as number[][]);
  });
}

describe('reference derivatives (the oracle itself)', () => {
  for (const name of TANGENT_ACTIVATIONS) {
    it(`${name}: hand-written float64 φ′, φ″ equal central differences`, () => {
      for (const h of [-3.1, -1.2, -0.4, 0.3, 0.9, 2.7]) {
        const [, d1, d2] = DERIVATIVES64[name](h);
        const fd = centralDiff((u) => DERIVATIVES64[name](u)[0], h, 1e-4);
        expect(Math.abs(d1 - fd.d1)).toBeLessThan(1e-7);
        expect(Math.abs(d2 - fd.d2)).toBeLessThan(1e-6);
      }
    });
  }
});

describe('TimeMLP jets: value, ∂/∂t and ∂²/∂t² against float64 forward mode and finite differences', () => {
  const made: TimeMLP[] = [];
  afterAll(() => {
    for (const n of made) n.dispose();
  });

  const cases: Array<[string, ActivationName, () => TimeEmbedding | null]> = [
    ...TANGENT_ACTIVATIONS.map((a): [string, ActivationName, () => TimeEmbedding | null] => [`${a}, raw t`, a, () => null]),
    ['tanh, sinusoidal embedding', 'tanh', () => new SinusoidalEmbedding({ dim: 8, minFrequency: 1, maxFrequency: 12 })],
    ['selu, random Fourier embedding', 'selu', () => new RandomFourierEmbedding({ dim: 6, scale: 0.5, rng: 3 })],
    ['gelu-tanh, sinusoidal embedding', 'gelu-tanh', () => new SinusoidalEmbedding({ dim: 4, maxFrequency: 5 })],
  ];

  cases.forEach(([label, activation, makeEmbedding], index) => {
    it(label, () => {
      const embedding = makeEmbedding();
      const net = new TimeMLP({ dataDim: D, outDim: 3, hidden: [16, 16], activation, embedding, rng: 100 + index });
      made.push(net);
      const { x, t } = inputs(index);
      const [v, v1, v2] = runJet(net, x, t, 2);
      const ref = layers64(net.net);
      const phi = DERIVATIVES64[activation];
      for (let b = 0; b < B; b++) {
        const [e, e1, e2] = embedding64(embedding, t[b]);
        const [r0, r1, r2] = mlpJet64(ref, phi, [
          [...x[b], ...e],
          [0, 0, ...e1],
          [0, 0, ...e2],
        ]);
        expect(closeness(v[b], r0, 1e-5, 1e-4)).toBeLessThanOrEqual(1);
        expect(closeness(v1[b], r1, 1e-4, 1e-4)).toBeLessThanOrEqual(1);
        expect(closeness(v2[b], r2, 1e-3, 1e-4)).toBeLessThanOrEqual(1);
        // Central differences of the plain float64 forward pass in t.
        for (let j = 0; j < 3; j++) {
          const f = (s: number) => mlp64(ref, (h) => phi(h)[0], [...x[b], ...embedding64(embedding, s)[0]])[j];
          const fd = centralDiff(f, t[b], 1e-3);
          expect(Math.abs(v1[b][j] - fd.d1)).toBeLessThan(1e-4 + 1e-4 * Math.abs(fd.d1));
          expect(Math.abs(v2[b][j] - fd.d2)).toBeLessThan(5e-3 + 1e-3 * Math.abs(fd.d2));
        }
      }
      // Lower orders return the same leading blocks.
      const [w, w1] = runJet(net, x, t, 1);
      expect(closeness(w.flat(), v.flat(), 1e-7, 1e-6)).toBeLessThanOrEqual(1);
      expect(closeness(w1.flat(), v1.flat(), 1e-7, 1e-6)).toBeLessThanOrEqual(1);
      const [u] = runJet(net, x, t, 0);
      expect(closeness(u.flat(), v.flat(), 1e-7, 1e-6)).toBeLessThanOrEqual(1);
    });
  });
});

describe('time embeddings alone', () => {
  it('sinusoidal: e, e′ = ω[cos, −sin], e″ = −ω²e, and geometric frequencies', () => {
    const emb = new SinusoidalEmbedding({ dim: 6, minFrequency: 2, maxFrequency: 50 });
    const omega = Array.from(emb.frequencies.dataSync());
    expect(omega[0]).toBeCloseTo(2, 5);
    expect(omega[2]).toBeCloseTo(50, 4);
    expect(omega[1]).toBeCloseTo(10, 4);
    const ts = [0, 0.13, 0.5, 0.97];
    const parts = tf.tidy(() =>
      emb
        .jet(tf.tensor2d(ts, [4, 1]), 2)
        .parts()
        .map((p) => p.arraySync() as number[][]),
    );
    ts.forEach((t, b) => {
      const [e, e1, e2] = embedding64(emb, t);
      expect(closeness(parts[0][b], e, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
      expect(closeness(parts[1][b], e1, 1e-4, 1e-5)).toBeLessThanOrEqual(1);
      expect(closeness(parts[2][b], e2, 2e-3, 1e-5)).toBeLessThanOrEqual(1);
      for (let i = 0; i < 6; i++) {
        const fd = centralDiff((s) => embedding64(emb, s)[0][i], t, 1e-4);
        expect(Math.abs(parts[1][b][i] - fd.d1)).toBeLessThan(1e-4 * (1 + Math.abs(fd.d1)));
      }
    });
    emb.dispose();
  });

  it('random Fourier frequencies are fixed by the seed', () => {
    const a = new RandomFourierEmbedding({ dim: 8, rng: 7 });
    const b = new RandomFourierEmbedding({ dim: 8, rng: 7 });
    const c = new RandomFourierEmbedding({ dim: 8, rng: 8 });
    expect(Array.from(a.frequencies.dataSync())).toEqual(Array.from(b.frequencies.dataSync()));
    expect(Array.from(a.frequencies.dataSync())).not.toEqual(Array.from(c.frequencies.dataSync()));
    for (const e of [a, b, c]) e.dispose();
  });

  it('rejects odd widths and non-[B,1] time', () => {
    expect(() => new SinusoidalEmbedding({ dim: 5 })).toThrow(/even integer/);
    const emb = new SinusoidalEmbedding({ dim: 4 });
    expect(() =>
      tf.tidy(() => {
        emb.jet(tf.zeros([3, 2]) as tf.Tensor2D, 1);
      }),
    ).toThrow(/\[B, 1\]/);
    emb.dispose();
  });
});

describe('jets', () => {
  it('rejects a row count that is not a multiple of order + 1, and bad orders', () => {
    tf.tidy(() => {
      expect(() => new Jet(tf.zeros([5, 2]) as tf.Tensor2D, 1)).toThrow(/multiple of 2/);
      expect(() => new Jet(tf.zeros([6, 2]) as tf.Tensor2D, 3 as 2)).toThrow(/order must be 0, 1 or 2/);
    });
  });
});
