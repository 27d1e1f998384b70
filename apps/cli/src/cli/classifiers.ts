/**
 * The in-repo image classifier on the command line: its labelled data (Fashion-MNIST), its run
 * folder (`config.json` + `weights.safetensors` of @nfdm/training's saveClassifier, and
 * `run.json` with the training summary and test accuracy), and the checks that a classifier fits
 * the images it is asked to judge.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FASHION_MNIST_CLASSES, type LoadedDataset, parseFashionMnistSpec } from '@nfdm/datasets';
import {
  type ClassifierConfig,
  type ImageClassifier,
  loadClassifier,
  readClassifierConfig,
  sampleAccuracy,
  saveClassifier,
  trainClassifier,
} from '@nfdm/training';
import { load, TEST_SEED } from './data.js';
import { CliError, UsageError } from './errors.js';
import { ensureDir, writeJson } from './files.js';
import { shapeText } from './image-sets.js';

/** The summary `nfdm classifier train` writes beside the classifier. */
export const CLASSIFIER_RUN_FILE = 'run.json';
export const CLASSIFIER_RUN_FORMAT = 'nfdm-classifier-run/1';

/** Test accuracy of a classifier on a labelled image set. */
export interface TestAccuracy {
  data: string;
  n: number;
  accuracy: number;
  /** Per class: the fraction of its test images classified correctly (null without any). */
  perClass: (number | null)[];
}

/** What `run.json` holds. */
export interface ClassifierRun {
  format: typeof CLASSIFIER_RUN_FORMAT;
  data: string;
  classes: string[];
  training: { rows: number; steps: number; batch: number; lr: number; seed: number; finalLoss: number; seconds: number };
  test: TestAccuracy;
  backend: string;
}

/** Images and labels of a Fashion-MNIST spec (a classifier needs labels); split `train` or `test`. */
export function labelledImages(spec: string, split: 'train' | 'test', options: { n?: number; seed?: number } = {}): LoadedDataset {
  if (!parseFashionMnistSpec(spec))
    throw new UsageError(
      `a classifier needs labelled images: --data fashion-mnist or fashion-mnist-14 (optionally :label=K,…), not ${spec}`,
    );
  const set = load(spec, { split, n: options.n, seed: options.seed ?? 0 });
  if (!set.labels || !set.imageShape) throw new CliError(`${spec}: the data set has no labels`);
  return set;
}

/** The classes a Fashion-MNIST classifier knows. */
export const CLASSIFIER_CLASSES = FASHION_MNIST_CLASSES.length;

/** [h, w, c] of a classifier's images. */
export function classifierShape(config: ClassifierConfig): [number, number, number] {
  return [config.image.height, config.image.width, config.image.channels];
}

/**
 * A CliError unless the classifier reads images of `shape` (what: where the images come from,
 * e.g. `the model runs/fm14 makes`).
 */
export function checkClassifierFits(config: ClassifierConfig, shape: readonly number[] | undefined, what: string, dir: string): void {
  const mine = classifierShape(config);
  const theirs = shape ? [shape[0], shape[1], shape[2] ?? 1] : undefined;
  if (!theirs || theirs.join('x') !== mine.join('x'))
    throw new CliError(
      `the classifier ${dir} reads ${shapeText(mine)} images, but ${what} ${theirs ? `${shapeText(theirs)} images` : 'no images'}; train one on the same data (nfdm classifier train --data …)`,
    );
}

/** The config of the classifier in `dir` (a CliError naming the folder when there is none). */
export function classifierConfigAt(dir: string): ClassifierConfig {
  if (!existsSync(join(dir, 'config.json')))
    throw new CliError(
      `--classifier ${dir}: no classifier there (config.json is missing); train one with nfdm classifier train --out ${dir}`,
    );
  return readClassifierConfig(dir);
}

/** Load the classifier in `dir` (config checked first, see {@link classifierConfigAt}). */
export function openClassifier(dir: string): ImageClassifier {
  classifierConfigAt(dir);
  return loadClassifier(dir);
}

/** The training summary in `dir/run.json`, if there is one. */
export function readClassifierRun(dir: string): ClassifierRun | undefined {
  const path = join(dir, CLASSIFIER_RUN_FILE);
  if (!existsSync(path)) return undefined;
  try {
    const run = JSON.parse(readFileSync(path, 'utf8'));
    return run?.format === CLASSIFIER_RUN_FORMAT ? (run as ClassifierRun) : undefined;
  } catch {
    return undefined;
  }
}

/** Accuracy on labelled test images, overall and per class. */
export function testAccuracy(classifier: ImageClassifier, test: LoadedDataset, spec: string): TestAccuracy {
  const r = sampleAccuracy(classifier, test, test.labels as Uint8Array);
  return { data: spec, n: test.n, accuracy: r.overall, perClass: r.perClass };
}

/** What `nfdm classifier train` trains with (its flags). */
export interface ClassifierTrainSettings {
  steps: number;
  batch: number;
  lr: number;
  seed: number;
  channels?: number[];
  features?: number;
}

/** Progress of {@link trainClassifierRun}: the training steps, then the test-accuracy phase. */
export interface ClassifierTrainHooks {
  onStep?: (step: number, loss: number) => void;
  onTrained?: (test: LoadedDataset) => void;
}

/** The train and test splits a classifier of `spec` trains and is tested on (checked before anything is written). */
export interface ClassifierData {
  spec: string;
  train: LoadedDataset;
  test: LoadedDataset;
}

export function classifierData(spec: string, seed: number): ClassifierData {
  return { spec, train: labelledImages(spec, 'train', { seed }), test: labelledImages(spec, 'test', { seed: TEST_SEED }) };
}

/**
 * Train the classifier on the train split into `dir` (config.json, weights.safetensors) and
 * write run.json with its accuracy on the test split: what `nfdm classifier train` does once the
 * backend has started (`backend`: its name, for run.json).
 */
export function trainClassifierRun(
  data: ClassifierData,
  dir: string,
  settings: ClassifierTrainSettings,
  backend: string,
  hooks: ClassifierTrainHooks = {},
): ClassifierRun {
  const { spec, train, test } = data;
  ensureDir(dir, `--out ${dir}`);
  const [height, width, channels] = train.imageShape as [number, number, number];
  const started = performance.now();
  const { classifier, losses } = trainClassifier(train, train.labels as Uint8Array, {
    image: { height, width, channels },
    classes: CLASSIFIER_CLASSES,
    steps: settings.steps,
    batch: settings.batch,
    lr: settings.lr,
    seed: settings.seed,
    architecture: {
      ...(settings.channels ? { channels: settings.channels } : {}),
      ...(settings.features ? { features: settings.features } : {}),
    },
    onStep: hooks.onStep,
  });
  const seconds = (performance.now() - started) / 1000;
  try {
    saveClassifier(classifier, dir);
    hooks.onTrained?.(test);
    const tail = losses.subarray(Math.max(0, losses.length - 100));
    const run: ClassifierRun = {
      format: CLASSIFIER_RUN_FORMAT,
      data: spec,
      classes: [...FASHION_MNIST_CLASSES],
      training: {
        rows: train.n,
        steps: settings.steps,
        batch: settings.batch,
        lr: settings.lr,
        seed: settings.seed,
        finalLoss: tail.reduce((s, v) => s + v, 0) / Math.max(1, tail.length),
        seconds,
      },
      test: testAccuracy(classifier, test, spec),
      backend,
    };
    writeJson(join(dir, CLASSIFIER_RUN_FILE), run);
    return run;
  } finally {
    classifier.dispose();
  }
}
