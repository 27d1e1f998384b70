/** The tfjs-free seeded generator lives in `@nfdm/numerics`; `@nfdm/core/random` re-exports it. */
export { SeededRng } from '@nfdm/numerics/random';
