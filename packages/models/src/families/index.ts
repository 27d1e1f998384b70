export { bridgeFamily, splitPairs } from './bridge.js';
export { cfmFamily } from './cfm.js';
export { diffflowFamily } from './diffflow.js';
export { diffusionFamily } from './diffusion.js';
export { type BatchNoise, microBatchedGrads, microBatchedLoss } from './micro-batch.js';
export * from './registry.js';
export type * from './types.js';
