/**
 * `nfdm reproduce` end to end through the built CLI, whose thin entry loads this package: the
 * smoke budget runs every experiment, writes REPORT.md (every table, a verdict per claim,
 * figures that exist and are PNGs), the configs and the runs; usage and output-directory errors
 * are one line. The images experiment
 * reads the committed Fashion-MNIST subset of @nfdm/datasets (NFDM_FASHION_MNIST_DIR), so the
 * suite needs no Debian data set.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, DIST, failure, json, runCli } from './harness.js';

/** The first 300 train / 200 test Fashion-MNIST images (packages/datasets/test/fixtures/fashion-mnist). */
const FASHION_MNIST_FIXTURE = fileURLToPath(new URL('../../../packages/datasets/test/fixtures/fashion-mnist', import.meta.url));

let tmp: string;
let savedDataDir: string | undefined;
const nfdm = (args: string[]) => runCli(tmp, args);
const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build the CLI first (cd apps/cli && npx tsup)`);
  if (!existsSync(DIST)) throw new Error(`${DIST} is missing: build this package first (cd apps/reproduce && npx tsup)`);
  tmp = mkdtempSync(join(tmpdir(), 'nfdm-cli-reproduce-'));
  // runCli passes this process's environment on to the spawned CLI.
  savedDataDir = process.env.NFDM_FASHION_MNIST_DIR;
  process.env.NFDM_FASHION_MNIST_DIR = FASHION_MNIST_FIXTURE;
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  if (savedDataDir === undefined) delete process.env.NFDM_FASHION_MNIST_DIR;
  else process.env.NFDM_FASHION_MNIST_DIR = savedDataDir;
});

/** Every number in a JSON value (depth first). */
function numbers(v: unknown, out: number[] = []): number[] {
  if (typeof v === 'number') out.push(v);
  else if (Array.isArray(v)) for (const x of v) numbers(x, out);
  else if (v && typeof v === 'object') for (const x of Object.values(v)) numbers(x, out);
  return out;
}

/** The report sections of the image experiments: tables, the classifier line, the Fréchet note. */
function checkImageSections(report: string): void {
  expect(report).toContain('## 4. Images (Fashion-MNIST 14×14, MLP 16)');
  expect(report).toContain('| model | NELBO (bits/dim) | exact NLL (bits/dim) | Fréchet distance | training (s) |');
  // CFM regresses a velocity: no NELBO (n/a), but an exact NLL and a Fréchet distance.
  expect(report).toMatch(/^\| CFM \| n\/a \| [0-9.]+ ± [^|]+ \| [0-9.]+ \| [0-9.]+ \|$/m);
  expect(report).toContain('| model | NFE 1 | NFE 2 | NFE 4 | NFE 8 | training (s) |');
  for (const label of ['NFDM-OT', 'CFM', 'OT-CFM', 'rectified flow', 'VP'])
    expect(report).toMatch(
      new RegExp(`^\\| ${label} \\| [0-9.]+ ± [^|]+ \\| [0-9.]+ ± [^|]+ \\| [0-9.]+ ± [^|]+ \\| [0-9.]+ ± [^|]+ \\|`, 'm'),
    );
  expect(report).toMatch(/\*\*test accuracy [01]\.[0-9]+\*\* on 200 test images/);
  expect(report).toContain('NOT Inception FID');
  expect(report).toContain('## 5. Image bridge (Fashion-MNIST 14×14: Sneaker → Ankle boot)');
  expect(report).toContain('| bridge | classified as Ankle boot | Fréchet distance to Ankle boot | training (s) |');
  for (const label of ['NFBM', 'fixed bridge'])
    expect(report).toMatch(new RegExp(`^\\| ${label} \\| [0-9.]+ ± [^|]+ \\| [0-9.]+ ± [^|]+ \\|`, 'm'));
  expect(report).toMatch(/^\| reference: the Sneaker images themselves \(no transport\) \| [0-9.]+ \| [0-9.]+ \|/m);
}

type Num = { mean: number } | null;

/** The JSON results of the image experiments: finite numbers where they must be, the shared classifier, the reflow teacher. */
function checkImageResults(dir: string, experiments: Record<string, Record<string, unknown>>): void {
  const images = experiments.images as {
    classifier: { accuracy: number; run: string };
    summary: Array<{ model: string; nelbo: Num; nll: Num; frechet: Num; fewstep: Array<{ frechet: Num }> }>;
  };
  expect(images.summary.map((s) => s.model)).toEqual(['nfdm', 'ndm', 'vp', 'cfm', 'nfdm-ot', 'ot-cfm', 'rectified-flow']);
  const finite = (v: Num) => v !== null && Number.isFinite(v.mean);
  for (const s of images.summary) {
    const density = ['nfdm', 'ndm', 'vp', 'cfm'].includes(s.model);
    expect(finite(s.nll), s.model).toBe(density);
    expect(finite(s.nelbo), s.model).toBe(density && s.model !== 'cfm');
    expect(finite(s.frechet), s.model).toBe(density);
    expect(s.fewstep.length).toBe(['nfdm-ot', 'cfm', 'ot-cfm', 'rectified-flow', 'vp'].includes(s.model) ? 4 : 0);
    for (const p of s.fewstep) expect(finite(p.frechet), s.model).toBe(true);
  }
  expect(images.classifier.accuracy).toBeGreaterThanOrEqual(0);
  expect(images.classifier.accuracy).toBeLessThanOrEqual(1);
  const reflow = JSON.parse(readFileSync(join(dir, 'runs', 'images', 'rectified-flow', 'seed-0', 'run.json'), 'utf8'));
  expect(JSON.stringify(reflow.data)).toContain(join('runs', 'images', 'cfm', 'seed-0'));
  const bridge = experiments['image-bridge'] as {
    classifier: { run: string };
    noTransport: { accuracy: number; frechet: number };
    summary: Array<{ model: string; accuracy: Num; frechet: Num }>;
  };
  // Both image experiments are judged by the same classifier (trained once).
  expect(bridge.classifier.run).toBe(images.classifier.run);
  expect(bridge.summary.map((s) => s.model)).toEqual(['nfbm', 'fixed-bridge']);
  for (const s of bridge.summary) {
    expect(s.accuracy?.mean).toBeGreaterThanOrEqual(0);
    expect(s.accuracy?.mean).toBeLessThanOrEqual(1);
    expect(finite(s.frechet)).toBe(true);
  }
  expect(Number.isFinite(bridge.noTransport.frechet)).toBe(true);
  // The bridges use the U-Net.
  const nfbm = JSON.parse(readFileSync(join(dir, 'runs', 'image-bridge', 'nfbm', 'seed-0', 'run.json'), 'utf8'));
  expect(JSON.stringify(nfbm)).toContain('"arch":"unet"');
}

describe('nfdm reproduce', () => {
  it('runs the smoke budget: every section, claims, PNG figures, configs and runs', { timeout: 600_000 }, async () => {
    const result = json(await nfdm(['reproduce', '--budget', 'smoke', '--out', 'smoke', '--json']));
    expect(result).toMatchObject({ format: 'nfdm-reproduce/1', budget: 'smoke', failed: {} });
    expect(result.ran).toEqual(['density', 'fewstep', 'bridges', 'images', 'image-bridge']);
    const dir = join(tmp, 'smoke');
    const report = readFileSync(join(dir, 'REPORT.md'), 'utf8');

    // Machine, budget and wall times.
    expect(report).toMatch(/\*\*Budget:\*\* smoke/);
    expect(report).toMatch(/\*\*Machine:\*\* Node v\d+/);
    expect(report).toMatch(/backend (wasm|cpu|tensorflow)/);
    expect(report).toContain('| experiment | wall time | sum over its runs | status | finished |');
    expect(report).toMatch(
      /^\| 5\. Image bridge \(Fashion-MNIST\) \| [0-9.]+ s \| training [0-9.]+ s; evaluation [0-9.]+ s \(2 runs\) \| ran \|/m,
    );
    // Every section's table headers.
    expect(report).toContain('## 1. Density estimation');
    expect(report).toContain('| dataset | entropy floor | NFDM | NDM | VP | sub-VP | FM-OT | CFM | OT-CFM | DiffFlow |');
    expect(report).toContain('| dataset | NFDM | NDM | VP | sub-VP | FM-OT | CFM | OT-CFM | DiffFlow |');
    expect(report).toContain('## 2. Few-step sampling');
    expect(report).toContain('| model | NFE 1 | NFE 2 | NFE 4 | NFE 8 | NFE 16 | NFE 100 |');
    expect(report).toContain('| model | curvature |');
    for (const label of ['NFDM-OT', 'CFM', 'OT-CFM', 'rectified flow', 'VP']) expect(report).toMatch(new RegExp(`^\\| ${label} \\| `, 'm'));
    // The flow-matching models have no NELBO: n/a, not a missing value.
    expect(report).toMatch(/^\| checkerboard \| [^\n]*\| n\/a \| n\/a \| [^|\n]+ \|$/m);
    expect(report).toContain('## 3. Bridges (NFBM)');
    expect(report).toContain(
      '| bridge | sliced W2 to target | MMD² to target | energy to target | points inside disc | paths entering disc |',
    );
    checkImageSections(report);
    expect(report).toContain('## Configs');

    // A verdict per claim, by a stated rule.
    expect(report).toContain('## Claims');
    expect(report).toMatch(/Decision rule: /);
    for (const id of ['a', 'b', 'c', 'd', 'e']) {
      expect(report).toMatch(
        new RegExp(
          `^- \\*\\*\\(${id}\\) .*\\*\\* — \\*\\*(reproduced|not reproduced|inconclusive)\\*\\* \\(budget smoke; sections? [0-9][^)]*\\)`,
          'm',
        ),
      );
    }
    // The image comparisons are part of claims (a) and (b); the image bridge has its own line.
    expect(report).toMatch(
      /^- \*\*\(a\) .*images \(fashion-mnist-14, [^)]*bits\/dim\): NFDM [0-9.]+ ± [^,]+, NDM [0-9.]+ ± .* vs VP [0-9.]+/m,
    );
    expect(report).toMatch(
      /^- \*\*\(b\) .*images \(fashion-mnist-14\) Fréchet distance at NFE 2: NFDM-OT [0-9.]+ ± .*rectified flow [0-9.]+/m,
    );
    expect(report).toMatch(/^- \*\*\(e\) .*Sneaker → Ankle boot .*classified as Ankle boot: NFBM [0-9.]+ ± [^,]+, fixed bridge [0-9.]+/m);
    const claims = result.claims as Array<{ id: string; verdict: string }>;
    expect(claims.map((c) => c.id)).toEqual(['a', 'b', 'c', 'd', 'e']);
    for (const c of claims) expect(['reproduced', 'not reproduced', 'inconclusive']).toContain(c.verdict);

    // Figures: every linked PNG exists and is a PNG.
    const links = [...report.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => m[1]);
    expect(links.length).toBeGreaterThanOrEqual(5);
    const imageFigures = ['nfdm', 'ndm', 'vp', 'cfm', 'nfdm-ot', 'ot-cfm', 'rectified-flow'].map((m) => `figures/images-${m}.png`);
    const strips = ['nfbm', 'fixed-bridge'].map((m) => `figures/image-bridge-${m}.png`);
    for (const f of [
      'figures/density-samples.png',
      'figures/fewstep-swd-8gaussians.png',
      'figures/bridges-trajectories.png',
      ...imageFigures,
      ...strips,
    ]) {
      expect(links).toContain(f);
    }
    for (const link of links) {
      expect(link.endsWith('.png')).toBe(true);
      const bytes = readFileSync(join(dir, link));
      expect(Array.from(bytes.subarray(0, 8))).toEqual(PNG);
      expect(bytes.length).toBeGreaterThan(1000);
    }

    // Configs and runs (each run with its run.json and exported model).
    for (const name of ['density', 'fewstep', 'bridges', 'images', 'image-bridge']) {
      expect(report).toContain(`](configs/${name}.json)`);
      const config = JSON.parse(readFileSync(join(dir, 'configs', `${name}.json`), 'utf8'));
      expect(config.budget).toBe('smoke');
      expect(config.runs.length).toBeGreaterThan(0);
      for (const run of config.runs as string[]) {
        const summary = JSON.parse(readFileSync(join(dir, run), 'utf8'));
        expect(summary.status).toBe('completed');
        expect(existsSync(join(dir, run, '..', 'model', 'config.json'))).toBe(true);
      }
      expect(existsSync(join(dir, 'results', `${name}.json`))).toBe(true);
    }
    // The image runs trained on the committed subset (all 300 training images).
    const imageRun = JSON.parse(readFileSync(join(dir, 'runs', 'images', 'nfdm', 'seed-0', 'run.json'), 'utf8'));
    expect(imageRun.data.source).toBe(
      `Fashion-MNIST train from ${FASHION_MNIST_FIXTURE}: 300 images 14×14×1 → 300 × 196 in [−1, 1) (uniformly dequantised)`,
    );

    // The JSON result: numeric entries in every experiment.
    const experiments = result.experiments as Record<string, Record<string, unknown>>;
    const density = experiments.density as { summary: Array<{ dataset: string; model: string; nll: { mean: number } }> };
    expect(density.summary).toHaveLength(2 * 8);
    for (const s of density.summary) expect(Number.isFinite(s.nll.mean)).toBe(true);
    // Rectified flow trained on the reflow pairs of the CFM run of the same data set and seed.
    const reflowRun = JSON.parse(readFileSync(join(dir, 'runs', 'fewstep', '8gaussians', 'rectified-flow', 'seed-0', 'run.json'), 'utf8'));
    expect(JSON.stringify(reflowRun.data)).toContain(join('runs', 'fewstep', '8gaussians', 'cfm', 'seed-0'));
    const fewstep = experiments.fewstep as { summary: Array<{ nfe: Array<{ swd: { mean: number } }>; curvature: { mean: number } }> };
    for (const s of fewstep.summary) {
      expect(s.nfe).toHaveLength(6);
      expect(s.nfe.every((p) => Number.isFinite(p.swd.mean))).toBe(true);
      expect(s.curvature.mean).toBeGreaterThan(0);
    }
    const bridges = experiments.bridges as { obstacle: { radius: number }; summary: Array<{ inside: { mean: number } }> };
    expect(bridges.obstacle.radius).toBeGreaterThan(0);
    for (const s of bridges.summary) expect(s.inside.mean).toBeGreaterThanOrEqual(0);
    checkImageResults(dir, experiments);
    for (const name of ['density', 'fewstep', 'bridges', 'images', 'image-bridge']) {
      const nums = numbers(experiments[name]);
      expect(nums.length).toBeGreaterThan(5);
      expect(experiments[name].seconds as number).toBeGreaterThan(0);
    }
  });

  it('--resume skips finished experiments; --only reruns one with --force', { timeout: 300_000 }, async () => {
    const resumed = json(await nfdm(['reproduce', '--budget', 'smoke', '--out', 'smoke', '--resume', '--json']));
    expect(resumed.ran).toEqual([]);
    expect(resumed.reused).toEqual(['density', 'fewstep', 'bridges', 'images', 'image-bridge']);
    const again = json(await nfdm(['reproduce', '--budget', 'smoke', '--out', 'smoke', '--only', 'bridges', '--force', '--json']));
    expect(again.ran).toEqual(['bridges']);
    // The report still covers the experiments of the earlier invocation.
    const report = readFileSync(join(tmp, 'smoke', 'REPORT.md'), 'utf8');
    expect(report).toContain('| dataset | entropy floor | NFDM | NDM | VP | sub-VP | FM-OT | CFM | OT-CFM | DiffFlow |');
    expect(report).toContain('| 1. Density estimation |');
    expect(report).toMatch(/\| 1\. Density estimation \| [^|]+ \| [^|]+ \| reused from an earlier invocation \|/);
    expect(again.reused).toEqual(['density', 'fewstep', 'images', 'image-bridge']);
  });

  it('--resume reuses finished runs and their evaluations, and continues a started run from its checkpoint', {
    timeout: 300_000,
  }, async () => {
    const dir = join(tmp, 'smoke');
    const before = JSON.parse(readFileSync(join(dir, 'results', 'density.json'), 'utf8'));
    const runs = join(dir, 'runs', 'density', 'checkerboard');
    const weights = (model: string) => readFileSync(join(runs, model, 'seed-0', 'model', 'weights.safetensors'));
    const nfdmWeights = weights('nfdm');
    // The density experiment must run again, but its runs are finished: all reused but one, which
    // is marked as started (so it continues from its latest checkpoint, at its last update).
    rmSync(join(dir, 'results', 'density.json'));
    const record = join(runs, 'vp', 'seed-0', 'reproduce-run.json');
    writeFileSync(record, JSON.stringify({ ...JSON.parse(readFileSync(record, 'utf8')), finished: false }));
    const resumed = json(await nfdm(['reproduce', '--budget', 'smoke', '--out', 'smoke', '--only', 'density', '--resume', '--json']));
    expect(resumed.ran).toEqual(['density']);
    const after = JSON.parse(readFileSync(join(dir, 'results', 'density.json'), 'utf8'));
    // Reused runs: the same weights and the same (cached) evaluations, number for number.
    expect(weights('nfdm').equals(nfdmWeights)).toBe(true);
    const pick = (r: typeof before, model: string) =>
      r.entries.find(
        (e: { model: string; dataset: string; seed: number }) => e.model === model && e.dataset === 'checkerboard' && e.seed === 0,
      );
    // (evalSeconds too: a reused evaluation reports the wall time it took when it ran.)
    expect(pick(before, 'nfdm').evalSeconds).toBeGreaterThan(0);
    expect(pick(after, 'nfdm')).toEqual(pick(before, 'nfdm'));
    // The started run was continued, not retrained: its run.json says where it resumed.
    const vpRun = JSON.parse(readFileSync(join(runs, 'vp', 'seed-0', 'run.json'), 'utf8'));
    expect(vpRun.resumedFrom).toBe(vpRun.step);
    expect(JSON.parse(readFileSync(record, 'utf8')).finished).toBe(true);
    // A cached evaluation is reused only under the settings it was measured with: a planted value
    // comes back under the same settings and is measured again under other ones.
    const evaluation = join(runs, 'nfdm', 'seed-0', 'evaluation.json');
    const cached = JSON.parse(readFileSync(evaluation, 'utf8'));
    const planted = (settings: string) =>
      writeFileSync(
        evaluation,
        JSON.stringify({ ...cached, settings, value: { ...cached.value, nll: { mean: 12345, stderr: 0, nfe: 1 } } }),
      );
    const nllAfterResume = async () => {
      rmSync(join(dir, 'results', 'density.json'));
      json(await nfdm(['reproduce', '--budget', 'smoke', '--out', 'smoke', '--only', 'density', '--resume', '--json']));
      return pick(JSON.parse(readFileSync(join(dir, 'results', 'density.json'), 'utf8')), 'nfdm').nll.mean;
    };
    planted(cached.settings);
    expect(await nllAfterResume()).toBe(12345);
    planted(JSON.stringify({ nll: 'rk4, 1 step' }));
    expect(await nllAfterResume()).toBe(pick(before, 'nfdm').nll.mean);
    expect(JSON.parse(readFileSync(evaluation, 'utf8')).settings).toBe(cached.settings);
    // A run whose settings differ from the budget's is trained again, never reused.
    const nfdmRecord = join(runs, 'nfdm', 'seed-0', 'reproduce-run.json');
    writeFileSync(nfdmRecord, JSON.stringify({ ...JSON.parse(readFileSync(nfdmRecord, 'utf8')), settings: '{"steps":1}' }));
    rmSync(join(dir, 'results', 'density.json'));
    json(await nfdm(['reproduce', '--budget', 'smoke', '--out', 'smoke', '--only', 'density', '--resume', '--json']));
    expect(JSON.parse(readFileSync(nfdmRecord, 'utf8')).settings).not.toBe('{"steps":1}');
    expect(JSON.parse(readFileSync(join(runs, 'nfdm', 'seed-0', 'run.json'), 'utf8')).resumedFrom).toBeUndefined();
  });

  it('--models trains only the named models; --resume without it completes the experiment, reusing their runs', {
    timeout: 300_000,
  }, async () => {
    const dir = join(tmp, 'models');
    const read = () => JSON.parse(readFileSync(join(dir, 'results', 'image-bridge.json'), 'utf8'));
    const smoke = async (...args: string[]) => json(await nfdm(['reproduce', '--budget', 'smoke', '--out', 'models', ...args, '--json']));
    const partial = await smoke('--only', 'image-bridge', '--models', 'fixed-bridge');
    expect(partial.ran).toEqual(['image-bridge']);
    const first = read();
    expect(first.modelSelection).toEqual(['fixed-bridge']);
    expect(first.summary.map((s: { model: string }) => s.model)).toEqual(['fixed-bridge']);
    expect(existsSync(join(dir, 'runs', 'image-bridge', 'nfbm'))).toBe(false);
    // The same selection again finds its result complete.
    expect((await smoke('--only', 'image-bridge', '--models', 'fixed-bridge', '--resume')).ran).toEqual([]);
    // Without --models the partial result is not complete: the experiment runs, NFBM is trained,
    // the fixed bridge's run and evaluation are reused number for number.
    expect((await smoke('--only', 'image-bridge', '--resume')).ran).toEqual(['image-bridge']);
    const second = read();
    expect(second.modelSelection).toBeUndefined();
    expect(second.summary.map((s: { model: string }) => s.model)).toEqual(['nfbm', 'fixed-bridge']);
    const fixed = (r: { entries: Array<{ model: string }> }) => r.entries.find((e) => e.model === 'fixed-bridge');
    expect(fixed(second)).toEqual(fixed(first));
    // An experiment that trains none of the models is skipped.
    expect((await smoke('--only', 'image-bridge,bridges', '--models', 'nfbm', '--resume')).ran).toEqual(['image-bridge']);
    expect(existsSync(join(dir, 'results', 'bridges.json'))).toBe(false);
  });

  it('refuses an unknown budget with one line and exit 2', async () => {
    failure(
      await nfdm(['reproduce', '--budget', 'huge', '--out', 'x']),
      /'--budget <name>' argument 'huge' is invalid.*smoke, quick, full/,
      2,
    );
    expect(existsSync(join(tmp, 'x'))).toBe(false);
    failure(await nfdm(['reproduce', '--budget', 'smoke', '--only', 'density,nope', '--out', 'x']), /Unknown item 'nope'/, 2);
    failure(await nfdm(['reproduce', '--budget', 'smoke']), /--out/, 2);
    failure(
      await nfdm(['reproduce', '--budget', 'smoke', '--only', 'bridges,image-bridge', '--models', 'nfdm,nfbm', '--out', 'x']),
      /--models: nfdm not trained by the selected experiments \(they train nfbm, fixed-bridge\)/,
      2,
    );
    failure(
      await nfdm(['reproduce', '--budget', 'smoke', '--models', 'nfdm', '--force', '--out', 'x']),
      /--models and --force exclude each other/,
      2,
    );
    expect(existsSync(join(tmp, 'x'))).toBe(false);
  });

  it('refuses a non-empty --out without --force, deleting nothing', async () => {
    const dir = join(tmp, 'busy');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    writeFileSync(join(dir, 'keep.txt'), 'precious\n');
    writeFileSync(join(dir, 'sub', 'also.txt'), 'also\n');
    failure(await nfdm(['reproduce', '--budget', 'smoke', '--out', 'busy']), /busy is not empty.*--force/, 1);
    failure(await nfdm(['reproduce', '--budget', 'smoke', '--out', 'busy', '--resume']), /no reproduce run to resume/, 1);
    failure(await nfdm(['reproduce', '--budget', 'quick', '--out', 'smoke', '--resume']), /budget smoke, not quick/, 1);
    expect(readdirSync(dir).sort()).toEqual(['keep.txt', 'sub']);
    expect(readFileSync(join(dir, 'keep.txt'), 'utf8')).toBe('precious\n');
    expect(readFileSync(join(dir, 'sub', 'also.txt'), 'utf8')).toBe('also\n');
  });
});
