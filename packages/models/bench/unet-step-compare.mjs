/**
 * Issue 17's U-Net training-step comparison in one run: at each size, the trainer's NFDM step
 * (unet-step.mjs) with tfjs kernels only, with @nfdm/native on 1 thread and on 2 threads, then
 * PyTorch's same step (torch_unet_step.py, /usr/bin/python3) on 1 and 2 threads — every
 * measurement in a fresh child process. Prints a markdown table (load = the 1-minute load average
 * when the run started), then (last line) one JSON object with every run and the ratios to PyTorch
 * on 1 thread.
 *
 * Usage: node bench/unet-step-compare.mjs [--quick] [--sizes 16x32,32x64] [--repeats 3] [--warmup 1] [--profile on|off]
 *   sizes are base×batch: default 16×32 and 32×64 (issue 17), `--quick` 8×8.
 *
 * A run that fails (today: the tfjs step exhausts the 4 GB wasm heap beyond ~3 GB of live tensors)
 * is a row with its error instead of a time. The parameter counts of the TS and PyTorch models
 * are compared (`params_match`): both build the same networks.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unetBenchSizes } from './unet-reference.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const PYTHON = '/usr/bin/python3';
const log = (m) => process.stderr.write(`[unet-step] ${m}\n`);

/** The TS configurations of issue 17: tfjs only, native 1 thread, native 2 threads. */
export const TS_CONFIGS = [
  { label: 'nfdm, tfjs kernels (native off)', native: 'off', threads: 1 },
  { label: 'nfdm, native on, 1 thread', native: 'on', threads: 1 },
  { label: 'nfdm, native on, 2 threads', native: 'on', threads: 2 },
];
/** PyTorch thread counts. */
export const TORCH_THREADS = [1, 2];

/** Options: sizes [[base, batch]], repeats, warmup, profile. */
function parseArgs(argv) {
  const get = (name, fallback) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : fallback;
  };
  const sizes = argv.includes('--quick') ? unetBenchSizes('quick') : unetBenchSizes('full');
  return {
    sizes:
      get('sizes', null)
        ?.split(',')
        .map((s) => s.split('x').map(Number)) ?? sizes,
    repeats: get('repeats', '3'),
    warmup: get('warmup', '1'),
    profile: get('profile', 'off'),
  };
}

/** Run a benchmark child and parse the JSON of its last stdout line (also when it exits non-zero). */
function runChild(command, args, cwd) {
  let out;
  try {
    out = execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  } catch (error) {
    out = String(error.stdout ?? '');
    if (!out.trim())
      return {
        error: String(error.stderr || error.message)
          .trim()
          .split('\n')
          .slice(-1)[0],
      };
  }
  const last = out.trim().split('\n').pop();
  try {
    return JSON.parse(last);
  } catch {
    return { error: `unparsable output: ${last.slice(0, 200)}` };
  }
}

/** The TS step at one size and configuration. */
function tsRun([base, batch], config, o) {
  const args = ['--base', base, '--batch', batch, '--native', config.native, '--threads', config.threads];
  args.push('--repeats', o.repeats, '--warmup', o.warmup, '--profile', o.profile);
  return runChild(process.execPath, [join(here, 'unet-step.mjs'), ...args.map(String)], join(here, '..'));
}

/** PyTorch's step at one size and thread count (null-safe when python or torch is missing). */
function torchRun([base, batch], threads, o) {
  if (!existsSync(PYTHON)) return { error: `${PYTHON} not found` };
  const args = ['--base', base, '--batch', batch, '--threads', threads, '--repeats', o.repeats, '--warmup', o.warmup];
  return runChild(PYTHON, [join(here, 'torch_unet_step.py'), ...args.map(String)], here);
}

/** One table row from a run. */
function row(size, engine, label, threads, r, torch1) {
  const ms = r.train_step_ms_median ?? null;
  return {
    base: size[0],
    batch: size[1],
    engine,
    label,
    threads,
    native: r.native ?? null,
    native_threads: r.native_threads ?? null,
    ms_median: ms,
    ms_p25: r.train_step_ms_p25 ?? null,
    ms_p75: r.train_step_ms_p75 ?? null,
    ratio_vs_torch_1thread: ms !== null && torch1 ? ms / torch1 : null,
    peak_rss_mb: r.peak_rss_mb ?? null,
    wasm_heap_mb: r.wasm_heap_mb ?? null,
    loadavg1: r.loadavg1,
    ...(r.native_reason ? { native_reason: r.native_reason } : {}),
    ...(r.error ? { error: r.error } : {}),
  };
}

/** Whether ours and PyTorch's models have equal trainable-parameter counts per part (null unless both sides reported them). */
function paramsMatch(ours, theirs) {
  const a = ours.find((r) => r.params)?.params;
  const b = theirs.find((r) => r.params)?.params;
  if (!a || !b) return null;
  return a.forward === b.forward && a.predictor === b.predictor && a.volatility === b.volatility;
}

/** All runs at one size: TS configurations first, PyTorch right after. */
function measureSize(size, o) {
  const ts = TS_CONFIGS.map((config) => {
    log(`base ${size[0]} batch ${size[1]}: ${config.label}`);
    const loadavg1 = os.loadavg()[0];
    return { config, r: { ...tsRun(size, config, o), loadavg1 } };
  });
  const torch = TORCH_THREADS.map((threads) => {
    log(`base ${size[0]} batch ${size[1]}: PyTorch, ${threads} thread${threads > 1 ? 's' : ''}`);
    const loadavg1 = os.loadavg()[0];
    return { threads, r: { ...torchRun(size, threads, o), loadavg1 } };
  });
  const torch1 = torch.find((t) => t.threads === 1)?.r.train_step_ms_median ?? null;
  const rows = [
    ...ts.map(({ config, r }) => row(size, 'nfdm', config.label, config.threads, r, torch1)),
    ...torch.map(({ threads, r }) =>
      row(size, 'pytorch', `PyTorch ${r.torch ?? ''}, ${threads} thread${threads > 1 ? 's' : ''}`, threads, r, torch1),
    ),
  ];
  return {
    base: size[0],
    batch: size[1],
    params: ts.find(({ r }) => r.params)?.r.params ?? null,
    params_match: paramsMatch(
      ts.map(({ r }) => r),
      torch.map(({ r }) => r),
    ),
    torch: torch[0]?.r.torch ?? null,
    rows,
  };
}

/** The markdown table of all sizes. */
export function markdownTable(sizes) {
  const fmt = (x, d = 0) => (typeof x === 'number' ? x.toFixed(d) : '—');
  const lines = [
    '| base | batch | engine | median ms (p25–p75) | × PyTorch 1 thread | peak RSS MB | wasm heap MB | load |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const s of sizes) {
    for (const r of s.rows) {
      const time = r.error ? `failed: ${r.error}` : `${fmt(r.ms_median)} (${fmt(r.ms_p25)}–${fmt(r.ms_p75)})`;
      lines.push(
        `| ${r.base} | ${r.batch} | ${r.label} | ${time} | ${fmt(r.ratio_vs_torch_1thread, 2)} | ${fmt(r.peak_rss_mb)} | ${fmt(r.wasm_heap_mb)} | ${fmt(r.loadavg1, 1)} |`,
      );
    }
  }
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const o = parseArgs(process.argv.slice(2));
  const sizes = o.sizes.map((size) => measureSize(size, o));
  const result = {
    bench: 'unet-step-compare',
    repeats: Number(o.repeats),
    warmup: Number(o.warmup),
    env: { node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model, date: new Date().toISOString() },
    sizes,
  };
  console.log(markdownTable(sizes));
  console.log(JSON.stringify(result));
}
