/**
 * Saving and loading classifiers in the layout of a model folder (@nfdm/models' writeModelFolder /
 * readModelFolder): `config.json` (a {@link ClassifierConfig}) and `weights.safetensors`, each
 * written atomically. Loading validates the config, rebuilds the network and loads the weights
 * (every tensor present with its shape); every failure is one ModelFileError naming the file.
 */
import { readModelFolder, readValidatedConfig, writeModelFolder } from '@nfdm/models';
import { type ClassifierConfig, parseClassifierConfig } from './config.js';
import { ImageClassifier } from './network.js';

/** Write `dir/config.json` and `dir/weights.safetensors` (dir created if needed). Returns the config. */
export function saveClassifier(classifier: ImageClassifier, dir: string): ClassifierConfig {
  return writeModelFolder(classifier, dir, classifier.config);
}

/** Read and validate `dir/config.json` as a classifier config (without loading weights). */
export function readClassifierConfig(dir: string): ClassifierConfig {
  return readValidatedConfig(dir, parseClassifierConfig);
}

/** Load a classifier saved by {@link saveClassifier}. */
export function loadClassifier(dir: string): ImageClassifier {
  return readModelFolder(dir, readClassifierConfig(dir), (config) => new ImageClassifier(config));
}
