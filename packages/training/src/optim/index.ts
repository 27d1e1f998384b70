export * from './adam.js';
export * from './ema.js';
export * from './schedules.js';
