/**
 * The seeded generator of `@nfdm/numerics` (xoshiro128**, Box–Muller normals), the one
 * `@nfdm/core` uses too: with the same seed, `OnnxModel.sample` starts from the same z(1) and
 * uses the same Brownian increments as `DiffusionModel.sample`. Exported as `Rng`.
 */
export { SeededRng as Rng } from '@nfdm/numerics/random';
