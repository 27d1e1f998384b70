/**
 * NFBM bridges and DiffFlow end to end through the built CLI: train → sample → eval → plot →
 * export, with their own metrics (bridges: endpoint distances and the obstacle fraction;
 * DiffFlow: the NLL bound and the PF-ODE NLL) and one-line errors for what does not apply.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCsv } from '@nfdm/datasets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, failure, json, runCli } from './harness.js';

let tmp: string;
const nfdm = (args: string[]) => runCli(tmp, args);
const TINY = ['--steps', '20', '--hidden', '16,16', '--batch', '64', '--eval-every', '10'];

beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build the CLI first (cd apps/cli && npx tsup)`);
  tmp = mkdtempSync(join(tmpdir(), 'nfdm-cli-families-'));
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('nfbm', () => {
  it('trains a bridge with an obstacle, transports sources, evaluates endpoints and the obstacle fraction, plots and exports', async () => {
    const summary = json(
      await nfdm([
        'train',
        '--model',
        'nfbm',
        '--source',
        '8gaussians',
        '--target',
        'moons',
        '--obstacle',
        '0,0,0.5,20',
        ...TINY,
        '--out',
        'bridge',
        '--json',
      ]),
    );
    expect(summary.status).toBe('completed');
    expect(summary.config).toMatchObject({
      model: 'nfbm',
      data: '8gaussians->moons',
      obstacle: { center: [0, 0], radius: 0.5, weight: 20 },
    });
    expect(summary.modelConfig).toMatchObject({ format: 'nfdm-bridge/1', penalties: [{ kind: 'obstacle', radius: 0.5, weight: 20 }] });
    expect((summary.bound as { kind: string; mean: number }).kind).toBe('bridge');
    expect(Number.isFinite((summary.bound as { mean: number }).mean)).toBe(true);

    // The reverse SDE (default, 100 steps) is stable with the preset's δ = 0.1.
    const sample = json(await nfdm(['sample', '--model', 'bridge', '--n', '30', '--out', 's.csv', '--json']));
    expect(sample).toMatchObject({ n: 30, dim: 2, mode: 'sde' });
    expect(readCsv(join(tmp, 's.csv')).n).toBe(30);

    const ev = json(await nfdm(['eval', '--model', 'bridge', '--n', '60', '--ode', '--steps', '10', '--json']));
    expect(ev.sampler).toMatch(/probability-flow ODE, dopri5, 10 steps/);
    const m = ev.metrics as Record<string, number>;
    for (const k of ['swd', 'mmd', 'energy', 'w2']) expect(Number.isFinite(m[k])).toBe(true);
    expect(m.inside).toBeGreaterThanOrEqual(0);
    expect(m.inside).toBeLessThanOrEqual(1);
    const na = json(await nfdm(['eval', '--model', 'bridge', '--n', '20', '--metrics', 'nll,swd', '--ode', '--steps', '5', '--json']));
    expect((na.notAvailable as Record<string, string>).nll).toMatch(/conditional transport/);
    // Any disc can be measured: a disc covering everything holds every path point.
    const all = json(
      await nfdm([
        'eval',
        '--model',
        'bridge',
        '--n',
        '20',
        '--metrics',
        'inside',
        '--obstacle',
        '0,0,1000',
        '--ode',
        '--steps',
        '5',
        '--json',
      ]),
    );
    expect((all.metrics as Record<string, number>).inside).toBe(1);

    json(await nfdm(['plot', 'forward', '--model', 'bridge', '--n', '20', '--times', '5', '--out', 'f.svg', '--json']));
    json(await nfdm(['plot', 'trajectories', '--model', 'bridge', '--n', '20', '--ode', '--steps', '5', '--out', 't.svg', '--json']));
    failure(await nfdm(['plot', 'density', '--model', 'bridge', '--grid', '4', '--out', 'd.svg']), /no marginal density/);

    const exported = json(await nfdm(['export', '--model', 'bridge', '--out', 'onnx-bridge', '--json']));
    const files = (exported.files as string[]).map((f) => f.split('/').pop());
    for (const f of ['bridge_velocity.onnx', 'bridge_sampler_euler_ode.onnx', 'nfdm-onnx.json']) expect(files).toContain(f);
  });

  it('refuses bad bridge arguments with one line', async () => {
    failure(await nfdm(['train', '--model', 'nfbm', '--source', '8gaussians', ...TINY, '--out', 'b1']), /needs --source and --target/, 2);
    failure(
      await nfdm(['train', '--model', 'nfbm', '--source', 'x.csv', '--target', 'moons', ...TINY, '--out', 'b2']),
      /train on toy sets/,
    );
    failure(await nfdm(['train', '--model', 'nfdm', '--data', 'moons', '--obstacle', '0,0,1', ...TINY, '--out', 'b3']), /bridge models/, 2);
    failure(await nfdm(['train', '--model', 'nfbm', '--obstacle', '0,0,-1', ...TINY, '--out', 'b4']), /cx,cy,r/);
    failure(await nfdm(['train', '--model', 'nfbm', '--source', 'moons@1', '--target', 'moons', ...TINY, '--out', 'b5']), /name@dx,dy/);
  });

  it('shifted ends (name@dx,dy) translate the toy sets', async () => {
    json(
      await nfdm([
        'train',
        '--model',
        'nfbm',
        '--source',
        'moons@-3,0',
        '--target',
        'circles@3,0',
        '--steps',
        '2',
        '--hidden',
        '8',
        '--batch',
        '16',
        '--out',
        'b6',
        '--json',
      ]),
    );
    const ev = json(
      await nfdm([
        'sample',
        '--model',
        'b6',
        '--n',
        '200',
        '--ode',
        '--steps',
        '5',
        '--out',
        'b6.csv',
        '--trajectories',
        'b6-paths.csv',
        '--json',
      ]),
    );
    expect(ev.n).toBe(200);
    // The paths start (t = 1) at the sources, moons shifted by −3 in x (our moons are centred).
    const paths = readCsv(join(tmp, 'b6-paths.csv'));
    let mx = 0;
    let count = 0;
    for (let i = 0; i < paths.n; i++) {
      if (paths.data[4 * i] !== 1) continue;
      mx += paths.data[4 * i + 2];
      count++;
    }
    expect(count).toBe(200);
    expect(mx / count).toBeGreaterThan(-3.4);
    expect(mx / count).toBeLessThan(-2.6);
  });
});

describe('diffflow', () => {
  it('trains, samples (SDE and ODE), evaluates the NLL bound and the PF-ODE NLL, resumes and exports', async () => {
    const summary = json(await nfdm(['train', '--model', 'diffflow', '--data', 'moons', ...TINY, '--lr', '3e-3', '--out', 'df', '--json']));
    expect(summary.status).toBe('completed');
    expect(summary.modelConfig).toMatchObject({ format: 'nfdm-diffflow/1', network: { channels: 16, layers: 1 } });
    expect((summary.bound as { kind: string }).kind).toBe('diffflow');
    const cfg = JSON.parse(readFileSync(join(tmp, 'df', 'model', 'config.json'), 'utf8'));
    expect(cfg.time.N).toBe(30);

    const sde = json(await nfdm(['sample', '--model', 'df', '--n', '25', '--out', 'd.csv', '--json']));
    expect(sde).toMatchObject({ n: 25, mode: 'sde', solver: 'diffflow-chain', steps: 30 });
    const ode = json(await nfdm(['sample', '--model', 'df', '--n', '25', '--ode', '--steps', '10', '--out', 'd2.csv', '--json']));
    expect(ode).toMatchObject({ n: 25, mode: 'ode', steps: 10 });

    const ev = json(
      await nfdm([
        'eval',
        '--model',
        'df',
        '--n',
        '30',
        '--metrics',
        'nll,nelbo,swd',
        '--nll-solver',
        'rk4',
        '--nll-steps',
        '10',
        '--draws',
        '2',
        '--json',
      ]),
    );
    const m = ev.metrics as Record<string, { mean: number } | number>;
    expect(Number.isFinite((m.nll as { mean: number }).mean)).toBe(true);
    expect(Number.isFinite((m.nelbo as { mean: number }).mean)).toBe(true);
    expect(Number.isFinite(m.swd as number)).toBe(true);
    failure(await nfdm(['plot', 'forward', '--model', 'df', '--out', 'df-forward.svg']), /no Gaussian forward process/);

    const resumed = json(await nfdm(['train', '--out', 'df', '--resume', '--steps', '25', '--json']));
    expect(resumed).toMatchObject({ status: 'completed', step: 25, resumedFrom: 20 });

    const exported = json(await nfdm(['export', '--model', 'df', '--out', 'onnx-df', '--json']));
    const files = (exported.files as string[]).map((f) => f.split('/').pop());
    for (const f of ['diffflow_drift.onnx', 'diffflow_sampler_sde.onnx', 'nfdm-onnx.json']) expect(files).toContain(f);
  });
});
