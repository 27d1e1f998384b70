/**
 * An in-repo image classifier (a small CNN trained from scratch, no pretrained weights) and the
 * sample-quality metrics measured with it: classifier accuracy of class-conditional samples and
 * the Fréchet distance of its penultimate features (not Inception FID). See quality.ts.
 */
export * from './config.js';
export * from './io.js';
export * from './network.js';
export * from './quality.js';
export * from './train.js';
