/**
 * The forward-process contract (diffusers-style): ONE battery of checks that every
 * {@link GaussianForwardProcess} must pass unchanged — the six fixed schedules, NFDM's learned
 * process and NDM's. The checks are the published ones of `@nfdm/models/testing`
 * (src/testing/forward-process.ts: central finite differences in t, autodiff of log q for the
 * score, boundary values); the float64 closed forms of the schedules are checked here.
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
  type GaussianForwardProcess,
  matchedG2,
  NDMProcess,
  NeuralGaussianProcess,
  SCHEDULE_NAMES,
  type Schedule,
  type ScheduleConfig,
  type ScheduleName,
} from '../src/index.js';
import { forwardProcessChecks, runChecks } from '../src/testing/index.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const D = 3;

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

function noLeak(body: () => void): void {
  const before = tf.memory().numTensors;
  body();
  expect(tf.memory().numTensors, 'tensors leaked').toBe(before);
}

// ------------------------------------------------------------------------------------------
// The contract

describe.each(CASES)('forward-process contract: $name', (c) => {
  // The published contract (@nfdm/models/testing), the same checks downstream packages run.
  for (const check of forwardProcessChecks(c.make, { dim: D, times: c.times, prior: c.prior })) it(check.name, check.run);
});

/** A correct process with one defect injected, to show the published contract catches it. */
function broken(defect: 'dsigma' | 'velocity-leak' | 'start'): GaussianForwardProcess {
  const inner = new FixedGaussianProcess(D, { name: 'fm-ot' });
  return new Proxy(inner, {
    get(target, key, receiver) {
      if (key === 'start' && defect === 'start') return { ...target.start, sigma: target.start.sigma * 1.5 };
      if (key === 'params')
        return (x: tf.Tensor, t: tf.Tensor, order: 0 | 1 | 2) => {
          const p = target.params(x, t, order);
          if (defect === 'dsigma' && p.dsigma) return { ...p, dsigma: tf.mul(p.dsigma, 1.05) };
          if (defect === 'velocity-leak') tf.keep(tf.zeros([1]));
          return p;
        };
      return Reflect.get(target, key, receiver);
    },
  });
}

describe('the published contract rejects broken processes', () => {
  const failing = async (defect: Parameters<typeof broken>[0]) =>
    (await runChecks(forwardProcessChecks(() => broken(defect), { dim: D, prior: 'exact' }))).map((line) => line.split(':')[0]);

  it('a 5% error in ∂σ/∂t fails the derivative and velocity checks, and only those', async () => {
    expect(await failing('dsigma')).toEqual([
      '∂μ/∂t, ∂σ/∂t, ∂²μ/∂t², ∂²σ/∂t² equal central finite differences of params',
      'velocity(z) is ∂F(ε, t, x)/∂t with ε fixed (finite differences)',
    ]);
  });

  it('a wrong start.sigma fails the start check', async () => {
    expect(await failing('start')).toEqual(['start']);
  });

  it('a leaked tensor fails every check that calls params under the leak guard', async () => {
    expect((await failing('velocity-leak')).length).toBeGreaterThanOrEqual(6);
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
