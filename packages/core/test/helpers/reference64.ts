/**
 * Independent float64 references in plain JS, used as oracles for the tfjs float32 code:
 * activations from their textbook definitions, an MLP forward pass, time embeddings, and
 * central finite differences.
 */

export type Fn64 = (h: number) => number;

const SELU_L = 1.0507009873554805;
const SELU_A = 1.6732632423543772;
const sig = (h: number) => 1 / (1 + Math.exp(-h));

/** Textbook definitions (no derivative formulas here on purpose). */
export const ACTIVATIONS64: Record<string, Fn64> = {
  selu: (h) => (h > 0 ? SELU_L * h : SELU_L * SELU_A * (Math.exp(h) - 1)),
  silu: (h) => h * sig(h),
  tanh: (h) => Math.tanh(h),
  softplus: (h) => Math.log1p(Math.exp(h)),
  'gelu-tanh': (h) => 0.5 * h * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (h + 0.044715 * h ** 3))),
  sigmoid: sig,
  relu: (h) => Math.max(0, h),
  identity: (h) => h,
};

/** Central differences of a scalar function: first and second derivative. */
export function centralDiff(f: (x: number) => number, x: number, eps = 1e-4): { d1: number; d2: number } {
  const fp = f(x + eps);
  const fm = f(x - eps);
  const f0 = f(x);
  return { d1: (fp - fm) / (2 * eps), d2: (fp - 2 * f0 + fm) / (eps * eps) };
}

export interface Layer64 {
  /** Row-major [in, out]. */
  weight: ArrayLike<number>;
  bias: ArrayLike<number>;
  inDim: number;
  outDim: number;
}

/** MLP forward pass of one input row, float64. */
export function mlp64(layers: Layer64[], activation: Fn64, input: number[]): number[] {
  let a = input;
  layers.forEach((layer, li) => {
    const out = new Array<number>(layer.outDim).fill(0);
    for (let j = 0; j < layer.outDim; j++) {
      let s = layer.bias[j];
      for (let i = 0; i < layer.inDim; i++) s += a[i] * layer.weight[i * layer.outDim + j];
      out[j] = li < layers.length - 1 ? activation(s) : s;
    }
    a = out;
  });
  return a;
}

/** e(t) = [sin(ωt + φ), cos(ωt + φ)]. */
export function fourier64(omega: ArrayLike<number>, t: number, phase?: ArrayLike<number>): number[] {
  const h = omega.length;
  const out = new Array<number>(2 * h);
  for (let i = 0; i < h; i++) {
    const a = omega[i] * t + (phase ? phase[i] : 0);
    out[i] = Math.sin(a);
    out[h + i] = Math.cos(a);
  }
  return out;
}

/** Max |a − b| / (atol + rtol |b|) over paired arrays; ≤ 1 means "close". */
export function closeness(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} vs ${expected.length}`);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const r = Math.abs(actual[i] - expected[i]) / (atol + rtol * Math.abs(expected[i]));
    if (!(r <= worst)) worst = Number.isNaN(r) ? Number.POSITIVE_INFINITY : Math.max(worst, r);
  }
  return worst;
}

/** φ, φ′, φ″ in float64, written out by hand (checked against central differences in the tests). */
export const DERIVATIVES64: Record<string, (h: number) => [number, number, number]> = {
  tanh: (h) => {
    const a = Math.tanh(h);
    return [a, 1 - a * a, -2 * a * (1 - a * a)];
  },
  selu: (h) =>
    h > 0 ? [SELU_L * h, SELU_L, 0] : [SELU_L * SELU_A * (Math.exp(h) - 1), SELU_L * SELU_A * Math.exp(h), SELU_L * SELU_A * Math.exp(h)],
  softplus: (h) => [Math.log1p(Math.exp(h)), sig(h), sig(h) * (1 - sig(h))],
  silu: (h) => {
    const s = sig(h);
    return [h * s, s + h * s * (1 - s), 2 * s * (1 - s) + h * s * (1 - s) * (1 - 2 * s)];
  },
  'gelu-tanh': (h) => {
    const c = Math.sqrt(2 / Math.PI);
    const k = 0.044715;
    const u = c * (h + k * h ** 3);
    const du = c * (1 + 3 * k * h * h);
    const ddu = 6 * c * k * h;
    const T = Math.tanh(u);
    const S = 1 - T * T;
    return [0.5 * h * (1 + T), 0.5 * (1 + T) + 0.5 * h * S * du, S * du + 0.5 * h * S * (ddu - 2 * T * du * du)];
  },
};

/** Exact second-order forward-mode jet of an MLP in float64: input jet rows (v, v′, v″). */
export function mlpJet64(
  layers: Layer64[],
  phi: (h: number) => [number, number, number],
  input: [number[], number[], number[]],
): [number[], number[], number[]] {
  let [a, a1, a2] = input;
  layers.forEach((layer, li) => {
    const h = new Array<number>(layer.outDim).fill(0);
    const h1 = new Array<number>(layer.outDim).fill(0);
    const h2 = new Array<number>(layer.outDim).fill(0);
    for (let j = 0; j < layer.outDim; j++) {
      let s = layer.bias[j];
      let s1 = 0;
      let s2 = 0;
      for (let i = 0; i < layer.inDim; i++) {
        const w = layer.weight[i * layer.outDim + j];
        s += a[i] * w;
        s1 += a1[i] * w;
        s2 += a2[i] * w;
      }
      h[j] = s;
      h1[j] = s1;
      h2[j] = s2;
    }
    if (li === layers.length - 1) {
      a = h;
      a1 = h1;
      a2 = h2;
      return;
    }
    a = [];
    a1 = [];
    a2 = [];
    for (let j = 0; j < h.length; j++) {
      const [p0, p1, p2] = phi(h[j]);
      a.push(p0);
      a1.push(p1 * h1[j]);
      a2.push(p2 * h1[j] * h1[j] + p1 * h2[j]);
    }
  });
  return [a, a1, a2];
}
