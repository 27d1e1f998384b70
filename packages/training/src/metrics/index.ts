/**
 * Sample-quality and likelihood metrics (docs/maths/likelihoods.md#sample-quality-metrics, #exact-nll and #nelbo).
 *
 * Point sets are {@link PointSet}s (row-major typed array + n, d) or `[n, d]` tensors or
 * `number[][]`; all sample metrics compute in float64 on the JS side.
 */
export * from './assignment.js';
export * from './energy.js';
export * from './exact-wasserstein.js';
export * from './likelihood.js';
export { gaussianW2Squared, moments } from './linalg.js';
export * from './mmd.js';
export * from './points.js';
export * from './sliced.js';
