import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ACTIVATIONS, type ActivationName, getActivation, initBackend } from '../src/index.js';
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

  it('rejects unknown names with the list of known ones', () => {
    expect(() => getActivation('swish2')).toThrow(/unknown activation 'swish2'.*selu/);
  });
});
