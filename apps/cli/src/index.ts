export * from './plot/compose.js';
export * from './plot/frames.js';
export * from './plot/heatmap.js';
export * from './plot/png.js';
export * from './plot/svg.js';
