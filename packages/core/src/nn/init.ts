/**
 * Weight initialisation, deterministic from a seeded {@link Rng}.
 *
 * - `'torch'`: PyTorch's default for nn.Linear (kaiming_uniform with a = √5):
 *   W, b ~ U(−1/√fan_in, 1/√fan_in).
 * - `'glorot'`: Glorot/Xavier uniform, W ~ U(−√(6/(fan_in + fan_out)), +…), b = 0.
 */
import type { Rng } from '../random.js';

export type InitScheme = 'torch' | 'glorot';

export const INIT_SCHEMES: readonly InitScheme[] = ['torch', 'glorot'];

/** Initial weight [inDim·outDim] (row-major [in, out]) and bias [outDim] of a Dense layer. */
export function initDense(inDim: number, outDim: number, scheme: InitScheme, rng: Rng): { weight: Float32Array; bias: Float32Array } {
  if (scheme === 'torch') {
    const bound = 1 / Math.sqrt(inDim);
    return { weight: rng.uniformArray(inDim * outDim, -bound, bound), bias: rng.uniformArray(outDim, -bound, bound) };
  }
  if (scheme === 'glorot') {
    const bound = Math.sqrt(6 / (inDim + outDim));
    return { weight: rng.uniformArray(inDim * outDim, -bound, bound), bias: new Float32Array(outDim) };
  }
  throw new RangeError(`unknown init scheme '${scheme as string}': expected one of ${INIT_SCHEMES.join(', ')}`);
}
