'use strict';
/**
 * Which build of the addon to load, and why. The candidates, in order:
 *   1. a build from source for this machine (build/nfdm_native.node, -march=native), when present:
 *      someone compiled it here on purpose (scripts/build.mjs), and it is tuned for this CPU;
 *   2. the prebuilt platform package for this OS/CPU/libc (@nfdm/native-linux-x64-gnu, …): its
 *      baseline variant is loaded first — it runs on every CPU of its architecture — and says
 *      which instruction-set levels this CPU supports; then the best variant of those is loaded
 *      (x86-64-v4: AVX-512, x86-64-v3: AVX2+FMA, else the baseline itself).
 * NFDM_NATIVE_VARIANT forces one: 'native' (the build from source), or a variant's name
 * ('v4', 'v3', 'baseline') or level ('x86-64-v4', …). A forced variant the CPU cannot run is
 * not loaded (the status says why) rather than replaced by another.
 */
const { existsSync } = require('node:fs');
const { dirname, join } = require('node:path');
const { PLATFORMS, platformId } = require('./platforms.cjs');

/** First line of an error's message. */
const firstLine = (error) => String(error?.message || error).split('\n')[0];

/** The requested variant (lower case), or null for automatic selection. */
function forcedVariant(env) {
  const v = env.NFDM_NATIVE_VARIANT?.trim().toLowerCase();
  return v && v !== 'auto' ? v : null;
}

/**
 * The folder of the installed platform package; else, in this repository, its folder next to
 * the sources (npm/<platform>/, built by scripts/prebuild.mjs; not part of the published
 * @nfdm/native); else { reason }.
 */
function platformPackageDir(platform, requireFn, repoDir) {
  try {
    return { dir: dirname(requireFn.resolve(`${platform.package}/package.json`)), label: platform.package };
  } catch (error) {
    if (repoDir && existsSync(join(repoDir, 'package.json'))) return { dir: repoDir, label: `${platform.package} (repository copy)` };
    return { reason: `${platform.package} is not installed (${firstLine(error)})` };
  }
}

/** A successful choice. */
function chosen(raw, path, kind, packageName, variant, reason) {
  return { raw, path, kind, package: packageName, variant, reason };
}

/** Load the build from source. */
function loadSource(sourcePath, requireFn, why) {
  if (!existsSync(sourcePath)) return { error: `no build from source at ${sourcePath} (run: npx nfdm-native-build)` };
  try {
    return { ok: chosen(requireFn(sourcePath), sourcePath, 'source', '@nfdm/native', 'native', why) };
  } catch (error) {
    return { error: `the build from source ${sourcePath} failed to load: ${firstLine(error)}` };
  }
}

/** Load a prebuilt variant: the forced one, or the best this CPU supports. */
function loadPrebuilt(id, forced, requireFn, repoRoot) {
  const platform = PLATFORMS[id];
  if (!platform) return { error: `no prebuilt package for ${id} (prebuilt: ${Object.keys(PLATFORMS).join(', ')})` };
  const { dir, label, reason } = platformPackageDir(platform, requireFn, repoRoot && join(repoRoot, 'npm', id));
  if (!dir) return { error: reason };
  const baseline = platform.variants[platform.variants.length - 1];
  let probe;
  try {
    probe = requireFn(join(dir, baseline.file));
  } catch (error) {
    return { error: `${label}'s baseline ${join(dir, baseline.file)} failed to load: ${firstLine(error)}` };
  }
  const levels = probe.info().cpu;
  const best = levels[levels.length - 1] ?? 'unknown';
  const pick = (variant, why) => {
    const path = join(dir, variant.file);
    try {
      const raw = variant === baseline ? probe : requireFn(path);
      return { ok: chosen(raw, path, 'prebuilt', label, variant.level, why) };
    } catch (error) {
      return { error: `${path} failed to load: ${firstLine(error)}` };
    }
  };
  if (forced) {
    const variant = platform.variants.find((v) => v.name === forced || v.level === forced);
    if (!variant) {
      const names = platform.variants.map((v) => v.name).join(', ');
      return { error: `NFDM_NATIVE_VARIANT=${forced} is not a variant of ${label} (${names}, or native)` };
    }
    if (!levels.includes(variant.level)) return { error: `NFDM_NATIVE_VARIANT=${forced}, but this CPU supports up to ${best}` };
    return pick(variant, `forced by NFDM_NATIVE_VARIANT=${forced} (this CPU supports up to ${best})`);
  }
  const variant = platform.variants.find((v) => levels.includes(v.level)) ?? baseline;
  return pick(variant, `the best variant for this CPU, which supports up to ${best}`);
}

/**
 * Choose and load the addon. Returns { raw, path, kind: 'source' | 'prebuilt', package, variant,
 * reason } — reason says why this one — or { raw: null, reason } saying why none loaded.
 * `requireFn` loads .node files and resolves the platform package (the package's own require);
 * `packageRoot` is @nfdm/native's folder (build/ and, in this repository, npm/<platform>/).
 */
function selectAddon({ env = process.env, packageRoot, requireFn, platform = platformId() }) {
  const sourcePath = join(packageRoot, 'build', 'nfdm_native.node');
  const forced = forcedVariant(env);
  if (forced === 'native' || forced === 'source') {
    const r = loadSource(sourcePath, requireFn, `forced by NFDM_NATIVE_VARIANT=${forced}`);
    return r.ok ?? { raw: null, reason: `NFDM_NATIVE_VARIANT=${forced}: ${r.error}` };
  }
  const errors = [];
  if (!forced) {
    const r = loadSource(sourcePath, requireFn, 'a build from source for this machine (-march=native) is present and wins');
    if (r.ok) return r.ok;
    if (existsSync(sourcePath)) errors.push(r.error);
  }
  const p = loadPrebuilt(platform, forced, requireFn, packageRoot);
  if (p.ok) {
    if (errors.length > 0) p.ok.reason += `; ${errors.join('; ')}`;
    return p.ok;
  }
  errors.push(p.error);
  if (!forced && !existsSync(sourcePath)) errors.push('no build from source either (run: npx nfdm-native-build)');
  return { raw: null, reason: errors.join('; ') };
}

module.exports = { selectAddon };
