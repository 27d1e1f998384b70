/**
 * The runtime installs and loads without tfjs: its sources import only onnxruntime-node,
 * onnxruntime-common (the Tensor class and types both backends share), @nfdm/numerics (seeded
 * generator, tableaux), pngjs (pure-JS PNG encoding of image samples, no dependencies of its
 * own), Node built-ins, its own modules and — in the browser entry only — onnxruntime-web; its
 * package.json depends on those alone (onnxruntime-web as an optional peer), the browser
 * entry's module graph has no Node built-ins, and the
 * built package samples from an export with every `@tensorflow/*` resolution refused.
 * (Moved from @nfdm/export's writer tests; the installed-tarball check is test/packaging.test.ts.)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const packageDir = join(import.meta.dirname, '..');

/** The module specifiers imported or re-exported by a source file. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?from\s+'([^']+)'/g)) specifiers.push(m[1]);
  for (const m of text.matchAll(/import\(\s*'([^']+)'\s*\)/g)) specifiers.push(m[1]);
  return specifiers;
}

/** Every external specifier in the module graph of `entry` (its own modules followed). */
function externalImports(entry: string): string[] {
  const seen = new Set<string>();
  const external = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const s of importsOf(file)) {
      if (s.startsWith('./')) visit(join(packageDir, 'src', s.replace(/\.js$/, '.ts')));
      else external.add(s);
    }
  };
  visit(join(packageDir, 'src', entry));
  return [...external].sort();
}

/**
 * A module-resolution hook (node:module register) that throws on any `@tensorflow/*` specifier,
 * so a script run with it fails if anything in its module graph imports tfjs.
 */
const REFUSE_TFJS_HOOK = `data:text/javascript,${encodeURIComponent(
  "export async function resolve(s, c, next) { if (s.startsWith('@tensorflow/')) throw new Error('tfjs import: ' + s); return next(s, c); }",
)}`;

/** Run an ESM script (in the package folder, so '@nfdm/runtime' resolves to this build) with the hook. */
function runWithoutTfjs(script: string): string {
  const preamble = `import { register } from 'node:module';\nregister(${JSON.stringify(REFUSE_TFJS_HOOK)});\n`;
  return execFileSync('node', ['--input-type=module', '-e', preamble + script], {
    cwd: packageDir,
    encoding: 'utf8',
    stdio: 'pipe',
  }).trim();
}

describe('runtime entry point', () => {
  it('imports only onnxruntime-node/-common/-web, @nfdm/numerics, pngjs, Node built-ins and its own modules (no tfjs, no @nfdm/core)', () => {
    const dir = join(packageDir, 'src');
    const specifiers = readdirSync(dir)
      .filter((f) => f.endsWith('.ts'))
      .flatMap((file) => importsOf(join(dir, file)));
    expect(specifiers.length).toBeGreaterThan(3);
    const allowed = (s: string) =>
      s === 'onnxruntime-node' ||
      s === 'onnxruntime-common' ||
      s === 'onnxruntime-web/wasm' ||
      s === '@nfdm/numerics/random' ||
      s === '@nfdm/numerics/tableaux' ||
      s === 'pngjs' ||
      s.startsWith('node:') ||
      s.startsWith('./');
    const foreign = specifiers.filter((s) => !allowed(s));
    expect(foreign).toEqual([]);
  });

  it('the browser entry (web.ts) reaches onnxruntime-web, onnxruntime-common and @nfdm/numerics only: no Node built-ins, no onnxruntime-node, no pngjs', () => {
    expect(externalImports('web.ts')).toEqual([
      '@nfdm/numerics/random',
      '@nfdm/numerics/tableaux',
      'onnxruntime-common',
      'onnxruntime-web/wasm',
    ]);
    // Control: the Node entry's graph does reach them.
    expect(externalImports('index.ts')).toEqual(expect.arrayContaining(['node:fs', 'onnxruntime-node', 'pngjs']));
  });

  it('depends on onnxruntime-node (and its onnxruntime-common), the dependency-free @nfdm/numerics and pngjs only; onnxruntime-web is an optional peer', () => {
    const pkg = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
    expect(Object.keys(pkg.dependencies).sort()).toEqual(['@nfdm/numerics', 'onnxruntime-common', 'onnxruntime-node', 'pngjs']);
    expect(pkg.peerDependencies).toEqual({ 'onnxruntime-web': pkg.dependencies['onnxruntime-node'] });
    expect(pkg.peerDependenciesMeta).toEqual({ 'onnxruntime-web': { optional: true } });
    const pngjs = JSON.parse(readFileSync(join(packageDir, '..', '..', 'node_modules', 'pngjs', 'package.json'), 'utf8'));
    expect(pngjs.dependencies ?? {}).toEqual({});
    const numerics = JSON.parse(readFileSync(join(packageDir, '..', 'numerics', 'package.json'), 'utf8'));
    expect(numerics.dependencies ?? {}).toEqual({});
    expect(pkg.optionalDependencies).toBeUndefined();
  });

  it('the built package samples from an export with every @tensorflow/* import refused', () => {
    if (!existsSync(join(packageDir, 'dist', 'index.js'))) throw new Error('build @nfdm/runtime first (npx tsup)');
    // Control: the hook does refuse tfjs (which this workspace has installed).
    expect(() => runWithoutTfjs("await import('@tensorflow/tfjs');")).toThrow(/tfjs import: @tensorflow\/tfjs/);
    const out = runWithoutTfjs(`
      const { loadExportedModel } = await import('@nfdm/runtime');
      const model = await loadExportedModel(${JSON.stringify(join(packageDir, 'test', 'fixtures', 'nfdm-2d'))});
      const { samples } = await model.sample({ n: 4, steps: 5, solver: 'rk4', mode: 'ode', seed: 0 });
      console.log(model.family, samples.length, samples.every(Number.isFinite));
      await model.dispose();
    `);
    expect(out).toBe('diffusion 8 true');
  });
});
