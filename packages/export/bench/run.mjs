/** @nfdm/export benchmark suite: the sampler benchmark (ONNX runtime vs tfjs vs PyTorch). */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const torchScript = resolve(here, '../../../../shared/bench/torch_reference.py');
const args = ['--reps', '5', ...(existsSync('/usr/bin/python3') && existsSync(torchScript) ? ['--torch', torchScript] : [])];
process.stderr.write('[bench:export] sampler 4096 × 100\n');
const out = execFileSync(process.execPath, [join(here, 'sampler-vs-torch.mjs'), ...args], { encoding: 'utf8' });
const sampler = JSON.parse(out.trim().split('\n').pop());
console.log(
  JSON.stringify({
    suite: '@nfdm/export',
    env: { node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model, date: new Date().toISOString() },
    sampler,
  }),
);
