/**
 * Flow matching end to end through the built CLI: `train --model cfm | ot-cfm | rectified-flow`
 * (held-out flow-matching loss, no NELBO) → `sample` (ODE only; --sde refused) → `eval` (exact
 * NLL), one reflow round (`--reflow-from`), and `export` → the ONNX runtime (ODE samples, log p).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCsv } from '@nfdm/datasets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, failure, json, runCli } from './harness.js';

let tmp: string;
const nfdm = (args: string[]) => runCli(tmp, args);

const TINY = ['--steps', '30', '--hidden', '16,16', '--batch', '64', '--eval-every', '15'];

beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build the CLI first (cd apps/cli && npx tsup)`);
  tmp = mkdtempSync(join(tmpdir(), 'nfdm-cli-cfm-'));
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('flow matching', () => {
  it('cfm trains with the flow-matching loss, samples with the ODE only and evaluates the exact NLL', async () => {
    const summary = json(await nfdm(['train', '--model', 'cfm', '--data', '8gaussians', ...TINY, '--out', 'cfm', '--json']));
    expect(summary.status).toBe('completed');
    expect(summary.nelbo).toBeUndefined();
    expect((summary.otLoss as { mean: number }).mean).toBeGreaterThan(0);
    expect(summary.modelConfig).toMatchObject({ format: 'nfdm-cfm/1', flow: { coupling: 'independent', sigmaMin: 0 } });

    const sample = json(await nfdm(['sample', '--model', 'cfm', '--n', '40', '--out', 's.csv', '--json']));
    expect(sample).toMatchObject({ mode: 'ode', n: 40, dim: 2 });
    expect(Array.from(readCsv(join(tmp, 's.csv')).data).every(Number.isFinite)).toBe(true);
    const rk4 = json(await nfdm(['sample', '--model', 'cfm', '--n', '10', '--solver', 'rk4', '--steps', '8', '--out', 's2.csv', '--json']));
    expect(rk4).toMatchObject({ mode: 'ode', solver: 'rk4', steps: 8 });
    const ddim = await nfdm(['sample', '--model', 'cfm', '--n', '10', '--solver', 'ddim', '--out', 's4.csv']);
    expect(ddim.code).not.toBe(0);
    expect(ddim.stderr).toMatch(/'ddim' \(frozen-prediction steps\) needs a diffusion model with a data predictor/);
    expect(ddim.stderr.trim().split('\n')).toHaveLength(1);
    const sde = await nfdm(['sample', '--model', 'cfm', '--n', '10', '--sde', '--out', 's3.csv']);
    expect(sde.code).toBe(2);
    expect(sde.stderr).toMatch(/no reverse SDE .*ODE only/);

    const ev = json(await nfdm(['eval', '--model', 'cfm', '--n', '40', '--metrics', 'nll,nelbo,swd', '--json']));
    const metrics = ev.metrics as Record<string, { mean: number } | number | null>;
    expect(Number.isFinite((metrics.nll as { mean: number }).mean)).toBe(true);
    expect(metrics.nelbo).toBeNull();
    expect(Number.isFinite(metrics.swd as number)).toBe(true);
  }, 120_000);

  it('ot-cfm couples by OT; rectified-flow trains one reflow round on the pairs of its teacher', async () => {
    const ot = json(await nfdm(['train', '--model', 'ot-cfm', '--data', '8gaussians', ...TINY, '--out', 'ot', '--json']));
    expect(ot.modelConfig).toMatchObject({ flow: { coupling: 'ot' } });
    json(await nfdm(['train', '--model', 'rectified-flow', '--data', '8gaussians', ...TINY, '--out', 'rf1', '--json']));
    const rf2 = json(
      await nfdm([
        'train',
        '--model',
        'rectified-flow',
        '--reflow-from',
        'rf1',
        '--reflow-pairs',
        '300',
        '--data',
        '8gaussians',
        ...TINY,
        '--out',
        'rf2',
        '--json',
      ]),
    );
    expect(rf2.modelConfig).toMatchObject({ format: 'nfdm-cfm/1', flow: { coupling: 'reflow' } });
    expect((rf2.data as { source: string }).source).toMatch(/reflow pairs/);
    expect((rf2.otLoss as { mean: number }).mean).toBeGreaterThan(0);
    expect((rf2.config as { reflowFrom: string }).reflowFrom).toBe(join(tmp, 'rf1'));
    json(await nfdm(['sample', '--model', 'rf2', '--n', '20', '--solver', 'euler', '--steps', '1', '--out', 'one-step.csv', '--json']));
    const resumed = json(await nfdm(['train', '--out', 'rf2', '--resume', '--steps', '40', '--json']));
    expect(resumed).toMatchObject({ status: 'completed', step: 40, resumedFrom: 30, modelConfig: { flow: { coupling: 'reflow' } } });
    const bad = await nfdm(['train', '--model', 'cfm', '--reflow-from', 'rf1', '--data', '8gaussians', ...TINY, '--out', 'bad']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/apply to rectified-flow only/);
  }, 180_000);

  it('a cfm model exports to ONNX (velocity, divergence, ODE Loop samplers); the runtime samples it by the ODE and gives log p', async () => {
    json(
      await nfdm([
        'train',
        '--model',
        'cfm',
        '--data',
        '8gaussians',
        '--steps',
        '2',
        '--hidden',
        '16,16',
        '--batch',
        '32',
        '--out',
        'tiny',
        '--json',
      ]),
    );
    const r = json(await nfdm(['export', '--model', 'tiny', '--out', 'tiny-onnx', '--json']));
    const files = (r.files as string[]).map((f) => f.split('/').pop()).sort();
    expect(files).toEqual([
      'nfdm-onnx.json',
      'sampler_euler_ode.onnx',
      'sampler_heun_ode.onnx',
      'sampler_rk4_ode.onnx',
      'velocity.onnx',
      'velocity_divergence.onnx',
    ]);
    const { loadExportedModel } = await import('@nfdm/runtime');
    const runtime = await loadExportedModel(join(tmp, 'tiny-onnx'));
    try {
      expect(runtime.family).toBe('cfm');
      expect(runtime.capabilities).toMatchObject({ sample: true, logProb: true, sde: false });
      const stepwise = await (runtime as import('@nfdm/runtime').OnnxCFMModel).sample({ n: 7, steps: 5, solver: 'rk4', seed: 1 });
      const loop = await (runtime as import('@nfdm/runtime').OnnxCFMModel).sample({
        n: 7,
        steps: 5,
        solver: 'rk4',
        seed: 1,
        engine: 'loop',
      });
      expect(stepwise.samples).toHaveLength(7 * 2);
      expect(Array.from(stepwise.samples).every(Number.isFinite)).toBe(true);
      for (let i = 0; i < 14; i++) expect(loop.samples[i]).toBeCloseTo(stepwise.samples[i], 4);
      const { logp } = await (runtime as import('@nfdm/runtime').OnnxCFMModel).logProb(stepwise.samples, { steps: 10 });
      expect(Array.from(logp).every(Number.isFinite)).toBe(true);
    } finally {
      await runtime.dispose();
    }
    failure(await nfdm(['export', '--model', 'tiny', '--out', 'tiny-onnx']), /not empty; pass --force/, 1);
  }, 120_000);
});
