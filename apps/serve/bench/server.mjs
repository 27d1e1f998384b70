/**
 * Shared by the load scripts: export a small demo model and start `nfdm-serve` on a loopback
 * ephemeral port.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built executable (`npx tsup` in apps/serve). */
export const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'bin.js');

/** A small untrained NFDM (dim 2, SELU networks of `hidden` widths, default 2 × 32) exported with writeOnnxExport into a temp directory as `demo`. */
export async function demoModels(hidden = [32, 32]) {
  const { initBackend } = await import('@nfdm/core');
  const { createModel } = await import('@nfdm/models');
  const { exportOnnx, writeOnnxExport } = await import('@nfdm/export');
  await initBackend('cpu');
  const dir = mkdtempSync(join(tmpdir(), 'nfdm-serve-bench-'));
  const model = createModel({
    format: 'nfdm-model/1',
    dim: 2,
    forward: { kind: 'nfdm', hidden, activation: 'selu' },
    predictor: { hidden, activation: 'selu' },
    volatility: { kind: 'neural', hidden: [16], activation: 'selu' },
    seed: 0,
  });
  writeOnnxExport(exportOnnx(model, { components: false }), join(dir, 'demo'));
  model.dispose?.();
  return dir;
}

/**
 * Start `node bin --models modelsDir --port 0 ...extraArgs` on 127.0.0.1. Resolves once the
 * `nfdm-serve ready` line is logged with { child, exit (promise of the exit code), address,
 * logs() (stdout + stderr so far), logBytes() }.
 */
export function startServer(modelsDir, extraArgs = [], bin = BIN) {
  return new Promise((resolve, reject) => {
    const args = [bin, '--models', modelsDir, '--port', '0', '--host', '127.0.0.1', ...extraArgs];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let head = '';
    let bytes = 0;
    let lines = 0;
    let ready = false;
    const exit = new Promise((r) => child.on('close', (code) => r(code)));
    const onData = (d) => {
      bytes += d.length;
      for (let i = 0; i < d.length; i++) if (d[i] === 10) lines++;
      if (head.length < 1 << 20) head += d;
      if (ready) return;
      const line = head.split('\n').find((l) => l.includes('nfdm-serve ready'));
      if (line) {
        ready = true;
        resolve({ child, exit, address: JSON.parse(line).address, logs: () => head, logBytes: () => bytes, logLines: () => lines });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    exit.then((code) => {
      if (!ready) reject(new Error(`server exited with ${code}:\n${head}`));
    });
  });
}
