/**
 * Butcher tableaux of the explicit Runge–Kutta methods, as plain data.
 *
 * One step of an $s$-stage explicit method with step $h$ is
 *
 * $$k_i = f\Big(t + c_i h,\; y + h \sum_{j<i} a_{ij} k_j\Big), \qquad
 *   y_{1} = y + h \sum_i b_i k_i,$$
 *
 * and, when an embedded solution $\hat b$ exists, the local error estimate is
 * $h \sum_i (b_i - \hat b_i) k_i$ (stored as `bError = b − b̂`).
 *
 * Dense output, when a tableau provides it, is stored as polynomials in
 * $\theta = (t - t_n)/h \in [0, 1]$: $y(t_n + \theta h) = y_n + h \sum_i b_i(\theta) k_i$ with
 * $b_i(\theta) = \sum_j \texttt{dense}[i][j]\, \theta^{j+1}$ (so $b_i(1) = b_i$). Methods
 * without one get cubic Hermite interpolation from the solver.
 *
 * Sources: Hairer, Nørsett & Wanner, *Solving ODEs I* (Dormand–Prince 5(4), its dense
 * output, Bogacki–Shampine 3(2)); Tsitouras (2011) via diffrax's `tsit5.py`; see
 * docs/maths/solvers.md#runge-kutta-tableaux.
 */

/** An explicit Runge–Kutta method as data. */
export interface ButcherTableau {
  /** Registry name, e.g. `'dopri5'`. */
  readonly name: string;
  /** Nodes $c_i$ (length $s$, `c[0] = 0`). */
  readonly c: readonly number[];
  /** Strictly lower-triangular coefficients: row `i` holds $a_{i0}, …, a_{i,i-1}$ (row 0 is empty). */
  readonly a: readonly (readonly number[])[];
  /** Weights $b_i$ of the propagated solution (length $s$). */
  readonly b: readonly number[];
  /** $b_i - \hat b_i$ of an embedded lower-order solution, if any (enables adaptive steps). */
  readonly bError?: readonly number[];
  /** Classical order of the propagated solution. */
  readonly order: number;
  /** Order of the embedded solution (the controller uses `embeddedOrder + 1` as error order). */
  readonly embeddedOrder?: number;
  /**
   * First Same As Last: the last stage is evaluated at $(t + h, y_1)$ (`c[s-1] = 1`,
   * `a[s-1] = b`, `b[s-1] = 0`), so it is reused as the next step's first stage.
   */
  readonly fsal: boolean;
  /** Dense-output polynomials (see the module doc); absent → cubic Hermite. */
  readonly dense?: readonly (readonly number[])[];
}

export const EULER: ButcherTableau = {
  name: 'euler',
  c: [0],
  a: [[]],
  b: [1],
  order: 1,
  fsal: false,
};

/** Explicit midpoint; embedded Euler for the error estimate ($\hat b = (1, 0)$). */
export const MIDPOINT: ButcherTableau = {
  name: 'midpoint',
  c: [0, 1 / 2],
  a: [[], [1 / 2]],
  b: [0, 1],
  bError: [-1, 1],
  order: 2,
  embeddedOrder: 1,
  fsal: false,
};

/** Heun's method (explicit trapezoid); embedded Euler: error $= \tfrac h2 (k_2 - k_1)$. */
export const HEUN: ButcherTableau = {
  name: 'heun',
  c: [0, 1],
  a: [[], [1]],
  b: [1 / 2, 1 / 2],
  bError: [-1 / 2, 1 / 2],
  order: 2,
  embeddedOrder: 1,
  fsal: false,
};

/** The classic fourth-order Runge–Kutta method. */
export const RK4: ButcherTableau = {
  name: 'rk4',
  c: [0, 1 / 2, 1 / 2, 1],
  a: [[], [1 / 2], [0, 1 / 2], [0, 0, 1]],
  b: [1 / 6, 1 / 3, 1 / 3, 1 / 6],
  order: 4,
  fsal: false,
};

/** Kutta's 3/8 rule (what torchdiffeq calls `rk4`). */
export const RK4_38: ButcherTableau = {
  name: 'rk4_38',
  c: [0, 1 / 3, 2 / 3, 1],
  a: [[], [1 / 3], [-1 / 3, 1], [1, -1, 1]],
  b: [1 / 8, 3 / 8, 3 / 8, 1 / 8],
  order: 4,
  fsal: false,
};

/** Bogacki–Shampine 3(2), FSAL, embedded second-order solution. */
export const BOSH3: ButcherTableau = {
  name: 'bosh3',
  c: [0, 1 / 2, 3 / 4, 1],
  a: [[], [1 / 2], [0, 3 / 4], [2 / 9, 1 / 3, 4 / 9]],
  b: [2 / 9, 1 / 3, 4 / 9, 0],
  // b − b̂ with b̂ = (7/24, 1/4, 1/3, 1/8).
  bError: [2 / 9 - 7 / 24, 1 / 3 - 1 / 4, 4 / 9 - 1 / 3, -1 / 8],
  order: 3,
  embeddedOrder: 2,
  fsal: true,
};

const DOPRI5_B = [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0];
/** Hairer's dense-output coefficients $d_i$ for Dormand–Prince (dopri5.f, `CONTD5`). */
const DOPRI5_D = [
  -12715105075 / 11282082432,
  0,
  87487479700 / 32700410799,
  -10690763975 / 1880347072,
  701980252875 / 199316789632,
  -1453857185 / 822651844,
  69997945 / 29380423,
];

/**
 * Hairer's dense output $y(\theta) = r_1 + \theta(r_2 + (1-\theta)(r_3 + \theta(r_4 + (1-\theta) r_5)))$
 * with $r_2 = h\sum b_i k_i$, $r_3 = h k_1 - r_2$, $r_4 = r_2 - h k_7 - r_3$, $r_5 = h \sum d_i k_i$,
 * expanded into per-stage polynomials $b_i(\theta) = \sum_j p_{ij} \theta^{j+1}$:
 * $p_{i} = (\delta_{i1},\; 3b_i - 2\delta_{i1} - \delta_{i7} + d_i,\; -2b_i + \delta_{i1} + \delta_{i7} - 2d_i,\; d_i)$.
 */
function hairerDense(b: readonly number[], d: readonly number[]): number[][] {
  const last = b.length - 1;
  return b.map((bi, i) => {
    const e1 = i === 0 ? 1 : 0;
    const e7 = i === last ? 1 : 0;
    return [e1, 3 * bi - 2 * e1 - e7 + d[i], -2 * bi + e1 + e7 - 2 * d[i], d[i]];
  });
}

/**
 * Dormand–Prince 5(4), FSAL, Hairer's embedded fourth-order solution
 * $\hat b = (5179/57600, 0, 7571/16695, 393/640, -92097/339200, 187/2100, 1/40)$ (not
 * torchdiffeq's Shampine variant) and Hairer's fourth-order dense output.
 */
export const DOPRI5: ButcherTableau = {
  name: 'dopri5',
  c: [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1],
  a: [
    [],
    [1 / 5],
    [3 / 40, 9 / 40],
    [44 / 45, -56 / 15, 32 / 9],
    [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
    [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
    [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
  ],
  b: DOPRI5_B,
  bError: [71 / 57600, 0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40],
  order: 5,
  embeddedOrder: 4,
  fsal: true,
  dense: hairerDense(DOPRI5_B, DOPRI5_D),
};

/** Product of a scale and polynomials given by ascending coefficients. */
function polyProduct(scale: number, ...factors: number[][]): number[] {
  let out = [scale];
  for (const f of factors) {
    const next = new Array<number>(out.length + f.length - 1).fill(0);
    for (let i = 0; i < out.length; i++) for (let j = 0; j < f.length; j++) next[i + j] += out[i] * f[j];
    out = next;
  }
  return out;
}

/** Drop the (zero) constant term and pad to `n` coefficients of $\theta^1, …, \theta^n$. */
function fromConstantFree(p: number[], n: number): number[] {
  const out = p.slice(1);
  while (out.length < n) out.push(0);
  return out;
}

const TSIT5_B = [0.09646076681806523, 0.01, 0.4798896504144996, 1.379008574103742, -3.290069515436081, 2.324710524099774, 0];
const TSIT5_BHAT = [
  0.09468075576583945,
  0.009183565540343254,
  0.4877705284247616,
  1.234297566930479,
  -2.7077123499835256,
  1.866628418170587,
  1 / 66,
];
const T = [0, 1];
const TSIT5_DENSE_FACTORED: number[][] = [
  polyProduct(-1.0530884977290216, T, [-1.329989018975141, 1], [0.7139816917074209, -1.4364028541716352, 1]),
  polyProduct(0.1017, [0, 0, 1], [1.294985250737463, -2.1966568338249752, 1]),
  polyProduct(2.490627285651253, [0, 0, 1], [1.5780346820809248, -2.3853564547206165, 1]),
  polyProduct(-16.548102889244902, [-1.2171292729553325, 1], [-0.6162040603780009, 1], [0, 0, 1]),
  polyProduct(47.37952196281928, [-1.2030712083723627, 1], [-0.6580472926535473, 1], [0, 0, 1]),
  polyProduct(-34.87065786149661, [-1.2, 1], [-0.6666666666666666, 1], [0, 0, 1]),
  polyProduct(2.5, [-1, 1], [-0.6, 1], [0, 0, 1]),
];

/**
 * Tsitouras 5(4), FSAL, with its free fourth-order-accurate interpolant (coefficients as in
 * diffrax's `tsit5.py`, which follows Tsitouras 2011 / OrdinaryDiffEq.jl).
 */
export const TSIT5: ButcherTableau = {
  name: 'tsit5',
  c: [0, 0.161, 0.327, 0.9, 0.9800255409045097, 1, 1],
  a: [
    [],
    [0.161],
    [-0.008480655492356989, 0.335480655492357],
    [2.8971530571054935, -6.359448489975075, 4.3622954328695815],
    [5.325864828439257, -11.748883564062828, 7.4955393428898365, -0.09249506636175525],
    [5.86145544294642, -12.92096931784711, 8.159367898576159, -0.071584973281401, -0.028269050394068383],
    TSIT5_B.slice(0, 6),
  ],
  b: TSIT5_B,
  bError: TSIT5_B.map((bi, i) => bi - TSIT5_BHAT[i]),
  order: 5,
  embeddedOrder: 4,
  fsal: true,
  dense: TSIT5_DENSE_FACTORED.map((p) => fromConstantFree(p, 4)),
};

/** Every built-in tableau, by name. */
export const TABLEAUX: Readonly<Record<string, ButcherTableau>> = {
  euler: EULER,
  midpoint: MIDPOINT,
  heun: HEUN,
  rk4: RK4,
  rk4_38: RK4_38,
  bosh3: BOSH3,
  dopri5: DOPRI5,
  tsit5: TSIT5,
};

/**
 * Check the structural rules of a tableau (lengths, explicitness, FSAL consistency, dense
 * output size). Throws `TypeError` with the first violation.
 */
export function validateTableau(t: ButcherTableau): void {
  const s = t.c.length;
  const fail = (why: string): never => {
    throw new TypeError(`invalid Butcher tableau '${t.name}': ${why}`);
  };
  if (s < 1) fail('needs at least one stage');
  if (t.c[0] !== 0) fail('c[0] must be 0 (explicit method)');
  if (t.a.length !== s) fail(`a has ${t.a.length} rows for ${s} stages`);
  t.a.forEach((row, i) => {
    if (row.length !== i) fail(`row ${i} of a must have ${i} entries (explicit, strictly lower-triangular)`);
  });
  if (t.b.length !== s) fail(`b has ${t.b.length} entries for ${s} stages`);
  if (t.bError !== undefined && t.bError.length !== s) fail(`bError has ${t.bError.length} entries for ${s} stages`);
  if (t.bError !== undefined && t.embeddedOrder === undefined) fail('bError needs embeddedOrder');
  if (!(Number.isInteger(t.order) && t.order >= 1)) fail('order must be a positive integer');
  if (t.fsal) {
    if (t.c[s - 1] !== 1) fail('FSAL needs c[s-1] = 1');
    if (t.b[s - 1] !== 0) fail('FSAL needs b[s-1] = 0');
    if (t.a[s - 1].some((v, j) => v !== t.b[j])) fail('FSAL needs a[s-1] = b');
  }
  if (t.dense !== undefined) {
    if (t.dense.length !== s) fail(`dense has ${t.dense.length} rows for ${s} stages`);
  }
  const all = [...t.c, ...t.a.flat(), ...t.b, ...(t.bError ?? []), ...(t.dense?.flat() ?? [])];
  if (!all.every(Number.isFinite)) fail('coefficients must be finite numbers');
}
