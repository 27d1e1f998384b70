export * from './backend.js';
export * from './nn/index.js';
export * from './random.js';
