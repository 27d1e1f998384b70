/**
 * testNll / nelboReport: thin wrappers over DiffusionModel.logProb / nelbo. Checked against
 * the model's own methods (same numbers, batching is transparent, bits/dim conversion), and
 * with a stub model for the summary statistics and the error paths.
 */
import { initBackend, type SolveStats } from '@nfdm/core';
import { createModel, type DiffusionModel, MODEL_FORMAT } from '@nfdm/models';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LogProbModel, nelboReport, testNll } from '../../src/metrics/index.js';
import { thrown } from './helpers.js';

let model: DiffusionModel;
let x: tf.Tensor2D;
beforeAll(async () => {
  await initBackend('wasm');
  model = createModel({
    format: MODEL_FORMAT,
    dim: 2,
    forward: { kind: 'fixed', schedule: { name: 'vp' } },
    predictor: { hidden: [8] },
    volatility: { kind: 'matched', schedule: { name: 'vp' } },
    seed: 1,
  });
  x = tf.tensor2d(
    Array.from({ length: 12 }, (_, i) => [Math.sin(i), Math.cos(3 * i) - 0.5]),
    [12, 2],
  );
});
afterAll(() => {
  model.dispose();
  x.dispose();
});

const STATS: SolveStats = { nfe: 10, diffusionEvals: 0, steps: 5, acceptedSteps: 5, rejectedSteps: 0, initialStep: -0.2 };

/** A stub whose log-likelihood of row r is −(r + 1)/4 (needs only `dim` and `logProb`). */
function stub(values?: (rows: Float32Array) => number[]): LogProbModel & { calls: { rows: number; seed?: number }[] } {
  const calls: { rows: number; seed?: number }[] = [];
  return {
    dim: 1,
    calls,
    logProb(xb, options) {
      const rows = xb.dataSync() as Float32Array;
      calls.push({ rows: rows.length, seed: options?.seed });
      return { logp: Float32Array.from(values ? values(rows) : Array.from(rows, (r) => -(r + 1) / 4)), stats: { ...STATS } };
    },
  };
}

describe('testNll', () => {
  it('reports −logProb of the model per row, with mean, standard error and bits/dim', () => {
    const options = { solver: 'rk4', steps: 6, divergence: 'exact' as const };
    const { logp, stats } = model.logProb(x, options);
    const r = testNll(model, x, options);
    expect(r.perSample.length).toBe(12);
    for (let i = 0; i < 12; i++) expect(r.perSample[i]).toBe(-logp[i]);
    const mean = -logp.reduce((s, v) => s + v, 0) / 12;
    expect(r.nll.mean).toBeCloseTo(mean, 5);
    expect(r.nll.n).toBe(12);
    expect(r.bitsPerDim.mean).toBeCloseTo(mean / (2 * Math.LN2), 5);
    expect(r.bitsPerDim.stderr).toBeCloseTo(r.nll.stderr / (2 * Math.LN2), 12);
    expect(r.stats.nfe).toBe(stats.nfe);
    expect(r.batches).toBe(1);
    // Batching is transparent for a fixed-step solve with the exact divergence.
    const batched = testNll(model, x, { ...options, batch: 5, bitsOffset: 7 });
    expect(batched.batches).toBe(3);
    expect(batched.stats.nfe).toBe(3 * stats.nfe);
    for (let i = 0; i < 12; i++) expect(batched.perSample[i]).toBeCloseTo(r.perSample[i], 4);
    expect(batched.bitsPerDim.mean).toBeCloseTo(r.bitsPerDim.mean + 7, 4);
  });

  it('summary statistics and per-batch seeds (stub model)', () => {
    const m = stub();
    const data = tf.tensor2d([[0], [1], [2], [3], [4]]);
    const r = testNll(m, data, { batch: 2, seed: 10 });
    data.dispose();
    expect(m.calls).toEqual([
      { rows: 2, seed: 10 },
      { rows: 2, seed: 11 },
      { rows: 1, seed: 12 },
    ]);
    expect(Array.from(r.perSample)).toEqual([0.25, 0.5, 0.75, 1, 1.25]);
    expect(r.nll.mean).toBeCloseTo(0.75, 12);
    // sd of {0.25, …, 1.25} with n − 1 = 4: √(0.625/4) = 0.395…; stderr = sd/√5.
    expect(r.nll.stderr).toBeCloseTo(Math.sqrt(0.625 / 4) / Math.sqrt(5), 12);
    expect(r.bitsPerDim.mean).toBeCloseTo(0.75 / Math.LN2, 12);
    expect(r.stats).toEqual({ nfe: 30, diffusionEvals: 0, steps: 15, acceptedSteps: 15, rejectedSteps: 0, initialStep: -0.2 });
  });

  it('rejects a dimension mismatch, a bad batch and non-finite log-likelihoods', () => {
    const data = tf.tensor2d([[0], [1]]);
    expect(thrown(() => testNll(model, data)).message).toMatch(/dimension 1, the model has dimension 2/);
    expect(thrown(() => testNll(stub(), data, { batch: 0 }))).toBeInstanceOf(RangeError);
    const e = thrown(() =>
      testNll(
        stub((rows) => Array.from(rows, (r) => (r > 0 ? Number.NaN : 0))),
        data,
      ),
    );
    expect(e).toBeInstanceOf(RangeError);
    expect(e.message).toMatch(/1 of 2 log-likelihoods are not finite/);
    expect(thrown(() => testNll(stub(), tf.zeros([3])))).toBeInstanceOf(TypeError);
    data.dispose();
  });
});

describe('nelboReport', () => {
  it('is model.nelbo plus bits/dim', () => {
    const options = { draws: 2, seed: 5 };
    const ref = model.nelbo(x, options);
    const r = nelboReport(model, x, { ...options, bitsOffset: 1 });
    expect(r.nelbo).toEqual(ref.nelbo);
    expect(r.diffusion).toEqual(ref.diffusion);
    expect(r.prior).toEqual(ref.prior);
    expect(r.reconstruction).toBe(ref.reconstruction);
    expect(r.bitsPerDim.mean).toBeCloseTo(ref.nelbo.mean / (2 * Math.LN2) + 1, 12);
    expect(r.bitsPerDim.stderr).toBeCloseTo(ref.nelbo.stderr / (2 * Math.LN2), 12);
    expect(thrown(() => nelboReport(model, tf.zeros([2, 3]))).message).toMatch(/dimension 3/);
  });
});
