/**
 * `BridgeModel.sample({ nonFinite: 'freeze-rows' })`: pairs whose state turns NaN are frozen and
 * listed, the other pairs are transported exactly as without the failure.
 *
 * Oracle: a predictor x̂(z, t, x1) = z · (1 + 0 · log x1₀) is exactly z where the source's first
 * coordinate is positive and NaN where it is negative. Every network of the bridge is row-wise,
 * so the diverging rows are exactly the sources with x1₀ < 0, and every other row must equal the
 * transport by the same model with the NaN factor left out (x̂ = z), same seed.
 */
import { initBackend, NonFiniteStateError } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { BridgeModel, type BridgePredictor, BridgeProcess, NeuralVolatility } from '../src/index.js';

beforeAll(async () => {
  await initBackend('wasm');
});

class StubPredictor {
  readonly dim = 2;
  constructor(private readonly nanWhereSourceNegative: boolean) {}
  predict(z: tf.Tensor, _t: tf.Tensor, x1: tf.Tensor): tf.Tensor {
    if (!this.nanWhereSourceNegative) return z.clone();
    return tf.tidy(() => tf.mul(z, tf.add(1, tf.mul(0, tf.log(tf.slice(x1, [0, 0], [-1, 1]))))));
  }
  toConfig() {
    return { test: true };
  }
  parameters() {
    return new Map<string, tf.Variable>();
  }
  dispose(): void {}
}

function bridge(nan: boolean): BridgeModel {
  return new BridgeModel(
    new BridgeProcess({ dim: 2, delta: 0.1, hidden: [8], rng: 1 }),
    new StubPredictor(nan) as unknown as BridgePredictor,
    new NeuralVolatility({ hidden: [8], floor: 1e-3, rng: 3 }),
  );
}

describe('BridgeModel.sample with nonFinite', () => {
  for (const mode of ['ode', 'sde'] as const) {
    it(`${mode}: freezes exactly the pairs whose source has x1₀ < 0; the others match a clean transport`, () => {
      const sources = [
        [1, 0.5],
        [-1, 0.2],
        [2, -1],
        [-0.5, -0.5],
        [0.3, 2],
        [1.5, 1],
      ];
      const x1 = tf.tensor2d(sources);
      const expected = sources.flatMap((s, i) => (s[0] < 0 ? [i] : []));
      const options = { mode, steps: 20, seed: 4 };
      const bad = bridge(true);
      const r = bad.sample(x1, { ...options, nonFinite: 'freeze-rows' });
      expect(r.nonFiniteRows).toEqual(expected);
      const got = r.samples.arraySync() as number[][];
      const ref = bridge(false).sample(x1, options);
      const want = ref.samples.arraySync() as number[][];
      for (let i = 0; i < sources.length; i++) {
        if (expected.includes(i)) continue;
        expect(got[i][0]).toBeCloseTo(want[i][0], 5);
        expect(got[i][1]).toBeCloseTo(want[i][1], 5);
      }
      expect(got.flat().every(Number.isFinite)).toBe(true);
      expect(() => bad.sample(x1, options)).toThrow(NonFiniteStateError);
      tf.dispose([x1, r.samples, ref.samples]);
    });
  }
});
