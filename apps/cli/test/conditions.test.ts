/**
 * Conditional models end to end through the built CLI: `train --condition label` on a labelled
 * toy set (8gaussians: the mode), resume, `sample --label / --labels / --guidance`, `eval` (the
 * conditional NLL/NELBO and the implied classifier), and the one-line refusals (unlabelled data,
 * other families, labels for an unconditional model).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCsv } from '@nfdm/datasets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, failure, json, runCli } from './harness.js';

const FASHION_MNIST_FIXTURE = fileURLToPath(new URL('../../../packages/datasets/test/fixtures/fashion-mnist', import.meta.url));
let tmp: string;
let savedDataDir: string | undefined;
const nfdm = (args: string[]) => runCli(tmp, args);

const TINY = ['--steps', '20', '--hidden', '16,16', '--batch', '64', '--eval-every', '10'];

beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build the CLI first (cd apps/cli && npx tsup)`);
  tmp = mkdtempSync(join(tmpdir(), 'nfdm-cli-conditions-'));
  savedDataDir = process.env.NFDM_FASHION_MNIST_DIR;
  process.env.NFDM_FASHION_MNIST_DIR = FASHION_MNIST_FIXTURE; // runCli passes the environment on
});

afterAll(() => {
  if (savedDataDir === undefined) delete process.env.NFDM_FASHION_MNIST_DIR;
  else process.env.NFDM_FASHION_MNIST_DIR = savedDataDir;
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('conditional models', () => {
  it('trains on 8gaussians with its labels, resumes, and samples by label with guidance', async () => {
    const run = json(
      await nfdm([
        'train',
        '--model',
        'nfdm',
        '--data',
        '8gaussians',
        '--condition',
        'label',
        '--condition-dropout',
        '0.2',
        ...TINY,
        '--out',
        'c',
        '--json',
      ]),
    );
    expect((run.config as Record<string, unknown>).condition).toBe('label');
    expect((run.config as Record<string, unknown>).conditionDropout).toBe(0.2);
    expect(Number.isFinite((run.nelbo as { mean: number }).mean)).toBe(true);
    const config = JSON.parse(readFileSync(join(tmp, 'c', 'model', 'config.json'), 'utf8'));
    expect(config.condition).toMatchObject({ kind: 'label', classes: 8, dropout: 0.2 });
    const resumed = json(await nfdm(['train', '--out', 'c', '--resume', '--steps', '30', '--json']));
    expect(resumed.step).toBe(30);

    const s = json(
      await nfdm(['sample', '--model', 'c', '--n', '12', '--label', '3', '--guidance', '2', '--steps', '20', '--out', 's.csv', '--json']),
    );
    expect(s).toMatchObject({ n: 12, labels: [3], guidance: 2 });
    expect(readCsv(join(tmp, 's.csv')).n).toBe(12);
    const many = json(
      await nfdm(['sample', '--model', 'c', '--n', '7', '--labels', '0,1,2', '--steps', '20', '--out', 'm.json', '--json']),
    );
    expect(many).toMatchObject({ n: 7, labels: [0, 1, 2], guidance: 0 });
    // Without labels: unconditional samples (the null label).
    expect(json(await nfdm(['sample', '--model', 'c', '--n', '5', '--steps', '20', '--out', 'u.csv', '--json'])).n).toBe(5);

    failure(
      await nfdm(['sample', '--model', 'c', '--n', '5', '--label', '8', '--out', 'x.csv']),
      /--label: 8 is not a class of this model \(classes 0…7\)/,
    );
    failure(
      await nfdm(['sample', '--model', 'c', '--n', '5', '--guidance', '1', '--out', 'x.csv']),
      /--guidance needs the classes to guide towards/,
    );
    failure(
      await nfdm(['sample', '--model', 'c', '--n', '5', '--label', '1', '--labels', '1,2', '--out', 'x.csv']),
      /--label or --labels, not both/,
    );
    // eval: the conditional NLL and NELBO of held-out labelled points and the implied classifier.
    const ev = json(await nfdm(['eval', '--model', 'c', '--n', '40', '--nll-steps', '8', '--nll-solver', 'rk4', '--json']));
    const m = ev.metrics as Record<string, { mean: number; bitsPerDim: number; accuracy: number; chance: number }>;
    expect(Number.isFinite(m.nll.mean) && Number.isFinite(m.nll.bitsPerDim)).toBe(true);
    expect(Number.isFinite(m.nelbo.mean)).toBe(true);
    expect(m.classifier.accuracy).toBeGreaterThanOrEqual(0);
    expect(m.classifier.accuracy).toBeLessThanOrEqual(1);
    expect(m.classifier.chance).toBeCloseTo(1 / 8, 10);
    expect(ev.conditional).toMatch(/−log p\(x \| y\)/);
    const na = json(await nfdm(['eval', '--model', 'c', '--n', '10', '--metrics', 'swd,curvature', '--json']));
    expect(Object.keys(na.notAvailable as object).sort()).toEqual(['curvature', 'swd']);
    failure(await nfdm(['eval', '--model', 'c', '--data', 'checkerboard']), /has no natural label/);
    failure(await nfdm(['eval', '--model', 'c', '--nfe', '1,2']), /--nfe: not evaluated for conditional models/);
    const human = await nfdm(['train', '--out', 'c', '--resume', '--steps', '31']);
    expect(human.stdout).toMatch(/held-out conditional NELBO \(−log p\(x \| y\)\)/);
    expect(human.stdout).not.toMatch(/entropy floor/);
  }, 120_000);

  it('eval: after a short training the implied classifier beats chance on held-out 8gaussians modes', async () => {
    const args = ['--model', 'nfdm', '--data', '8gaussians', '--condition', 'label', '--hidden', '32,32', '--batch', '128'];
    json(await nfdm(['train', ...args, '--steps', '150', '--eval-every', '0', '--out', 'c150', '--json']));
    const ev = json(
      await nfdm([
        'eval',
        '--model',
        'c150',
        '--metrics',
        'classifier,nll',
        '--n',
        '80',
        '--nll-solver',
        'rk4',
        '--nll-steps',
        '8',
        '--json',
      ]),
    );
    const m = ev.metrics as { classifier: { accuracy: number; chance: number }; nll: { mean: number } };
    expect(m.classifier.accuracy).toBeGreaterThan(3 * m.classifier.chance);
    expect(Number.isFinite(m.nll.mean)).toBe(true);
    // The floor of −log p(x | y) is H(x | y) = ln(2πe s²) of one mode, not the data's H(x) = 2.838.
    expect(ev).toMatchObject({ entropyFloorOf: 'H(x | y)' });
    // biome-ignore lint/suspicious/noApproximativeNumericConstant: FFJORD's 8gaussians divides by 1.414, not √2
    expect(ev.entropyFloor as number).toBeCloseTo(Math.log(2 * Math.PI * Math.E * (0.5 / 1.414) ** 2), 6);
    expect(m.nll.mean).toBeGreaterThan(ev.entropyFloor as number);
    const human = await nfdm([
      'eval',
      '--model',
      'c150',
      '--metrics',
      'classifier',
      '--n',
      '16',
      '--nll-steps',
      '4',
      '--nll-solver',
      'rk4',
    ]);
    expect(human.stdout).toMatch(/classifier\s+\S+\s+accuracy of the implied classifier/);
    expect(human.stdout).toMatch(/conditional entropy floor H\(x \| y\) of 8gaussians: 0\.759 nats/);
  }, 120_000);

  it('trains a class-conditional U-Net on Fashion-MNIST 14×14 and draws a PNG grid by class', async () => {
    const args = ['--model', 'vp', '--data', 'fashion-mnist-14', '--condition', 'label', '--arch', 'unet', '--base', '8'];
    const run = json(await nfdm(['train', ...args, '--steps', '2', '--batch', '8', '--eval-every', '0', '--out', 'fm', '--json']));
    expect(Number.isFinite((run.nelbo as { mean: number }).mean)).toBe(true);
    expect(JSON.parse(readFileSync(join(tmp, 'fm', 'model', 'config.json'), 'utf8')).condition).toMatchObject({
      kind: 'label',
      classes: 10,
    });
    const s = json(
      await nfdm([
        'sample',
        '--model',
        'fm',
        '--n',
        '4',
        '--labels',
        '5,7',
        '--guidance',
        '2',
        '--steps',
        '4',
        '--out',
        'fm.png',
        '--json',
      ]),
    );
    expect(s).toMatchObject({ n: 4, labels: [5, 7], guidance: 2 });
  }, 120_000);

  it('refuses labels and guidance for an unconditional model, and --condition where it does not apply', async () => {
    json(await nfdm(['train', '--model', 'nfdm', '--data', '8gaussians', ...TINY, '--out', 'plain', '--json']));
    failure(
      await nfdm(['sample', '--model', 'plain', '--n', '5', '--label', '1', '--out', 'x.csv']),
      /--label needs a conditional model \(trained with --condition label\); this model is unconditional/,
    );
    failure(
      await nfdm(['sample', '--model', 'plain', '--n', '5', '--guidance', '1', '--out', 'x.csv']),
      /--guidance needs a conditional model/,
    );
    const plainEval = json(await nfdm(['eval', '--model', 'plain', '--n', '10', '--metrics', 'classifier', '--json']));
    expect((plainEval.notAvailable as Record<string, string>).classifier).toMatch(/label-conditional models/);
    failure(
      await nfdm(['train', '--model', 'nfdm', '--data', 'checkerboard', '--condition', 'label', ...TINY, '--out', 'x']),
      /'checkerboard' has no natural label/,
    );
    failure(
      await nfdm(['train', '--model', 'diffflow', '--data', 'moons', '--condition', 'label', ...TINY, '--out', 'x']),
      /--condition trains conditional diffusion models/,
    );
    failure(
      await nfdm(['train', '--model', 'nfdm', '--data', 'moons', '--condition-dropout', '0.2', ...TINY, '--out', 'x']),
      /it needs --condition label/,
    );
    expect(existsSync(join(tmp, 'x'))).toBe(false);
  }, 120_000);
});
