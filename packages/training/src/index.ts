export * from './checkpoint/index.js';
export * from './classifier/index.js';
export * from './metrics/index.js';
export * from './optim/index.js';
export * from './trainer/index.js';
