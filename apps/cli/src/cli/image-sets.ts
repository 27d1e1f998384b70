/**
 * Image data sets for the commands, cut into training and held-out images:
 *
 * - Fashion-MNIST (`fashion-mnist`, `fashion-mnist-14`, some classes with `:label=K[,K…]`)
 *   trains on its train split and holds out the first {@link HELDOUT_IMAGES} test images;
 * - a folder of PNG images (`DIR[@HxW[xC]]`) holds out its last ⌊n/10⌋ images (at most 1000;
 *   none below 10), sorted by file name, and trains on the rest.
 *
 * Pixels are dequantised to [−1, 1) and used as they are (no standardisation).
 */
import { type DataMatrix, type LoadedDataset, loadDataset, parseFashionMnistSpec, parseImageFolderSpec } from '@nfdm/datasets';

/** Held-out images evaluated during training (Fashion-MNIST: the first test images). */
export const HELDOUT_IMAGES = 1000;

/** Whether `spec` names image data: Fashion-MNIST (with or without classes) or an existing folder. */
export function isImageSpec(spec: string): boolean {
  return parseFashionMnistSpec(spec) !== undefined || parseImageFolderSpec(spec) !== undefined;
}

/** An image set cut for training: the set as loaded (for its description), training and held-out images. */
export interface ImageSetParts {
  set: LoadedDataset;
  train: DataMatrix;
  heldOut?: DataMatrix;
}

/** The training and held-out images of an image spec; `seed` dequantises the training images. */
export function imageSetParts(spec: string, seed: number): ImageSetParts {
  if (parseFashionMnistSpec(spec)) {
    const train = loadDataset(spec, { split: 'train', seed });
    const heldOut = loadDataset(spec, { split: 'test', n: HELDOUT_IMAGES, seed: 0 });
    return { set: train, train, heldOut };
  }
  const all = loadDataset(spec, { seed });
  return { set: all, ...splitImageRows(all) };
}

/**
 * Images of `spec` to evaluate on, at most `n`: its held-out images (Fashion-MNIST: the first
 * test images; a folder: its held-out tail, or all of a folder too small to hold any out).
 * `heldOut` says whether they were held out from training.
 */
export function evaluationImages(spec: string, n: number): { data: DataMatrix; set: LoadedDataset; heldOut: boolean } {
  if (parseFashionMnistSpec(spec)) {
    const set = loadDataset(spec, { split: 'test', n, seed: 0 });
    return { data: set, set, heldOut: true };
  }
  const set = loadDataset(spec, { seed: 0 });
  const { heldOut } = splitImageRows(set);
  return { data: firstRows(heldOut ?? set, n), set, heldOut: heldOut !== undefined };
}

/**
 * A PNG folder's split: the last ⌊n/10⌋ images (at most 1000; none below 10 images) are held out
 * for the held-out NELBO and `nfdm eval`, the rest train (sorted by file name, so it is stable).
 */
export function splitImageRows(m: DataMatrix): { train: DataMatrix; heldOut?: DataMatrix } {
  const held = m.n < 10 ? 0 : Math.min(1000, Math.floor(m.n / 10));
  const nTrain = m.n - held;
  const train = { data: m.data.subarray(0, nTrain * m.dim), n: nTrain, dim: m.dim };
  if (held === 0) return { train };
  return { train, heldOut: { data: m.data.subarray(nTrain * m.dim), n: held, dim: m.dim } };
}

/** The first `n` rows of a matrix (a view). */
export function firstRows(m: DataMatrix, n: number): DataMatrix {
  return n >= m.n ? m : { data: m.data.subarray(0, n * m.dim), n, dim: m.dim };
}

/** `14×14×1` for messages. */
export function shapeText(shape: readonly number[] | undefined): string {
  return shape ? shape.join('×') : 'unknown';
}
