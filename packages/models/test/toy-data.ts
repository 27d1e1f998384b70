/** Shared test data for the models tests. */
import type { Rng } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';

/**
 * The 8-Gaussians toy: x = (4 (cos kπ/4, sin kπ/4) + 0.5 n) / √2 with k uniform in {0..7}
 * and n ~ N(0, I); returns [batch, 2].
 */
export function eightGaussians(rng: Rng, batch: number): tf.Tensor2D {
  const out = new Float32Array(batch * 2);
  for (let i = 0; i < batch; i++) {
    const k = rng.int(8);
    out[2 * i] = (4 * Math.cos((k * Math.PI) / 4) + 0.5 * rng.normal()) / Math.SQRT2;
    out[2 * i + 1] = (4 * Math.sin((k * Math.PI) / 4) + 0.5 * rng.normal()) / Math.SQRT2;
  }
  return tf.tensor2d(out, [batch, 2]);
}

export const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
