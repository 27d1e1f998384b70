/**
 * Regression tests of the CLI defects of issue 14 (point 3, part A), through the built binary:
 * checkpoints as --model, held-out evaluation of tables, bounded folder creation, broken
 * pipes, file-system errors as sentences, the sample cap, progress, diverging samples, CSV
 * column names, help texts, extreme-valued tables and `nfdm info`.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeWeights, encodeWeights } from '@nfdm/core';
import { readCsv, splitDataset } from '@nfdm/datasets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, failure, json, runCli, type SpawnOptions, spawnCli } from './harness.js';

let tmp: string;
const nfdm = (args: string[], options?: SpawnOptions) => spawnCli(tmp, args, options);
const TINY = ['--hidden', '16,16', '--batch', '64', '--checkpoint-every', '10'];
/** When the tests run as root, permission checks need an ordinary user: run the CLI as nobody. */
const UNPRIVILEGED: SpawnOptions = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};

/** Rows of a .npy file written by the CLI (float32, C order), NaN kept. */
function npyRows(path: string): number[][] {
  const bytes = readFileSync(path);
  const headerLength = bytes.readUInt16LE(8);
  const header = bytes.subarray(10, 10 + headerLength).toString('latin1');
  const shape = (/'shape': \(([^)]*)\)/.exec(header)?.[1] ?? '')
    .split(',')
    .filter((s) => s.trim())
    .map(Number);
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset + 10 + headerLength, bytes.byteOffset + bytes.length));
  const dim = shape[shape.length - 1];
  return Array.from({ length: data.length / dim }, (_, i) => Array.from(data.subarray(i * dim, (i + 1) * dim)));
}

/** A 200-row table with a header, deterministic values. */
function heightWeight(): string {
  const lines = ['height,weight'];
  for (let i = 0; i < 200; i++) lines.push(`${(170 + 10 * Math.sin(1.7 * i)).toFixed(3)},${(70 + 8 * Math.cos(2.3 * i)).toFixed(3)}`);
  return `${lines.join('\n')}\n`;
}

beforeAll(async () => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build the CLI first (cd apps/cli && npx tsup)`);
  tmp = mkdtempSync(join(tmpdir(), 'nfdm-defects-'));
  chmodSync(tmp, 0o777);
  writeFileSync(join(tmp, 'hw.csv'), heightWeight());
  const [moons, table] = await Promise.all([
    runCli(tmp, ['train', '--model', 'nfdm', '--data', 'moons', '--steps', '30', ...TINY, '--out', 'run', '--json']),
    runCli(tmp, [
      'train',
      '--model',
      'fm',
      '--data',
      'hw.csv',
      '--steps',
      '20',
      '--hidden',
      '16',
      '--batch',
      '64',
      '--out',
      'hw',
      '--json',
    ]),
  ]);
  expect(json(moons).status).toBe('completed');
  expect(json(table).status).toBe('completed');
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('--model takes a checkpoint folder', () => {
  it('samples from run/ckpt-30 equal those of the exported model (both EMA weights after 30 updates), ckpt-10 differs', async () => {
    const [last, model, early] = await Promise.all([
      nfdm(['sample', '--model', 'run/ckpt-30', '--n', '50', '--seed', '3', '--out', 'ck30.csv', '--json']),
      nfdm(['sample', '--model', 'run', '--n', '50', '--seed', '3', '--out', 'model.csv', '--json']),
      nfdm(['sample', '--model', 'run/ckpt-10', '--n', '50', '--seed', '3', '--out', 'ck10.csv', '--json']),
    ]);
    expect(json(last).model).toBe('run/ckpt-30');
    json(model);
    json(early);
    const read = (f: string) => Array.from(readCsv(join(tmp, f)).data);
    expect(read('ck30.csv')).toEqual(read('model.csv'));
    expect(read('ck10.csv')).not.toEqual(read('ck30.csv'));
  });
});

describe('eval on the table a model was trained on', () => {
  it('evaluates exactly its held-out rows: the same NELBO as a file holding only those rows', async () => {
    const table = readCsv(join(tmp, 'hw.csv'));
    const held = splitDataset(table, { train: 0.9, val: 0.1, test: 0 }, 0).val;
    expect(held.n).toBe(20);
    const rows = Array.from({ length: held.n }, (_, i) => Array.from(held.data.subarray(2 * i, 2 * i + 2)).join(','));
    writeFileSync(join(tmp, 'held.csv'), `height,weight\n${rows.join('\n')}\n`);
    const [auto, explicit, all] = await Promise.all([
      nfdm(['eval', '--model', 'hw', '--metrics', 'nelbo', '--json']),
      nfdm(['eval', '--model', 'hw', '--metrics', 'nelbo', '--data', 'held.csv', '--json']),
      nfdm(['eval', '--model', 'hw', '--metrics', 'nelbo', '--data', 'held.csv', '--n', '5', '--json']),
    ]);
    const a = json(auto) as { data: { n: number; source: string }; metrics: { nelbo: { mean: number } } };
    const b = json(explicit) as typeof a;
    expect(a.data.n).toBe(20);
    expect(a.data.source).toMatch(/20 held-out rows \(not used in training\)/);
    expect(a.metrics.nelbo.mean).toBe(b.metrics.nelbo.mean);
    expect((json(all) as typeof a).data.n).toBe(5);
  });
});

describe('output folders that cannot be created', () => {
  it('sample --out /proc/nope/s.csv and train --out /proc/x fail with one line instead of spinning', async () => {
    const [s, t] = await Promise.all([
      nfdm(['sample', '--model', 'run', '--n', '5', '--out', '/proc/nope/s.csv']),
      nfdm(['train', '--model', 'nfdm', '--data', 'moons', '--steps', '2', '--out', '/proc/x']),
    ]);
    failure(s, /--out \/proc\/nope\/s\.csv: cannot create folder \/proc\/nope: \/proc does not accept new folders/, 1);
    failure(t, /--out \/proc\/x: cannot create folder \/proc\/x: \/proc does not accept new folders/, 1);
  });

  it('a file in the path is named as a file, not as EEXIST', async () => {
    writeFileSync(join(tmp, 'afile.txt'), 'x');
    const r = await nfdm(['sample', '--model', 'run', '--n', '5', '--out', 'afile.txt/s.csv']);
    const line = failure(r, /--out afile\.txt\/s\.csv: afile\.txt is a file, not a folder$/, 1);
    expect(line).not.toMatch(/EEXIST|mkdir/);
  });

  it('a read-only folder is named (not a temporary file), before any sampling', async () => {
    mkdirSync(join(tmp, 'ro'));
    chmodSync(join(tmp, 'ro'), 0o555);
    const r = await nfdm(['sample', '--model', 'run', '--n', '5', '--out', 'ro/s.csv'], UNPRIVILEGED);
    const line = failure(r, /^nfdm: cannot write ro\/s\.csv: no permission to write in folder ro$/, 1);
    expect(line).not.toMatch(/EACCES|\.tmp/);
    expect(existsSync(join(tmp, 'ro', 's.csv'))).toBe(false);
  });

  it('a run folder made read-only during training: the real error, and run.json says failed', async () => {
    const dir = join(tmp, 'rorun');
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    const args = ['train', '--model', 'nfdm', '--data', 'moons', '--steps', '3000', '--hidden', '8', '--batch', '16'];
    const running = nfdm([...args, '--checkpoint-every', '20', '--eval-every', '0', '--out', 'rorun', '--force'], UNPRIVILEGED);
    // Once the first checkpoint is in place, take the folder's write permission away.
    let locked = false;
    const lock = setInterval(() => {
      if (!locked && existsSync(join(dir, 'ckpt-20'))) {
        chmodSync(dir, 0o555);
        locked = true;
      }
    }, 10);
    const r = await running;
    clearInterval(lock);
    chmodSync(dir, 0o777);
    expect(locked).toBe(true);
    const line = failure(
      r,
      /^nfdm: training stopped at step \d+: cannot (create folder|write) \S*\/rorun\/\S+: no permission to write in folder \S*\/rorun$/,
      1,
    );
    expect(line).not.toMatch(/EACCES|\.tmp/);
    const summary = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
    expect(summary.status).toBe('failed');
    expect(summary.step).toBeGreaterThanOrEqual(20);
    expect(line).toContain(`training stopped at step ${summary.step}:`);
    expect(summary.error).toMatch(/no permission to write in folder/);
  });
});

describe('a reader that goes away (EPIPE)', () => {
  it('train --help and export into a closed pipe: no stack trace, the export is still written', async () => {
    const [help, exported] = await Promise.all([
      nfdm(['train', '--help'], { closeStdout: true }),
      nfdm(['export', '--model', 'run', '--out', 'onnx-pipe'], { closeStdout: true }),
    ]);
    for (const r of [help, exported]) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
    }
    expect(existsSync(join(tmp, 'onnx-pipe', 'nfdm-onnx.json'))).toBe(true);
  });
});

describe('sample size', () => {
  it('--n over a million needs --allow-large (usage error at once, nothing written)', async () => {
    const r = await nfdm(['sample', '--model', 'run', '--n', '1000000000', '--out', 'huge.csv']);
    failure(r, /--n 1000000000 is over 1,000,000 samples .*--allow-large/, 2);
    expect(existsSync(join(tmp, 'huge.csv'))).toBe(false);
  });

  it('function evaluations are said per batch and in total', async () => {
    const r = await nfdm(['sample', '--model', 'run', '--n', '9000', '--steps', '5', '--out', 'two-batches.npy']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/5 steps; 10 function evaluations in total over 2 batches of ≤ 8192 samples/);
  });
});

describe('progress', () => {
  it('--verbose off a terminal prints progress lines (sample, eval, plot density, train); without it, none', async () => {
    const [sample, quiet, evaluated, density, train] = await Promise.all([
      nfdm(['sample', '--model', 'run', '--n', '300', '--out', 'p.csv', '--verbose']),
      nfdm(['sample', '--model', 'run', '--n', '300', '--out', 'q.csv']),
      nfdm(['eval', '--model', 'run', '--metrics', 'nll,swd', '--n', '40', '--verbose']),
      nfdm(['plot', 'density', '--model', 'run', '--grid', '8', '--out', 'd.svg', '--verbose']),
      nfdm([
        'train',
        '--model',
        'vp',
        '--data',
        'moons',
        '--steps',
        '20',
        '--hidden',
        '8',
        '--eval-every',
        '10',
        '--out',
        'ptrain',
        '--verbose',
      ]),
    ]);
    for (const r of [sample, quiet, evaluated, density, train]) expect(r.code, r.stderr).toBe(0);
    expect(sample.stderr).toMatch(/^sampling 300\/300 samples \(100%\)/m);
    expect(sample.stderr.match(/^sampling \d+\/300 samples/gm)?.length).toBeGreaterThanOrEqual(5);
    expect(quiet.stderr).toBe('');
    expect(evaluated.stderr).toMatch(/^exact NLL 40\/40 points \(100%\)/m);
    expect(evaluated.stderr).toMatch(/^sampling 40\/40 samples \(100%\)/m);
    expect(density.stderr).toMatch(/^density 64\/64 grid points \(100%\)/m);
    expect(train.stderr).toMatch(/^step 20\/20 \(100%\).*batch loss .*\[held-out NELBO .* nats @20\]/m);
    expect(train.stdout).toMatch(/last batch loss .* \(training objective, standardised units; not the NELBO\), held-out NELBO/);
  });
});

describe('samples that diverge', () => {
  /** A model whose predictor is x̂ = (100 · selu(z₀), 0): samples starting with z₀ > 0 blow up. */
  function craftDiverging(dir: string): void {
    const path = join(tmp, dir, 'model', 'weights.safetensors');
    const file = decodeWeights(readFileSync(path));
    const set = (name: string, index?: number, value?: number) => {
      const t = file.tensors.get(name);
      if (!t) throw new Error(`no ${name} in ${path}`);
      const data = new Float32Array(t.data.length);
      if (index !== undefined && value !== undefined) data[index] = value;
      file.tensors.set(name, { ...t, data });
    };
    set('predictor.net.net.layers.0.weight', 0, 1);
    set('predictor.net.net.layers.0.bias');
    set('predictor.net.net.layers.1.weight', 0, 100);
    set('predictor.net.net.layers.1.bias');
    writeFileSync(path, encodeWeights(file.tensors, file.metadata));
  }

  it('are dropped with a count (not a failed run); --keep-nonfinite keeps them as NaN rows in place', async () => {
    const trained = await nfdm([
      'train',
      '--model',
      'fm',
      '--data',
      'moons',
      '--steps',
      '1',
      '--hidden',
      '16',
      '--batch',
      '16',
      '--out',
      'wild',
    ]);
    expect(trained.code, trained.stderr).toBe(0);
    craftDiverging('wild');
    const [dropped, kept, csvKeep] = await Promise.all([
      nfdm(['sample', '--model', 'wild', '--n', '200', '--out', 'wild-drop.npy', '--json']),
      nfdm(['sample', '--model', 'wild', '--n', '200', '--out', 'wild-keep.npy', '--keep-nonfinite', '--json']),
      nfdm(['sample', '--model', 'wild', '--n', '200', '--out', 'wild.csv', '--keep-nonfinite']),
    ]);
    failure(csvKeep, /--keep-nonfinite writes NaN rows, which CSV files cannot hold/, 2);
    expect(dropped.code, dropped.stderr).toBe(0);
    const warning =
      /^nfdm: warning: (\d+) of 200 samples diverged \(NaN\/Inf\) with reverse SDE, euler_maruyama, 100 steps: dropped them/m.exec(
        dropped.stderr,
      );
    expect(warning, dropped.stderr).not.toBeNull();
    const k = Number(warning?.[1]);
    expect(k).toBeGreaterThan(0);
    expect(k).toBeLessThan(200);
    const d = JSON.parse(dropped.stdout);
    expect(d).toMatchObject({ n: 200 - k, asked: 200, diverged: { count: k, policy: 'drop' } });
    const survivors = npyRows(join(tmp, 'wild-drop.npy'));
    expect(survivors).toHaveLength(200 - k);
    expect(survivors.flat().every(Number.isFinite)).toBe(true);
    // The kept file has the same rows in place and NaN exactly at the diverged ones.
    expect(kept.code, kept.stderr).toBe(0);
    const all = npyRows(join(tmp, 'wild-keep.npy'));
    expect(all).toHaveLength(200);
    const nanRows = all.flatMap((row, i) => (row.some(Number.isNaN) ? [i] : []));
    expect(nanRows.slice(0, 100)).toEqual(JSON.parse(kept.stdout).diverged.rows); // the first 100 are listed
    expect(nanRows).toHaveLength(k);
    expect(all.filter((row) => !row.some(Number.isNaN))).toEqual(survivors);
  });
});

describe('CSV column names', () => {
  it('are the header of samples and trajectories, the columns of JSON samples and the axes of plots', async () => {
    const [csv, json1, plot] = await Promise.all([
      nfdm(['sample', '--model', 'hw', '--n', '4', '--out', 'hw-s.csv', '--trajectories', 'hw-t.csv', '--steps', '3']),
      nfdm(['sample', '--model', 'hw', '--n', '4', '--out', 'hw-s.json']),
      nfdm(['plot', 'samples', '--model', 'hw', '--n', '50', '--out', 'hw.svg']),
    ]);
    for (const r of [csv, json1, plot]) expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(tmp, 'hw-s.csv'), 'utf8').split('\n')[0]).toBe('height,weight');
    expect(readFileSync(join(tmp, 'hw-t.csv'), 'utf8').split('\n')[0]).toBe('t,particle,height,weight');
    expect(JSON.parse(readFileSync(join(tmp, 'hw-s.json'), 'utf8')).columns).toEqual(['height', 'weight']);
    const svg = readFileSync(join(tmp, 'hw.svg'), 'utf8');
    expect(svg).toMatch(/>height</);
    expect(svg).toMatch(/>weight</);
  });
});

describe('help texts', () => {
  it('export --help and the main help both say nfdm serve --models; the main help lists info', async () => {
    const [exportHelp, mainHelp] = await Promise.all([nfdm(['export', '--help']), nfdm(['--help'])]);
    expect(exportHelp.stdout).toMatch(/nfdm serve --models onnx/);
    expect(exportHelp.stdout).not.toMatch(/\$ nfdm-serve/);
    expect(mainHelp.stdout).toMatch(/nfdm serve --models onnx/);
    expect(mainHelp.stdout).toMatch(/^\s+info\s/m);
  });
});

describe('tables with extreme values', () => {
  /** 200 rows of a, b with 1e30 in every 20th row (5%). */
  function outlierCsv(): string {
    const lines = ['a,b'];
    for (let i = 0; i < 200; i++) lines.push(i % 20 === 3 ? '1e30,1e30' : `${Math.sin(i).toFixed(4)},${Math.cos(i).toFixed(4)}`);
    return `${lines.join('\n')}\n`;
  }
  const bad = Array.from({ length: 10 }, (_, k) => 20 * k + 4); // 1-based data rows

  it('are refused with their row numbers; --outliers drop trains without them; --standardize robust stores median/IQR', async () => {
    writeFileSync(join(tmp, 'outliers.csv'), outlierCsv());
    const base = ['train', '--model', 'fm', '--data', 'outliers.csv', '--steps', '20', '--hidden', '16', '--batch', '64'];
    const [refused, dropped] = await Promise.all([
      nfdm([...base, '--out', 'o-refused']),
      nfdm([...base, '--outliers', 'drop', '--standardize', 'robust', '--out', 'o-dropped', '--json']),
    ]);
    failure(
      refused,
      new RegExp(`10 rows have extreme values \\(data rows ${bad.slice(0, 8).join(', ')}, … \\(10 rows\\).*--outliers drop`),
      1,
    );
    expect(existsSync(join(tmp, 'o-refused', 'run.json'))).toBe(false);
    expect(dropped.stderr).toMatch(
      new RegExp(`^nfdm: warning: .*dropped 10 rows with extreme values \\(data rows ${bad.slice(0, 8).join(', ')}`, 'm'),
    );
    const summary = JSON.parse(dropped.stdout);
    expect(summary.data.outliers).toEqual({ policy: 'drop', count: 10, rows: bad });
    expect(summary.data.rows).toEqual({ train: 171, heldOut: 19 });
    // The robust standardisation of the training rows, by hand: median and 0.7413 · IQR.
    const table = readCsv(join(tmp, 'outliers.csv'));
    const clean = { data: table.data.filter((_, i) => !bad.includes(Math.floor(i / 2) + 1)), n: 190, dim: 2 };
    const train = splitDataset(clean, { train: 0.9, val: 0.1, test: 0 }, 0).train;
    const quantile = (s: number[], p: number) => {
      const h = (s.length - 1) * p;
      return s[Math.floor(h)] + (h - Math.floor(h)) * (s[Math.min(Math.floor(h) + 1, s.length - 1)] - s[Math.floor(h)]);
    };
    const config = JSON.parse(readFileSync(join(tmp, 'o-dropped', 'model', 'config.json'), 'utf8'));
    for (let j = 0; j < 2; j++) {
      const col = Array.from({ length: train.n }, (_, i) => train.data[2 * i + j]).sort((x, y) => x - y);
      expect(config.standardization.mean[j]).toBeCloseTo(quantile(col, 0.5), 6);
      expect(config.standardization.std[j]).toBeCloseTo(0.7413 * (quantile(col, 0.75) - quantile(col, 0.25)), 6);
    }
    const s = await nfdm(['sample', '--model', 'o-dropped', '--n', '200', '--out', 'o.npy']);
    expect(s.code, s.stderr).toBe(0);
    expect(
      npyRows(join(tmp, 'o.npy'))
        .flat()
        .every((v) => Math.abs(v) < 1e3),
    ).toBe(true);
  });
});

describe('nfdm info', () => {
  it('prints family, parameter count, standardisation with column names, and the training summary', async () => {
    const [human, asJson, ckpt] = await Promise.all([
      nfdm(['info', '--model', 'hw']),
      nfdm(['info', '--model', 'hw', '--json']),
      nfdm(['info', '--model', 'run/ckpt-10', '--json']),
    ]);
    expect(human.code, human.stderr).toBe(0);
    // fm, one hidden layer of 16: predictor (2 + t) → 16 → 2 = 3·16 + 16 + 16·2 + 2 = 98; volatility t → 16 → 1 = 49.
    expect(human.stdout).toMatch(/hw\/model: diffusion model 'fm', D = 2/);
    expect(human.stdout).toMatch(/parameters: 147 \(predictor 98, volatility 49\)/);
    expect(human.stdout).toMatch(/standardisation \(mean-std\)/);
    expect(human.stdout).toMatch(/^\s+height\s+\S+\s+\S+$/m);
    const info = json(asJson) as {
      parameters: unknown;
      standardization: { columns: Array<{ name: string; mean: number }> };
      training: unknown;
      data: { rows: unknown };
    };
    expect(info.parameters).toEqual({ total: 147, byModule: { predictor: 98, volatility: 49 } });
    expect(info.standardization.columns.map((c) => c.name)).toEqual(['height', 'weight']);
    const config = JSON.parse(readFileSync(join(tmp, 'hw', 'model', 'config.json'), 'utf8'));
    expect(info.standardization.columns[0].mean).toBe(config.standardization.mean[0]);
    expect(info.training).toMatchObject({ status: 'completed', step: 20, steps: 20 });
    expect(info.data.rows).toEqual({ train: 180, heldOut: 20 });
    expect(json(ckpt)).toMatchObject({ kind: 'checkpoint', step: 10, family: 'diffusion', name: 'nfdm' });
  });
});
