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

/** Float64 'same' convolution (zero padding (k−1)/2, stride s), bias on images n < V. */
function conv64(x, [N, H, W, C], w, k, s, O, bias, V) {
  const p = (k - 1) / 2;
  const Ho = Math.ceil(H / s);
  const Wo = Math.ceil(W / s);
  const y = new Float64Array(N * Ho * Wo * O);
  for (let n = 0; n < N; n++)
    for (let i = 0; i < Ho; i++)
      for (let j = 0; j < Wo; j++)
        for (let o = 0; o < O; o++) {
          let acc = bias && n < V ? bias[o] : 0;
          for (let a = 0; a < k; a++)
            for (let b = 0; b < k; b++) {
              const ii = s * i + a - p;
              const jj = s * j + b - p;
              if (ii < 0 || jj < 0 || ii >= H || jj >= W) continue;
              for (let c = 0; c < C; c++) acc += x[((n * H + ii) * W + jj) * C + c] * w[((a * k + b) * C + c) * O + o];
            }
          y[((n * Ho + i) * Wo + j) * O + o] = acc;
        }
  return y;
}

test('conv2dForward / conv2dBackward equal a float64 reference (k 1 and 3, stride 1 and 2, odd sizes, O = 16, 33, 48)', () => {
  const native = loadNative();
  assert.ok(native, nativeStatus().reason);
  let seed = 7;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648 - 0.5;
  };
  const arr = (n) => Float32Array.from({ length: n }, rnd);
  for (const [N, H, W, C, O, k, s] of [
    [2, 5, 6, 3, 4, 3, 1],
    [3, 7, 7, 16, 16, 3, 2],
    [2, 6, 5, 20, 48, 3, 1],
    [2, 6, 5, 5, 33, 1, 1],
    [2, 7, 6, 8, 9, 1, 2],
  ]) {
    const shape = [N, H, W, C];
    const x = arr(N * H * W * C);
    const w = arr(k * k * C * O);
    const bias = arr(O);
    const V = N - 1;
    const y = native.conv2dForward(x, shape, w, k, s, bias, V);
    const ref = conv64(x, shape, w, k, s, O, bias, V);
    assert.equal(y.length, ref.length);
    for (let i = 0; i < ref.length; i++) assert.ok(Math.abs(y[i] - ref[i]) < 1e-5, `${shape} k${k} s${s}: y[${i}] ${y[i]} vs ${ref[i]}`);
    // L = Σ y ⊙ R is linear in x, w and bias: unit central differences of the float64 reference are exact.
    const R = arr(y.length);
    const L = (xx, ww, bb) => conv64(xx, shape, ww, k, s, O, bb, V).reduce((t, v, i) => t + v * R[i], 0);
    const fd = (values, i, f) => {
      const a = Float64Array.from(values);
      a[i] += 1;
      const up = f(a);
      a[i] -= 2;
      return (up - f(a)) / 2;
    };
    const { dInput, dKernel, dBias } = native.conv2dBackward(R, x, shape, w, k, s, { bias: true, valueImages: V });
    for (let i = 0; i < x.length; i += 7) assert.ok(Math.abs(dInput[i] - fd(x, i, (a) => L(a, w, bias))) < 1e-5, `∂x[${i}]`);
    for (let i = 0; i < w.length; i += 5) assert.ok(Math.abs(dKernel[i] - fd(w, i, (a) => L(x, a, bias))) < 1e-5, `∂W[${i}]`);
    for (let o = 0; o < O; o++) assert.ok(Math.abs(dBias[o] - fd(bias, o, (a) => L(x, w, a))) < 1e-5, `∂b[${o}]`);
    const noInput = native.conv2dBackward(R, x, shape, w, k, s, { input: false });
    assert.equal(noInput.dInput, null);
    assert.equal(noInput.dBias, null);
    assert.deepEqual([...noInput.dKernel], [...dKernel]);
  }
  assert.throws(() => native.conv2dForward(new Float32Array(5), [1, 2, 2, 1], new Float32Array(9), 3), TypeError);
  assert.throws(() => native.conv2dForward(new Float32Array(4), [1, 2, 2, 1], new Float32Array(9), 5), TypeError);
});
