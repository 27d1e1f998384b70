/**
 * Seeded train / validation / test splits.
 *
 * The rows are permuted with a Fisher–Yates shuffle from the seed, then cut into consecutive
 * blocks: n_val = round(n · val), n_test = round(n · test), n_train = n − n_val − n_test.
 * The same seed and n give the same split; `indices` lets labels or other per-row data follow.
 */
import { DatasetError } from './errors.js';
import { type DataMatrix, takeRows } from './matrix.js';
import { permutation, type Seed, toRng } from './random.js';

/** Fractions of the rows for each part; they must be ≥ 0 and sum to 1. */
export interface SplitFractions {
  train: number;
  val: number;
  test: number;
}

/** The three parts and the original row indices of each. */
export interface DataSplits {
  train: DataMatrix;
  val: DataMatrix;
  test: DataMatrix;
  indices: { train: Uint32Array; val: Uint32Array; test: Uint32Array };
}

/** Default fractions: 80 / 10 / 10. */
export const DEFAULT_SPLIT: Readonly<SplitFractions> = Object.freeze({ train: 0.8, val: 0.1, test: 0.1 });

/** Split the rows of `m` into train / val / test by `fractions` (default 80/10/10) with a seeded shuffle. */
export function splitDataset(m: DataMatrix, fractions: SplitFractions = DEFAULT_SPLIT, seed: Seed = 0): DataSplits {
  const { train, val, test } = fractions;
  for (const [k, v] of Object.entries({ train, val, test })) {
    if (!(Number.isFinite(v) && v >= 0 && v <= 1))
      throw new DatasetError('invalid_argument', `split fraction ${k} must be in [0, 1], got ${v}`);
  }
  if (Math.abs(train + val + test - 1) > 1e-9) {
    throw new DatasetError('invalid_argument', `split fractions must sum to 1, got ${train} + ${val} + ${test} = ${train + val + test}`);
  }
  const n = m.n;
  const nVal = Math.round(n * val);
  const nTest = Math.min(n - nVal, Math.round(n * test));
  const nTrain = n - nVal - nTest;
  const perm = permutation(n, toRng(seed));
  const indices = {
    train: perm.slice(0, nTrain),
    val: perm.slice(nTrain, nTrain + nVal),
    test: perm.slice(nTrain + nVal),
  };
  return { train: takeRows(m, indices.train), val: takeRows(m, indices.val), test: takeRows(m, indices.test), indices };
}
