/**
 * The forward-process contract (diffusers-style): ONE battery of checks that every
 * {@link GaussianForwardProcess} must pass unchanged — the six fixed schedules, NFDM's learned
 * process and NDM's. Numerical oracles only: central finite differences in t (float32-aware:
 * the spacing is the difference of the float32-rounded times), autodiff of log q for the score,
 * and float64 closed forms for the schedules.
 *
 * The learned processes use tanh networks here: second-order finite differences need a C²
 * function, and SELU's first derivative jumps at 0 (the SELU tangents are checked in core).
 */
import { initBackend, Rng } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createSchedule,
  FixedGaussianProcess,
  forwardDrift,
  type GaussianForwardProcess,
  type GaussianParams,
  klToPrior,
  logQ,
  matchedG2,
  NDMProcess,
  NeuralGaussianProcess,
  reverseDrift,
  SCHEDULE_NAMES,
  type Schedule,
  type ScheduleConfig,
  type ScheduleName,
  sampleZ,
  score,
  velocity,
} from '../src/index.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const D = 3;
const F32_EPS = 2 ** -23;

interface ProcessCase {
  name: string;
  make(): GaussianForwardProcess;
  /** Interior times for the finite-difference checks (t ± 0.01 stays in [t₀, 1], away from σ → 0). */
  times: number[];
  /** 'exact': μ(x, 1) = 0 and σ(1) = priorStd; 'approx': σ(1) ≈ priorStd and a small prior KL. */
  prior: 'exact' | 'approx';
}

const CASES: ProcessCase[] = [
  ...SCHEDULE_NAMES.map(
    (name): ProcessCase => ({
      name: `fixed ${name}`,
      make: () => new FixedGaussianProcess(D, { name }),
      times: [0.1, 0.3, 0.5, 0.7, 0.9],
      prior: name === 'fm-ot' ? 'exact' : 'approx',
    }),
  ),
  {
    name: 'NFDM (NeuralGaussianProcess)',
    make: () => new NeuralGaussianProcess({ dim: D, hidden: [32, 32], activation: 'tanh', rng: 11 }),
    times: [0.1, 0.3, 0.5, 0.7, 0.9],
    prior: 'exact',
  },
  {
    name: 'NDM (NDMProcess, linear-logsnr)',
    make: () => new NDMProcess({ dim: D, hidden: [32, 32], activation: 'tanh', rng: 12 }),
    times: [0.1, 0.3, 0.5, 0.7, 0.9],
    prior: 'approx',
  },
  {
    name: 'NDM (NDMProcess, ve)',
    make: () =>
      new NDMProcess({ dim: D, schedule: { name: 've', sigmaMin: 0.01, sigmaMax: 5 }, hidden: [32, 32], activation: 'tanh', rng: 13 }),
    times: [0.1, 0.3, 0.5, 0.7, 0.9],
    prior: 'approx',
  },
];

// ------------------------------------------------------------------------------------------
// Helpers

type Arr = Float32Array;

function read(t: tf.Tensor): Arr {
  return t.dataSync() as Arr;
}

/** Broadcast σ-like [B, 1] data to [B, D] for elementwise comparison. */
function toFull(t: tf.Tensor, B: number): Arr {
  return read(tf.tidy(() => tf.mul(t, tf.ones([B, D]))));
}

const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/**
 * Elementwise |actual − expected| ≤ rtol·|expected| + atol, reporting the worst offender.
 */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i] - expected[i]);
    const excess = diff === 0 ? 0 : diff / (rtol * Math.abs(expected[i]) + atol);
    if (!(excess <= worst)) {
      worst = excess;
      at = i;
    }
  }
  expect(worst, `${what}: worst at ${at}: actual ${actual[at]} vs expected ${expected[at]}`).toBeLessThanOrEqual(1);
}

function column(values: number[]): tf.Tensor {
  return tf.tensor2d(values, [values.length, 1]);
}

/** The float32-rounded times t − h, t, t + h and the per-row spacings below and above. */
function stencil(times: number[], h: number) {
  const lo = times.map((t) => Math.fround(t - h));
  const mid = times.map((t) => Math.fround(t));
  const hi = times.map((t) => Math.fround(t + h));
  return { lo, mid, hi, hLo: mid.map((m, i) => m - lo[i]), hHi: hi.map((v, i) => v - mid[i]) };
}

/**
 * Central differences of g(t) ([B, n] data) on a non-uniform float32 stencil:
 * g′ ≈ (g₊ − g₋)/(h₋ + h₊), g″ ≈ 2[(g₊ − g₀)/h₊ − (g₀ − g₋)/h₋]/(h₋ + h₊).
 * With `richardson`, g″ is extrapolated from spacings h and 2h, (4D(h) − D(2h))/3, which
 * removes the O(h²) truncation error so that h can stay large against float32 rounding.
 */
function finiteDiff(g: (t: tf.Tensor) => Arr, times: number[], h: number, richardson = false) {
  const evalAt = (ts: number[]) => {
    const t = column(ts);
    try {
      return g(t);
    } finally {
      t.dispose();
    }
  };
  const diffs = (step: number, g0: Arr) => {
    const s = stencil(times, step);
    const gl = evalAt(s.lo);
    const gh = evalAt(s.hi);
    const n = g0.length / times.length;
    const d1 = new Float64Array(g0.length);
    const d2 = new Float64Array(g0.length);
    for (let i = 0; i < g0.length; i++) {
      const r = Math.floor(i / n);
      const a = s.hLo[r];
      const b = s.hHi[r];
      d1[i] = (gh[i] - gl[i]) / (a + b);
      d2[i] = (2 * ((gh[i] - g0[i]) / b - (g0[i] - gl[i]) / a)) / (a + b);
    }
    return { d1, d2 };
  };
  const value = evalAt(times.map((t) => Math.fround(t)));
  const { d1, d2 } = diffs(h, value);
  if (richardson) {
    const coarse = diffs(2 * h, value).d2;
    for (let i = 0; i < d2.length; i++) d2[i] = (4 * d2[i] - coarse[i]) / 3;
  }
  return { d1, d2, value };
}

/** Tolerance floor for a k-th order difference of values of size |g| at spacing h in float32. */
const fdFloor = (value: ArrayLike<number>, h: number, k: 1 | 2) => (k === 1 ? 4 : 12) * F32_EPS * maxAbs(value) * (1 / h) ** k;

function noLeak(body: () => void): void {
  const before = tf.memory().numTensors;
  body();
  expect(tf.memory().numTensors, 'tensors leaked').toBe(before);
}

// ------------------------------------------------------------------------------------------
// The contract

describe.each(CASES)('forward-process contract: $name', (c) => {
  let proc: GaussianForwardProcess;
  let xData: Float32Array;
  let epsData: Float32Array;
  const B = c.times.length;

  beforeAll(() => {
    proc = c.make();
    const rng = new Rng(2024);
    xData = rng.normalArray(B * D);
    epsData = rng.normalArray(B * D);
  });

  const x = () => tf.tensor2d(xData, [B, D]);
  const eps = () => tf.tensor2d(epsData, [B, D]);

  it('declares its dimension, start and prior consistently', () => {
    expect(proc.dim).toBe(D);
    expect(typeof proc.kind).toBe('string');
    expect(proc.start.t).toBeGreaterThanOrEqual(0);
    expect(proc.start.t).toBeLessThan(1);
    expect(proc.start.sigma).toBeGreaterThan(0);
    expect(proc.start.alpha).toBeGreaterThan(0);
    expect(proc.priorStd).toBeGreaterThan(0);
    const config = proc.toConfig();
    expect(config.kind).toBe(proc.kind);
    expect(JSON.parse(JSON.stringify(config))).toEqual(config);
    expect(proc.learned).toBe(proc.parameters().size > 0);
  });

  it('params has the right shapes at orders 0, 1 and 2', () => {
    noLeak(() => {
      tf.tidy(() => {
        const t = column(c.times);
        for (const order of [0, 1, 2] as const) {
          const p = proc.params(x(), t, order);
          expect(p.mu.shape).toEqual([B, D]);
          expect([
            [B, 1],
            [B, D],
          ]).toContainEqual(p.sigma.shape);
          const keys: Array<[keyof GaussianParams, keyof GaussianParams, number]> = [
            ['dmu', 'mu', 1],
            ['dsigma', 'sigma', 1],
            ['d2mu', 'mu', 2],
            ['d2sigma', 'sigma', 2],
          ];
          for (const [k, like, needed] of keys) {
            if (order >= needed) expect(p[k]?.shape, `${k} at order ${order}`).toEqual(p[like]?.shape);
          }
        }
      });
    });
  });

  it('σ > 0 and everything is finite on [start.t, 1]', () => {
    noLeak(() => {
      const n = 101;
      const ts = Array.from({ length: n }, (_, i) => proc.start.t + ((1 - proc.start.t) * i) / (n - 1));
      const [sigma, rest] = tf.tidy(() => {
        const xs = tf.tile(tf.tensor2d(xData.slice(0, D), [1, D]), [n, 1]);
        const p = proc.params(xs, column(ts), 2);
        return [p.sigma, tf.concat([p.mu, p.dmu!, p.d2mu!, tf.mul(p.dsigma!, tf.ones([n, D])), tf.mul(p.d2sigma!, tf.ones([n, D]))], 1)];
      });
      const s = read(sigma);
      expect(Math.min(...s)).toBeGreaterThan(0);
      expect(read(rest).every(Number.isFinite)).toBe(true);
      tf.dispose([sigma, rest]);
    });
  });

  it('∂μ/∂t, ∂σ/∂t, ∂²μ/∂t², ∂²σ/∂t² equal central finite differences of params', () => {
    noLeak(() => {
      const exact = tf.tidy(() => {
        const p = proc.params(x(), column(c.times), 2);
        return [p.dmu!, p.dsigma!, p.d2mu!, p.d2sigma!].map((v) => toFull(v, B));
      });
      const at = (order: 0 | 1, key: 'mu' | 'sigma' | 'dmu' | 'dsigma') => (t: tf.Tensor) =>
        tf.tidy(() => toFull(proc.params(x(), t, order)[key]!, B));
      const h1 = 1e-3;
      const h2 = 1e-2;
      for (const [name, value, slope, d1, d2] of [
        ['μ', 'mu', 'dmu', exact[0], exact[2]],
        ['σ', 'sigma', 'dsigma', exact[1], exact[3]],
      ] as const) {
        // First derivative: central difference of the order-0 values.
        const first = finiteDiff(at(0, value), c.times, h1);
        expectClose(first.d1, d1, 1e-3, 2e-4 * maxAbs(d1) + fdFloor(first.value, h1, 1), `∂${name}/∂t vs Δ${name}`);
        // Second derivative: Richardson-extrapolated second difference of the order-0 values
        // (float32 rounding is amplified by 1/h², hence the larger h and floor) …
        const second = finiteDiff(at(0, value), c.times, h2, true);
        expectClose(second.d2, d2, 5e-3, 1e-3 * maxAbs(d2) + fdFloor(second.value, h2, 2), `∂²${name}/∂t² vs Δ²${name}`);
        // … and, tighter, a central difference of the order-1 tangent.
        const viaSlope = finiteDiff(at(1, slope), c.times, h1);
        expectClose(viaSlope.d1, d2, 1e-3, 2e-4 * maxAbs(d2) + fdFloor(viaSlope.value, h1, 1), `∂²${name}/∂t² vs Δ∂${name}/∂t`);
      }
    });
  });

  it('velocity(z) is ∂F(ε, t, x)/∂t with ε fixed (finite differences)', () => {
    noLeak(() => {
      const exact = tf.tidy(() => {
        const p = proc.params(x(), column(c.times), 1);
        return read(velocity(p, sampleZ(p, eps())));
      });
      const F = (t: tf.Tensor) => tf.tidy(() => read(sampleZ(proc.params(x(), t, 0), eps())));
      const h = 1e-3;
      const fd = finiteDiff(F, c.times, h);
      expectClose(fd.d1, exact, 2e-3, 1e-3 * maxAbs(exact) + fdFloor(fd.value, h, 1), 'velocity');
    });
  });

  it('score(z) is the autodiff gradient ∇_z log q(z | x)', () => {
    noLeak(() => {
      const [auto, closed] = tf.tidy(() => {
        const p = proc.params(x(), column(c.times), 0);
        const z = sampleZ(p, eps());
        const grad = tf.grad((zz: tf.Tensor) => tf.sum(logQ(p, zz)))(z);
        return [read(grad), read(score(p, z))];
      });
      expectClose(closed, auto, 1e-4, 1e-6 * maxAbs(auto), 'score');
    });
  });

  it('reverseDrift = f − (g²/2) s and forwardDrift = f + (g²/2) s', () => {
    noLeak(() => {
      const [rev, revRef, fwd, fwdRef] = tf.tidy(() => {
        const t = column(c.times);
        const p = proc.params(x(), t, 1);
        const z = sampleZ(p, eps());
        const g2 = tf.add(0.5, tf.mul(3, t));
        const f = velocity(p, z);
        const half = tf.mul(tf.mul(0.5, g2), score(p, z));
        return [reverseDrift(p, z, g2), tf.sub(f, half), forwardDrift(p, z, g2), tf.add(f, half)].map(read);
      });
      expectClose(rev, revRef, 1e-5, 1e-6 * maxAbs(revRef), 'reverse drift');
      expectClose(fwd, fwdRef, 1e-5, 1e-6 * maxAbs(fwdRef), 'forward drift');
    });
  });

  it('start: params(x, start.t) is N(α₀ x, σ₀²)', () => {
    noLeak(() => {
      const { t, alpha, sigma } = proc.start;
      const [mu, sig] = tf.tidy(() => {
        const p = proc.params(x(), tf.fill([B, 1], t), 0);
        return [read(p.mu), toFull(p.sigma, B)];
      });
      expectClose(
        mu,
        Array.from(xData, (v) => alpha * v),
        1e-6,
        1e-7,
        'μ(x, t₀) = α₀ x',
      );
      // σ₀ is small for VP-type schedules: the float32 tensor path loses ~1e-3 relative there.
      expectClose(sig, new Array(B * D).fill(sigma), 2e-3, 0, 'σ(t₀) = σ₀');
    });
  });

  it('prior: at t = 1 the marginal is (close to) N(0, priorStd² I)', () => {
    noLeak(() => {
      const [mu, sig, kl] = tf.tidy(() => {
        const p = proc.params(x(), tf.ones([B, 1]), 0);
        return [read(p.mu), toFull(p.sigma, B), read(klToPrior(p, proc.priorStd))];
      });
      const s = proc.priorStd;
      if (c.prior === 'exact') {
        expect(maxAbs(mu)).toBeLessThanOrEqual(1e-7);
        expectClose(sig, new Array(B * D).fill(s), 1e-6, 0, 'σ(1) = priorStd');
      } else {
        expectClose(sig, new Array(B * D).fill(s), 1e-4, 0, 'σ(1) ≈ priorStd');
        for (let b = 0; b < B; b++) {
          let x2 = 0;
          for (let d = 0; d < D; d++) x2 += xData[b * D + d] ** 2;
          expect(kl[b]).toBeLessThanOrEqual(0.01 * (D + x2));
        }
      }
      expect(kl.every((v) => v >= -1e-5)).toBe(true);
    });
  });
});

describe('NFDM boundary conditions (exact)', () => {
  it('μ = x, σ = δ at t = 0 and μ = 0, σ = 1 at t = 1, for any network output', () => {
    const delta = 0.02;
    const proc = new NeuralGaussianProcess({ dim: D, delta, rng: 5 });
    noLeak(() => {
      const rng = new Rng(7);
      const xs = rng.normalArray(4 * D, 0, 3);
      const [mu0, s0, mu1, s1] = tf.tidy(() => {
        const x = tf.tensor2d(xs, [4, D]);
        const p0 = proc.params(x, tf.zeros([4, 1]), 2);
        const p1 = proc.params(x, tf.ones([4, 1]), 2);
        return [p0.mu, p0.sigma, p1.mu, p1.sigma].map(read);
      });
      expect(Array.from(mu0)).toEqual(Array.from(xs));
      expectClose(s0, new Array(4 * D).fill(delta), 1e-6, 0, 'σ(0) = δ');
      expect(maxAbs(mu1)).toBe(0);
      expect(Array.from(s1)).toEqual(new Array(4 * D).fill(1));
    });
    proc.dispose();
  });
});

// ------------------------------------------------------------------------------------------
// Schedules against their float64 closed-form definitions (docs/maths/forward-processes.md#fixed-schedules)

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** α_t, σ_t from the definitions, in float64. */
function closedForm(config: Required<Pick<ScheduleConfig, 'name'>> & ScheduleConfig, t: number): { alpha: number; sigma: number } {
  switch (config.name) {
    case 'vp':
    case 'subvp': {
      const b0 = config.betaMin ?? 0.1;
      const b1 = config.betaMax ?? 20;
      const alpha = Math.exp(-0.25 * t * t * (b1 - b0) - 0.5 * t * b0);
      return { alpha, sigma: config.name === 'vp' ? Math.sqrt(1 - alpha * alpha) : 1 - alpha * alpha };
    }
    case 've': {
      const lo = config.sigmaMin ?? 0.01;
      const hi = config.sigmaMax ?? 10;
      return { alpha: 1, sigma: lo * (hi / lo) ** t };
    }
    case 'cosine': {
      const s = config.s ?? 0.008;
      const abar = Math.cos(((Math.PI / 2) * (t + s)) / (1 + s)) ** 2 / Math.cos(((Math.PI / 2) * s) / (1 + s)) ** 2;
      return { alpha: Math.sqrt(abar), sigma: Math.sqrt(Math.max(0, 1 - abar)) };
    }
    case 'fm-ot': {
      const m = config.sigmaMin ?? 0.01;
      return { alpha: 1 - t, sigma: m + (1 - m) * t };
    }
    case 'linear-logsnr': {
      const hi = config.logSnrMax ?? 10;
      const lo = config.logSnrMin ?? -10;
      const lambda = hi + (lo - hi) * t;
      return { alpha: Math.sqrt(sigmoid(lambda)), sigma: Math.sqrt(sigmoid(-lambda)) };
    }
  }
}

const SCHEDULE_CASES: Array<ScheduleConfig & { name: ScheduleName }> = [
  ...SCHEDULE_NAMES.map((name) => ({ name })),
  { name: 'vp', betaMin: 0.2, betaMax: 15, tMin: 1e-2 },
  { name: 'subvp', betaMin: 0.3, betaMax: 12 },
  { name: 've', sigmaMin: 0.02, sigmaMax: 30 },
  { name: 'cosine', s: 0.01 },
  { name: 'fm-ot', sigmaMin: 0.05 },
  { name: 'linear-logsnr', logSnrMax: 8, logSnrMin: -7 },
];

describe.each(SCHEDULE_CASES.map((c) => [JSON.stringify(c), c] as const))('schedule %s against its closed form', (_, config) => {
  let schedule: Schedule;
  beforeAll(() => {
    schedule = createSchedule(config);
  });
  const times = () => [schedule.tMin, 0.05, 0.3, 0.7, 0.95, 1];

  it('atNumber equals the float64 definition', () => {
    for (const t of times()) {
      const ref = closedForm(config, t);
      const got = schedule.atNumber(t);
      expect(Math.abs(got.alpha - ref.alpha)).toBeLessThanOrEqual(1e-10 * Math.abs(ref.alpha) + 1e-15);
      expect(Math.abs(got.sigma - ref.sigma)).toBeLessThanOrEqual(1e-10 * Math.abs(ref.sigma) + 1e-15);
    }
  });

  it('the tensor path equals the float64 definition (float32 accuracy)', () => {
    noLeak(() => {
      const ts = times();
      const [a, s] = tf.tidy(() => {
        const v = schedule.at(column(ts), 0);
        return [read(v.alpha), read(v.sigma)];
      });
      const ref = ts.map((t) => closedForm(config, t));
      expectClose(
        a,
        ref.map((r) => r.alpha),
        2e-6,
        2e-7,
        'α_t',
      );
      // σ = √(1 − α²) loses relative accuracy in float32 where σ is small (t near t₀).
      expectClose(
        s,
        ref.map((r) => r.sigma),
        2e-6,
        5e-6,
        'σ_t',
      );
    });
  });

  it('matchedG2 equals −σ² λ′ with λ′ from float64 finite differences of log(α²/σ²)', () => {
    noLeak(() => {
      const ts = [0.05, 0.3, 0.6, 0.95];
      const g2 = tf.tidy(() => read(matchedG2(schedule.at(column(ts), 1))));
      const lambda = (t: number) => {
        const { alpha, sigma } = closedForm(config, t);
        return Math.log((alpha * alpha) / (sigma * sigma));
      };
      const h = 1e-5;
      const ref = ts.map((t) => {
        const { sigma } = closedForm(config, t);
        return -sigma * sigma * ((lambda(t + h) - lambda(t - h)) / (2 * h));
      });
      expect(ref.every((v) => v > 0)).toBe(true);
      expectClose(g2, ref, 1e-4, 0, 'g²');
    });
  });
});
