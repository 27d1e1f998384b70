export * from './assignment.js';
export * from './backend.js';
export * from './math/index.js';
export * from './nn/index.js';
export * from './random.js';
export * from './solvers/index.js';
