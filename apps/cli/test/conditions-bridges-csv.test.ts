/**
 * Conditional bridges and CSV conditions through the built CLI:
 * - `train --model nfbm --condition label`: the labels of the TARGET set (8gaussians: the mode;
 *   Fashion-MNIST: the class), `--condition-forward`, resume; `sample --label/--labels/--guidance`;
 *   `eval` (the bound given the targets' labels) and `plot`; a short training transports sources
 *   to the asked mode;
 * - `train --data file.csv --condition-column NAME` (a standardised vector condition, stored in
 *   meta.json) and `--condition label --condition-column NAME` (a label column);
 *   `sample --condition v1,v2 --guidance w`; the one-line refusals.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '@nfdm/core';
import { readCsv } from '@nfdm/datasets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conditionVector } from '../src/cli/condition-columns.js';
import { tableParts } from '../src/cli/data.js';
import { BIN, failure, json, runCli } from './harness.js';

const FASHION_MNIST_FIXTURE = fileURLToPath(new URL('../../../packages/datasets/test/fixtures/fashion-mnist', import.meta.url));
let tmp: string;
let savedDataDir: string | undefined;
const nfdm = (args: string[]) => runCli(tmp, args);

const TINY = ['--steps', '20', '--hidden', '16,16', '--batch', '64', '--eval-every', '10'];
const BRIDGE = ['--model', 'nfbm', '--source', 'moons@-4,0', '--target', '8gaussians'];

/** The 8gaussians modes, in the generator's (= the labels') order. */
const MODES = [
  [1, 0],
  [-1, 0],
  [0, 1],
  [0, -1],
  [Math.SQRT1_2, Math.SQRT1_2],
  [Math.SQRT1_2, -Math.SQRT1_2],
  [-Math.SQRT1_2, Math.SQRT1_2],
  [-Math.SQRT1_2, -Math.SQRT1_2],
  // biome-ignore lint/suspicious/noApproximativeNumericConstant: FFJORD's 8gaussians divides by 1.414, not √2
].map(([x, y]) => [(4 * x) / 1.414, (4 * y) / 1.414]);

/** Fraction of the rows of a CSV of 2-D points whose nearest 8gaussians mode is k. */
function fractionInMode(file: string, k: number): number {
  const m = readCsv(join(tmp, file));
  let hits = 0;
  for (let i = 0; i < m.n; i++) {
    const d = MODES.map(([cx, cy]) => (m.data[2 * i] - cx) ** 2 + (m.data[2 * i + 1] - cy) ** 2);
    if (d.indexOf(Math.min(...d)) === k) hits++;
  }
  return hits / m.n;
}

beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build the CLI first (cd apps/cli && npx tsup)`);
  tmp = mkdtempSync(join(tmpdir(), 'nfdm-cli-cond-bridges-'));
  savedDataDir = process.env.NFDM_FASHION_MNIST_DIR;
  process.env.NFDM_FASHION_MNIST_DIR = FASHION_MNIST_FIXTURE;
});

afterAll(() => {
  if (savedDataDir === undefined) delete process.env.NFDM_FASHION_MNIST_DIR;
  else process.env.NFDM_FASHION_MNIST_DIR = savedDataDir;
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('conditional bridges', () => {
  it('train on the target labels (conditioned process), resume, sample by label with guidance, eval and plot', async () => {
    const run = json(
      await nfdm([
        'train',
        ...BRIDGE,
        '--condition',
        'label',
        '--condition-forward',
        '--condition-dropout',
        '0.2',
        ...TINY,
        '--out',
        'b',
        '--json',
      ]),
    );
    expect(run.config).toMatchObject({ condition: 'label', conditionDropout: 0.2, conditionForward: true });
    expect(Number.isFinite((run.bound as { mean: number }).mean)).toBe(true);
    const config = JSON.parse(readFileSync(join(tmp, 'b', 'model', 'config.json'), 'utf8'));
    expect(config.format).toBe('nfdm-bridge/1');
    expect(config.condition).toMatchObject({ kind: 'label', classes: 8, dropout: 0.2 });
    expect(config.process.conditioned).toBe(true);
    const human = await nfdm(['train', '--out', 'b', '--resume', '--steps', '25']);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/held-out bound on −log p\(target \| source, y\)/);

    const s = json(
      await nfdm(['sample', '--model', 'b', '--n', '9', '--label', '3', '--guidance', '2', '--steps', '10', '--out', 's.csv', '--json']),
    );
    expect(s).toMatchObject({ n: 9, labels: [3], guidance: 2 });
    expect(readCsv(join(tmp, 's.csv')).n).toBe(9);
    const many = json(
      await nfdm(['sample', '--model', 'b', '--n', '7', '--labels', '0,5', '--ode', '--steps', '10', '--out', 'm.json', '--json']),
    );
    expect(many).toMatchObject({ n: 7, labels: [0, 5], guidance: 0 });
    // Without labels: the unconditional bridge (the null label).
    expect(json(await nfdm(['sample', '--model', 'b', '--n', '5', '--steps', '10', '--out', 'u.csv', '--json'])).n).toBe(5);
    failure(
      await nfdm(['sample', '--model', 'b', '--n', '5', '--label', '8', '--out', 'x.csv']),
      /--label: 8 is not a class of this model/,
    );
    failure(await nfdm(['sample', '--model', 'b', '--n', '5', '--guidance', '1', '--out', 'x.csv']), /--guidance needs the classes/);
    failure(
      await nfdm(['sample', '--model', 'b', '--n', '5', '--condition', '1,2', '--out', 'x.csv']),
      /--condition: this model is conditioned on class labels/,
    );

    const ev = json(await nfdm(['eval', '--model', 'b', '--n', '40', '--steps', '10', '--metrics', 'bound,swd,classifier', '--json']));
    const m = ev.metrics as { bound: { mean: number; n: number }; swd: number };
    expect(Number.isFinite(m.bound.mean)).toBe(true);
    expect(m.bound.n).toBe(40);
    expect(Number.isFinite(m.swd)).toBe(true);
    expect(ev.conditional).toMatch(/−log p\(target \| source, y\)/);
    expect((ev.notAvailable as Record<string, string>).classifier).toMatch(/not to bridges/);
    json(await nfdm(['plot', 'trajectories', '--model', 'b', '--n', '10', '--steps', '5', '--out', 't.svg', '--json']));
    json(await nfdm(['plot', 'forward', '--model', 'b', '--n', '10', '--times', '4', '--out', 'f.svg', '--json']));
  }, 180_000);

  it('after a short training, sources transported with label k land in mode k far more often than chance', async () => {
    const args = [...BRIDGE, '--condition', 'label', '--hidden', '32,32', '--batch', '128', '--steps', '300', '--eval-every', '0'];
    json(await nfdm(['train', ...args, '--out', 'b300', '--json']));
    for (const k of [0, 3, 6]) {
      json(await nfdm(['sample', '--model', 'b300', '--n', '100', '--label', String(k), '--steps', '40', '--out', `k${k}.csv`, '--json']));
      // Chance is 1/8; the unconditional bridge spreads over all eight modes.
      expect(fractionInMode(`k${k}.csv`, k)).toBeGreaterThan(0.5);
    }
  }, 180_000);

  it('Fashion-MNIST targets label the pairs with their class (U-Net bridge)', async () => {
    const args = ['--model', 'nfbm', '--source', 'fashion-mnist-14:label=5', '--target', 'fashion-mnist-14', '--condition', 'label'];
    const run = json(
      await nfdm([
        'train',
        ...args,
        '--arch',
        'unet',
        '--base',
        '8',
        '--steps',
        '2',
        '--batch',
        '4',
        '--eval-every',
        '0',
        '--out',
        'fb',
        '--json',
      ]),
    );
    expect(Number.isFinite((run.bound as { mean: number }).mean)).toBe(true);
    expect(JSON.parse(readFileSync(join(tmp, 'fb', 'model', 'config.json'), 'utf8')).condition).toMatchObject({
      kind: 'label',
      classes: 10,
    });
    const s = json(
      await nfdm(['sample', '--model', 'fb', '--n', '2', '--label', '7', '--guidance', '1', '--steps', '3', '--out', 'fb.png', '--json']),
    );
    expect(s).toMatchObject({ n: 2, labels: [7], guidance: 1 });
  }, 180_000);

  it('refuses unlabelled targets, --condition-forward without a condition or with a fixed process', async () => {
    failure(
      await nfdm([
        'train',
        '--model',
        'nfbm',
        '--source',
        '8gaussians',
        '--target',
        'checkerboard@3,0',
        '--condition',
        'label',
        ...TINY,
        '--out',
        'x',
      ]),
      /labels each pair by its target; --target checkerboard@3,0 has no natural label/,
    );
    failure(
      await nfdm(['train', ...BRIDGE, '--condition-forward', ...TINY, '--out', 'x']),
      /--condition-forward .* needs --condition label or --condition-column/,
    );
    failure(
      await nfdm(['train', '--model', 'vp', '--data', '8gaussians', '--condition', 'label', '--condition-forward', ...TINY, '--out', 'x']),
      /--condition-forward needs a learned forward process .*vp has a fixed one/,
    );
    expect(existsSync(join(tmp, 'x'))).toBe(false);
  }, 60_000);
});

/**
 * A table whose first data column follows the condition: a = 2c + 0.1 ε, b = ε′, with c uniform
 * in [−1, 1], a class column k ∈ {0, 1, 2} (b shifted by 3k) and a column of reals.
 */
function writeTable(): void {
  const rng = new Rng(3);
  const rows = ['a,b,c,k,r'];
  for (let i = 0; i < 600; i++) {
    const c = 2 * rng.uniform() - 1;
    const k = i % 3;
    rows.push([2 * c + 0.1 * rng.normal(), 3 * k + 0.3 * rng.normal(), c, k, rng.normal()].map((v) => v.toFixed(5)).join(','));
  }
  writeFileSync(join(tmp, 'table.csv'), `${rows.join('\n')}\n`);
  writeFileSync(join(tmp, 'text.csv'), 'a,b,c\n1,2,hot\n3,4,cold\n');
  writeFileSync(join(tmp, 'empty.csv'), 'a,b,c\n1,2,0.5\n3,4,\n');
}

describe('CSV condition columns', () => {
  beforeAll(writeTable);

  it('--condition-column: a vector condition removed from x, standardised on the training rows and stored; sample --condition', async () => {
    const args = ['--model', 'nfdm', '--data', 'table.csv', '--condition-column', 'c', '--condition-column', 'r', '--condition-forward'];
    const run = json(
      await nfdm(['train', ...args, '--hidden', '32,32', '--batch', '128', '--steps', '400', '--eval-every', '0', '--out', 'v', '--json']),
    );
    expect(run.config).toMatchObject({ conditionColumns: ['c', 'r'], conditionForward: true, conditionDropout: 0.1 });
    expect(Number.isFinite((run.nelbo as { mean: number }).mean)).toBe(true);
    const config = JSON.parse(readFileSync(join(tmp, 'v', 'model', 'config.json'), 'utf8'));
    expect(config.dim).toBe(3); // a, b, k
    expect(config.condition).toMatchObject({ kind: 'vector', dim: 2 });
    expect(config.forward.conditioned).toBe(true);
    const meta = JSON.parse(readFileSync(join(tmp, 'v', 'model', 'meta.json'), 'utf8'));
    expect(meta.data.columns).toEqual(['a', 'b', 'k']);
    // The stored statistics are the mean and std of c and r over the training rows (the seeded 90 % split).
    const { train, table } = tableParts(join(tmp, 'table.csv'), { seed: 0 });
    const stats = [2, 4].map((col) => {
      const v = Array.from({ length: train.n }, (_, i) => train.data[i * table.dim + col]);
      const mean = v.reduce((s, x) => s + x, 0) / v.length;
      return { mean, std: Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length) };
    });
    expect(meta.data.condition.columns).toEqual(['c', 'r']);
    stats.forEach((s, j) => {
      expect(meta.data.condition.standardization.mean[j]).toBeCloseTo(s.mean, 5);
      expect(meta.data.condition.standardization.std[j]).toBeCloseTo(s.std, 5);
    });
    expect(config.standardization.mean).toHaveLength(3);

    // The condition is used: a follows c.
    const mean = (file: string) => {
      const m = readCsv(join(tmp, file));
      return Array.from({ length: m.n }, (_, i) => m.data[i * m.dim]).reduce((s, x) => s + x, 0) / m.n;
    };
    for (const c of ['-1', '1'])
      json(await nfdm(['sample', '--model', 'v', '--n', '200', '--condition', `${c},0`, '--steps', '40', '--out', `c${c}.csv`, '--json']));
    expect(mean('c1.csv') - mean('c-1.csv')).toBeGreaterThan(1.5); // 4 for the data
    const g = json(
      await nfdm([
        'sample',
        '--model',
        'v',
        '--n',
        '5',
        '--condition',
        '0.5,0',
        '--guidance',
        '2',
        '--steps',
        '5',
        '--out',
        'g.csv',
        '--json',
      ]),
    );
    expect(g).toMatchObject({ n: 5, condition: [0.5, 0], guidance: 2 });
    expect(readFileSync(join(tmp, 'g.csv'), 'utf8').split('\n')[0]).toBe('a,b,k');
    // Unconditional draws (the null vector) and plots still work.
    json(await nfdm(['sample', '--model', 'v', '--n', '5', '--steps', '5', '--out', 'n.csv', '--json']));
    json(await nfdm(['plot', 'samples', '--model', 'v', '--n', '20', '--steps', '5', '--out', 'p.svg', '--json']));

    failure(
      await nfdm(['sample', '--model', 'v', '--n', '5', '--condition', '1', '--out', 'x.csv']),
      /--condition: this model is conditioned on 2 values \(c, r\); got 1/,
    );
    failure(await nfdm(['sample', '--model', 'v', '--n', '5', '--guidance', '1', '--out', 'x.csv']), /--guidance needs the condition/);
    failure(await nfdm(['sample', '--model', 'v', '--n', '5', '--label', '1', '--out', 'x.csv']), /conditioned on vectors of 2 values/);
    failure(await nfdm(['sample', '--model', 'v', '--n', '5', '--condition', '1,x', '--out', 'x.csv']), /Expected comma-separated numbers/);
  }, 180_000);

  it('--condition label --condition-column k: a label condition from a column of integers', async () => {
    const args = ['--model', 'nfdm', '--data', 'table.csv', '--condition', 'label', '--condition-column', 'k'];
    json(await nfdm(['train', ...args, ...TINY, '--out', 'l', '--json']));
    const config = JSON.parse(readFileSync(join(tmp, 'l', 'model', 'config.json'), 'utf8'));
    expect(config.condition).toMatchObject({ kind: 'label', classes: 3 });
    expect(config.dim).toBe(4);
    const s = json(
      await nfdm(['sample', '--model', 'l', '--n', '4', '--label', '2', '--guidance', '1', '--steps', '5', '--out', 'l.csv', '--json']),
    );
    expect(s).toMatchObject({ n: 4, labels: [2], guidance: 1 });
    expect(readFileSync(join(tmp, 'l.csv'), 'utf8').split('\n')[0]).toBe('a,b,c,r');
    // eval: the held-out rows given their label column; b = 3k + noise, so the implied classifier separates the classes.
    json(
      await nfdm(['train', ...args, '--hidden', '32,32', '--batch', '128', '--steps', '200', '--eval-every', '0', '--out', 'lk', '--json']),
    );
    const ev = json(await nfdm(['eval', '--model', 'lk', '--n', '30', '--nll-steps', '8', '--nll-solver', 'rk4', '--json']));
    const m = ev.metrics as { classifier: { accuracy: number; chance: number }; nll: { mean: number } };
    expect(m.classifier.chance).toBeCloseTo(1 / 3, 10);
    expect(m.classifier.accuracy).toBeGreaterThan(2 * m.classifier.chance);
    expect(Number.isFinite(m.nll.mean)).toBe(true);
    expect((ev.data as { source: string }).source).toMatch(/30 held-out rows .* labelled by column k/);
    failure(
      await nfdm(['sample', '--model', 'l', '--n', '4', '--label', '3', '--out', 'x.csv']),
      /3 is not a class of this model \(classes 0…2\)/,
    );
  }, 120_000);

  it('refuses unknown, non-numeric, empty and non-integer condition columns, and columns where they do not apply', async () => {
    const train = (extra: string[]) => nfdm(['train', '--model', 'nfdm', ...extra, ...TINY, '--out', 'y']);
    failure(
      await train(['--data', 'table.csv', '--condition-column', 'size']),
      /--condition-column size: .*table\.csv has no such column \(columns: a, b, c, k, r\)/,
    );
    failure(await train(['--data', 'text.csv', '--condition-column', 'c']), /column 'c'.* is not a number: "hot"/);
    failure(await train(['--data', 'empty.csv', '--condition-column', 'c']), /column 'c'.* is empty/);
    failure(
      await train(['--data', 'table.csv', '--condition', 'label', '--condition-column', 'c']),
      /--condition-column c: .* has the value -?\d.* there; class labels are integers 0…K−1/,
    );
    failure(
      await train(['--data', 'table.csv', '--condition', 'label', '--condition-column', 'k', '--condition-column', 'c']),
      /--condition label with --condition-column takes ONE column/,
    );
    failure(
      await train(['--data', 'table.csv', '--condition-column', 'k', '--condition-column', 'k']),
      /--condition-column k is given twice/,
    );
    failure(
      await train(['--data', 'table.csv', ...['a', 'b', 'c', 'k', 'r'].flatMap((c) => ['--condition-column', c])]),
      /every column of .* would be a condition/,
    );
    failure(
      await train(['--data', '8gaussians', '--condition-column', 'c']),
      /names columns of a \.csv file; --data 8gaussians is not one/,
    );
    failure(
      await nfdm(['train', ...BRIDGE, '--condition-column', 'c', ...TINY, '--out', 'x']),
      /--condition-column reads conditions from a CSV file for diffusion models, not nfbm/,
    );
    expect(existsSync(join(tmp, 'y'))).toBe(false);
    json(await nfdm(['train', '--model', 'nfdm', '--data', 'table.csv', ...TINY, '--out', 'plain', '--json']));
    failure(
      await nfdm(['sample', '--model', 'plain', '--n', '5', '--condition', '1,2', '--out', 'x.csv']),
      /--condition needs a vector-conditional model \(trained with --condition-column\); this model is unconditional/,
    );
    expect(existsSync(join(tmp, 'x'))).toBe(false);
  }, 120_000);

  it('conditionVector standardises data-unit values with the stored statistics and checks their number', () => {
    const stored = { columns: ['c', 'r'], kind: 'vector' as const, standardization: { mean: [1, -2], std: [2, 0.5] } };
    expect(conditionVector([5, -1], stored, 2)).toEqual([2, 2]);
    expect(() => conditionVector([5], stored, 2)).toThrow(/conditioned on 2 values \(c, r\); got 1/);
  });
});
