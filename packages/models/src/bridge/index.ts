export * from './config.js';
export * from './fixed.js';
export * from './guidance.js';
export * from './model.js';
export * from './penalty.js';
export * from './process.js';
