#!/usr/bin/env node
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
/**
 * Build the prebuilt variants of @nfdm/native's platform packages: for each variant of each
 * platform named (default: this machine's) the whole addon, compiled for that variant's
 * instruction-set level (lib/platforms.cjs), into npm/<platform>/ — the folder of the platform
 * package (@nfdm/native-<platform>), which is packed and published from there.
 *   node scripts/prebuild.mjs [linux-x64-gnu] [linux-arm64-gnu] [--all] [--strict] [--check]
 * A platform other than this machine's needs its cross compiler (e.g. aarch64-linux-gnu-g++);
 * without it the platform is skipped with one warning (`--strict`: exit 1). `--check` builds
 * nothing and exits 1 unless every variant file exists, is newer than the source and is an ELF
 * shared object for the platform's machine (run before `npm pack` of a platform package).
 * Env: CXX (the compiler for this machine's platform), NFDM_NATIVE_CXXFLAGS (extra flags).
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { compile, compileFlags, findNodeInclude, packageRoot, source } from './compile.mjs';

const require = createRequire(import.meta.url);
const { PLATFORMS, PREBUILT_FLAGS, platformId } = require('../lib/platforms.cjs');

const args = process.argv.slice(2);
const strict = args.includes('--strict');
const check = args.includes('--check');
const named = args.filter((a) => !a.startsWith('--'));
const host = platformId();
const targets = args.includes('--all') ? Object.keys(PLATFORMS) : named.length > 0 ? named : [host];

/** Folder of a platform package in this repository. */
const packageDir = (id) => join(packageRoot, 'npm', id);

/** The ELF e_machine field of a file (62 x86-64, 183 AArch64), or null when it is not ELF. */
function elfMachine(file) {
  const fd = openSync(file, 'r');
  const head = Buffer.alloc(20);
  readSync(fd, head, 0, 20, 0);
  closeSync(fd);
  return head.readUInt32BE(0) === 0x7f454c46 ? head.readUInt16LE(18) : null;
}

/** Why a platform package's binaries are not ready to pack, or null. */
function problem(id) {
  const platform = PLATFORMS[id];
  const sourceTime = statSync(source).mtimeMs;
  for (const v of platform.variants) {
    const file = join(packageDir(id), v.file);
    if (!existsSync(file)) return `${file} is missing (run: node scripts/prebuild.mjs ${id} in @nfdm/native)`;
    if (statSync(file).mtimeMs < sourceTime) return `${file} is older than ${source}: rebuild it`;
    if (elfMachine(file) !== platform.elfMachine) return `${file} is not an ELF object for ${platform.cpu}`;
  }
  return null;
}

let failed = false;
function skip(id, reason) {
  console[strict ? 'error' : 'warn'](`[@nfdm/native] ${id}: not prebuilt (${reason})`);
  failed = true;
}

for (const id of targets) {
  const platform = PLATFORMS[id];
  if (!platform) {
    skip(id, `no such platform; known: ${Object.keys(PLATFORMS).join(', ')}`);
    continue;
  }
  if (check) {
    const why = problem(id);
    if (why) skip(id, why);
    // stderr: `npm pack --json` runs this as prepack, and its stdout must stay JSON.
    else console.error(`[@nfdm/native] ${id}: ${platform.variants.map((v) => v.file).join(', ')} ready`);
    continue;
  }
  const { include, reason } = findNodeInclude();
  if (!include) {
    skip(id, reason);
    continue;
  }
  const cxx = id === host ? process.env.CXX || platform.cxx : platform.crossCxx;
  for (const v of platform.variants) {
    const file = join(packageDir(id), v.file);
    const flags = compileFlags(include, v.arch, [...PREBUILT_FLAGS, `-DNFDM_VARIANT="${v.level}"`]);
    const failure = compile(cxx, flags, file);
    if (failure) {
      skip(id, failure);
      break;
    }
    console.log(`[@nfdm/native] ${id}: built ${file} (${v.level})`);
  }
}
if (failed && (strict || check)) process.exit(1);
