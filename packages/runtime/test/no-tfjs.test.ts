/**
 * The runtime installs and loads without tfjs: its sources import only onnxruntime-node,
 * @nfdm/numerics (seeded generator, tableaux), pngjs (pure-JS PNG encoding of image samples,
 * no dependencies of its own), Node built-ins and its own modules, its package.json depends on
 * those three alone, and the
 * built package samples from an export with every `@tensorflow/*` resolution refused.
 * (Moved from @nfdm/export's writer tests; the installed-tarball check is test/packaging.test.ts.)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const packageDir = join(import.meta.dirname, '..');

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
  it('imports only onnxruntime-node, @nfdm/numerics, pngjs, Node built-ins and its own modules (no tfjs, no @nfdm/core)', () => {
    const dir = join(packageDir, 'src');
    const specifiers: string[] = [];
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const text = readFileSync(join(dir, file), 'utf8');
      for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?from\s+'([^']+)'/g)) specifiers.push(m[1]);
      for (const m of text.matchAll(/import\(\s*'([^']+)'\s*\)/g)) specifiers.push(m[1]);
    }
    expect(specifiers.length).toBeGreaterThan(3);
    const allowed = (s: string) =>
      s === 'onnxruntime-node' ||
      s === '@nfdm/numerics/random' ||
      s === '@nfdm/numerics/tableaux' ||
      s === 'pngjs' ||
      s.startsWith('node:') ||
      s.startsWith('./');
    const foreign = specifiers.filter((s) => !allowed(s));
    expect(foreign).toEqual([]);
  });

  it('depends on onnxruntime-node and the dependency-free @nfdm/numerics and pngjs only', () => {
    const pkg = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
    expect(Object.keys(pkg.dependencies).sort()).toEqual(['@nfdm/numerics', 'onnxruntime-node', 'pngjs']);
    const pngjs = JSON.parse(readFileSync(join(packageDir, '..', '..', 'node_modules', 'pngjs', 'package.json'), 'utf8'));
    expect(pngjs.dependencies ?? {}).toEqual({});
    const numerics = JSON.parse(readFileSync(join(packageDir, '..', 'numerics', 'package.json'), 'utf8'));
    expect(numerics.dependencies ?? {}).toEqual({});
    expect(pkg.peerDependencies).toBeUndefined();
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
