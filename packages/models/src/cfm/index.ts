export * from './config.js';
export * from './model.js';
export * from './objective.js';
export * from './sampling.js';
