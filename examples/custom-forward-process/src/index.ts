export * from './onnx.js';
export * from './train.js';
export * from './trigonometric.js';
