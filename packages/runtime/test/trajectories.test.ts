/**
 * Trajectories (what the browser playground animates): `sample({ trajectory: true })` and
 * `transport({ trajectory: true })` record every state of the stepwise solve — z(1) first, the
 * returned samples last — and `forwardTrajectory` gives z_t = μ(x, t) + σ(x, t) ε of the forward
 * graph from x at t₀ towards the prior at t = 1.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadOnnxBridge, loadOnnxModel, OnnxRuntimeError, Rng } from '../src/index.js';

const fixtures = join(import.meta.dirname, 'fixtures');

describe('sample / transport trajectories', () => {
  it('start at z(1), end at the samples, in data space, for ODE and SDE', async () => {
    const model = await loadOnnxModel(join(fixtures, 'nfdm-2d'));
    try {
      for (const mode of ['ode', 'sde'] as const) {
        const out = await model.sample({
          n: 5,
          steps: 6,
          mode,
          solver: mode === 'ode' ? 'heun' : 'euler_maruyama',
          seed: 2,
          trajectory: true,
        });
        const plain = await model.sample({ n: 5, steps: 6, mode, solver: mode === 'ode' ? 'heun' : 'euler_maruyama', seed: 2 });
        const tr = out.trajectory;
        if (!tr) throw new Error('no trajectory');
        expect(tr.times).toHaveLength(7);
        expect([tr.times[0], tr.times[6]]).toEqual([1, model.tStart]);
        expect([...tr.states.subarray(6 * 10)]).toEqual([...plain.samples]);
        // z(1) = priorStd · ε from new Rng(seed), in data space x = y·std + mean
        const eps = new Rng(2).normalArray(10);
        const s = model.standardization ?? { mean: [0, 0], std: [1, 1] };
        const z1 = Array.from(eps, (e, i) => e * model.priorStd * s.std[i % 2] + s.mean[i % 2]);
        z1.forEach((v, i) => {
          expect(tr.states[i]).toBeCloseTo(v, 4);
        });
      }
      await expect(model.sample({ n: 2, trajectory: true, engine: 'loop', mode: 'ode', solver: 'euler' })).rejects.toThrow(
        OnnxRuntimeError,
      );
    } finally {
      await model.dispose();
    }
  });

  it('bridge transport records the path from the sources to the targets', async () => {
    const bridge = await loadOnnxBridge(join(fixtures, 'bridge-2d'));
    try {
      const sources = [
        [1, 2],
        [-1, 0],
      ];
      const out = await bridge.transport(sources, { steps: 4, mode: 'ode', seed: 1, trajectory: true });
      const tr = out.trajectory;
      if (!tr) throw new Error('no trajectory');
      expect(tr.states).toHaveLength(5 * 4);
      expect([...tr.states.subarray(16)]).toEqual([...out.samples]);
      // z(1) = x1 + δ ε: within a few δ of the sources
      for (let i = 0; i < 4; i++) expect(Math.abs(tr.states[i] - sources[Math.floor(i / 2)][i % 2])).toBeLessThan(6 * bridge.delta + 1e-6);
    } finally {
      await bridge.dispose();
    }
  });
});

describe('forwardTrajectory', () => {
  it('z_t = μ + σ ε from the data points at t₀ (σ small) to the prior; needs the forward graph', async () => {
    const dir = join(fixtures, 'nfdm-2d');
    const without = await loadOnnxModel(dir);
    await expect(without.forwardTrajectory([[0, 0]])).rejects.toThrow(/'forward' graph/);
    await without.dispose();
    const model = await loadOnnxModel(dir, { graphs: ['velocity', 'drift', 'forward'] });
    try {
      const x = [
        [0.5, -0.25],
        [2, 1],
        [-1, 3],
      ];
      const tr = await model.forwardTrajectory(x, { times: 5, seed: 3 });
      expect(tr.times).toEqual([0, 0.25, 0.5, 0.75, 1]);
      expect(tr.states).toHaveLength(5 * 3 * 2);
      // at t₀ the forward process is (nearly) the identity: z ≈ x (NFDM's δ = 0.01 noise)
      x.flat().forEach((v, i) => {
        expect(Math.abs(tr.states[i] - v)).toBeLessThan(0.1 * Math.max(1, Math.abs(v)));
      });
      // a different seed moves the noisy end, not the start
      const other = await model.forwardTrajectory(x, { times: 5, seed: 4 });
      const endGap = Math.max(...Array.from(tr.states.subarray(24), (v, i) => Math.abs(v - other.states[24 + i])));
      expect(endGap).toBeGreaterThan(0.1);
      await expect(model.forwardTrajectory(x, { times: 1 })).rejects.toThrow(/times must be an integer ≥ 2/);
    } finally {
      await model.dispose();
    }
  });
});
