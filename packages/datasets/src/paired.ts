/**
 * Paired two-distribution data for bridges (NFBM): independent pairs (x₀, x₁) with
 * x₀ ~ target (t = 0, the data end) and x₁ ~ source (t = 1). The pairs are a sample of the
 * product measure p_target ⊗ p_source; any coupling (e.g. minibatch OT) is the model's job.
 */
import { DatasetError } from './errors.js';
import type { DataMatrix } from './matrix.js';
import { permutation, type Seed, toRng } from './random.js';
import { sampleToy, type ToyName } from './toy.js';

/** `n` independent pairs: row i of `x0` (target) goes with row i of `x1` (source). */
export interface PairedSample {
  /** Target samples (the t = 0 end), `[n, 2]`. */
  x0: DataMatrix;
  /** Source samples (the t = 1 end), `[n, 2]`. */
  x1: DataMatrix;
  n: number;
  dim: number;
  source: ToyName;
  target: ToyName;
}

/** Commonly used bridge tasks (torchcfm's 2-D benchmarks and FFJORD-style pairs). */
export const PAIRED_TASKS: readonly { source: ToyName; target: ToyName }[] = Object.freeze([
  { source: '8gaussians', target: 'moons' },
  { source: 'moons', target: '8gaussians' },
  { source: 'circles', target: 'checkerboard' },
  { source: 'rings', target: '2spirals' },
]);

/**
 * Exactly `n` independent pairs, x₀ ~ `target` and x₁ ~ `source`.
 *
 * Each side comes from its own forked stream (`rng.fork()`, target first), is drawn with
 * n + 4 points (so pinwheel's 5⌊·/5⌋ and 2spirals' 2⌊·/2⌋ still give ≥ n), randomly
 * permuted and cut to n rows. The permutation also makes the rows exchangeable for sets
 * whose generator returns them in blocks (2spirals).
 */
export function samplePaired(source: ToyName | string, target: ToyName | string, n: number, seed: Seed = 0): PairedSample {
  if (!Number.isInteger(n) || n < 0) throw new DatasetError('invalid_argument', `n must be a non-negative integer, got ${n}`);
  const rng = toRng(seed);
  const targetRng = rng.fork();
  const sourceRng = rng.fork();
  const x0 = exactly(sampleToy(target, n + 4, targetRng), n, targetRng);
  const x1 = exactly(sampleToy(source, n + 4, sourceRng), n, sourceRng);
  return { x0, x1, n, dim: 2, source: source as ToyName, target: target as ToyName };
}

function exactly(m: DataMatrix, n: number, rng: ReturnType<typeof toRng>): DataMatrix {
  const perm = permutation(m.n, rng);
  const out = new Float32Array(n * m.dim);
  for (let r = 0; r < n; r++) {
    const i = perm[r];
    for (let j = 0; j < m.dim; j++) out[r * m.dim + j] = m.data[i * m.dim + j];
  }
  return { data: out, n, dim: m.dim };
}
