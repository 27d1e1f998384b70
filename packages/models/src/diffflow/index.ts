export * from './loss.js';
export * from './networks.js';
export * from './sample.js';
export * from './timer.js';
