export * from './attention.js';
export * from './conv.js';
export * from './dropout.js';
export * from './group-norm.js';
export * from './image-jet.js';
export * from './resample.js';
export * from './time-unet.js';
export * from './unet.js';
