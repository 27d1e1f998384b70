/**
 * Seeded random numbers on the JS side, identical on every backend: {@link SeededRng}
 * (xoshiro128**, see seeded-rng.ts) plus draws straight into float32 tensors.
 */
import * as tf from '@tensorflow/tfjs';
import { SeededRng } from './seeded-rng.js';

export { SeededRng } from './seeded-rng.js';

/** A seeded, serialisable random-number generator that also draws tensors. */
export class Rng extends SeededRng {
  /** A float32 tensor of standard normals, shape `shape`. */
  normalTensor(shape: number[]): tf.Tensor {
    return tf.tensor(this.normalArray(sizeOf(shape)), shape, 'float32');
  }

  /** A float32 tensor of uniforms in [lo, hi), shape `shape`. */
  uniformTensor(shape: number[], lo = 0, hi = 1): tf.Tensor {
    return tf.tensor(this.uniformArray(sizeOf(shape), lo, hi), shape, 'float32');
  }

  /** A float32 tensor of Rademacher signs (±1), shape `shape`. */
  rademacherTensor(shape: number[]): tf.Tensor {
    const n = sizeOf(shape);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.nextUint32() & 1 ? 1 : -1;
    return tf.tensor(out, shape, 'float32');
  }
}

function sizeOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
