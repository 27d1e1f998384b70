export * from './train.js';
export * from './trigonometric.js';
