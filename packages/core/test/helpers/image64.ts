/**
 * Float64 references of the image layers in plain JS (NHWC, row-major), from their textbook
 * definitions — no tangent formulas — used as oracles for the tfjs float32 jets: their time
 * derivatives are taken by central differences of these functions along an input path x(t).
 */

/** An NHWC array. */
export interface Img64 {
  data: Float64Array;
  shape: [number, number, number, number];
}

export const img = (shape: [number, number, number, number], data?: ArrayLike<number>): Img64 => ({
  data: data ? Float64Array.from(data) : new Float64Array(shape[0] * shape[1] * shape[2] * shape[3]),
  shape,
});

const at = (x: Img64, n: number, i: number, j: number, c: number) => ((n * x.shape[1] + i) * x.shape[2] + j) * x.shape[3] + c;

/** 'same' convolution, kernel HWIO [k, k, Cin, Cout], stride 1 or 2 (PyTorch padding (k−1)/2). */
export function conv64(x: Img64, kernel: ArrayLike<number>, k: number, cout: number, bias: ArrayLike<number>, stride = 1): Img64 {
  const [N, H, W, C] = x.shape;
  const p = (k - 1) / 2;
  const Ho = Math.floor((H + 2 * p - k) / stride) + 1;
  const Wo = Math.floor((W + 2 * p - k) / stride) + 1;
  const y = img([N, Ho, Wo, cout]);
  for (let n = 0; n < N; n++)
    for (let i = 0; i < Ho; i++)
      for (let j = 0; j < Wo; j++)
        for (let o = 0; o < cout; o++) {
          let s = bias[o];
          for (let dy = 0; dy < k; dy++)
            for (let dx = 0; dx < k; dx++) {
              const ii = i * stride + dy - p;
              const jj = j * stride + dx - p;
              if (ii < 0 || jj < 0 || ii >= H || jj >= W) continue;
              for (let c = 0; c < C; c++) s += x.data[at(x, n, ii, jj, c)] * kernel[((dy * k + dx) * C + c) * cout + o];
            }
          y.data[at(y, n, i, j, o)] = s;
        }
  return y;
}

/** GroupNorm: per image and group, (h − mean)/√(var + ε) · γ + β. */
export function groupNorm64(x: Img64, groups: number, gamma: ArrayLike<number>, beta: ArrayLike<number>, eps = 1e-5): Img64 {
  const [N, H, W, C] = x.shape;
  const cg = C / groups;
  const y = img(x.shape);
  for (let n = 0; n < N; n++)
    for (let g = 0; g < groups; g++) {
      let sum = 0;
      let count = 0;
      for (let i = 0; i < H; i++)
        for (let j = 0; j < W; j++) for (let c = g * cg; c < (g + 1) * cg; c++) (sum += x.data[at(x, n, i, j, c)]), count++;
      const mean = sum / count;
      let v = 0;
      for (let i = 0; i < H; i++)
        for (let j = 0; j < W; j++) for (let c = g * cg; c < (g + 1) * cg; c++) v += (x.data[at(x, n, i, j, c)] - mean) ** 2;
      const s = Math.sqrt(v / count + eps);
      for (let i = 0; i < H; i++)
        for (let j = 0; j < W; j++)
          for (let c = g * cg; c < (g + 1) * cg; c++)
            y.data[at(y, n, i, j, c)] = ((x.data[at(x, n, i, j, c)] - mean) / s) * gamma[c] + beta[c];
    }
  return y;
}

export const silu64 = (x: Img64): Img64 =>
  img(
    x.shape,
    x.data.map((h) => h / (1 + Math.exp(-h))),
  );

export const add64 = (a: Img64, b: Img64): Img64 =>
  img(
    a.shape,
    a.data.map((v, i) => v + b.data[i]),
  );

/** Nearest ×2 up-sampling. */
export function upsample64(x: Img64): Img64 {
  const [N, H, W, C] = x.shape;
  const y = img([N, 2 * H, 2 * W, C]);
  for (let n = 0; n < N; n++)
    for (let i = 0; i < 2 * H; i++)
      for (let j = 0; j < 2 * W; j++) for (let c = 0; c < C; c++) y.data[at(y, n, i, j, c)] = x.data[at(x, n, i >> 1, j >> 1, c)];
  return y;
}

/** 2×2 average pooling. */
export function avgPool64(x: Img64): Img64 {
  const [N, H, W, C] = x.shape;
  const y = img([N, H / 2, W / 2, C]);
  for (let n = 0; n < N; n++)
    for (let i = 0; i < H / 2; i++)
      for (let j = 0; j < W / 2; j++)
        for (let c = 0; c < C; c++) {
          let s = 0;
          for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) s += x.data[at(x, n, 2 * i + a, 2 * j + b, c)];
          y.data[at(y, n, i, j, c)] = s / 4;
        }
  return y;
}

/** Single-head self-attention: x + P(softmax(QKᵀ/√C) V), (Q, K, V) = 1×1 conv of GN(x). */
export function attention64(
  x: Img64,
  p: {
    groups: number;
    gamma: ArrayLike<number>;
    beta: ArrayLike<number>;
    qkv: ArrayLike<number>;
    qkvBias: ArrayLike<number>;
    proj: ArrayLike<number>;
    projBias: ArrayLike<number>;
  },
): Img64 {
  const [N, H, W, C] = x.shape;
  const L = H * W;
  const qkv = conv64(groupNorm64(x, p.groups, p.gamma, p.beta), p.qkv, 1, 3 * C, p.qkvBias);
  const o = img(x.shape);
  for (let n = 0; n < N; n++) {
    const q = (l: number, c: number) => qkv.data[(n * L + l) * 3 * C + c];
    const k = (l: number, c: number) => qkv.data[(n * L + l) * 3 * C + C + c];
    const v = (l: number, c: number) => qkv.data[(n * L + l) * 3 * C + 2 * C + c];
    for (let l = 0; l < L; l++) {
      const s = Array.from({ length: L }, (_, m) => {
        let d = 0;
        for (let c = 0; c < C; c++) d += q(l, c) * k(m, c);
        return d / Math.sqrt(C);
      });
      const mx = Math.max(...s);
      const e = s.map((u) => Math.exp(u - mx));
      const z = e.reduce((a, b) => a + b, 0);
      for (let c = 0; c < C; c++) {
        let acc = 0;
        for (let m = 0; m < L; m++) acc += (e[m] / z) * v(m, c);
        o.data[(n * L + l) * C + c] = acc;
      }
    }
  }
  return add64(x, conv64(o, p.proj, 1, C, p.projBias));
}

/** Value, first and second derivative at t of f(x(t)) by central differences (step h). */
export function pathDerivatives(f: (t: number) => Float64Array, t: number, h = 1e-3): [Float64Array, Float64Array, Float64Array] {
  const fp = f(t + h);
  const fm = f(t - h);
  const f0 = f(t);
  return [f0, fp.map((v, i) => (v - fm[i]) / (2 * h)), fp.map((v, i) => (v - 2 * f0[i] + fm[i]) / (h * h))];
}
