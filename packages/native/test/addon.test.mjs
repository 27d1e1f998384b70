// The addon loads and matches a plain-JS float64 reference of the README's 2 → 3 → 1 SELU MLP jet.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadNative, NATIVE_ACTIVATIONS, nativeStatus } from '../index.js';

const L = 1.0507009873554805;
const LA = 1.7580993408473768;

test('the addon is built and loads', () => {
  assert.ok(loadNative(), `@nfdm/native did not load: ${nativeStatus().reason}`);
  assert.deepEqual([...NATIVE_ACTIVATIONS].sort(), ['identity', 'relu', 'selu', 'sigmoid', 'silu', 'softplus', 'tanh']);
});

test('forward jet and input gradient equal a float64 reference', () => {
  const native = loadNative();
  assert.ok(native, nativeStatus().reason);
  const B = 2;
  const x = [0.5, -1, 2, 0.25];
  const dx = [1, 0, 0, 1];
  const W0 = [0.1, -0.2, 0.3, 0.4, 0.5, -0.6];
  const b0 = [0, 0.1, -0.1];
  const W1 = [1, -1, 0.5];
  const b1 = [0.2];
  const { output, saved } = native.mlpJetForward(
    Float32Array.from([...x, ...dx]),
    B,
    1,
    [Float32Array.from(W0), Float32Array.from(W1)],
    [Float32Array.from(b0), Float32Array.from(b1)],
    'selu',
  );
  for (let b = 0; b < B; b++) {
    let v = b1[0];
    let v1 = 0;
    for (let j = 0; j < 3; j++) {
      const h = x[2 * b] * W0[j] + x[2 * b + 1] * W0[3 + j] + b0[j];
      const h1 = dx[2 * b] * W0[j] + dx[2 * b + 1] * W0[3 + j];
      const a = h > 0 ? L * h : LA * (Math.exp(h) - 1);
      const d = h > 0 ? L : LA * Math.exp(h);
      v += a * W1[j];
      v1 += d * h1 * W1[j];
    }
    assert.ok(Math.abs(output[b] - v) < 1e-6, `v[${b}] ${output[b]} vs ${v}`);
    assert.ok(Math.abs(output[B + b] - v1) < 1e-6, `v'[${b}] ${output[B + b]} vs ${v1}`);
  }
  const g = native.mlpJetBackward(Float32Array.from([1, 1, 0, 0]), saved, B, 1, [Float32Array.from(W0), Float32Array.from(W1)], 'selu');
  assert.equal(g.dInput.length, 8);
  assert.equal(g.dWeights[0].length, 6);
  assert.deepEqual([...g.dBiases[1]], [2]);
  assert.deepEqual([...g.dInput.slice(4)], [0, 0, 0, 0]); // no cotangent on v' → none on x'
});

test('bad arguments throw TypeErrors', () => {
  const native = loadNative();
  assert.ok(native, nativeStatus().reason);
  assert.throws(() => native.mlpJetForward(new Float32Array(3), 2, 0, [new Float32Array(6)], [new Float32Array(3)], 'selu'), TypeError);
  assert.throws(
    () => native.mlpJetForward(new Float32Array(4), 2, 0, [new Float32Array(6)], [new Float32Array(3)], 'gelu-tanh'),
    RangeError,
  );
});
