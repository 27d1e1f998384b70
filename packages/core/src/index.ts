export * from './backend.js';
export * from './random.js';
export * from './nn/index.js';
