#!/usr/bin/env node
/**
 * Speed of each prebuilt variant against the build from source (-march=native), all loaded in
 * ONE process and run interleaved (variant A, B, C, … per repetition; medians), on the kernels
 * of an NFDM step: the MLP jet (order 2, widths 3 → 256 → 256 → 256 → 2, batch 512) forward +
 * backward, a 3×3 convolution forward + backward ([32, 28, 28, 16] → 16) and a GroupNorm+SiLU
 * jet of order 1 forward + backward ([2·32, 28, 28, 32], 8 groups). Variants this CPU cannot
 * run are left out. Needs `npm run build -w @nfdm/native` (both builds).
 * Usage: node bench/variants.mjs [--reps N] → one JSON line per kernel on stdout.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { PLATFORMS, platformId } = require('../lib/platforms.cjs');
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const repsArg = process.argv.indexOf('--reps');
const reps = repsArg >= 0 ? Number(process.argv[repsArg + 1]) : 15;

const platform = PLATFORMS[platformId()];
const dir = join(root, 'npm', platformId());
const baseline = require(join(dir, platform.variants[platform.variants.length - 1].file));
const cpu = baseline.info().cpu;
const builds = [{ name: 'native', raw: require(join(root, 'build', 'nfdm_native.node')) }];
for (const v of platform.variants) if (cpu.includes(v.level)) builds.push({ name: v.level, raw: require(join(dir, v.file)) });

let seed = 1;
const arr = (n) =>
  Float32Array.from({ length: n }, () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648 - 0.5;
  });

const dims = [3, 256, 256, 256, 2];
const batch = 512;
const weights = dims.slice(1).map((n, l) => arr(dims[l] * n));
const biases = dims.slice(1).map((n) => arr(n));
const mlpIn = arr(3 * batch * 3);
const mlpCot = arr(3 * batch * 2);
const convShape = [32, 28, 28, 16];
const convX = arr(32 * 28 * 28 * 16);
const convW = arr(9 * 16 * 16);
const convB = arr(16);
const gnX = arr(64 * 28 * 28 * 32);
const gamma = arr(32);
const beta = arr(32);

// The raw N-API signatures (index.cjs wraps them; here each build is used directly).
const kernels = {
  'mlp jet order 2 fwd+bwd, 3→256→256→256→2, batch 512': (raw) => {
    const [out, saved] = raw.mlpJetForward(mlpIn, batch, 2, weights, biases, 2, -1, true);
    raw.mlpJetBackward(mlpCot.subarray(0, out.length), saved, batch, 2, weights, 2, -1);
  },
  'conv 3×3 fwd+bwd [32, 28, 28, 16→16]': (raw) => {
    const y = raw.conv2dForward(convX, 32, 28, 28, 16, convW, 3, 1, convB, 32, null);
    raw.conv2dBackward(y, convX, ...convShape, convW, 3, 1, true, 32, true, null);
  },
  'GroupNorm+SiLU jet order 1 fwd+bwd [64, 28, 28, 32], 8 groups': (raw) => {
    const [out, stats] = raw.groupNormForward(gnX, 64, 28 * 28, 32, 1, 8, 1e-5, gamma, beta, null, true, null);
    raw.groupNormBackward(out, gnX, 64, 28 * 28, 32, 1, 8, stats, gamma, beta, null, true, null);
  },
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [name, run] of Object.entries(kernels)) {
  const times = new Map(builds.map((b) => [b.name, []]));
  for (const b of builds) run(b.raw); // warm-up
  for (let r = 0; r < reps; r++) {
    for (const b of builds) {
      const t0 = performance.now();
      run(b.raw);
      times.get(b.name).push(performance.now() - t0);
    }
  }
  const ms = Object.fromEntries([...times].map(([k, v]) => [k, Number(median(v).toFixed(2))]));
  const ratio = Object.fromEntries(builds.map((b) => [b.name, Number((ms[b.name] / ms.native).toFixed(2))]));
  console.log(JSON.stringify({ kernel: name, ms, ratioToNative: ratio, reps }));
}
