import { describe, expect, it } from 'vitest';
import {
  besselI0Scaled,
  isotropicGaussianEntropy,
  knnEntropyProfile,
  noisyCircleEntropy,
  sampleToyLabelled,
  TOY_DATASETS,
  toyConditionalEntropy,
} from '../src/index.js';

/** e^{−a} I₀(a) from the power series Σ (a/2)^{2k} / (k!)², summed in log space. */
function seriesI0Scaled(a: number): number {
  let sum = 0;
  let logTerm = -a; // k = 0
  for (let k = 0; k < 400; k++) {
    if (k > 0) logTerm += 2 * Math.log(a / 2) - 2 * Math.log(k);
    sum += Math.exp(logTerm);
  }
  return sum;
}

/** Rows of class k of a labelled toy set. */
function classRows(name: string, n: number, seed: number, k: number) {
  const { points, labels } = sampleToyLabelled(name, n, seed);
  const rows: number[] = [];
  for (let i = 0; i < points.n; i++) if (labels[i] === k) rows.push(points.data[2 * i], points.data[2 * i + 1]);
  return { data: Float32Array.from(rows), n: rows.length / 2, dim: 2 };
}

describe('conditional entropy floors H(x | y)', () => {
  it('e^{−a} I₀(a) agrees with its power series to 5e-7 (relative)', () => {
    for (const a of [0, 0.3, 2, 3.75, 3.76, 8, 40, 150]) {
      const ref = seriesI0Scaled(a);
      expect(Math.abs(besselI0Scaled(a) - ref) / ref, `a = ${a}`).toBeLessThan(5e-7);
    }
    expect(() => besselI0Scaled(-1)).toThrow(RangeError);
  });

  it('a thin noisy circle tends to ln(2πR) + ½ ln(2πe s²), a vanishing one to N(0, s² I₂)', () => {
    const thin = noisyCircleEntropy(3, 0.08);
    expect(thin - (Math.log(2 * Math.PI * 3) + isotropicGaussianEntropy(0.08, 1))).toBeCloseTo(0, 3);
    expect(noisyCircleEntropy(1e-3, 1)).toBeCloseTo(isotropicGaussianEntropy(1, 2), 5);
    // Never above the Gaussian of the same covariance, (R²/2 + s²) I₂.
    for (const [R, s] of [
      [0.5, 0.5],
      [1, 0.3],
      [2, 1],
    ])
      expect(noisyCircleEntropy(R, s)).toBeLessThan(isotropicGaussianEntropy(Math.sqrt((R * R) / 2 + s * s), 2));
  });

  it('8gaussians is exactly ln(2πe s²), s = 0.5/1.414', () => {
    // biome-ignore lint/suspicious/noApproximativeNumericConstant: FFJORD's 8gaussians divides by 1.414, not √2
    expect(toyConditionalEntropy('8gaussians')).toBeCloseTo(Math.log(2 * Math.PI * Math.E * (0.5 / 1.414) ** 2), 12);
  });

  it('each class of 8gaussians, rings and circles matches the k-NN entropy within 0.05 nats', () => {
    for (const name of ['8gaussians', 'rings', 'circles']) {
      const K = TOY_DATASETS[name as '8gaussians'].classes as number;
      const perClass: number[] = [];
      for (let k = 0; k < K; k++) {
        const profile = knnEntropyProfile(classRows(name, 8000 * K, 7, k), 5);
        perClass.push(profile.reduce((a, b) => a + b, 0) / profile.length);
      }
      const knn = perClass.reduce((a, b) => a + b, 0) / K;
      expect(Math.abs(knn - (toyConditionalEntropy(name) as number)), `${name}: k-NN ${knn}`).toBeLessThan(0.05);
    }
  });

  it('0 ≤ H(x) − H(x | y) ≤ ln K, ≈ ln K where the classes do not overlap', () => {
    for (const name of ['8gaussians', 'rings', 'circles'] as const) {
      const info = TOY_DATASETS[name];
      const mutual = info.entropy - (toyConditionalEntropy(name) as number);
      expect(mutual).toBeGreaterThan(0);
      expect(mutual).toBeLessThan(Math.log(info.classes as number) + 0.01);
      expect(mutual, name).toBeGreaterThan(Math.log(info.classes as number) - 0.01);
    }
  });

  it('is undefined where no floor is known', () => {
    for (const name of ['moons', '2spirals', 'pinwheel', 'checkerboard', 'nope']) expect(toyConditionalEntropy(name)).toBeUndefined();
  });
});
