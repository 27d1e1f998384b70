/**
 * Labelled bridge data (`nfdm train --model nfbm --source S --target T --condition label`): the
 * label of each pair is the label of its TARGET (8gaussians: the mode; Fashion-MNIST: the class), so
 * the conditional bridge learns to transport a source point to the asked mode or class.
 *
 * Rows are [x0 (target) | x1 (source)] under the independent coupling, as for unlabelled bridges
 * (data.ts): every batch draws B labelled targets (with their labels), then B sources, from the
 * trainer's generator. Held-out pairs: toy ends from fixed seeds (the target's labelled points,
 * shifted as asked), image ends from the held-out images (targets in a seeded shuffle, labels
 * shuffled with them).
 */
import { Rng } from '@nfdm/core';
import { type DataMatrix, loadDataset, permutation, sampleToy, sampleToyLabelled, TOY_DATASETS } from '@nfdm/datasets';
import type { ConditionedBatch, DataSource } from '@nfdm/training';
import * as tf from '@tensorflow/tfjs';
import {
  type BridgeEnd,
  type DataInfo,
  evaluationData,
  HELDOUT_SEED,
  HELDOUT_TOY_POINTS,
  pairRows,
  parseBridgeEnds,
  rowSource,
  shifted,
  shiftedSource,
  TEST_SEED,
  type TrainingData,
} from './data.js';
import { UsageError } from './errors.js';
import { HELDOUT_IMAGES, imageSetParts, shapeText } from './image-sets.js';
import { labelledData, labelledSets } from './labelled-data.js';

/** Training pairs with the targets' labels; a UsageError when the target set has no labels. */
export function labelledBridgeTrainingData(sourceSpec: string, targetSpec: string, seed: number): TrainingData {
  const { source, target } = parseBridgeEnds(sourceSpec, targetSpec);
  const name = target.kind === 'toy' ? target.toy : target.spec;
  if (target.kind === 'toy' && TOY_DATASETS[target.toy].classes === undefined)
    throw new UsageError(
      `--condition label on a bridge labels each pair by its target; --target ${targetSpec} has no natural label (labelled: ${labelledSets()})`,
    );
  const labelled = labelledData(name, seed, { toyPoints: HELDOUT_TOY_POINTS, toySeed: HELDOUT_SEED });
  const shift = target.kind === 'toy' ? target.shift : undefined;
  const sources = sourceEnd(source, seed);
  const heldTargets = labelled.heldOut && shift ? shifted(labelled.heldOut, shift) : labelled.heldOut;
  const heldLabels = labelled.labels.heldOut;
  let heldOut: DataMatrix | undefined;
  let heldOutLabels: Float32Array | undefined;
  if (heldTargets && heldLabels && sources.heldOut) {
    const order = target.kind === 'image' ? permutation(heldTargets.n, new Rng(HELDOUT_SEED)) : undefined;
    const m = Math.min(heldTargets.n, sources.heldOut.n);
    const t = pick(heldTargets, order, m);
    heldOut = pairRows(t, sources.heldOut);
    heldOutLabels = pickLabels(heldLabels, order, m);
  }
  const spec = `${sourceSpec}->${targetSpec}`;
  const pairSource = labelledPairSource(labelled.source, sources.source, shift);
  const image = target.kind === 'image';
  const imageShape = image ? sameShape(labelled.set.imageShape, sources.imageShape, sourceSpec, targetSpec) : undefined;
  return {
    info: {
      spec,
      kind: image ? 'image' : 'toy',
      dim: labelled.set.dim,
      ...(imageShape ? { imageShape } : {}),
      bitsOffset: image ? 7 : 0,
      source:
        `pairs: source '${sourceSpec}' (t = 1) → target '${targetSpec}' (t = 0) labelled by the target ` +
        `(${labelled.labels.classes} classes), paired independently afresh every batch`,
      pair: { source: sourceSpec, target: targetSpec },
    },
    source: pairSource,
    heldOut,
    labels: { classes: labelled.labels.classes, heldOut: heldOutLabels },
    warnings: [],
  };
}

/** The source end: a batch source and held-out points (toys: fresh from a fixed seed; images: held-out images). */
function sourceEnd(end: BridgeEnd, seed: number): { source: DataSource; heldOut?: DataMatrix; imageShape?: [number, number, number] } {
  if (end.kind === 'toy')
    return { source: shiftedSource(end), heldOut: shifted(sampleToy(end.toy, HELDOUT_TOY_POINTS, HELDOUT_SEED + 1), end.shift) };
  const parts = imageSetParts(end.spec, seed + 1);
  const held = parts.heldOut ? { ...parts.heldOut, n: Math.min(parts.heldOut.n, HELDOUT_IMAGES) } : undefined;
  const heldOut = held ? { data: held.data.subarray(0, held.n * held.dim), n: held.n, dim: held.dim } : undefined;
  return { source: rowSource(parts.train), heldOut, imageShape: parts.set.imageShape };
}

/** Batches [x0 | x1] [B, 2D] with the targets' labels y [B, 1]: targets (and labels) first, then sources. */
function labelledPairSource(targets: DataSource, sources: DataSource, shift?: [number, number]): DataSource {
  const draw = (rng: Rng, batch: number): ConditionedBatch => {
    const t = (targets.conditionedBatch as NonNullable<DataSource['conditionedBatch']>)(rng, batch);
    const s = sources.batch(rng, batch);
    const x = tf.tidy(() => {
      const x0 = shift && (shift[0] !== 0 || shift[1] !== 0) ? tf.add(t.x, tf.tensor2d([shift])) : t.x;
      return tf.concat([x0, s], 1) as tf.Tensor2D;
    });
    tf.dispose([t.x, s]);
    return { x, y: t.y };
  };
  return {
    dim: targets.dim + sources.dim,
    conditionDim: 1,
    batch(rng, batch) {
      const b = draw(rng, batch);
      b.y.dispose();
      return b.x;
    },
    conditionedBatch: draw,
  };
}

/** The first m rows of `m`, in `order` when given. */
function pick(m: DataMatrix, order: ArrayLike<number> | undefined, count: number): DataMatrix {
  const data = new Float32Array(count * m.dim);
  for (let i = 0; i < count; i++) {
    const r = order ? order[i] : i;
    data.set(m.data.subarray(r * m.dim, (r + 1) * m.dim), i * m.dim);
  }
  return { data, n: count, dim: m.dim };
}

function pickLabels(labels: Float32Array, order: ArrayLike<number> | undefined, count: number): Float32Array {
  return Float32Array.from({ length: count }, (_, i) => labels[order ? order[i] : i]);
}

function sameShape(
  target: [number, number, number] | undefined,
  source: [number, number, number] | undefined,
  sourceSpec: string,
  targetSpec: string,
): [number, number, number] {
  if (!target || !source || target.join('x') !== source.join('x'))
    throw new UsageError(
      `--source ${sourceSpec} holds ${shapeText(source)} images but --target ${targetSpec} holds ${shapeText(target)}: a bridge needs images of one shape at both ends`,
    );
  return target;
}

/**
 * Evaluation pairs of a label-conditional bridge in data units: `data` the targets with their
 * `labels`, `sources` as many sources (independent of the targets). Toy ends: fresh points from
 * `seed` (the target's labelled points, shifted); image ends: the first test images of the target
 * set with their classes and the source's held-out images. A UsageError for an unlabelled target
 * or labels beyond the model's classes.
 */
export function labelledBridgeEvaluation(
  spec: string,
  classes: number,
  options: { n?: number; seed?: number },
): { data: DataMatrix; sources: DataMatrix; labels: Float32Array; info: DataInfo & { heldOut?: boolean } } {
  const base = evaluationData(spec, options) as ReturnType<typeof evaluationData> & { sources: DataMatrix };
  const pair = base.info.pair as { source: string; target: string };
  const { target } = parseBridgeEnds(pair.source, pair.target);
  const n = base.sources.n;
  let targets: DataMatrix;
  let labels: Float32Array;
  if (target.kind === 'toy') {
    if (TOY_DATASETS[target.toy].classes === undefined)
      throw new UsageError(`a conditional bridge is evaluated on labelled targets; '${target.toy}' has no natural label`);
    const held = sampleToyLabelled(target.toy, n, options.seed ?? TEST_SEED);
    targets = shifted(held.points, target.shift);
    labels = held.labels;
  } else {
    const d = loadDataset(target.spec, { n, seed: 0, split: 'test' });
    if (!d.labels) throw new UsageError(`${target.spec}: the data set has no labels`);
    targets = { data: d.data, n: d.n, dim: d.dim };
    labels = Float32Array.from(d.labels);
  }
  const m = Math.min(n, targets.n);
  const top = labels.reduce((a, v) => Math.max(a, v), 0);
  if (top >= classes) throw new UsageError(`${spec} has labels up to ${top}, but the bridge knows ${classes} classes`);
  return {
    data: pick(targets, undefined, m),
    sources: pick(base.sources, undefined, m),
    labels: labels.subarray(0, m),
    info: base.info,
  };
}
