// The prebuilt variants in npm/<platform>/ (scripts/prebuild.mjs, part of `npm run build`) and
// the run-time choice between them (lib/select.cjs):
// - every built binary is an ELF object for its platform and needs no symbol version newer than
//   MAX_SYMBOL_VERSIONS (so it loads on older glibc/libstdc++ than this machine's);
// - each variant this CPU supports loads when forced by NFDM_NATIVE_VARIANT, passes
//   addon.test.mjs (float64 references) and gives every kernel's outputs equal to the best
//   variant's within the parity tolerance of @nfdm/core's native tests;
// - without a build from source the best supported variant is chosen; on a simulated CPU with
//   fewer levels the choice falls back, and a forced variant it cannot run is refused.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { MAX_SYMBOL_VERSIONS, PLATFORMS, platformId } = require('../lib/platforms.cjs');
const { selectAddon } = require('../lib/select.cjs');

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const host = platformId();
/** The parity tolerance of @nfdm/core's native tests (max |Δ| / max(1e-3, max |reference|)). */
const TOL = 2e-5;

/** Compare dotted versions: negative when a < b. */
function compareVersions(a, b) {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

test(`every variant of the host platform (${host}) is built`, () => {
  assert.ok(PLATFORMS[host], `no prebuilt platform for ${host}`);
  for (const v of PLATFORMS[host].variants)
    assert.ok(existsSync(join(root, 'npm', host, v.file)), `${v.file} missing: npm run build -w @nfdm/native`);
});

test('every built binary is ELF for its platform and needs no newer symbol versions than MAX_SYMBOL_VERSIONS', () => {
  let checked = 0;
  for (const [id, platform] of Object.entries(PLATFORMS)) {
    for (const v of platform.variants) {
      const file = join(root, 'npm', id, v.file);
      if (!existsSync(file)) continue; // a cross build needs its cross compiler; the host's is checked above
      const bytes = readFileSync(file);
      assert.equal(bytes.readUInt32BE(0), 0x7f454c46, `${file}: not ELF`);
      assert.equal(bytes.readUInt16LE(18), platform.elfMachine, `${file}: wrong machine`);
      // Version-needed names sit in the dynamic string table as plain text.
      for (const [, lib, version] of bytes.toString('latin1').matchAll(/\b(GLIBC|GLIBCXX|CXXABI)_(\d+(?:\.\d+)+)/g)) {
        assert.ok(compareVersions(version, MAX_SYMBOL_VERSIONS[lib]) <= 0, `${file} needs ${lib}_${version} > ${MAX_SYMBOL_VERSIONS[lib]}`);
      }
      checked++;
    }
  }
  assert.ok(checked >= PLATFORMS[host].variants.length);
});

/** Run fixtures/variant-kernels.cjs with NFDM_NATIVE_VARIANT=variant. */
function runVariant(variant) {
  const out = execFileSync(process.execPath, [join(root, 'test', 'fixtures', 'variant-kernels.cjs')], {
    env: { ...process.env, NFDM_NATIVE_VARIANT: variant },
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  return JSON.parse(out);
}

/** max |a − b| / max(1e-3, max |b|) over nested arrays. */
function relErr(a, b) {
  const fa = [a].flat(Number.POSITIVE_INFINITY);
  const fb = [b].flat(Number.POSITIVE_INFINITY);
  assert.equal(fa.length, fb.length);
  let diff = 0;
  let scale = 1e-3;
  for (let i = 0; i < fb.length; i++) {
    diff = Math.max(diff, Math.abs(fa[i] - fb[i]));
    scale = Math.max(scale, Math.abs(fb[i]));
  }
  return diff / scale;
}

test('each variant this CPU supports, forced, loads and equals the best variant within the parity tolerance', () => {
  const variants = PLATFORMS[host].variants;
  const baseline = runVariant(variants[variants.length - 1].name);
  assert.equal(baseline.status.variant, variants[variants.length - 1].level, baseline.status.reason);
  const supported = variants.filter((v) => baseline.info.cpu.includes(v.level));
  const best = runVariant(supported[0].name);
  assert.equal(best.status.variant, supported[0].level);
  assert.match(best.status.selection, /forced by NFDM_NATIVE_VARIANT/);
  for (const v of supported.slice(1)) {
    const other = v === variants[variants.length - 1] ? baseline : runVariant(v.name);
    assert.equal(other.status.variant, v.level);
    assert.deepEqual(Object.keys(other.outputs), Object.keys(best.outputs));
    for (const [name, outputs] of Object.entries(best.outputs)) {
      for (const [what, values] of Object.entries(outputs)) {
        const err = relErr(other.outputs[name][what], values);
        assert.ok(err < TOL, `${v.level} vs ${supported[0].level}, ${name} ${what}: relative error ${err}`);
      }
    }
  }
});

test('each variant this CPU supports passes addon.test.mjs (float64 references)', () => {
  const probe = runVariant('baseline');
  for (const v of PLATFORMS[host].variants.filter((x) => probe.info.cpu.includes(x.level))) {
    // Without NODE_TEST_CONTEXT: inside a test file, a nested `node --test` would skip its files.
    const { NODE_TEST_CONTEXT, ...env } = process.env;
    const out = execFileSync(process.execPath, ['--test', '--test-reporter=tap', join(root, 'test', 'addon.test.mjs')], {
      env: { ...env, NFDM_NATIVE_VARIANT: v.name },
      encoding: 'utf8',
    });
    assert.match(out, /^# fail 0$/m, `${v.level}: ${out}`);
    assert.match(out, /^# pass [1-9]/m, `${v.level}: ${out}`);
  }
});

test('without a build from source, the best variant this CPU supports is chosen', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nfdm-native-select-'));
  try {
    mkdirSync(join(dir, 'npm'));
    symlinkSync(join(root, 'npm', host), join(dir, 'npm', host));
    const pick = selectAddon({ env: {}, packageRoot: dir, requireFn: require, platform: host });
    assert.ok(pick.raw, pick.reason);
    const cpu = pick.raw.info().cpu;
    const expected = PLATFORMS[host].variants.find((v) => cpu.includes(v.level));
    assert.equal(pick.variant, expected.level);
    assert.equal(pick.kind, 'prebuilt');
    assert.equal(pick.raw.info().variant, expected.level);
    assert.match(pick.reason, /the best variant for this CPU/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A fake platform package folder and require for a CPU with the given levels; records what is loaded. */
function simulatedCpu(levels) {
  const dir = mkdtempSync(join(tmpdir(), 'nfdm-native-sim-'));
  mkdirSync(join(dir, 'npm', 'linux-x64-gnu'), { recursive: true });
  execFileSync(process.execPath, [
    '-e',
    `require('fs').writeFileSync(${JSON.stringify(join(dir, 'npm', 'linux-x64-gnu', 'package.json'))}, '{}')`,
  ]);
  const loadedFiles = [];
  const requireFn = (file) => {
    loadedFiles.push(file.split('/').pop());
    const level = PLATFORMS['linux-x64-gnu'].variants.find((v) => file.endsWith(v.file))?.level;
    return { info: () => ({ cpu: levels, variant: level }) };
  };
  requireFn.resolve = () => {
    throw Object.assign(new Error('not installed'), { code: 'MODULE_NOT_FOUND' });
  };
  return { dir, requireFn, loadedFiles };
}

test('on a simulated AVX2-only CPU the v3 variant is chosen, and a forced v4 is refused without loading it', () => {
  const levels = ['x86-64', 'x86-64-v2', 'x86-64-v3'];
  const auto = simulatedCpu(levels);
  const forced = simulatedCpu(levels);
  try {
    const pick = selectAddon({ env: {}, packageRoot: auto.dir, requireFn: auto.requireFn, platform: 'linux-x64-gnu' });
    assert.equal(pick.variant, 'x86-64-v3');
    assert.deepEqual(auto.loadedFiles, ['nfdm_native.x86-64.node', 'nfdm_native.x86-64-v3.node']);
    const refused = selectAddon({
      env: { NFDM_NATIVE_VARIANT: 'v4' },
      packageRoot: forced.dir,
      requireFn: forced.requireFn,
      platform: 'linux-x64-gnu',
    });
    assert.equal(refused.raw, null);
    assert.match(refused.reason, /NFDM_NATIVE_VARIANT=v4, but this CPU supports up to x86-64-v3/);
    assert.deepEqual(forced.loadedFiles, ['nfdm_native.x86-64.node']);
  } finally {
    rmSync(auto.dir, { recursive: true, force: true });
    rmSync(forced.dir, { recursive: true, force: true });
  }
});

test('an unknown platform or variant gives one clear reason', () => {
  const none = selectAddon({ env: {}, packageRoot: tmpdir(), requireFn: require, platform: 'linux-x64-musl' });
  assert.equal(none.raw, null);
  assert.match(none.reason, /no prebuilt package for linux-x64-musl/);
  const bad = selectAddon({ env: { NFDM_NATIVE_VARIANT: 'v5' }, packageRoot: root, requireFn: require, platform: host });
  assert.equal(bad.raw, null);
  assert.match(bad.reason, /NFDM_NATIVE_VARIANT=v5 is not a variant/);
});
