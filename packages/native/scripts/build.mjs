#!/usr/bin/env node
/**
 * Build the @nfdm/native addon with g++ directly (no node-gyp):
 *   g++ -O3 -march=native -fPIC -shared -std=c++17 -I<node headers> -pthread src/nfdm_native.cc
 *       -o build/nfdm_native.node
 * If g++ or the Node headers are missing, or compilation fails, print ONE warning, remove any
 * stale build/nfdm_native.node and exit 0: @nfdm/core then keeps its tfjs path. `--strict` makes
 * a failure exit 1 instead.
 * Env: CXX (compiler, default g++), NFDM_NATIVE_CXXFLAGS (extra flags), NFDM_NATIVE_SKIP_BUILD=1.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const strict = process.argv.includes('--strict');
const source = join(root, 'src', 'nfdm_native.cc');
const outDir = join(root, 'build');
const target = join(outDir, 'nfdm_native.node');

function warn(reason, { keepExisting = false } = {}) {
  // A stale binary from an earlier source must not be loaded: the build output is this build's.
  if (!keepExisting) rmSync(target, { force: true });
  const msg = `[@nfdm/native] not built (${reason}); @nfdm/core will use its tfjs kernels instead.`;
  if (strict) {
    console.error(msg);
    process.exit(1);
  }
  console.warn(msg);
  process.exit(0);
}

if (process.env.NFDM_NATIVE_SKIP_BUILD === '1') warn('NFDM_NATIVE_SKIP_BUILD=1', { keepExisting: true });

const includeCandidates = [
  process.env.NFDM_NODE_INCLUDE,
  resolve(dirname(process.execPath), '..', 'include', 'node'),
  '/usr/include/node',
  '/usr/local/include/node',
].filter(Boolean);
const include = includeCandidates.find((dir) => existsSync(join(dir, 'node_api.h')));
if (!include) warn(`node_api.h not found in ${includeCandidates.join(', ')}`);

const cxx = process.env.CXX || 'g++';
const flags = [
  '-O3',
  '-march=native',
  '-fPIC',
  '-shared',
  '-std=c++17',
  // FMA contraction is off by default in ISO C++ mode; no -ffast-math (NaN/Inf semantics stay).
  '-ffp-contract=fast',
  '-fno-math-errno',
  '-fvisibility=hidden',
  `-I${include}`,
  '-pthread',
  ...(process.env.NFDM_NATIVE_CXXFLAGS ? process.env.NFDM_NATIVE_CXXFLAGS.split(/\s+/).filter(Boolean) : []),
];
if (process.platform === 'darwin') flags.push('-undefined', 'dynamic_lookup');

mkdirSync(outDir, { recursive: true });
const tmp = `${target}.tmp-${process.pid}`;
try {
  execFileSync(cxx, [...flags, source, '-o', tmp], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
} catch (error) {
  rmSync(tmp, { force: true });
  if (error.code === 'ENOENT') warn(`compiler '${cxx}' not found`);
  const detail = String(error.stderr || error.message)
    .split('\n')
    .filter((l) => /error/.test(l))
    .slice(0, 3)
    .join(' | ');
  warn(`${cxx} failed: ${detail || 'unknown error'}`);
}
renameSync(tmp, target);
console.log(`[@nfdm/native] built ${target}`);
