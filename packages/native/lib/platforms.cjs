'use strict';
/**
 * The prebuilt platform packages of @nfdm/native (optionalDependencies of @nfdm/native with
 * os/cpu/libc fields, so npm installs only the one that fits) and, for each, its variants best
 * first. Every variant is the whole addon compiled for one instruction-set level; the last one
 * is the platform's baseline, which runs on every CPU of its architecture and is the one asked
 * which levels this CPU supports. Used by the loader (select.cjs) and scripts/prebuild.mjs.
 */

/**
 * Flags of every prebuilt variant (stripped). libstdc++ stays dynamic: linked statically it
 * would bring this machine's glibc symbol versions (2.34+); dynamically the binaries need at
 * most GLIBC_2.14 and GLIBCXX_3.4.22 (test/prebuilt.test.mjs checks), i.e. any glibc Linux whose
 * libstdc++ comes from GCC 7 or later.
 */
const PREBUILT_FLAGS = Object.freeze(['-s']);

/** The newest symbol versions a prebuilt binary may need (checked by test/prebuilt.test.mjs). */
const MAX_SYMBOL_VERSIONS = Object.freeze({ GLIBC: '2.17', GLIBCXX: '3.4.22', CXXABI: '1.3.9' });

const PLATFORMS = Object.freeze({
  'linux-x64-gnu': Object.freeze({
    package: '@nfdm/native-linux-x64-gnu',
    cpu: 'x64',
    elfMachine: 62,
    cxx: 'g++',
    crossCxx: 'x86_64-linux-gnu-g++',
    variants: Object.freeze([
      Object.freeze({ name: 'v4', level: 'x86-64-v4', file: 'nfdm_native.x86-64-v4.node', arch: ['-march=x86-64-v4', '-mtune=generic'] }),
      Object.freeze({ name: 'v3', level: 'x86-64-v3', file: 'nfdm_native.x86-64-v3.node', arch: ['-march=x86-64-v3', '-mtune=generic'] }),
      Object.freeze({ name: 'baseline', level: 'x86-64', file: 'nfdm_native.x86-64.node', arch: ['-march=x86-64', '-mtune=generic'] }),
    ]),
  }),
  'linux-arm64-gnu': Object.freeze({
    package: '@nfdm/native-linux-arm64-gnu',
    cpu: 'arm64',
    elfMachine: 183,
    cxx: 'g++',
    crossCxx: 'aarch64-linux-gnu-g++',
    variants: Object.freeze([
      Object.freeze({ name: 'baseline', level: 'armv8-a', file: 'nfdm_native.armv8-a.node', arch: ['-march=armv8-a'] }),
    ]),
  }),
});

/** 'gnu' or 'musl' on Linux (from the process report, as napi-rs and others do), else null. */
function linuxLibc() {
  if (process.platform !== 'linux') return null;
  try {
    const header = process.report?.getReport()?.header;
    return header?.glibcVersionRuntime ? 'gnu' : 'musl';
  } catch {
    return 'gnu';
  }
}

/** This process's platform id, e.g. 'linux-x64-gnu' (a key of PLATFORMS when one is prebuilt). */
function platformId() {
  const libc = linuxLibc();
  return `${process.platform}-${process.arch}${libc ? `-${libc}` : ''}`;
}

module.exports = { MAX_SYMBOL_VERSIONS, PLATFORMS, PREBUILT_FLAGS, platformId };
