/**
 * What @nfdm/native's two build scripts share: the Node-API headers, the compiler flags and one
 * g++ call that writes its output atomically.
 *   build.mjs     a build from source for this machine (-march=native) → build/nfdm_native.node;
 *   prebuild.mjs  the prebuilt variants of a platform package (-march=x86-64-v4, …).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The @nfdm/native package folder. */
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const source = join(packageRoot, 'src', 'nfdm_native.cc');

/**
 * The folder with node_api.h: `$NFDM_NODE_INCLUDE`, `<node prefix>/include/node` (next to
 * process.execPath), /usr/include/node or /usr/local/include/node. Node-API's headers are the
 * same for every target, so a cross build uses them too. Returns { include } or { reason }.
 */
export function findNodeInclude() {
  const candidates = [
    process.env.NFDM_NODE_INCLUDE,
    resolve(dirname(process.execPath), '..', 'include', 'node'),
    '/usr/include/node',
    '/usr/local/include/node',
  ].filter(Boolean);
  const include = candidates.find((dir) => existsSync(join(dir, 'node_api.h')));
  return include ? { include } : { reason: `node_api.h not found in ${candidates.join(', ')}` };
}

/** Flags of every build; `arch` is the -march/-mcpu part, `extra` anything after it. */
export function compileFlags(include, arch, extra = []) {
  const flags = [
    '-O3',
    ...arch,
    '-fPIC',
    '-shared',
    '-std=c++17',
    // FMA contraction is off by default in ISO C++ mode; no -ffast-math (NaN/Inf semantics stay).
    '-ffp-contract=fast',
    '-fno-math-errno',
    '-fvisibility=hidden',
    `-I${include}`,
    '-pthread',
    ...extra,
    ...(process.env.NFDM_NATIVE_CXXFLAGS ? process.env.NFDM_NATIVE_CXXFLAGS.split(/\s+/).filter(Boolean) : []),
  ];
  if (process.platform === 'darwin') flags.push('-undefined', 'dynamic_lookup');
  return flags;
}

/**
 * Compile `source` with `cxx` and `flags` to `target` (written to a temporary file first, then
 * renamed). Returns null on success, else a one-line reason (the compiler missing, or its first
 * error lines).
 */
export function compile(cxx, flags, target) {
  mkdirSync(dirname(target), { recursive: true });
  const tmp = `${target}.tmp-${process.pid}`;
  try {
    execFileSync(cxx, [...flags, source, '-o', tmp], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (error) {
    rmSync(tmp, { force: true });
    if (error.code === 'ENOENT') return `compiler '${cxx}' not found`;
    const detail = String(error.stderr || error.message)
      .split('\n')
      .filter((l) => /error/.test(l))
      .slice(0, 3)
      .join(' | ');
    return `${cxx} failed: ${detail || 'unknown error'}`;
  }
  renameSync(tmp, target);
  return null;
}
