import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ACTIVATIONS, type ActivationName, activateJet, activateJetAutodiff, getActivation, initBackend, Jet } from '../src/index.js';
import { ACTIVATIONS64, centralDiff, closeness } from './helpers/reference64.js';

beforeAll(async () => {
  await initBackend('wasm');
});

// Grid avoiding |h| < 0.05, where SELU/ReLU derivatives jump.
const grid = Array.from({ length: 81 }, (_, i) => -6 + 0.15 * i).filter((h) => Math.abs(h) > 0.05);

describe('activations: φ, φ′, φ″ against float64 definitions and central differences', () => {
  for (const name of Object.keys(ACTIVATIONS) as ActivationName[]) {
    it(name, () => {
      const f64 = ACTIVATIONS64[name];
      const [value, d1, d2] = tf.tidy(() => {
        const out = getActivation(name)(tf.tensor1d(grid), 2);
        return [out.value, out.d1, out.d2].map((t) => Array.from((t as tf.Tensor).dataSync()));
      });
      const expected = grid.map((h) => ({ v: f64(h), ...centralDiff(f64, h, 1e-4) }));
      expect(
        closeness(
          value,
          expected.map((e) => e.v),
          1e-6,
          1e-5,
        ),
      ).toBeLessThanOrEqual(1);
      expect(
        closeness(
          d1,
          expected.map((e) => e.d1),
          1e-6,
          1e-5,
        ),
      ).toBeLessThanOrEqual(1);
      // Second differences in float64 carry ~1e-8 error at eps = 1e-4.
      expect(
        closeness(
          d2,
          expected.map((e) => e.d2),
          2e-5,
          1e-4,
        ),
      ).toBeLessThanOrEqual(1);
    });
  }

  it('φ‴ (where an activation provides it) equals third central differences in float64', () => {
    let checked = 0;
    for (const name of Object.keys(ACTIVATIONS) as ActivationName[]) {
      const f64 = ACTIVATIONS64[name];
      let d3: number[] | null = null;
      tf.tidy(() => {
        const out = getActivation(name)(tf.tensor1d(grid), 3);
        d3 = out.d3 ? Array.from(out.d3.dataSync()) : null;
      });
      if (d3 === null) continue;
      const e = 2e-3;
      const expected = grid.map((h) => (f64(h + 2 * e) - 2 * f64(h + e) + 2 * f64(h - e) - f64(h - 2 * e)) / (2 * e ** 3));
      expect(closeness(d3, expected, 5e-4, 1e-3), name).toBeLessThanOrEqual(1);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(6);
  });

  it('the fused jet activation and its hand-written gradient equal the autodiff version', () => {
    for (const name of Object.keys(ACTIVATIONS) as ActivationName[]) {
      for (const order of [1, 2] as const) {
        const [fused, plain] = [activateJet, activateJetAutodiff].map((apply) => {
          let out: number[] = [];
          tf.tidy(() => {
            const x = tf.tensor2d(
              Array.from({ length: 3 * (order + 1) * 4 }, (_, i) => Math.sin(1.7 * i) * 2),
              [(order + 1) * 4, 3],
            );
            const weights = tf.tensor2d(
              Array.from({ length: 3 * (order + 1) * 4 }, (_, i) => Math.cos(0.3 * i)),
              [(order + 1) * 4, 3],
            );
            const f = (input: tf.Tensor) => tf.sum(tf.mul(apply(new Jet(input as tf.Tensor2D, order), getActivation(name)).data, weights));
            const { value, grad } = tf.valueAndGrad(f)(x);
            out = [value.dataSync()[0], ...Array.from(grad.dataSync())];
          });
          return out;
        });
        expect(closeness(fused, plain, 1e-5, 1e-5), `${name} order ${order}`).toBeLessThanOrEqual(1);
      }
    }
  });

  it('rejects unknown names with the list of known ones', () => {
    expect(() => getActivation('swish2')).toThrow(/unknown activation 'swish2'.*selu/);
  });
});
