/**
 * End-to-end tests of the built `nfdm` command (spawns `node dist/bin.js`; run `npx tsup`
 * first — `npm test` builds through turbo). Models are tiny so the whole file stays fast.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCsv, readNpy } from '@nfdm/datasets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, failure, json, runCli } from './harness.js';

const PNG_SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

let tmp: string;
const nfdm = (args: string[]) => runCli(tmp, args);

const TINY = ['--hidden', '16,16', '--batch', '64', '--checkpoint-every', '10'];

beforeAll(async () => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build the CLI first (cd apps/cli && npx tsup)`);
  tmp = mkdtempSync(join(tmpdir(), 'nfdm-cli-'));
  const r = await nfdm(['train', '--model', 'nfdm', '--data', 'moons', '--steps', '30', ...TINY, '--out', 'run', '--json']);
  const summary = json(r);
  expect(summary.status).toBe('completed');
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('nfdm train', () => {
  it('writes checkpoints, metrics.jsonl, the model and run.json', () => {
    const run = join(tmp, 'run');
    expect(
      readdirSync(run)
        .filter((f) => f.startsWith('ckpt-'))
        .sort(),
    ).toEqual(['ckpt-10', 'ckpt-20', 'ckpt-30']);
    expect(readFileSync(join(run, 'latest'), 'utf8').trim()).toBe('ckpt-30');
    for (const f of ['config.json', 'weights.safetensors', 'meta.json']) expect(existsSync(join(run, 'model', f))).toBe(true);
    const summary = JSON.parse(readFileSync(join(run, 'run.json'), 'utf8'));
    expect(summary).toMatchObject({
      format: 'nfdm-run/1',
      status: 'completed',
      step: 30,
      config: { model: 'nfdm', data: 'moons', hidden: [16, 16] },
    });
    expect(Number.isFinite(summary.loss)).toBe(true);
    expect(Number.isFinite(summary.nelbo.mean)).toBe(true);
    const lines = readFileSync(join(run, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.type === 'train').map((l) => l.step)).toEqual([10, 20, 30]);
  });

  it('--resume continues a run exactly: the same losses as an uninterrupted run', async () => {
    const flat = ['--model', 'nfdm', '--data', '8gaussians', '--schedule', 'constant', '--warmup', '0', ...TINY];
    const [first, straight] = await Promise.all([
      nfdm(['train', ...flat, '--steps', '20', '--out', 'part', '--json']),
      nfdm(['train', ...flat, '--steps', '30', '--out', 'whole', '--json']),
    ]);
    expect(json(first)).toMatchObject({ status: 'completed', step: 20 });
    const whole = json(straight);
    const resumed = json(await nfdm(['train', '--out', 'part', '--resume', '--steps', '30', '--json']));
    expect(resumed).toMatchObject({ status: 'completed', step: 30, resumedFrom: 20 });
    expect(existsSync(join(tmp, 'part', 'ckpt-30'))).toBe(true);
    const log = (dir: string) =>
      readFileSync(join(tmp, dir, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .filter((l) => l.type === 'train')
        .map((l) => [l.step, l.loss]);
    expect(log('part').map(([step]) => step)).toEqual([10, 20, 30]);
    expect(log('part')).toEqual(log('whole'));
    expect(resumed.loss).toBe(whole.loss);
  });

  it('standardises CSV data, stores it with the model and samples in data units', async () => {
    const rows = ['a,b,c'];
    for (let i = 0; i < 200; i++) rows.push([100 + 2 * Math.sin(i), -50 + 3 * Math.cos(1.7 * i), 7 + (i % 5)].join(','));
    writeFileSync(join(tmp, 'table.csv'), `${rows.join('\n')}\n`);
    json(await nfdm(['train', '--model', 'fm', '--data', 'table.csv', '--steps', '20', ...TINY, '--out', 'csvrun', '--json']));
    const config = JSON.parse(readFileSync(join(tmp, 'csvrun', 'model', 'config.json'), 'utf8'));
    expect(config.dim).toBe(3);
    expect(config.standardization.mean[0]).toBeCloseTo(100, 0);
    expect(config.standardization.mean[1]).toBeCloseTo(-50, 0);
    json(await nfdm(['sample', '--model', 'csvrun', '--n', '300', '--out', 'csv-samples.npy', '--json']));
    const s = readNpy(join(tmp, 'csv-samples.npy'));
    expect([s.n, s.dim]).toEqual([300, 3]);
    let m0 = 0;
    let m1 = 0;
    for (let i = 0; i < s.n; i++) {
      m0 += s.data[3 * i] / s.n;
      m1 += s.data[3 * i + 1] / s.n;
    }
    expect(Math.abs(m0 - 100)).toBeLessThan(20);
    expect(Math.abs(m1 + 50)).toBeLessThan(20);
  });
});

describe('nfdm sample', () => {
  it('writes .csv, .npy and .json that read back with the right shape; --seed reproduces', async () => {
    const [csv, npy, js, again, other] = await Promise.all([
      nfdm(['sample', '--model', 'run', '--n', '64', '--seed', '3', '--out', 's.csv', '--json']),
      nfdm([
        'sample',
        '--model',
        'run',
        '--n',
        '64',
        '--seed',
        '3',
        '--ode',
        '--solver',
        'rk4',
        '--steps',
        '20',
        '--out',
        's.npy',
        '--trajectories',
        't.npy',
        '--json',
      ]),
      nfdm(['sample', '--model', 'run/model', '--n', '10', '--ode', '--solver', 'rk4', '--steps', '10', '--out', 's.json', '--json']),
      nfdm(['sample', '--model', 'run', '--n', '64', '--seed', '3', '--out', 's2.csv']),
      nfdm(['sample', '--model', 'run', '--n', '64', '--seed', '4', '--out', 's3.csv']),
    ]);
    expect(json(csv)).toMatchObject({ n: 64, dim: 2, mode: 'sde', solver: 'euler_maruyama' });
    expect(json(npy)).toMatchObject({ n: 64, dim: 2, times: 21 });
    expect(json(js)).toMatchObject({ n: 10, mode: 'ode', solver: 'rk4' });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/wrote 64 samples/);
    expect(other.code).toBe(0);

    const a = readCsv(join(tmp, 's.csv'));
    expect([a.n, a.dim]).toEqual([64, 2]);
    expect(a.columns).toEqual(['x0', 'x1']);
    expect(Array.from(a.data).every(Number.isFinite)).toBe(true);
    expect(readFileSync(join(tmp, 's2.csv'), 'utf8')).toBe(readFileSync(join(tmp, 's.csv'), 'utf8'));
    expect(readFileSync(join(tmp, 's3.csv'), 'utf8')).not.toBe(readFileSync(join(tmp, 's.csv'), 'utf8'));

    const b = readNpy(join(tmp, 's.npy'));
    expect([b.n, b.dim]).toEqual([64, 2]);
    expect(Array.from(b.data).every(Number.isFinite)).toBe(true);
    const traj = readFileSync(join(tmp, 't.npy'));
    expect(traj.subarray(0, 6).toString('latin1')).toBe('\x93NUMPY');
    expect(traj.toString('latin1', 10, 10 + traj.readUInt16LE(8))).toContain("'shape': (21, 64, 2)");
    // The last trajectory slice is the samples.
    const off = 10 + traj.readUInt16LE(8) + 20 * 64 * 2 * 4;
    expect(traj.readFloatLE(off)).toBe(b.data[0]);

    const c = JSON.parse(readFileSync(join(tmp, 's.json'), 'utf8'));
    expect(c).toMatchObject({ format: 'nfdm-samples/1', n: 10, dim: 2 });
    expect(c.samples).toHaveLength(10);
    expect(c.samples.flat().every(Number.isFinite)).toBe(true);
  });
});

describe('nfdm eval, plot, datasets', () => {
  it('--solver ddim: frozen-prediction ODE steps that approach the exact ODE samples; --sde or --rtol with it are usage errors', async () => {
    const [ddim, exact, sde, tol] = await Promise.all([
      nfdm(['sample', '--model', 'run', '--n', '64', '--seed', '3', '--solver', 'ddim', '--steps', '400', '--out', 'ddim.csv', '--json']),
      nfdm(['sample', '--model', 'run', '--n', '64', '--seed', '3', '--ode', '--rtol', '1e-6', '--atol', '1e-6', '--out', 'exact.csv']),
      nfdm(['sample', '--model', 'run', '--n', '4', '--solver', 'ddim', '--sde', '--out', 'x.csv']),
      nfdm(['sample', '--model', 'run', '--n', '4', '--solver', 'ddim', '--rtol', '1e-3', '--out', 'y.csv']),
    ]);
    expect(json(ddim)).toMatchObject({ n: 64, mode: 'ode', solver: 'ddim', steps: 400 });
    expect(exact.code).toBe(0);
    const a = readCsv(join(tmp, 'ddim.csv')).data;
    const b = readCsv(join(tmp, 'exact.csv')).data;
    const gap = a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
    expect(gap).toBeLessThan(0.05);
    expect(sde.code).toBe(2);
    expect(sde.stderr).toMatch(/'ddim' steps the probability-flow ODE/);
    expect(tol.code).toBe(2);
    expect(tol.stderr).toMatch(/fixed --steps/);
  });

  it('eval --json reports the metrics asked for, in nats, next to the entropy floor', async () => {
    const r = json(
      await nfdm([
        'eval',
        '--model',
        'run',
        '--metrics',
        'nll,nelbo,mmd,swd,w2',
        '--n',
        '150',
        '--nll-solver',
        'rk4',
        '--nll-steps',
        '8',
        '--json',
      ]),
    );
    expect(r).toMatchObject({ units: 'nats per sample (data units)', entropyFloor: 2.396, data: { spec: 'moons', n: 150 } });
    const m = r.metrics as Record<string, { mean: number; stderr: number } | number>;
    expect(Object.keys(m).sort()).toEqual(['mmd', 'nelbo', 'nll', 'swd', 'w2']);
    for (const k of ['nll', 'nelbo'] as const) {
      const v = m[k] as { mean: number; stderr: number };
      expect(Number.isFinite(v.mean) && v.stderr > 0).toBe(true);
    }
    expect((m.nll as { mean: number }).mean).toBeGreaterThan(2.396 - 0.5);
    for (const k of ['mmd', 'swd', 'w2'] as const) expect(m[k] as number).toBeGreaterThan(0);
  });

  it('eval --nfe sweeps few-step Euler ODE sampling and reports the sample metrics per NFE', async () => {
    const r = json(await nfdm(['eval', '--model', 'run', '--metrics', 'swd,mmd', '--n', '120', '--nfe', '1,4', '--json']));
    const sweep = r.nfeSweep as Array<Record<string, number>>;
    expect(sweep.map((row) => row.nfe)).toEqual([1, 4]);
    for (const row of sweep) {
      expect(Object.keys(row).sort()).toEqual(['mmd', 'nfe', 'swd']);
      expect(row.swd).toBeGreaterThan(0);
      expect(Number.isFinite(row.mmd)).toBe(true);
    }
    // Different NFEs give different samples, hence different distances.
    expect(sweep[0].swd).not.toBe(sweep[1].swd);
    failure(await nfdm(['eval', '--model', 'run', '--nfe', '1,0']), /--nfe.*'1,0'.*positive integers/, 2);
  });

  it('plots every kind as SVG and PNG', async () => {
    const kinds: Record<string, string[]> = {
      samples: ['--n', '100'],
      trajectories: ['--n', '20', '--steps', '10'],
      density: ['--grid', '6', '--solver', 'rk4', '--steps', '6'],
      forward: ['--n', '20', '--times', '10'],
    };
    const jobs = Object.entries(kinds).flatMap(([kind, extra]) =>
      ['svg', 'png'].map(async (ext) => ({
        kind,
        ext,
        r: await nfdm(['plot', kind, '--model', 'run', ...extra, '--out', `${kind}.${ext}`, '--json']),
      })),
    );
    for (const { kind, ext, r } of await Promise.all(jobs)) {
      expect(json(r)).toMatchObject({ plot: kind, format: ext });
      const bytes = readFileSync(join(tmp, `${kind}.${ext}`));
      if (ext === 'png') expect(Array.from(bytes.subarray(0, 8))).toEqual(PNG_SIGNATURE);
      else {
        expect(bytes.toString('utf8')).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
        expect(bytes.toString('utf8').trim().endsWith('</svg>')).toBe(true);
      }
    }
    const density = readFileSync(join(tmp, 'density.svg'), 'utf8');
    // The heat map's cells (the first crisp-edged group; the colour bar follows).
    const cells = density.split('shape-rendering="crispEdges">')[1].split('</g>')[0];
    expect(cells.match(/<rect [^>]*fill="rgb/g)).toHaveLength(36);
    expect(readFileSync(join(tmp, 'trajectories.svg'), 'utf8').match(/<polyline/g)).toHaveLength(40);
  });

  it('datasets --json lists the toy sets with entropy floors and Fashion-MNIST', async () => {
    const r = json(await nfdm(['datasets', '--json']));
    const rows = r.datasets as Array<{ name: string; entropy?: number; dim: number | null }>;
    expect(rows.find((d) => d.name === '8gaussians')).toMatchObject({ dim: 2, entropy: 2.838 });
    expect(rows.map((d) => d.name)).toEqual(expect.arrayContaining(['moons', 'checkerboard', 'fashion-mnist', '<path>.csv', '<path>.npy']));
  });
});

describe('nfdm export', () => {
  it('writes ONNX graphs that onnxruntime samples from without tfjs; refuses a non-empty directory', async () => {
    const r = json(await nfdm(['export', '--model', 'run', '--out', 'onnx', '--json']));
    const files = (r.files as string[]).map((f) => f.split('/').pop());
    for (const f of ['velocity.onnx', 'drift.onnx', 'velocity_divergence.onnx', 'nfdm-onnx.json']) expect(files).toContain(f);
    const { loadOnnxModel } = await import('@nfdm/export/runtime');
    const runtime = await loadOnnxModel(join(tmp, 'onnx'));
    // the training objective is recorded: an NFDM trained on the NELBO is not a few-step model
    expect(runtime.metadata.objective).toEqual({ kind: 'nelbo' });
    expect(runtime.capabilities.fewStep).toBe(false);
    const drawn = await runtime.sample({ n: 7, steps: 5, solver: 'euler', mode: 'ode', seed: 1 });
    expect(drawn.samples).toHaveLength(7 * 2);
    expect(Array.from(drawn.samples).every(Number.isFinite)).toBe(true);
    await runtime.dispose();
    failure(await nfdm(['export', '--model', 'run', '--out', 'onnx']), /onnx already exists and is not empty; pass --force/, 1);
    failure(await nfdm(['export', '--model', 'run', '--out', 'model.onnx']), /give a directory/, 2);
    const help = await nfdm(['serve', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout + help.stderr).toMatch(/--models/);
    const missing = await nfdm(['serve', '--models', 'no-such-dir', '--port', '0']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no-such-dir/);
  });
});

describe('errors: one line, non-zero exit, no stack trace', () => {
  it('negative steps, unknown datasets and empty model directories are one-line errors; --debug adds the stack', async () => {
    mkdirSync(join(tmp, 'empty-model'), { recursive: true });
    const [negative, dataset, empty, debug] = await Promise.all([
      nfdm(['train', '--model', 'nfdm', '--data', 'moons', '--steps', '-5', '--out', 'e8']),
      nfdm(['train', '--model', 'nfdm', '--data', 'no-such-set', '--steps', '5', '--out', 'e9']),
      nfdm(['sample', '--model', 'empty-model', '--n', '5', '--out', 'e10.csv']),
      nfdm(['sample', '--model', 'empty-model', '--n', '5', '--out', 'e11.csv', '--debug']),
    ]);
    failure(negative, /--steps.*'-5'/, 2);
    failure(dataset, /no-such-set/, 1);
    failure(empty, /empty-model is not a model/, 1);
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(/^nfdm: .*empty-model is not a model/);
    expect(debug.stderr.split('\n').length).toBeGreaterThan(3);
    expect(debug.stderr).toMatch(/\n\s+at /);
  });

  it('reports bad input clearly', async () => {
    writeFileSync(join(tmp, 'bad.csv'), 'x,y\n1,2\n3,abc\n');
    const before = readFileSync(join(tmp, 'run', 'latest'), 'utf8');
    const [model, missing, malformed, solver, existing, nZero, nText, option, command, sampleExists] = await Promise.all([
      nfdm(['train', '--model', 'nfdmx', '--data', 'moons', '--steps', '5', '--out', 'e1']),
      nfdm(['train', '--model', 'nfdm', '--data', 'nope/missing.csv', '--steps', '5', '--out', 'e2']),
      nfdm(['train', '--model', 'nfdm', '--data', 'bad.csv', '--steps', '5', '--out', 'e3']),
      nfdm(['sample', '--model', 'run', '--n', '5', '--solver', 'rk99', '--out', 'e4.csv']),
      nfdm(['train', '--model', 'nfdm', '--data', 'moons', '--steps', '5', '--out', 'run']),
      nfdm(['sample', '--model', 'run', '--n', '0', '--out', 'e5.csv']),
      nfdm(['sample', '--model', 'run', '--n', 'ten', '--out', 'e6.csv']),
      nfdm(['sample', '--model', 'run', '--n', '5', '--out', 'e7.csv', '--bogus']),
      nfdm(['smaple', '--model', 'run']),
      nfdm(['sample', '--model', 'run', '--n', '5', '--out', 's.csv']),
    ]);
    failure(model, /argument 'nfdmx' is invalid.*nfdm, ndm, vp, subvp, ve, cosine, fm/, 2);
    failure(missing, /nope\/missing\.csv/, 1);
    failure(malformed, /bad\.csv:3/, 1);
    failure(solver, /unknown solver 'rk99'.*dopri5/, 2);
    failure(existing, /already holds a run.*--resume.*--force/, 1);
    failure(nZero, /--n <N>.*'0'.*positive integer/, 2);
    failure(nText, /--n <N>.*'ten'.*positive integer/, 2);
    failure(option, /unknown option '--bogus'/, 2);
    failure(command, /unknown command 'smaple'.*sample/, 2);
    failure(sampleExists, /s\.csv already exists; pass --force/, 1);
    // Nothing was written by the refused runs.
    expect(readFileSync(join(tmp, 'run', 'latest'), 'utf8')).toBe(before);
    for (const d of ['e1', 'e2', 'e3', 'e4.csv', 'e5.csv', 'e6.csv', 'e7.csv']) expect(existsSync(join(tmp, d))).toBe(false);
  });

  it('rejects a model directory that is not one, and a resume without checkpoints', async () => {
    const [notModel, noResume, both] = await Promise.all([
      nfdm(['eval', '--model', 'nowhere']),
      nfdm(['train', '--out', 'empty-run', '--resume', '--steps', '5']),
      nfdm(['train', '--out', 'run', '--resume', '--force', '--steps', '50']),
    ]);
    failure(notModel, /nowhere does not exist/, 1);
    failure(noResume, /no checkpoint to resume/, 1);
    failure(both, /--resume and --force exclude each other/, 2);
  });
});

describe('nfdm demo', () => {
  it('trains a small NFDM and writes the four files; a second run needs --force', async () => {
    const r = json(
      await nfdm([
        'demo',
        '--out',
        'demo',
        '--steps',
        '200',
        '--hidden',
        '16,16',
        '--batch',
        '128',
        '--points',
        '40',
        '--grid',
        '6',
        '--json',
      ]),
    );
    for (const f of ['samples.png', 'trajectories.png', 'density.png']) {
      expect(Array.from(readFileSync(join(tmp, 'demo', f)).subarray(0, 8))).toEqual(PNG_SIGNATURE);
    }
    const metrics = JSON.parse(readFileSync(join(tmp, 'demo', 'metrics.json'), 'utf8'));
    expect(metrics).toEqual(r);
    expect(metrics).toMatchObject({ dataset: '8gaussians', units: 'nats per sample', entropyFloor: 2.838, training: { steps: 200 } });
    expect(Number.isFinite(metrics.nll.mean) && Number.isFinite(metrics.nelbo.mean)).toBe(true);
    expect(metrics.nll.n).toBe(40);
    failure(await nfdm(['demo', '--out', 'demo', '--steps', '5']), /already holds a run.*--force/, 1);
  });
});
