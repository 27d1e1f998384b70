/**
 * Seeding helpers on top of `@nfdm/core`'s {@link Rng}: every function that draws random
 * numbers takes `seed: number | Rng` — a number starts a fresh generator, an `Rng` is used
 * (and advanced) in place, so a caller can thread one stream through several calls.
 */
import { Rng } from '@nfdm/core';

/** Anything a sampler accepts as its source of randomness. */
export type Seed = number | Rng;

/**
 * `seed` as a generator: `new Rng(seed)` for a number, the same object for an `Rng`.
 * (Checked structurally, not with `instanceof`, so an `Rng` from the ESM build of
 * `@nfdm/core` works with the CJS build of this package and vice versa.)
 */
export function toRng(seed: Seed): Rng {
  if (typeof seed === 'number') return new Rng(seed);
  if (seed && typeof seed.uniform === 'function' && typeof seed.normal === 'function' && typeof seed.int === 'function') return seed;
  throw new TypeError(`seed must be a number or an Rng from @nfdm/core, got ${typeof seed}`);
}

/** A uniformly random permutation of 0..n−1 (Fisher–Yates; n − 1 draws of `rng.int`). */
export function permutation(n: number, rng: Rng): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

/**
 * Shuffle the rows of a row-major float64 buffer in place (sklearn `util.shuffle`: a uniform
 * random permutation of the rows).
 */
export function shuffleRows(data: Float64Array, n: number, dim: number, rng: Rng): void {
  const tmp = new Float64Array(dim);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    if (j === i) continue;
    const a = i * dim;
    const b = j * dim;
    tmp.set(data.subarray(a, a + dim));
    data.copyWithin(a, b, b + dim);
    data.set(tmp, b);
  }
}
