/**
 * @nfdm/export benchmark suite: the sampler benchmark (ONNX runtime vs tfjs vs PyTorch), then issue 17's
 * sampling cost of the reference U-Net model (unet-forward.mjs: one velocity evaluation, tfjs vs onnxruntime
 * on 1 and 2 threads) at the sizes of `--unet quick|full|off` / NFDM_BENCH_UNET (see
 * packages/models/bench/unet-reference.mjs).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unetBenchMode, unetBenchSizes } from '../../models/bench/unet-reference.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const torchScript = resolve(here, '../../../../shared/bench/torch_reference.py');
const args = ['--reps', '5', ...(existsSync('/usr/bin/python3') && existsSync(torchScript) ? ['--torch', torchScript] : [])];
process.stderr.write('[bench:export] sampler 4096 × 100\n');
const out = execFileSync(process.execPath, [join(here, 'sampler-vs-torch.mjs'), ...args], { encoding: 'utf8' });
const sampler = JSON.parse(out.trim().split('\n').pop());
const unetMode = unetBenchMode();
const unetForward = unetBenchSizes(unetMode).map(([base, batch]) => {
  process.stderr.write(`[bench:export] U-Net velocity, base ${base} batch ${batch}\n`);
  const args = ['--base', String(base), '--batch', String(batch), '--threads', '1,2', '--repeats', '5'];
  const json = execFileSync(process.execPath, [join(here, 'unet-forward.mjs'), ...args], { encoding: 'utf8' });
  return JSON.parse(json.trim().split('\n').pop());
});
console.log(
  JSON.stringify({
    suite: '@nfdm/export',
    env: { node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model, date: new Date().toISOString() },
    sampler,
    ...(unetMode === 'off' ? {} : { unetForward: { mode: unetMode, runs: unetForward } }),
  }),
);
