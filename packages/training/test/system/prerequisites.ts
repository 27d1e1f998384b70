/**
 * Setup file of the system suite (vitest.system.config.ts): every system test file fails at
 * once, with one line saying what to install, when the full Fashion-MNIST files are missing.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FASHION_MNIST_DEFAULT_DIR } from '@nfdm/datasets';

const files = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];
const missing = files.filter((f) => !existsSync(join(FASHION_MNIST_DEFAULT_DIR, f)));
if (missing.length > 0) {
  throw new Error(
    `needs Debian package dataset-fashion-mnist: apt-get install dataset-fashion-mnist (missing in ${FASHION_MNIST_DEFAULT_DIR}: ${missing.join(', ')})`,
  );
}
