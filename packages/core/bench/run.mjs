/**
 * @nfdm/core benchmark suite. Runs each benchmark in its own process (one tfjs backend per
 * process) and prints one JSON object: { suite, env, mlpTangents: {wasm, cpu}, torch?, solvers? }.
 * The PyTorch reference runs only where /usr/bin/python3 has torch.
 *
 * Usage: node bench/run.mjs [--reps N] [--quick]
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const reps = process.argv.includes('--reps') ? process.argv[process.argv.indexOf('--reps') + 1] : '20';
const log = (msg) => process.stderr.write(`[bench:core] ${msg}\n`);

function node(script, args) {
  const out = execFileSync(process.execPath, [join(here, script), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out.trim().split('\n').pop());
}

function torchReference() {
  const python = '/usr/bin/python3';
  if (!existsSync(python)) return { skipped: 'no /usr/bin/python3' };
  try {
    const out = execFileSync(python, [join(here, 'torch_mlp_tangents.py'), '--reps', reps, '--threads', '1'], { encoding: 'utf8' });
    return JSON.parse(out.trim().split('\n').pop());
  } catch (error) {
    return { skipped: `torch unavailable (${String(error.message).split('\n')[0]})` };
  }
}

const result = {
  suite: '@nfdm/core',
  env: { node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model, date: new Date().toISOString() },
  mlpTangents: {},
};
for (const backend of ['wasm', 'cpu']) {
  log(`MLP with tangents on ${backend} (reps ${reps})`);
  // The default-gradient reference runs on wasm only: on cpu its transposed matMuls take minutes.
  // tfjs-cpu is a plain-JS fallback (seconds per step at width 256): a few reps show its scale.
  result.mlpTangents[backend] = node('mlp-tangents.mjs', [
    '--backend',
    backend,
    '--reps',
    backend === 'cpu' ? String(Math.min(Number(reps), 3)) : reps,
    '--reference',
    backend === 'wasm' ? 'yes' : 'no',
    // The native kernels do not depend on the tfjs backend: measure them once, next to wasm.
    '--native',
    backend === 'wasm' ? 'yes' : 'no',
  ]);
}
log('PyTorch reference');
result.torch = torchReference();
if (existsSync(join(here, 'solvers.mjs'))) {
  log('solvers');
  result.solvers = node('solvers.mjs', []);
}
console.log(JSON.stringify(result));
