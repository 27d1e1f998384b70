export * from './backend.js';
export * from './random.js';
