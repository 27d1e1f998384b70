// The addon loads and matches a plain-JS float64 reference of the README's 2 → 3 → 1 SELU MLP jet.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadNative, NATIVE_ACTIVATIONS, nativeStatus } from '../index.js';

const L = 1.0507009873554805;
const LA = 1.7580993408473768;

test('the addon is built and loads', () => {
  assert.ok(loadNative(), `@nfdm/native did not load: ${nativeStatus().reason}`);
  assert.deepEqual([...NATIVE_ACTIVATIONS].sort(), ['gelu-tanh', 'identity', 'relu', 'selu', 'sigmoid', 'silu', 'softplus', 'tanh']);
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
    () => native.mlpJetForward(new Float32Array(4), 2, 0, [new Float32Array(6)], [new Float32Array(3)], 'gelu-erf'),
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
    [2, 5, 6, 20, 2, 3, 1],
    [2, 6, 5, 17, 1, 3, 2],
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
    // Into caller-owned buffers: the same objects come back, with the same values.
    const out = new Float32Array(y.length).fill(Number.NaN);
    assert.equal(native.conv2dForward(x, shape, w, k, s, bias, V, out), out);
    assert.deepEqual([...out], [...y]);
    const dxOut = new Float32Array(x.length).fill(Number.NaN);
    assert.equal(native.conv2dBackward(R, x, shape, w, k, s, { out: dxOut }).dInput, dxOut);
    assert.deepEqual([...dxOut], [...dInput]);
    assert.throws(() => native.conv2dForward(x, shape, w, k, s, bias, V, new Float32Array(y.length + 1)), TypeError);
    const noInput = native.conv2dBackward(R, x, shape, w, k, s, { input: false });
    assert.equal(noInput.dInput, null);
    assert.equal(noInput.dBias, null);
    assert.deepEqual([...noInput.dKernel], [...dKernel]);
  }
  assert.throws(() => native.conv2dForward(new Float32Array(5), [1, 2, 2, 1], new Float32Array(9), 3), TypeError);
  assert.throws(() => native.conv2dForward(new Float32Array(4), [1, 2, 2, 1], new Float32Array(9), 5), TypeError);
});

/** Float64 φ(GroupNorm(h)) of one block [B, P, C] (φ = SiLU or the identity). */
function groupNorm64(h, B, P, C, G, gamma, beta, eps, silu) {
  const cg = C / G;
  const out = new Float64Array(h.length);
  for (let b = 0; b < B; b++)
    for (let g = 0; g < G; g++) {
      const idx = [];
      for (let p = 0; p < P; p++) for (let c = g * cg; c < (g + 1) * cg; c++) idx.push([(b * P + p) * C + c, c]);
      const m = idx.reduce((t, [i]) => t + h[i], 0) / idx.length;
      const v = idx.reduce((t, [i]) => t + (h[i] - m) ** 2, 0) / idx.length;
      for (const [i, c] of idx) {
        const y = (gamma[c] * (h[i] - m)) / Math.sqrt(v + eps) + beta[c];
        out[i] = silu ? y / (1 + Math.exp(-y)) : y;
      }
    }
  return out;
}

test('groupNormJetForward / Backward (order 1, with shift and SiLU) equal float64 differences', () => {
  const native = loadNative();
  assert.ok(native, nativeStatus().reason);
  let seed = 11;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648 - 0.5;
  };
  const arr = (n, scale = 2, offset = 0) => Float32Array.from({ length: n }, () => offset + scale * rnd());
  for (const [B, H, C, G, silu, withShift] of [
    [2, 3, 8, 2, true, true],
    [3, 4, 16, 8, false, false],
  ]) {
    const P = H * H;
    const n = B * P * C;
    const eps = 1e-5;
    const x = arr(2 * n);
    const gamma = arr(C, 1, 1);
    const beta = arr(C);
    const shift = withShift ? arr(2 * B * C) : null;
    // The jet of t ↦ φ(GN(x + shift + t (x′ + shift′))) at t = 0, tangent by 4th-order central differences.
    const jet64 = (xx, gg, bb, ss) => {
      const h0 = new Float64Array(n);
      const h1 = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const bc = Math.floor(i / (P * C)) * C + (i % C);
        h0[i] = xx[i] + (ss ? ss[bc] : 0);
        h1[i] = xx[n + i] + (ss ? ss[B * C + bc] : 0);
      }
      const at = (t) =>
        groupNorm64(
          h0.map((v, i) => v + t * h1[i]),
          B,
          P,
          C,
          G,
          gg,
          bb,
          eps,
          silu,
        );
      const e = 1e-3;
      const [u1, d1, u2, d2] = [at(e), at(-e), at(2 * e), at(-2 * e)];
      return [...at(0), ...u1.map((v, i) => (8 * (v - d1[i]) - (u2[i] - d2[i])) / (12 * e))];
    };
    const shape = [2 * B, H, H, C];
    const { output, stats } = native.groupNormJetForward(x, shape, 1, G, eps, gamma, beta, { shift, silu });
    const ref = jet64(x, gamma, beta, shift);
    for (let i = 0; i < ref.length; i++) assert.ok(Math.abs(output[i] - ref[i]) < 2e-5, `out[${i}] ${output[i]} vs ${ref[i]}`);
    const R = arr(output.length);
    const g = native.groupNormJetBackward(R, x, shape, 1, G, stats, gamma, beta, { shift, silu });
    const out = new Float32Array(output.length).fill(Number.NaN);
    assert.equal(native.groupNormJetForward(x, shape, 1, G, eps, gamma, beta, { shift, silu, out }).output, out);
    assert.deepEqual([...out], [...output]);
    const dxOut = new Float32Array(x.length).fill(Number.NaN);
    assert.equal(native.groupNormJetBackward(R, x, shape, 1, G, stats, gamma, beta, { shift, silu, out: dxOut }).dInput, dxOut);
    assert.deepEqual([...dxOut], [...g.dInput]);
    const L = (xx, gg, bb, ss) => jet64(xx, gg, bb, ss).reduce((t, v, i) => t + v * R[i], 0);
    const fd = (values, i, f) => {
      const a = Float64Array.from(values);
      a[i] += 1e-3;
      const up = f(a);
      a[i] -= 2e-3;
      return (up - f(a)) / 2e-3;
    };
    const close = (a, b, what) => assert.ok(Math.abs(a - b) < 1e-4 + 1e-4 * Math.abs(b), `${what}: ${a} vs ${b}`);
    for (let i = 0; i < 2 * n; i += 41)
      close(
        g.dInput[i],
        fd(x, i, (a) => L(a, gamma, beta, shift)),
        `∂x[${i}]`,
      );
    for (let c = 0; c < C; c += 3) {
      close(
        g.dGamma[c],
        fd(gamma, c, (a) => L(x, a, beta, shift)),
        `∂γ[${c}]`,
      );
      close(
        g.dBeta[c],
        fd(beta, c, (a) => L(x, gamma, a, shift)),
        `∂β[${c}]`,
      );
    }
    if (shift)
      for (let i = 0; i < shift.length; i += 5)
        close(
          g.dShift[i],
          fd(shift, i, (a) => L(x, gamma, beta, a)),
          `∂shift[${i}]`,
        );
    else assert.equal(g.dShift, null);
  }
});

test('concatChannels / splitChannels interleave and de-interleave the channels of every pixel', () => {
  const native = loadNative();
  assert.ok(native, nativeStatus().reason);
  const pixels = 3;
  const a = Float32Array.from([1, 2, 3, 4, 5, 6]); // [3, 2]
  const b = Float32Array.from([10, 20, 30]); // [3, 1]
  const out = native.concatChannels([a, b], pixels);
  assert.deepEqual([...out], [1, 2, 10, 3, 4, 20, 5, 6, 30]);
  const [da, db] = native.splitChannels(out, pixels, [2, 1]);
  assert.deepEqual([...da], [...a]);
  assert.deepEqual([...db], [...b]);
  const given = [new Float32Array(6), new Float32Array(3)];
  const split = native.splitChannels(out, pixels, [2, 1], given);
  assert.equal(split[0], given[0]);
  assert.deepEqual([...given[1]], [...b]);
  assert.throws(() => native.splitChannels(out, pixels, [2, 2]), TypeError);
  assert.throws(() => native.concatChannels([a, new Float32Array(4)], pixels), TypeError);
});

/** GELU (tanh form) and its first three derivatives in float64: φ' in closed form, φ'' and φ''' by central differences of it. */
function gelu64(h) {
  const c = Math.sqrt(2 / Math.PI);
  const k = 0.044715;
  const phi = (x) => 0.5 * x * (1 + Math.tanh(c * (x + k * x ** 3)));
  const d1 = (x) => {
    const T = Math.tanh(c * (x + k * x ** 3));
    return 0.5 * (1 + T) + 0.5 * x * (1 - T * T) * c * (1 + 3 * k * x * x);
  };
  const e = 1e-4;
  return [phi(h), d1(h), (d1(h + e) - d1(h - e)) / (2 * e), (d1(h + e) - 2 * d1(h) + d1(h - e)) / (e * e)];
}

test("gelu-tanh: φ, φ', φ'' (forward jet) and φ''' (backward) equal float64", () => {
  const native = loadNative();
  assert.ok(native, nativeStatus().reason);
  // One unit h = x (W = 1, b = 0), then identity: the order-2 jet of [x; 1; 0] is [φ(x); φ'(x); φ''(x)],
  // and ∂v''/∂x = φ'''(x) (h' = 1, h'' = 0).
  const xs = [-12, -5, -3, -1.7, -1, -0.4, -0.05, -1e-3, 0, 1e-4, 0.02, 0.1, 0.16, 0.5, 1, 2.2, 4, 9, 30];
  const B = xs.length;
  const input = Float32Array.from([...xs, ...xs.map(() => 1), ...xs.map(() => 0)]);
  const W = [Float32Array.of(1), Float32Array.of(1)];
  const b = [Float32Array.of(0), Float32Array.of(0)];
  const { output, saved } = native.mlpJetForward(input, B, 2, W, b, 'gelu-tanh');
  const cot = Float32Array.from([...xs.map(() => 0), ...xs.map(() => 0), ...xs.map(() => 1)]);
  const { dInput } = native.mlpJetBackward(cot, saved, B, 2, W, 'gelu-tanh');
  xs.forEach((x, i) => {
    const ref = gelu64(x);
    const got = [output[i], output[B + i], output[2 * B + i], dInput[i]];
    ref.forEach((r, d) => {
      const tol = (d === 3 ? 2e-6 : 1e-6) * Math.max(1, Math.abs(r));
      assert.ok(Math.abs(got[d] - r) < tol, `x = ${x}: derivative ${d}: ${got[d]} vs ${r}`);
    });
  });
  assert.ok(Number.isNaN(native.mlpJetForward(Float32Array.of(Number.NaN), 1, 0, W, b, 'gelu-tanh').output[0]));
});
