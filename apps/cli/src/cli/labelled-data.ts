/**
 * Labelled training data for conditional models (`nfdm train --condition label`): the toy sets
 * with a natural label (8gaussians: the mode; rings, circles, moons, 2spirals, pinwheel: the
 * component; sampled fresh every batch, with their labels) and Fashion-MNIST (the class of each
 * image). Held-out rows come with their labels, for the conditional NELBO.
 */
import type { Rng } from '@nfdm/core';
import {
  type DataMatrix,
  FASHION_MNIST_CLASSES,
  isToyName,
  type LoadedDataset,
  labelledToyNames,
  loadDataset,
  parseFashionMnistSpec,
  sampleToyLabelled,
  TOY_DATASETS,
  type ToyName,
} from '@nfdm/datasets';
import { arraySource, type DataSource } from '@nfdm/training';
import * as tf from '@tensorflow/tfjs';
import { UsageError } from './errors.js';
import { imageSetParts } from './image-sets.js';

/** The labels of a run: how many classes, and the labels of the held-out rows. */
export interface RunLabels {
  classes: number;
  heldOut?: Float32Array;
}

/** Labelled training data: the source draws rows with their labels. */
export interface LabelledData {
  /** The set as loaded, for its description. */
  set: LoadedDataset;
  source: DataSource;
  heldOut?: DataMatrix;
  labels: RunLabels;
}

/** What can be trained with `--condition label`, for messages. */
export function labelledSets(): string {
  return `toy sets with a natural label (${labelledToyNames().join(', ')}) and fashion-mnist / fashion-mnist-14`;
}

/** The labelled data of `spec` (a toy name or a Fashion-MNIST spec); a UsageError for anything else. */
export function labelledData(spec: string, seed: number, heldOut: { toyPoints: number; toySeed: number }): LabelledData {
  if (isToyName(spec)) {
    if (TOY_DATASETS[spec].classes === undefined)
      throw new UsageError(`--condition label needs labelled data; '${spec}' has no natural label (labelled: ${labelledSets()})`);
    const held = sampleToyLabelled(spec, heldOut.toyPoints, heldOut.toySeed);
    return {
      set: loadDataset(spec, { n: 1 }),
      source: labelledToySource(spec),
      heldOut: held.points,
      labels: { classes: held.classes, heldOut: held.labels },
    };
  }
  if (parseFashionMnistSpec(spec)) {
    const { set, train, heldOut: held } = imageSetParts(spec, seed);
    const source = arraySource(train.data, train.n, train.dim, { values: labelsOf(set, spec), dim: 1 });
    return {
      set,
      source,
      heldOut: held,
      labels: { classes: FASHION_MNIST_CLASSES.length, heldOut: held ? labelsOf(held as LoadedDataset, spec) : undefined },
    };
  }
  throw new UsageError(`--condition label needs labelled data: ${labelledSets()}; not ${spec}`);
}

function labelsOf(set: LoadedDataset, spec: string): Float32Array {
  if (!set.labels) throw new UsageError(`${spec}: the data set has no labels`);
  return Float32Array.from(set.labels);
}

/** Fresh toy points with their labels every batch, from the trainer's generator (the points of the unlabelled source). */
export function labelledToySource(name: ToyName): DataSource {
  const size = TOY_DATASETS[name].size;
  const draw = (rng: Rng, batch: number) => {
    let ask = batch;
    while (size(ask) < batch) ask++;
    const m = sampleToyLabelled(name, ask, rng);
    return { x: tf.tensor2d(m.points.data.subarray(0, 2 * batch), [batch, 2]), y: tf.tensor2d(m.labels.subarray(0, batch), [batch, 1]) };
  };
  return {
    dim: 2,
    conditionDim: 1,
    batch(rng, batch) {
      const b = draw(rng, batch);
      b.y.dispose();
      return b.x;
    },
    conditionedBatch: draw,
  };
}
