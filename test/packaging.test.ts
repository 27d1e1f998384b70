/**
 * Every published package installs on its own: `npm pack` it, install the tarballs into an
 * empty project, import it from ESM and CJS, and type-check a consumer under NodeNext
 * (types must resolve and must not be `any`). publint must report nothing. The server installs
 * without tfjs: its tarball and @nfdm/runtime's alone, in a second empty project, bring no
 * `@tensorflow/*` package, and there the runtime samples a model exported by the full install.
 * The native kernels come from the prebuilt platform package (@nfdm/native-<platform>, packed
 * from packages/native/npm/<platform>): in a third project, installed with no compiler on the
 * PATH, they are on, and the baseline variant gives the same results as the best one.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { publint } from 'publint';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');

interface Workspace {
  dir: string;
  name: string;
  private: boolean;
}

function workspaces(): Workspace[] {
  const out: Workspace[] = [];
  for (const group of ['packages', 'apps']) {
    let entries: string[] = [];
    try {
      entries = readdirSync(join(root, group));
    } catch {
      continue;
    }
    for (const entry of entries) {
      const dir = join(root, group, entry);
      try {
        const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
        out.push({ dir, name: pkg.name, private: Boolean(pkg.private) });
      } catch {
        // not a package folder
      }
    }
  }
  return out;
}

const published = workspaces().filter((w) => !w.private);
const { PLATFORMS, platformId } = createRequire(import.meta.url)(join(root, 'packages', 'native', 'lib', 'platforms.cjs')) as {
  PLATFORMS: Record<string, { package: string; variants: { name: string; level: string }[] }>;
  platformId(): string;
};
const host = platformId();
/** The prebuilt platform package of this machine (not a workspace: npm would refuse one for another CPU). */
const platformDir = join(root, 'packages', 'native', 'npm', host);
let consumer: string;
/** Tarball path of each published package, by name. */
const tarballOf = new Map<string, string>();
const run = (cmd: string, args: string[], cwd: string) =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NFDM_BACKEND: '' } });

beforeAll(() => {
  consumer = mkdtempSync(join(tmpdir(), 'nfdm-consumer-'));
  const tarballs = published.map((w) => {
    const [info] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', consumer], w.dir));
    tarballOf.set(w.name, join(consumer, info.filename));
    return join(consumer, info.filename);
  });
  // Its prepack step checks that the variants were built (npm run build -w @nfdm/native).
  const [platformInfo] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', consumer], platformDir));
  tarballOf.set(PLATFORMS[host].package, join(consumer, platformInfo.filename));
  tarballs.push(join(consumer, platformInfo.filename));
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, version: '0.0.0' }));
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', ...tarballs], consumer);
}, 600_000);

afterAll(() => {
  if (consumer) rmSync(consumer, { recursive: true, force: true });
});

describe('each package installs from its tarball', () => {
  it('there is at least one published package', () => {
    expect(published.map((w) => w.name)).toContain('@nfdm/core');
  });

  for (const w of published) {
    describe(w.name, () => {
      it('publint reports nothing', async () => {
        const { messages } = await publint({ pkgDir: w.dir, strict: true });
        expect(messages).toEqual([]);
      });

      it('imports from ESM and CJS with the same exports', () => {
        writeFileSync(join(consumer, 'esm.mjs'), `import * as m from '${w.name}';\nconsole.log(JSON.stringify(Object.keys(m).sort()));\n`);
        writeFileSync(join(consumer, 'cjs.cjs'), `const m = require('${w.name}');\nconsole.log(JSON.stringify(Object.keys(m).sort()));\n`);
        const esm = JSON.parse(run('node', ['esm.mjs'], consumer)) as string[];
        const cjs = JSON.parse(run('node', ['cjs.cjs'], consumer)) as string[];
        expect(esm.length).toBeGreaterThan(0);
        expect(cjs.filter((k) => k !== 'default' && k !== 'module.exports')).toEqual(esm.filter((k) => k !== 'default'));
      });

      it('types resolve under NodeNext for ESM and CJS consumers (and are not any)', () => {
        const body = `import * as m from '${w.name}';\n// @ts-expect-error the module's types are real, so this assignment must fail\nconst wrong: { __definitely_not_exported__: true } = m;\nexport { wrong };\n`;
        writeFileSync(join(consumer, 'check-esm.mts'), body);
        writeFileSync(join(consumer, 'check-cjs.cts'), body);
        writeFileSync(
          join(consumer, 'tsconfig.json'),
          JSON.stringify({
            compilerOptions: {
              module: 'nodenext',
              moduleResolution: 'nodenext',
              strict: true,
              noEmit: true,
              skipLibCheck: true,
              types: [],
            },
            files: ['check-esm.mts', 'check-cjs.cts'],
          }),
        );
        const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
        expect(() => run('node', [tsc, '-p', 'tsconfig.json'], consumer)).not.toThrow();
      });
    });
  }

  it('@nfdm/core starts its backend from the installed package (ESM and CJS)', () => {
    const script = (load: string) =>
      `${load}\nm.initBackend().then((r) => { console.log(JSON.stringify({ backend: r.backend, text: m.describeBackend() })); });\n`;
    writeFileSync(join(consumer, 'core-esm.mjs'), script("import * as m from '@nfdm/core';"));
    writeFileSync(join(consumer, 'core-cjs.cjs'), script("const m = require('@nfdm/core');"));
    for (const file of ['core-esm.mjs', 'core-cjs.cjs']) {
      const out = JSON.parse(run('node', [file], consumer));
      expect(out.backend).toBe('wasm');
      expect(out.text).toMatch(/@tensorflow\/tfjs-node-gpu\): not installed/);
    }
  });

  it('the published contracts (@nfdm/core/testing, @nfdm/models/testing) run on a custom solver and process (ESM and CJS)', () => {
    const script = (load: (name: string) => string) =>
      `${load('@nfdm/core')}${load('@nfdm/core/testing')}${load('@nfdm/models')}${load('@nfdm/models/testing')}` +
      'core.initBackend().then(async () => {\n' +
      "  const rk4 = new core.RungeKutta({ ...core.getSolver('rk4').tableau, name: 'my-rk4' });\n" +
      "  const make = () => new models.FixedGaussianProcess(2, { name: 'fm-ot' });\n" +
      '  console.log(JSON.stringify([...(await coreTesting.runChecks(coreTesting.odeSolverChecks(rk4))), ...(await modelsTesting.runChecks(modelsTesting.forwardProcessChecks(make, { dim: 2 })))]));\n' +
      '});\n';
    const variable = (name: string) =>
      ({ '@nfdm/core': 'core', '@nfdm/core/testing': 'coreTesting', '@nfdm/models': 'models', '@nfdm/models/testing': 'modelsTesting' })[
        name
      ];
    writeFileSync(
      join(consumer, 'contracts-esm.mjs'),
      script((name) => `import * as ${variable(name)} from '${name}';\n`),
    );
    writeFileSync(
      join(consumer, 'contracts-cjs.cjs'),
      script((name) => `const ${variable(name)} = require('${name}');\n`),
    );
    for (const file of ['contracts-esm.mjs', 'contracts-cjs.cjs']) expect(JSON.parse(run('node', [file], consumer))).toEqual([]);
  });
});

describe('@nfdm/serve installs without tfjs', () => {
  let serveOnly: string;

  beforeAll(() => {
    serveOnly = mkdtempSync(join(tmpdir(), 'nfdm-serve-only-'));
    writeFileSync(join(serveOnly, 'package.json'), JSON.stringify({ name: 'serve-only', private: true, version: '0.0.0' }));
    const tarballs = ['@nfdm/serve', '@nfdm/runtime', '@nfdm/numerics', '@nfdm/playground'].map((name) => tarballOf.get(name) as string);
    expect(tarballs.every((t) => t !== undefined)).toBe(true);
    run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', ...tarballs], serveOnly);
  }, 600_000);

  afterAll(() => {
    if (serveOnly) rmSync(serveOnly, { recursive: true, force: true });
  });

  it('installing the serve tarball brings no @tensorflow/* package and no @nfdm package but runtime, numerics and the playground page', () => {
    expect(existsSync(join(serveOnly, 'node_modules', '@nfdm', 'serve', 'package.json'))).toBe(true);
    expect(existsSync(join(serveOnly, 'node_modules', 'onnxruntime-node', 'package.json'))).toBe(true);
    expect(existsSync(join(serveOnly, 'node_modules', '@tensorflow'))).toBe(false);
    const lock = JSON.parse(readFileSync(join(serveOnly, 'package-lock.json'), 'utf8'));
    expect(Object.keys(lock.packages).filter((p) => p.includes('@tensorflow/'))).toEqual([]);
    expect(readdirSync(join(serveOnly, 'node_modules', '@nfdm')).sort()).toEqual(['numerics', 'playground', 'runtime', 'serve']);
  });

  it('the runtime samples a model exported by the full install, equal to the tfjs model, without tfjs', () => {
    const dir = join(serveOnly, 'exported');
    // In the full install: a small model, its export, and its own tfjs samples for the same call.
    const call = "{ n: 4, steps: 8, solver: 'heun', mode: 'ode', seed: 2 }";
    writeFileSync(
      join(consumer, 'export-model.mjs'),
      `import { initBackend } from '@nfdm/core';
import { createModel } from '@nfdm/models';
import { exportOnnx, writeOnnxExport } from '@nfdm/export';
await initBackend();
const model = createModel({ format: 'nfdm-model/1', dim: 2, forward: { kind: 'nfdm', hidden: [8] }, predictor: { hidden: [8] }, volatility: { kind: 'constant', value: 0.5 }, seed: 1 });
writeOnnxExport(exportOnnx(model), ${JSON.stringify(dir)});
console.log(JSON.stringify(Array.from(model.sample(${call}).samples.dataSync())));
`,
    );
    const reference = JSON.parse(run('node', ['export-model.mjs'], consumer)) as number[];
    expect(reference).toHaveLength(8);
    // In the serve-only install: the runtime (ESM and CJS) and the server load with no tfjs.
    const sample = (load: string) =>
      `${load}\nm.loadOnnxModel(${JSON.stringify(dir)}).then(async (model) => {\n  const { samples } = await model.sample(${call});\n  await model.dispose();\n  console.log(JSON.stringify(Array.from(samples)));\n});\n`;
    writeFileSync(join(serveOnly, 'sample-esm.mjs'), sample("import * as m from '@nfdm/runtime';"));
    writeFileSync(join(serveOnly, 'sample-cjs.cjs'), sample("const m = require('@nfdm/runtime');"));
    for (const file of ['sample-esm.mjs', 'sample-cjs.cjs']) {
      const samples = JSON.parse(run('node', [file], serveOnly)) as number[];
      expect(samples).toHaveLength(reference.length);
      const worst = Math.max(...samples.map((v, i) => Math.abs(v - reference[i]) - 1e-4 * (1 + Math.abs(reference[i]))));
      expect(worst).toBeLessThanOrEqual(0);
    }
    writeFileSync(join(serveOnly, 'serve-esm.mjs'), "import * as m from '@nfdm/serve';\nconsole.log(Object.keys(m).length > 0);\n");
    expect(run('node', ['serve-esm.mjs'], serveOnly).trim()).toBe('true');
  });
});

/** max |a − b| / max(1e-3, max |b|) — the measure of @nfdm/core's native parity tests. */
function relErr(a: number[], b: number[]): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 1e-3;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

/** The tolerance of @nfdm/core's native parity tests. */
const TOL = 2e-5;

/**
 * An MLP jet of order 2 and a U-Net jet of order 1 with their gradients, on the installed
 * @nfdm/core, printed as JSON with nativeKernelsStatus() and the CPU's levels.
 */
const PARITY_SCRIPT = `import * as tf from '@tensorflow/tfjs';
import { initBackend, Jet, MLP, nativeKernelsStatus, Rng, UNet } from '@nfdm/core';
import { loadNative } from '@nfdm/native';
await initBackend('wasm');
const rng = new Rng(7);
const outputs = {};
const record = (name, loss, vars) => {
  const { grads } = tf.variableGrads(loss, vars);
  // (A parameter the loss does not reach has no gradient.)
  vars.forEach((v, i) => grads[v.name] && (outputs[name + ' grad ' + i] = Array.from(grads[v.name].dataSync())));
};
const net = new MLP({ inDim: 3, outDim: 4, hidden: [64, 33], activation: 'silu', rng: 3 });
const x = tf.variable(rng.normalTensor([3 * 37, 3]), true);
const cot = rng.normalTensor([3 * 37, 4]);
outputs['mlp jet'] = Array.from(net.applyJet(new Jet(x, 2)).data.dataSync());
record('mlp', () => tf.sum(tf.mul(net.applyJet(new Jet(x, 2)).data, cot)), [x, ...net.parameters().values()]);
const unet = new UNet({ height: 8, width: 8, inChannels: 1, outChannels: 1, base: 8, multipliers: [1, 2], groups: 2, rng: 1 });
const img = tf.variable(rng.normalTensor([4, 8, 8, 1]), true);
const t = tf.tensor2d([[0.1], [0.4], [0.7], [0.9]]);
const R = rng.normalTensor([8, 8, 8, 1]);
outputs['unet jet'] = Array.from(unet.jet(img, t, 1).data.dataSync());
record('unet', () => tf.sum(tf.mul(unet.jet(img, t, 1).data, R)), [img, ...unet.parameters().values()]);
const addon = loadNative();
console.log(JSON.stringify({ status: nativeKernelsStatus(), cpu: addon ? addon.info().cpu : null, outputs }));
`;

describe('a user install with no compiler: the native kernels come from the prebuilt package', () => {
  let project: string;
  let env: NodeJS.ProcessEnv;
  const runHere = (cmd: string, args: string[], extra: NodeJS.ProcessEnv = {}) =>
    execFileSync(cmd, args, { cwd: project, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...env, ...extra } });

  beforeAll(() => {
    project = mkdtempSync(join(tmpdir(), 'nfdm-no-compiler-'));
    // PATH: node, npm and sh (npm runs dependencies' install scripts with it) — no g++, cc,
    // make or python; shebangs find node there.
    const bin = join(project, '.bin-node-npm-sh');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    symlinkSync('/bin/sh', join(bin, 'sh'));
    const npmCli = realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim());
    symlinkSync(npmCli, join(bin, 'npm'));
    env = { ...process.env, PATH: bin, NFDM_BACKEND: '', NFDM_NATIVE: '', NFDM_NATIVE_VARIANT: '', CXX: '', CC: '' };
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'no-compiler', private: true, version: '0.0.0', type: 'module' }));
    const names = ['@nfdm/core', '@nfdm/numerics', '@nfdm/native', PLATFORMS[host].package, ...published.map((w) => w.name)];
    const tarballs = [...new Set(names)].map((n) => tarballOf.get(n) as string);
    expect(tarballs.every((t) => t !== undefined)).toBe(true);
    // Install scripts are not ignored: none of ours may need a compiler.
    runHere('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...tarballs]);
  }, 600_000);

  afterAll(() => {
    if (project) rmSync(project, { recursive: true, force: true });
  });

  it('there is no compiler on the PATH of the install', () => {
    for (const tool of ['g++', 'gcc', 'cc', 'c++', 'clang', 'make']) {
      expect(spawnSync(tool, ['--version'], { env }).error?.message ?? 'found', tool).toMatch(/ENOENT/);
    }
    expect(existsSync(join(project, 'node_modules', '@nfdm', 'native', 'build'))).toBe(false);
    expect(readdirSync(join(project, 'node_modules', '@nfdm'))).toContain(PLATFORMS[host].package.split('/')[1]);
  });

  it('the native kernels are on, from the best prebuilt variant for this CPU; the baseline, forced, gives equal results', () => {
    writeFileSync(join(project, 'parity.mjs'), PARITY_SCRIPT);
    const best = JSON.parse(runHere('node', ['parity.mjs']));
    const baseline = JSON.parse(runHere('node', ['parity.mjs'], { NFDM_NATIVE_VARIANT: 'baseline' }));
    const tfjs = JSON.parse(runHere('node', ['parity.mjs'], { NFDM_NATIVE: '0' }));
    const variants = PLATFORMS[host].variants;
    const expected = variants.find((v) => best.cpu.includes(v.level));
    expect(best.status).toMatchObject({ loaded: true, enabled: true, conv2d: true, groupNorm: true });
    expect(best.status.addon).toMatchObject({ kind: 'prebuilt', package: PLATFORMS[host].package, variant: expected?.level });
    expect(baseline.status.addon).toMatchObject({ kind: 'prebuilt', variant: variants[variants.length - 1].level });
    expect(baseline.status.addon.selection).toMatch(/forced by NFDM_NATIVE_VARIANT=baseline/);
    expect(tfjs.status).toMatchObject({ loaded: true, enabled: false, reason: 'disabled by NFDM_NATIVE=0' });
    const names = Object.keys(best.outputs as Record<string, number[]>);
    expect(names.length).toBeGreaterThan(10);
    for (const name of names) {
      expect(relErr(baseline.outputs[name], best.outputs[name]), `baseline vs ${expected?.level}: ${name}`).toBeLessThan(TOL);
      expect(relErr(best.outputs[name], tfjs.outputs[name]), `${expected?.level} vs tfjs: ${name}`).toBeLessThan(TOL);
    }
  });

  it('the CLI says which native build it runs', () => {
    const out = spawnSync(
      join(project, 'node_modules', '.bin', 'nfdm'),
      ['train', '--model', 'nfdm', '--data', 'moons', '--steps', '2', '--batch', '16', '--out', 'run', '--verbose'],
      { cwd: project, env, encoding: 'utf8' },
    );
    expect(out.status, out.stderr).toBe(0);
    expect(out.stderr).toContain(`native kernels: on (prebuilt ${PLATFORMS[host].package}, `);
  });
});
