export { bridgeFamily, splitPairs } from './bridge.js';
export { diffflowFamily } from './diffflow.js';
export { diffusionFamily } from './diffusion.js';
export * from './registry.js';
export type * from './types.js';
