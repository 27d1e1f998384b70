/**
 * The seeded generator of `@nfdm/core` (xoshiro128**, Box–Muller normals) from its tfjs-free
 * entry point `@nfdm/core/random`, so the runtime draws the same numbers as the tfjs side: with
 * the same seed, `OnnxModel.sample` starts from the same z(1) and uses the same Brownian
 * increments as `DiffusionModel.sample`.
 */
export { SeededRng as Rng } from '@nfdm/core/random';
