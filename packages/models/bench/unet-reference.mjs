/**
 * The reference U-Net NFDM model of issue 17's image benchmarks, one source for
 * unet-step.mjs, unet-step-compare.mjs and packages/export/bench/unet-forward.mjs (PyTorch's
 * rebuild is torch_unet_step.py). No side effects on import.
 *
 * 28×28×1 images; a learned NFDM forward process (δ = 0.01, the U-Net outputs m̄ and l̄, 2
 * channels) and a data predictor (offset 0.01, 1 channel), each a U-Net in the `compact` layout
 * (multipliers [1, 2, 2], one ResBlock per level, GroupNorm(8), no attention, no dropout, the
 * default embedding: sinusoidal of width `base` over 1000·t); the volatility of the `nfdm` preset
 * (a SELU MLP 4×64 of raw t) or a constant g = 1.
 */

/** The image size of the reference model. */
export const REFERENCE_IMAGE = { height: 28, width: 28, channels: 1 };

/** The U-Net `network` section of the reference model at width `base`. */
export function referenceNetwork(base, layout = 'compact') {
  return { arch: 'unet', image: { ...REFERENCE_IMAGE }, base, multipliers: [1, 2, 2], layout, groups: 8, numResBlocks: 1 };
}

/** The reference model's config (`createModel` of @nfdm/models builds it). */
export function referenceConfig({ base, layout = 'compact', volatility = 'neural', seed = 0 }) {
  const network = referenceNetwork(base, layout);
  const { height, width, channels } = REFERENCE_IMAGE;
  return {
    format: 'nfdm-model/1',
    dim: height * width * channels,
    forward: { kind: 'nfdm', delta: 0.01, network },
    predictor: { offset: 0.01, network },
    volatility: volatility === 'neural' ? { kind: 'neural', hidden: [64, 64, 64, 64] } : { kind: 'constant', value: 1 },
    seed,
  };
}

/** The q-quantile of ascending numbers (linear interpolation, as numpy's default). */
export function quantile(sorted, q) {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Median, quartiles and the rounded samples of timings in ms. */
export function timingSummary(prefix, times) {
  const sorted = [...times].sort((a, b) => a - b);
  return {
    [`${prefix}_ms_median`]: quantile(sorted, 0.5),
    [`${prefix}_ms_p25`]: quantile(sorted, 0.25),
    [`${prefix}_ms_p75`]: quantile(sorted, 0.75),
    [`${prefix}_ms`]: times.map((t) => Number(t.toFixed(1))),
  };
}

/** Peak resident memory of this process so far (getrusage's maxrss), MB. */
export function peakRssMb() {
  return process.resourceUsage().maxRSS / 1024;
}

/** Size of tfjs-wasm's heap in MB (it only grows, so this is its peak), or null on other backends. */
export function wasmHeapMb(tf) {
  const heap = tf.backend()?.wasm?.HEAPU8;
  return heap ? heap.buffer.byteLength / 2 ** 20 : null;
}

/** Parse `--name value` options: `spec` maps each name to [kind ('int' | 'onoff' | 'string'), default]. */
export function parseOptions(argv, spec) {
  const out = {};
  for (const [name, [kind, fallback]] of Object.entries(spec)) {
    const i = argv.indexOf(`--${name}`);
    const raw = i >= 0 ? argv[i + 1] : fallback;
    const key = name.replace(/-(\w)/g, (_, c) => c.toUpperCase());
    if (kind === 'int') {
      const v = Number(raw);
      if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} expects a non-negative integer, got ${raw}`);
      out[key] = v;
    } else if (kind === 'onoff') {
      if (raw !== 'on' && raw !== 'off') throw new Error(`--${name} expects on|off, got ${raw}`);
      out[key] = raw === 'on';
    } else out[key] = raw;
  }
  return out;
}

/**
 * Which sizes `npm run bench` measures for the U-Net benchmarks: `--unet quick|full|off` on the
 * command line (`npm run bench -- --unet full`), else NFDM_BENCH_UNET, else 'quick'. 'quick' is
 * base 8 × batch 8 (about a minute); 'full' is issue 17's base 16 × batch 32 and base 32 × batch 64
 * (many minutes); 'off' skips them.
 */
export function unetBenchMode(argv = process.argv, env = process.env) {
  const i = argv.indexOf('--unet');
  const mode = (i >= 0 ? argv[i + 1] : env.NFDM_BENCH_UNET) ?? 'quick';
  if (!['quick', 'full', 'off'].includes(mode)) throw new Error(`--unet / NFDM_BENCH_UNET expects quick, full or off, got ${mode}`);
  return mode;
}

/** The base × batch sizes of a mode ({@link unetBenchMode}). */
export function unetBenchSizes(mode) {
  return {
    quick: [[8, 8]],
    full: [
      [16, 32],
      [32, 64],
    ],
    off: [],
  }[mode];
}
