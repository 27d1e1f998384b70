import { fileURLToPath } from 'node:url';

/**
 * The committed Fashion-MNIST subset: the first 300 training and 200 test images and labels of
 * the real data set, in the original gzipped IDX files (fixtures/fashion-mnist/make-subset.mjs
 * says how it was cut from Debian's dataset-fashion-mnist; LICENSE there is Zalando's MIT note).
 */
export const FASHION_MNIST_FIXTURE = fileURLToPath(new URL('./fixtures/fashion-mnist', import.meta.url));

/** Item counts of the fixture's splits. */
export const FIXTURE_COUNTS = { train: 300, test: 200 } as const;

/** Σ of a uint8 array (pixel checksums). */
export function byteSum(a: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

/** Number of labels of each class 0..9. */
export function classCounts(labels: Uint8Array): number[] {
  const c = new Array(10).fill(0);
  for (const l of labels) c[l]++;
  return c;
}
