/**
 * The forward-process contract (diffusers-style): ONE battery of checks that every
 * {@link GaussianForwardProcess} must pass unchanged — the library's fixed schedules, NFDM's
 * and NDM's learned processes, and any downstream implementation. Numerical oracles only:
 *
 * - shapes of `params(x, t, order)` at orders 0, 1, 2 (μ and derivatives `[B, D]`, σ and
 *   derivatives `[B, D]` or `[B, 1]`); σ > 0 and every value finite on [start.t, 1];
 * - ∂μ/∂t, ∂σ/∂t, ∂²μ/∂t², ∂²σ/∂t² against central finite differences in t (float32-aware: the
 *   spacing is the difference of the float32-rounded times; the second derivative both by a
 *   Richardson-extrapolated second difference of the values and by a difference of the
 *   first-order tangent);
 * - the closed forms seen through the process (docs/maths/forward-processes.md#gaussian-family):
 *   velocity f = ∂F(ε, t, x)/∂t with ε fixed, score = autodiff ∇_z log q(z | x),
 *   f^B = f − (g²/2) s and f^F = f + (g²/2) s;
 * - `start`: params(x, start.t) = N(start.alpha · x, start.sigma²);
 * - prior: at t = 1 the marginal is N(0, priorStd² I) exactly, or approximately with a small
 *   KL(q(z₁ | x) ‖ N(0, priorStd² I)) ≤ 0.01 (D + ‖x‖²);
 * - no check leaks tensors.
 *
 * Finite differences need a C² process: test learned processes with smooth activations
 * (tanh), not SELU, whose first derivative jumps at 0.
 */
import { Rng } from '@nfdm/core';
import { type ContractCheck, check, checkClose, checkNoLeak, jsonEqual, maxAbs } from '@nfdm/core/testing';
import * as tf from '@tensorflow/tfjs';
import {
  forwardDrift,
  type GaussianForwardProcess,
  type GaussianParams,
  klToPrior,
  logQ,
  reverseDrift,
  sampleZ,
  score,
  velocity,
} from '../forward/gaussian.js';

export interface ForwardProcessContractOptions {
  /** The data dimension D the factory's process declares. */
  dim: number;
  /** Interior times for the finite-difference checks (t ± 0.01 must stay in [start.t, 1], away from σ → 0). Default 0.1, 0.3, 0.5, 0.7, 0.9. */
  times?: number[];
  /** 'exact': μ(x, 1) = 0 and σ(1) = priorStd; 'approx' (default): σ(1) ≈ priorStd and a small prior KL. */
  prior?: 'exact' | 'approx';
  /** Seed of the test inputs x, ε ~ N(0, I) (default 2024). */
  seed?: number;
}

const F32_EPS = 2 ** -23;

type Arr = Float32Array;

function read(t: tf.Tensor): Arr {
  return t.dataSync() as Arr;
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

function shapeIs(shape: number[] | undefined, expected: number[]): boolean {
  return shape !== undefined && shape.length === expected.length && shape.every((v, i) => v === expected[i]);
}

/**
 * The forward-process contract as a list of named checks, in the order they should run.
 * `make` builds the process under test once, on the first check that runs (so the checks can
 * be listed before the tfjs backend is initialised); the checks never dispose it.
 */
export function forwardProcessChecks(make: () => GaussianForwardProcess, options: ForwardProcessContractOptions): ContractCheck[] {
  const D = options.dim;
  const times = options.times ?? [0.1, 0.3, 0.5, 0.7, 0.9];
  const prior = options.prior ?? 'approx';
  const B = times.length;
  let built: { proc: GaussianForwardProcess; xData: Float32Array; epsData: Float32Array } | undefined;
  const setup = () => {
    if (!built) {
      const rng = new Rng(options.seed ?? 2024);
      const xData = rng.normalArray(B * D);
      const epsData = rng.normalArray(B * D);
      built = { proc: make(), xData, epsData };
    }
    return built;
  };
  const x = () => tf.tensor2d(setup().xData, [B, D]);
  const eps = () => tf.tensor2d(setup().epsData, [B, D]);
  /** Broadcast σ-like [B, 1] data to [B, D] for elementwise comparison. */
  const toFull = (t: tf.Tensor, rows: number): Arr => read(tf.tidy(() => tf.mul(t, tf.ones([rows, D]))));

  return [
    {
      name: 'declares its dimension, start and prior consistently',
      run() {
        const { proc } = setup();
        check(proc.dim === D, `dim: ${proc.dim}, expected ${D}`);
        check(typeof proc.kind === 'string', `kind must be a string, got ${typeof proc.kind}`);
        check(proc.start.t >= 0 && proc.start.t < 1, `start.t must lie in [0, 1), got ${proc.start.t}`);
        check(proc.start.sigma > 0, `start.sigma must be > 0, got ${proc.start.sigma}`);
        check(proc.start.alpha > 0, `start.alpha must be > 0, got ${proc.start.alpha}`);
        check(proc.priorStd > 0, `priorStd must be > 0, got ${proc.priorStd}`);
        const config = proc.toConfig();
        check(config.kind === proc.kind, `toConfig().kind ${JSON.stringify(config.kind)} differs from kind ${JSON.stringify(proc.kind)}`);
        check(jsonEqual(JSON.parse(JSON.stringify(config)), config), 'toConfig() does not survive a JSON round trip');
        check(
          proc.learned === proc.parameters().size > 0,
          `learned is ${proc.learned} but the process has ${proc.parameters().size} parameters`,
        );
      },
    },
    {
      name: 'params has the right shapes at orders 0, 1 and 2',
      run() {
        const { proc } = setup();
        checkNoLeak(() => {
          tf.tidy(() => {
            const t = column(times);
            for (const order of [0, 1, 2] as const) {
              const p = proc.params(x(), t, order);
              check(shapeIs(p.mu.shape, [B, D]), `mu at order ${order}: shape [${p.mu.shape}], expected [${B}, ${D}]`);
              check(
                shapeIs(p.sigma.shape, [B, 1]) || shapeIs(p.sigma.shape, [B, D]),
                `sigma at order ${order}: shape [${p.sigma.shape}], expected [${B}, 1] or [${B}, ${D}]`,
              );
              const keys: Array<[keyof GaussianParams, keyof GaussianParams, number]> = [
                ['dmu', 'mu', 1],
                ['dsigma', 'sigma', 1],
                ['d2mu', 'mu', 2],
                ['d2sigma', 'sigma', 2],
              ];
              for (const [k, like, needed] of keys) {
                if (order >= needed)
                  check(
                    shapeIs(p[k]?.shape, p[like]?.shape ?? []),
                    `${k} at order ${order}: shape ${p[k] ? `[${p[k].shape}]` : 'missing'}, expected [${p[like]?.shape}]`,
                  );
              }
            }
          });
        });
      },
    },
    {
      name: 'σ > 0 and everything is finite on [start.t, 1]',
      run() {
        const { proc, xData } = setup();
        checkNoLeak(() => {
          const n = 101;
          const ts = Array.from({ length: n }, (_, i) => proc.start.t + ((1 - proc.start.t) * i) / (n - 1));
          const [sigma, rest] = tf.tidy(() => {
            const xs = tf.tile(tf.tensor2d(xData.slice(0, D), [1, D]), [n, 1]);
            const p = proc.params(xs, column(ts), 2);
            const need = (v: tf.Tensor | undefined, name: string) => {
              check(v !== undefined, `params(x, t, 2) did not return ${name}`);
              return v;
            };
            return [
              p.sigma,
              tf.concat(
                [
                  p.mu,
                  need(p.dmu, 'dmu'),
                  need(p.d2mu, 'd2mu'),
                  tf.mul(need(p.dsigma, 'dsigma'), tf.ones([n, D])),
                  tf.mul(need(p.d2sigma, 'd2sigma'), tf.ones([n, D])),
                ],
                1,
              ),
            ];
          });
          const s = read(sigma);
          const minSigma = Math.min(...s);
          const finite = read(rest).every(Number.isFinite);
          tf.dispose([sigma, rest]);
          check(minSigma > 0, `min σ on [start.t, 1] is ${minSigma}, expected > 0`);
          check(finite, 'μ, σ or a derivative is NaN/±Inf on [start.t, 1]');
        });
      },
    },
    {
      name: '∂μ/∂t, ∂σ/∂t, ∂²μ/∂t², ∂²σ/∂t² equal central finite differences of params',
      run() {
        const { proc } = setup();
        checkNoLeak(() => {
          const exact = tf.tidy(() => {
            const p = proc.params(x(), column(times), 2);
            return [p.dmu, p.dsigma, p.d2mu, p.d2sigma].map((v, i) => {
              check(v !== undefined, `params(x, t, 2) did not return ${['dmu', 'dsigma', 'd2mu', 'd2sigma'][i]}`);
              return toFull(v, B);
            });
          });
          const at = (order: 0 | 1, key: 'mu' | 'sigma' | 'dmu' | 'dsigma') => (t: tf.Tensor) =>
            tf.tidy(() => {
              const v = proc.params(x(), t, order)[key];
              check(v !== undefined, `params(x, t, ${order}) did not return ${key}`);
              return toFull(v, B);
            });
          const h1 = 1e-3;
          const h2 = 1e-2;
          for (const [name, value, slope, d1, d2] of [
            ['μ', 'mu', 'dmu', exact[0], exact[2]],
            ['σ', 'sigma', 'dsigma', exact[1], exact[3]],
          ] as const) {
            // First derivative: central difference of the order-0 values.
            const first = finiteDiff(at(0, value), times, h1);
            checkClose(first.d1, d1, 1e-3, 2e-4 * maxAbs(d1) + fdFloor(first.value, h1, 1), `∂${name}/∂t vs Δ${name}`);
            // Second derivative: Richardson-extrapolated second difference of the order-0 values
            // (float32 rounding is amplified by 1/h², hence the larger h and floor) …
            const second = finiteDiff(at(0, value), times, h2, true);
            checkClose(second.d2, d2, 5e-3, 1e-3 * maxAbs(d2) + fdFloor(second.value, h2, 2), `∂²${name}/∂t² vs Δ²${name}`);
            // … and, tighter, a central difference of the order-1 tangent.
            const viaSlope = finiteDiff(at(1, slope), times, h1);
            checkClose(viaSlope.d1, d2, 1e-3, 2e-4 * maxAbs(d2) + fdFloor(viaSlope.value, h1, 1), `∂²${name}/∂t² vs Δ∂${name}/∂t`);
          }
        });
      },
    },
    {
      name: 'velocity(z) is ∂F(ε, t, x)/∂t with ε fixed (finite differences)',
      run() {
        const { proc } = setup();
        checkNoLeak(() => {
          const exact = tf.tidy(() => {
            const p = proc.params(x(), column(times), 1);
            return read(velocity(p, sampleZ(p, eps())));
          });
          const F = (t: tf.Tensor) => tf.tidy(() => read(sampleZ(proc.params(x(), t, 0), eps())));
          const h = 1e-3;
          const fd = finiteDiff(F, times, h);
          checkClose(fd.d1, exact, 2e-3, 1e-3 * maxAbs(exact) + fdFloor(fd.value, h, 1), 'velocity');
        });
      },
    },
    {
      name: 'score(z) is the autodiff gradient ∇_z log q(z | x)',
      run() {
        const { proc } = setup();
        checkNoLeak(() => {
          const [auto, closed] = tf.tidy(() => {
            const p = proc.params(x(), column(times), 0);
            const z = sampleZ(p, eps());
            const grad = tf.grad((zz: tf.Tensor) => tf.sum(logQ(p, zz)))(z);
            return [read(grad), read(score(p, z))];
          });
          checkClose(closed, auto, 1e-4, 1e-6 * maxAbs(auto), 'score');
        });
      },
    },
    {
      name: 'reverseDrift = f − (g²/2) s and forwardDrift = f + (g²/2) s',
      run() {
        const { proc } = setup();
        checkNoLeak(() => {
          const [rev, revRef, fwd, fwdRef] = tf.tidy(() => {
            const t = column(times);
            const p = proc.params(x(), t, 1);
            const z = sampleZ(p, eps());
            const g2 = tf.add(0.5, tf.mul(3, t));
            const f = velocity(p, z);
            const half = tf.mul(tf.mul(0.5, g2), score(p, z));
            return [reverseDrift(p, z, g2), tf.sub(f, half), forwardDrift(p, z, g2), tf.add(f, half)].map(read);
          });
          checkClose(rev, revRef, 1e-5, 1e-6 * maxAbs(revRef), 'reverse drift');
          checkClose(fwd, fwdRef, 1e-5, 1e-6 * maxAbs(fwdRef), 'forward drift');
        });
      },
    },
    {
      name: 'start: params(x, start.t) is N(α₀ x, σ₀²)',
      run() {
        const { proc, xData } = setup();
        checkNoLeak(() => {
          const { t, alpha, sigma } = proc.start;
          const [mu, sig] = tf.tidy(() => {
            const p = proc.params(x(), tf.fill([B, 1], t), 0);
            return [read(p.mu), toFull(p.sigma, B)];
          });
          checkClose(
            mu,
            Array.from(xData, (v) => alpha * v),
            1e-6,
            1e-7,
            'μ(x, t₀) = α₀ x',
          );
          // σ₀ is small for VP-type schedules: the float32 tensor path loses ~1e-3 relative there.
          checkClose(sig, new Array(B * D).fill(sigma), 2e-3, 0, 'σ(t₀) = σ₀');
        });
      },
    },
    {
      name: 'prior: at t = 1 the marginal is (close to) N(0, priorStd² I)',
      run() {
        const { proc, xData } = setup();
        checkNoLeak(() => {
          const [mu, sig, kl] = tf.tidy(() => {
            const p = proc.params(x(), tf.ones([B, 1]), 0);
            return [read(p.mu), toFull(p.sigma, B), read(klToPrior(p, proc.priorStd))];
          });
          const s = proc.priorStd;
          if (prior === 'exact') {
            check(maxAbs(mu) <= 1e-7, `μ(x, 1) = 0: max |μ| is ${maxAbs(mu)}, expected ≤ 1e-7`);
            checkClose(sig, new Array(B * D).fill(s), 1e-6, 0, 'σ(1) = priorStd');
          } else {
            checkClose(sig, new Array(B * D).fill(s), 1e-4, 0, 'σ(1) ≈ priorStd');
            for (let b = 0; b < B; b++) {
              let x2 = 0;
              for (let d = 0; d < D; d++) x2 += xData[b * D + d] ** 2;
              check(kl[b] <= 0.01 * (D + x2), `prior KL of row ${b} is ${kl[b]}, expected ≤ ${0.01 * (D + x2)}`);
            }
          }
          check(
            kl.every((v) => v >= -1e-5),
            `prior KL must be ≥ 0 (up to 1e-5), got ${Math.min(...kl)}`,
          );
        });
      },
    },
  ];
}
