/**
 * @nfdm/datasets — data for nfdm: the eight canonical 2-D toy distributions (and paired
 * versions for bridges), Fashion-MNIST from IDX files, CSV / NPY readers and writers for user
 * tables, seeded splits, standardisation, and a k-NN entropy estimator.
 */
export * from './conditional-entropy.js';
export * from './csv.js';
export * from './entropy.js';
export * from './errors.js';
export * from './fashion-mnist.js';
export * from './float-format.js';
export * from './idx.js';
export * from './image-folder.js';
export * from './load.js';
export * from './matrix.js';
export * from './npy.js';
export * from './paired.js';
export * from './random.js';
export * from './robust.js';
export * from './splits.js';
export * from './standardize.js';
export * from './toy.js';
