/**
 * Setup file of the system suite (vitest.system.config.ts): every system test file fails at
 * once, with one line saying what to install, when Python's onnx (Debian: python3-onnx) is
 * missing.
 */
import { spawnSync } from 'node:child_process';
import { PYTHON } from './python-onnx.js';

const probe = spawnSync(PYTHON, ['-c', 'import onnx'], { stdio: 'ignore' });
if (probe.status !== 0) {
  throw new Error(
    `needs Debian package python3-onnx: apt-get install python3-onnx (${probe.error ? `${PYTHON} not found` : `${PYTHON} cannot import onnx`})`,
  );
}
