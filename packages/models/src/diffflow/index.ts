export * from './config.js';
export * from './likelihood.js';
export * from './loss.js';
export * from './networks.js';
export * from './sample.js';
export * from './time.js';
export * from './timer.js';
