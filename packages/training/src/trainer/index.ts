export * from './config.js';
export * from './data.js';
export * from './errors.js';
export * from './metrics-log.js';
export * from './progress.js';
export * from './task.js';
export * from './trainer.js';
