/**
 * @nfdm/models benchmark suite: one NFDM training step in the reference configuration
 * (learned and fixed FM-OT forward process) on wasm, with the MLP jets on @nfdm/native's fused
 * kernels ("native") and on tfjs kernels only ("tfjs"), next to shared/bench/torch_reference.py's
 * step in the same run when /usr/bin/python3 has torch; then issue 17's U-Net NFDM training step against
 * PyTorch (unet-step-compare.mjs) at the sizes of `--unet quick|full|off` / NFDM_BENCH_UNET (default quick:
 * base 8 × batch 8; full: base 16 × batch 32 and base 32 × batch 64). Prints one JSON object.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unetBenchMode, unetBenchSizes } from './unet-reference.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const steps = '60';
const torchScript = resolve(here, '../../../../shared/bench/torch_reference.py');
const log = (m) => process.stderr.write(`[bench:models] ${m}\n`);
const node = (args) =>
  JSON.parse(
    execFileSync(process.execPath, [join(here, 'train-step.mjs'), ...args], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .pop(),
  );

const result = {
  suite: '@nfdm/models',
  env: { node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model, date: new Date().toISOString() },
  trainStep: [],
};
const torchStep = (forward) => {
  if (!existsSync('/usr/bin/python3') || !existsSync(torchScript)) return null;
  try {
    const out = execFileSync('/usr/bin/python3', [torchScript, '--steps', steps, '--forward', forward, '--eval', '1000'], {
      encoding: 'utf8',
    });
    return JSON.parse(out.slice(out.indexOf('{')));
  } catch (error) {
    return { skipped: String(error.message).split('\n')[0] };
  }
};
// The step users run (Trainer.trainStep: fused Adam), native kernels on and off, for the three
// forward-process families; PyTorch's reference step (learned / fixed FM-OT) right after ours.
for (const forward of ['neural', 'fixed', 'ndm']) {
  log(`train step (${forward})`);
  const runs = [];
  for (const kernels of ['native', 'tfjs']) {
    const ours = node(['--forward', forward, '--steps', steps, '--trainer', 'on', '--native', kernels === 'native' ? 'on' : 'off']);
    if (kernels === 'native' && !ours.native) {
      log(`native kernels unavailable: ${ours.native_reason}`);
      continue;
    }
    runs.push({ kernels, ours });
  }
  const torch = forward === 'ndm' ? null : torchStep(forward);
  for (const { kernels, ours } of runs) {
    result.trainStep.push({
      forward: `${forward} (${kernels})`,
      kernels,
      ours,
      torch_ms: torch?.train_step_ms_median ?? null,
      ratio: torch?.train_step_ms_median ? ours.train_step_ms_median / torch.train_step_ms_median : null,
    });
  }
}
// How cost grows: width (64, 256) and batch (256, 1024, 4096), learned forward process; width 256 for all three.
result.scaling = [];
for (const [forward, width, batch] of [
  ['neural', 64, 256],
  ['neural', 64, 1024],
  ['neural', 64, 4096],
  ['neural', 256, 1024],
  ['fixed', 256, 1024],
  ['ndm', 256, 1024],
]) {
  for (const kernels of ['native', 'tfjs']) {
    log(`scaling: ${forward}, width ${width}, batch ${batch}, ${kernels}`);
    const ours = node([
      '--forward',
      forward,
      '--steps',
      '30',
      '--trainer',
      'on',
      '--width',
      String(width),
      '--batch',
      String(batch),
      '--native',
      kernels === 'native' ? 'on' : 'off',
    ]);
    result.scaling.push({
      width,
      batch,
      kernels,
      ms: ours.train_step_ms_median,
      kernels_per_step: ours.kernels_per_step,
      peak_tensor_mb: ours.peak_tensor_mb,
    });
  }
}
// Issue 17 point 4: the DiffFlow update (Trainer step) at the reproduction's configuration and at the
// CLI's default network and batch, native kernels on and off, each in a fresh process.
result.diffflowStep = [];
for (const [label, extra] of [
  ['reproduction (C 32, L 1, batch 128)', ['--repeats', '20', '--warmup', '15']],
  ['CLI default (C 64, L 3, batch 1024)', ['--channels', '64', '--layers', '3', '--batch', '1024', '--repeats', '5', '--warmup', '3']],
]) {
  for (const kernels of ['native', 'tfjs']) {
    log(`DiffFlow step: ${label}, ${kernels}`);
    const out = execFileSync(
      process.execPath,
      [join(here, 'diffflow-step.mjs'), '--native', kernels === 'native' ? 'on' : 'off', ...extra],
      {
        encoding: 'utf8',
      },
    );
    const r = JSON.parse(out.trim().split('\n').pop());
    if (kernels === 'native' && !r.native) {
      log(`native kernels unavailable: ${r.native_reason}`);
      continue;
    }
    result.diffflowStep.push({ config: label, kernels, ...r });
  }
}
// Issue 17: the U-Net NFDM training step, ours (tfjs, native 1 and 2 threads) and PyTorch's (1 and 2 threads).
const unetMode = unetBenchMode();
if (unetMode !== 'off') {
  log(`U-Net training step (${unetMode})`);
  const sizes = unetBenchSizes(unetMode)
    .map(([base, batch]) => `${base}x${batch}`)
    .join(',');
  const out = execFileSync(process.execPath, [join(here, 'unet-step-compare.mjs'), '--sizes', sizes], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  result.unetStep = { mode: unetMode, ...JSON.parse(out.trim().split('\n').pop()) };
}
console.log(JSON.stringify(result));
