export * from './checkpoint.js';
