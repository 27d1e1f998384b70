/**
 * NFDM-OT end to end through the built CLI: `train --model nfdm-ot --curvature-weight λ` →
 * `sample` (ODE by default) → `eval --json` (exact NLL; the NELBO reported as not available)
 * → `plot samples` (ODE by default) → `export`.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCsv } from '@nfdm/datasets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, json, runCli } from './harness.js';

let tmp: string;
const nfdm = (args: string[]) => runCli(tmp, args);

const TINY = ['--steps', '30', '--hidden', '16,16', '--batch', '64', '--eval-every', '15'];

beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build the CLI first (cd apps/cli && npx tsup)`);
  tmp = mkdtempSync(join(tmpdir(), 'nfdm-cli-ot-'));
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('nfdm-ot', () => {
  it('trains with the OT objective, samples with the ODE by default, evaluates the NLL without a NELBO, plots and exports', async () => {
    const summary = json(
      await nfdm(['train', '--model', 'nfdm-ot', '--curvature-weight', '0.5', '--data', '8gaussians', ...TINY, '--out', 'ot', '--json']),
    );
    expect(summary.status).toBe('completed');
    expect(summary.nelbo).toBeUndefined();
    expect((summary.otLoss as { mean: number }).mean).toBeGreaterThan(0);
    expect(summary.config).toMatchObject({ model: 'nfdm-ot', curvatureWeight: 0.5 });
    expect(summary.modelConfig).toMatchObject({ forward: { kind: 'nfdm' }, volatility: { kind: 'constant', value: 1 } });
    const meta = JSON.parse(readFileSync(join(tmp, 'ot', 'model', 'meta.json'), 'utf8'));
    expect(meta.objective).toEqual({ kind: 'ot', curvatureWeight: 0.5 });
    const ckpt = JSON.parse(readFileSync(join(tmp, 'ot', 'ckpt-30', 'config.json'), 'utf8'));
    expect(ckpt.trainer.objective).toEqual({ kind: 'ot', curvatureWeight: 0.5 });

    const sample = json(await nfdm(['sample', '--model', 'ot', '--n', '50', '--out', 's.csv', '--json']));
    expect(sample).toMatchObject({ mode: 'ode', solver: 'dopri5', n: 50, dim: 2 });
    const rows = readCsv(join(tmp, 's.csv'));
    expect(rows.n).toBe(50);
    expect(Array.from(rows.data).every(Number.isFinite)).toBe(true);
    // A named fixed-step ODE solver keeps its steps.
    const rk4 = json(await nfdm(['sample', '--model', 'ot', '--n', '10', '--solver', 'rk4', '--steps', '10', '--out', 's2.csv', '--json']));
    expect(rk4).toMatchObject({ mode: 'ode', solver: 'rk4', steps: 10 });

    const ev = json(
      await nfdm(['eval', '--model', 'ot', '--n', '40', '--metrics', 'nll,nelbo,swd,curvature', '--curvature-steps', '20', '--json']),
    );
    const metrics = ev.metrics as Record<string, { mean: number } | number | null>;
    expect(Number.isFinite((metrics.nll as { mean: number }).mean)).toBe(true);
    expect(metrics.nelbo).toBeNull();
    expect((ev.notAvailable as Record<string, string>).nelbo).toMatch(/not applicable/);
    expect(ev.sampler).toMatch(/probability-flow ODE/);
    expect(Number.isFinite(metrics.swd as number)).toBe(true);
    expect(metrics.curvature as number).toBeGreaterThan(0);

    const plot = json(await nfdm(['plot', 'samples', '--model', 'ot', '--n', '100', '--out', 'p.svg', '--json']));
    expect(plot.sampler).toMatch(/probability-flow ODE/);

    const exported = json(await nfdm(['export', '--model', 'ot', '--out', 'onnx', '--json']));
    const files = (exported.files as string[]).map((f) => f.split('/').pop());
    for (const f of ['velocity.onnx', 'velocity_divergence.onnx', 'nfdm-onnx.json']) expect(files).toContain(f);
    // the export records the OT objective, so runtimes (and the playground) know it is a few-step model
    const { loadExportedModel, readOnnxMetadata } = await import('@nfdm/runtime');
    expect(readOnnxMetadata(readFileSync(join(tmp, 'onnx', 'velocity.onnx'))).objective).toEqual({ kind: 'ot', curvatureWeight: 0.5 });
    const runtime = await loadExportedModel(join(tmp, 'onnx'));
    expect(runtime.capabilities.fewStep).toBe(true);
    await runtime.dispose();
  });

  it('refuses --curvature-weight for other models and resumes with the stored objective', async () => {
    const bad = await nfdm(['train', '--model', 'nfdm', '--curvature-weight', '1', '--data', '8gaussians', ...TINY, '--out', 'bad']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--curvature-weight applies to NFDM-OT models/);
    json(await nfdm(['train', '--model', 'nfdm-ot', '--data', '8gaussians', ...TINY, '--out', 'ot2', '--json']));
    const resumed = json(await nfdm(['train', '--out', 'ot2', '--resume', '--steps', '40', '--json']));
    expect(resumed).toMatchObject({ status: 'completed', step: 40, resumedFrom: 30 });
    const ckpt = JSON.parse(readFileSync(join(tmp, 'ot2', 'ckpt-40', 'config.json'), 'utf8'));
    expect(ckpt.trainer.objective).toEqual({ kind: 'ot', curvatureWeight: 1 });
  });
});
