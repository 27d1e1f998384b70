/**
 * The runtime on committed exports (test/fixtures, written by make-fixtures.mjs from tfjs
 * models): samples (stepwise and the one-call Loop graphs; the Runge–Kutta solvers, the reverse
 * SDE and the frozen-prediction 'ddim' steps), log-densities with the
 * standardisation log-det, bridge transport and DiffFlow samples equal the tfjs models' own
 * numbers recorded in expected.json — checked here without loading tfjs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadExportedModel, loadOnnxModel, OnnxRuntimeError, readOnnxMetadata } from '../src/index.js';

const fixtures = join(import.meta.dirname, 'fixtures');
const expected = JSON.parse(readFileSync(join(fixtures, 'expected.json'), 'utf8'));

/** |a − b| ≤ atol + rtol·|b| elementwise (float32 graphs vs tfjs: ~1e-6 apart). */
function expectClose(actual: ArrayLike<number>, want: number[], atol = 1e-4, rtol = 1e-4): void {
  expect(actual.length).toBe(want.length);
  const bad = want.map((w, i) => Math.abs(actual[i] - w) - (atol + rtol * Math.abs(w))).filter((excess) => !(excess <= 0));
  expect(bad).toEqual([]);
}

describe('diffusion export (nfdm-2d)', () => {
  it('samples equal DiffusionModel.sample (data space) stepwise and with the Loop graphs', async () => {
    const model = await loadOnnxModel(join(fixtures, 'nfdm-2d'));
    try {
      expect(model.standardization).toEqual(expected.nfdm.standardization);
      for (const c of expected.nfdm.sample) {
        for (const engine of ['stepwise', 'loop'] as const) {
          const out = await model.sample({ ...c.options, engine });
          expect([out.n, out.dim, out.mode, out.engine]).toEqual([c.options.n, 2, c.options.mode, engine]);
          expect(out.stats.nfe).toBe(c.options.steps * ({ heun: 2, rk4: 4 }[c.options.solver as string] ?? 1));
          expectClose(out.samples, c.samples);
        }
      }
    } finally {
      await model.dispose();
    }
  });

  it('log-densities equal DiffusionModel.logProb plus the standardisation log-det', async () => {
    const model = await loadOnnxModel(join(fixtures, 'nfdm-2d'));
    try {
      const { points, options, logp } = expected.nfdm.logProb;
      const out = await model.logProb(Float32Array.from(points), options);
      expectClose(out.logp, logp);
      expect(out.stats.steps).toBe(options.steps);
    } finally {
      await model.dispose();
    }
  });

  it('refuses bad requests and other families with one clear error', async () => {
    const model = await loadOnnxModel(join(fixtures, 'nfdm-2d'));
    try {
      await expect(model.sample({ n: 0 })).rejects.toThrow(OnnxRuntimeError);
      await expect(model.sample({ n: 2, mode: 'ode', solver: 'euler-maruyama' })).rejects.toThrow(/not available in ode mode/);
      await expect(model.sample({ n: 2, mode: 'sde', solver: 'ddim' })).rejects.toThrow(/'ddim' steps the probability-flow ODE/);
    } finally {
      await model.dispose();
    }
    await expect(loadOnnxModel(join(fixtures, 'bridge-2d'))).rejects.toThrow(/load it with loadOnnxBridge/);
    await expect(loadOnnxModel(join(fixtures, 'no-such-export'))).rejects.toThrow();
  });

  it('reads the metadata of one graph without onnxruntime', () => {
    const meta = readOnnxMetadata(readFileSync(join(fixtures, 'nfdm-2d', 'velocity.onnx')));
    expect([meta.kind, meta.dim, meta.graph]).toEqual(['nfdm', 2, 'velocity']);
  });
});

describe('bridge and DiffFlow exports', () => {
  it('bridge transport equals BridgeModel.sample', async () => {
    const bridge = await loadExportedModel(join(fixtures, 'bridge-2d'));
    try {
      expect(bridge.family).toBe('nfbm');
      if (bridge.family !== 'nfbm') return;
      const { sources, options, samples } = expected.bridge;
      const out = await bridge.transport(Float32Array.from(sources), options);
      expectClose(out.samples, samples);
    } finally {
      await bridge.dispose();
    }
  });

  it('DiffFlow samples equal diffflowSample on the exported grid', async () => {
    const flow = await loadExportedModel(join(fixtures, 'diffflow-2d'));
    try {
      expect(flow.family).toBe('diffflow');
      if (flow.family !== 'diffflow') return;
      const out = await flow.sample(expected.diffflow.options);
      expectClose(out.samples, expected.diffflow.samples);
    } finally {
      await flow.dispose();
    }
  });
});
