#!/usr/bin/env node
/**
 * Build @nfdm/native from source for THIS machine (the fallback where no prebuilt platform
 * package fits, and the developer build in this repository):
 *   g++ -O3 -march=native -fPIC -shared -std=c++17 … -I<node headers> -pthread src/nfdm_native.cc
 *       -o build/nfdm_native.node
 * A build from source, when present, is loaded before a prebuilt variant (see lib/select.cjs).
 * If g++ or the Node headers are missing, or compilation fails, print ONE warning, remove any
 * stale build/nfdm_native.node and exit 0: the prebuilt variant (or @nfdm/core's tfjs path) is
 * then used. `--strict` makes a failure exit 1 instead.
 * Env: CXX (compiler, default g++), NFDM_NATIVE_CXXFLAGS (extra flags), NFDM_NATIVE_SKIP_BUILD=1.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { compile, compileFlags, findNodeInclude, packageRoot } from './compile.mjs';

const strict = process.argv.includes('--strict');
const target = join(packageRoot, 'build', 'nfdm_native.node');

function warn(reason, { keepExisting = false } = {}) {
  // A stale binary from an earlier source must not be loaded: the build output is this build's.
  if (!keepExisting) rmSync(target, { force: true });
  const msg = `[@nfdm/native] not built from source (${reason}); a prebuilt variant or @nfdm/core's tfjs kernels will be used instead.`;
  if (strict) {
    console.error(msg);
    process.exit(1);
  }
  console.warn(msg);
  process.exit(0);
}

if (process.env.NFDM_NATIVE_SKIP_BUILD === '1') warn('NFDM_NATIVE_SKIP_BUILD=1', { keepExisting: true });
const { include, reason } = findNodeInclude();
if (!include) warn(reason);
const cxx = process.env.CXX || 'g++';
const failure = compile(cxx, compileFlags(include, ['-march=native']), target);
if (failure) warn(failure);
console.log(`[@nfdm/native] built ${target}`);
