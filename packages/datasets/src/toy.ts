/**
 * The eight canonical 2-D toy distributions (FFJORD `lib/toy_data.py`, with scikit-learn's
 * `make_moons` / `make_circles` / `make_swiss_roll` at the settings FFJORD uses), exactly as
 * defined in docs/maths/toy-data.md#generators. U = uniform, N = normal; all
 * randomness comes from `@nfdm/core`'s seeded {@link Rng}, so the same seed gives the same
 * points on every machine. Arithmetic is float64; the result is rounded once to float32.
 *
 * | name         | definition                                                                        |
 * | ------------ | --------------------------------------------------------------------------------- |
 * | swissroll    | t = 1.5π(1 + 2u), (t cos t, 21v, t sin t) + N(0, I₃); keep coords (0, 2), ÷ 5      |
 * | circles      | ⌊n/2⌋ on radius 1, the rest on radius 0.5 (angles linspace, endpoint excluded); shuffle; + N(0, 0.08²); × 3 |
 * | rings        | radii 3·{1, 0.75, 0.5, 0.25}, ⌊n/4⌋ each and the rest on the smallest; shuffle; + N(0, 0.08²) |
 * | moons        | ⌊n/2⌋ on (cos θ, sin θ), the rest on (1 − cos θ, 1/2 − sin θ), θ = linspace(0, π); shuffle; + N(0, 0.1²); 2x + (−1, −0.2) |
 * | 8gaussians   | (4u + 0.5 N(0, I₂)) / 1.414, u uniform among the 8 unit vectors at angles kπ/4     |
 * | pinwheel     | 5 arms of ⌊n/5⌋; f = (1 + 0.3 z₁, 0.1 z₂), a = 2πk/5 + 0.25 e^{f₀}; 2 fᵀR(a); permute |
 * | 2spirals     | m = ⌊n/2⌋, r = 3π√U, p = (−r cos r + U/2, r sin r + U/2); [p; −p] / 3 + N(0, 0.1²) |
 * | checkerboard | x₁ ~ U[−2, 2), x₂ = U[0, 1) − 2B + (⌊x₁⌋ mod 2), B ~ Bernoulli(½); 2(x₁, x₂)      |
 *
 * Sizes: pinwheel returns 5⌊n/5⌋ points and 2spirals 2⌊n/2⌋; the others return n. As in
 * FFJORD, 2spirals is *not* shuffled (rows [0, m) are one arm, [m, 2m) the mirrored arm) and
 * 8gaussians, checkerboard and swissroll are i.i.d. by construction.
 */
import type { Rng } from '@nfdm/core';
import { DatasetError } from './errors.js';
import type { DataMatrix } from './matrix.js';
import { type Seed, shuffleRows, toRng } from './random.js';

/** Names of the eight toy distributions. */
export type ToyName = 'checkerboard' | '8gaussians' | 'rings' | 'circles' | 'moons' | 'swissroll' | '2spirals' | 'pinwheel';

/** One entry of {@link TOY_DATASETS}. */
export interface ToyDatasetInfo {
  name: ToyName;
  /** One line: what the distribution looks like. */
  description: string;
  /**
   * Differential entropy H(p) in nats (docs/maths/toy-data.md#entropy-floors). For any model q, E_p[−log q] ≥ H(p),
   * so this is a hard floor for the test NLL (in the data's own units).
   */
  entropy: number;
  /** How `entropy` was obtained: quadrature of the exact density (±0.006), or k-NN only. */
  entropySource: 'exact' | 'quadrature' | 'knn';
  /** Number of points returned for a request of n. */
  size: (n: number) => number;
  /**
   * Number of classes of the set's natural label ({@link sampleToyLabelled}), if it has one:
   * 8gaussians the mode, rings the ring, circles/moons/2spirals the component, pinwheel the arm.
   */
  classes?: number;
}

const all = (n: number) => n;

/** The registry of toy distributions, in the spec's order. */
export const TOY_DATASETS: Readonly<Record<ToyName, ToyDatasetInfo>> = Object.freeze({
  checkerboard: {
    name: 'checkerboard',
    description: 'uniform on the 8 dark squares (side 2) of a 4×4 checkerboard on [−4, 4)²',
    entropy: Math.log(32),
    entropySource: 'exact',
    size: all,
  },
  '8gaussians': {
    name: '8gaussians',
    description: 'mixture of 8 Gaussians (std 0.5/1.414) on a circle of radius 4/1.414',
    entropy: 2.838,
    entropySource: 'quadrature',
    size: all,
    classes: 8,
  },
  rings: {
    name: 'rings',
    description: '4 concentric noisy rings, radii 3, 2.25, 1.5, 0.75, noise std 0.08',
    entropy: 2.627,
    entropySource: 'quadrature',
    size: all,
    classes: 4,
  },
  circles: {
    name: 'circles',
    description: 'sklearn make_circles(factor 0.5, noise 0.08) × 3: rings of radius 3 and 1.5',
    entropy: 3.264,
    entropySource: 'quadrature',
    size: all,
    classes: 2,
  },
  moons: {
    name: 'moons',
    description: 'sklearn make_moons(noise 0.1), mapped x ↦ 2x + (−1, −0.2)',
    entropy: 2.396,
    entropySource: 'quadrature',
    size: all,
    classes: 2,
  },
  swissroll: {
    name: 'swissroll',
    description: 'sklearn make_swiss_roll(noise 1.0), coordinates (0, 2) divided by 5',
    entropy: 2.675,
    entropySource: 'quadrature',
    size: all,
  },
  '2spirals': {
    name: '2spirals',
    description: 'two interleaved spirals (540°), noise std 0.1; returns 2⌊n/2⌋ points, arm by arm',
    entropy: 2.651,
    entropySource: 'quadrature',
    size: (n) => 2 * Math.floor(n / 2),
    classes: 2,
  },
  pinwheel: {
    name: 'pinwheel',
    description: '5 curved arms (radial std 0.3, tangential std 0.1, rate 0.25) × 2; returns 5⌊n/5⌋ points',
    entropy: 2.32,
    entropySource: 'knn',
    size: (n) => 5 * Math.floor(n / 5),
    classes: 5,
  },
});

/** The toy names, in registry order. */
export function toyNames(): ToyName[] {
  return Object.keys(TOY_DATASETS) as ToyName[];
}

/** Whether `name` is one of the toy distributions. */
export function isToyName(name: string): name is ToyName {
  return Object.hasOwn(TOY_DATASETS, name);
}

/**
 * Points [size(n), 2] from `rng`; with `labels` (length size(n)), also each point's class
 * (sets with `classes`), without changing the draws.
 */
type Generator = (n: number, rng: Rng, labels?: Float64Array) => Float64Array;

/**
 * Draw `n` points from the toy distribution `name` (see the module docs for the exact
 * definitions and sizes). `seed` is a number (fresh generator) or an `Rng` (advanced in
 * place). Returns a `[size(n), 2]` row-major float32 matrix.
 */
export function sampleToy(name: ToyName | string, n: number, seed: Seed = 0): DataMatrix {
  if (!isToyName(name)) {
    throw new DatasetError('unknown_dataset', `unknown toy dataset '${name}'; known: ${toyNames().join(', ')}`);
  }
  if (!Number.isInteger(n) || n < 0) throw new DatasetError('invalid_argument', `n must be a non-negative integer, got ${n}`);
  const rng = toRng(seed);
  const points = GENERATORS[name](n, rng);
  const rows = points.length / 2;
  return { data: Float32Array.from(points), n: rows, dim: 2 };
}

/** Toy points with their natural labels (see {@link ToyDatasetInfo.classes}). */
export interface LabelledToy {
  points: DataMatrix;
  /** The class of each point, an integer in 0…classes − 1 (float32 for tensors). */
  labels: Float32Array;
  classes: number;
}

/** Names of the toy sets with a natural label. */
export function labelledToyNames(): ToyName[] {
  return toyNames().filter((name) => TOY_DATASETS[name].classes !== undefined);
}

/**
 * {@link sampleToy} with each point's natural label: the same points for the same seed, and
 * their classes (8gaussians: the mode, in the order of the generator's centres (1, 0), (−1, 0),
 * (0, 1), (0, −1), then the diagonals (+,+), (+,−), (−,+), (−,−); rings: 0 outermost … 3;
 * circles: 0 outer, 1 inner; moons: 0 upper, 1 lower; 2spirals and pinwheel: the arm).
 * A set without a natural label (checkerboard, swissroll) is a `DatasetError`.
 */
export function sampleToyLabelled(name: ToyName | string, n: number, seed: Seed = 0): LabelledToy {
  if (!isToyName(name)) {
    throw new DatasetError('unknown_dataset', `unknown toy dataset '${name}'; known: ${toyNames().join(', ')}`);
  }
  const classes = TOY_DATASETS[name].classes;
  if (classes === undefined) {
    throw new DatasetError(
      'invalid_argument',
      `toy dataset '${name}' has no natural label; labelled sets: ${labelledToyNames().join(', ')}`,
    );
  }
  if (!Number.isInteger(n) || n < 0) throw new DatasetError('invalid_argument', `n must be a non-negative integer, got ${n}`);
  const labels = new Float64Array(TOY_DATASETS[name].size(n));
  const points = GENERATORS[name](n, toRng(seed), labels);
  return { points: { data: Float32Array.from(points), n: labels.length, dim: 2 }, labels: Float32Array.from(labels), classes };
}

/** Shuffle the rows of points [n, 2] (and their labels, if given) with the draws of {@link shuffleRows}. */
function shuffleLabelled(x: Float64Array, n: number, rng: Rng, labels?: Float64Array): void {
  if (!labels) {
    shuffleRows(x, n, 2, rng);
    return;
  }
  const rows = new Float64Array(3 * n);
  for (let i = 0; i < n; i++) rows.set([x[2 * i], x[2 * i + 1], labels[i]], 3 * i);
  shuffleRows(rows, n, 3, rng);
  for (let i = 0; i < n; i++) {
    x[2 * i] = rows[3 * i];
    x[2 * i + 1] = rows[3 * i + 1];
    labels[i] = rows[3 * i + 2];
  }
}

/** Labels of blocks stacked in order: `counts[k]` rows of class k. */
function blockLabels(labels: Float64Array | undefined, counts: number[]): void {
  if (!labels) return;
  let row = 0;
  counts.forEach((count, k) => {
    labels.fill(k, row, row + count);
    row += count;
  });
}

/** numpy.linspace(start, stop, num, endpoint). */
function linspace(start: number, stop: number, num: number, endpoint: boolean): Float64Array {
  const out = new Float64Array(num);
  const div = endpoint ? num - 1 : num;
  const step = div > 0 ? (stop - start) / div : 0;
  for (let i = 0; i < num; i++) out[i] = start + i * step;
  if (endpoint && num > 1) out[num - 1] = stop;
  return out;
}

function addNoise(x: Float64Array, std: number, rng: Rng): void {
  for (let i = 0; i < x.length; i++) x[i] += std * rng.normal();
}

/** Points on circles: `parts` = [radius, count, endpoint] blocks, stacked in order. */
function circlePoints(parts: [radius: number, count: number, endpoint: boolean, start: number, stop: number][]): Float64Array {
  const total = parts.reduce((s, p) => s + p[1], 0);
  const out = new Float64Array(2 * total);
  let row = 0;
  for (const [radius, count, endpoint, start, stop] of parts) {
    const theta = linspace(start, stop, count, endpoint);
    for (let i = 0; i < count; i++, row++) {
      out[2 * row] = radius * Math.cos(theta[i]);
      out[2 * row + 1] = radius * Math.sin(theta[i]);
    }
  }
  return out;
}

/** FFJORD divides 8gaussians by the literal 1.414, not √2 (kept for exact agreement). */
// biome-ignore lint/suspicious/noApproximativeNumericConstant: the reference uses 1.414, not Math.SQRT2
const FFJORD_ROOT2 = 1.414;

const EIGHT_CENTRES: readonly [number, number][] = [
  [1, 0],
  [-1, 0],
  [0, 1],
  [0, -1],
  [Math.SQRT1_2, Math.SQRT1_2],
  [Math.SQRT1_2, -Math.SQRT1_2],
  [-Math.SQRT1_2, Math.SQRT1_2],
  [-Math.SQRT1_2, -Math.SQRT1_2],
];

const GENERATORS: Record<ToyName, Generator> = {
  swissroll(n, rng) {
    const out = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      const t = 1.5 * Math.PI * (1 + 2 * rng.uniform());
      rng.uniform(); // the height 21v (coordinate 1) is drawn and dropped, as in sklearn
      const e0 = rng.normal();
      rng.normal(); // noise on the dropped coordinate
      const e2 = rng.normal();
      out[2 * i] = (t * Math.cos(t) + e0) / 5;
      out[2 * i + 1] = (t * Math.sin(t) + e2) / 5;
    }
    return out;
  },

  circles(n, rng, labels) {
    const nOut = Math.floor(n / 2);
    const x = circlePoints([
      [1, nOut, false, 0, 2 * Math.PI],
      [0.5, n - nOut, false, 0, 2 * Math.PI],
    ]);
    blockLabels(labels, [nOut, n - nOut]);
    shuffleLabelled(x, n, rng, labels);
    addNoise(x, 0.08, rng);
    for (let i = 0; i < x.length; i++) x[i] *= 3;
    return x;
  },

  rings(n, rng, labels) {
    const q = Math.floor(n / 4);
    const x = circlePoints([
      [1, q, false, 0, 2 * Math.PI],
      [0.75, q, false, 0, 2 * Math.PI],
      [0.5, q, false, 0, 2 * Math.PI],
      [0.25, n - 3 * q, false, 0, 2 * Math.PI],
    ]);
    for (let i = 0; i < x.length; i++) x[i] *= 3;
    blockLabels(labels, [q, q, q, n - 3 * q]);
    shuffleLabelled(x, n, rng, labels);
    addNoise(x, 0.08, rng);
    return x;
  },

  moons(n, rng, labels) {
    const nOut = Math.floor(n / 2);
    const nIn = n - nOut;
    const x = new Float64Array(2 * n);
    const a = linspace(0, Math.PI, nOut, true);
    for (let i = 0; i < nOut; i++) {
      x[2 * i] = Math.cos(a[i]);
      x[2 * i + 1] = Math.sin(a[i]);
    }
    const b = linspace(0, Math.PI, nIn, true);
    for (let i = 0; i < nIn; i++) {
      x[2 * (nOut + i)] = 1 - Math.cos(b[i]);
      x[2 * (nOut + i) + 1] = 1 - Math.sin(b[i]) - 0.5;
    }
    blockLabels(labels, [nOut, nIn]);
    shuffleLabelled(x, n, rng, labels);
    addNoise(x, 0.1, rng);
    for (let i = 0; i < n; i++) {
      x[2 * i] = 2 * x[2 * i] - 1;
      x[2 * i + 1] = 2 * x[2 * i + 1] - 0.2;
    }
    return x;
  },

  '8gaussians'(n, rng, labels) {
    const out = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      const e0 = 0.5 * rng.normal();
      const e1 = 0.5 * rng.normal();
      const k = rng.int(8);
      if (labels) labels[i] = k;
      const [cx, cy] = EIGHT_CENTRES[k];
      out[2 * i] = (4 * cx + e0) / FFJORD_ROOT2;
      out[2 * i + 1] = (4 * cy + e1) / FFJORD_ROOT2;
    }
    return out;
  },

  pinwheel(n, rng, labels) {
    const classes = 5;
    const perClass = Math.floor(n / classes);
    const m = classes * perClass;
    const x = new Float64Array(2 * m);
    for (let i = 0; i < m; i++) {
      const k = Math.floor(i / perClass); // labels = repeat(arange(5), perClass)
      const f0 = 1 + 0.3 * rng.normal();
      const f1 = 0.1 * rng.normal();
      const a = (2 * Math.PI * k) / classes + 0.25 * Math.exp(f0);
      const c = Math.cos(a);
      const s = Math.sin(a);
      x[2 * i] = 2 * (f0 * c + f1 * s);
      x[2 * i + 1] = 2 * (-f0 * s + f1 * c);
      if (labels) labels[i] = k;
    }
    shuffleLabelled(x, m, rng, labels);
    return x;
  },

  '2spirals'(n, rng, labels) {
    const m = Math.floor(n / 2);
    const x = new Float64Array(4 * m);
    blockLabels(labels, [m, m]);
    for (let i = 0; i < m; i++) {
      const r = Math.sqrt(rng.uniform()) * 3 * Math.PI;
      const px = -r * Math.cos(r) + 0.5 * rng.uniform();
      const py = r * Math.sin(r) + 0.5 * rng.uniform();
      x[2 * i] = px / 3;
      x[2 * i + 1] = py / 3;
      x[2 * (m + i)] = -px / 3;
      x[2 * (m + i) + 1] = -py / 3;
    }
    addNoise(x, 0.1, rng);
    return x;
  },

  checkerboard(n, rng) {
    const out = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      const x1 = 4 * rng.uniform() - 2;
      const x2 = rng.uniform() - 2 * rng.int(2) + (((Math.floor(x1) % 2) + 2) % 2);
      out[2 * i] = 2 * x1;
      out[2 * i + 1] = 2 * x2;
    }
    return out;
  },
};
