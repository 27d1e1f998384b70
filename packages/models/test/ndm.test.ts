/**
 * Neural Diffusion Models (docs/maths/ndm.md): the process, the continuous-time equivalence with the
 * NFDM bound (#continuous-time), the discrete-time bound (#discrete-time) and its T → ∞ limit, and the ancestral
 * sampler. Oracles: the NDM integrand computed here from the network's own jet with float64
 * schedule values, float64 identities of the step coefficients, and Gaussian data with the
 * analytic posterior-mean predictor (samples and NELBO against the known data law).
 */
import { initBackend, Rng, type TimeMLP, trainableVariables } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createSchedule,
  diffusionTerms,
  drawNDMDiscreteNoise,
  FixedGaussianProcess,
  MatchedVolatility,
  type NDMParts,
  NDMProcess,
  ndmAncestralSample,
  ndmContinuousModel,
  ndmDiscreteLoss,
  ndmDiscreteLossFromRng,
  ndmDiscreteNelbo,
  ndmDiscreteTerms,
  ndmPosterior,
  ndmStepCoefficients,
  Predictor,
  priorTerm,
  type Schedule,
} from '../src/index.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

function noLeak<T>(body: () => T): T {
  const before = tf.memory().numTensors;
  const out = body();
  expect(tf.memory().numTensors, 'tensors leaked').toBe(before);
  return out;
}

function read(t: tf.Tensor): Float32Array {
  return t.dataSync() as Float32Array;
}

/** max_i |a_i − b_i| / |b_i| */
function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.abs(b[i]));
  return worst;
}

// ------------------------------------------------------------------------------------------

describe('NDMProcess', () => {
  it('rejects schedules that do not start at t = 0, and bad dimensions, with clear errors', () => {
    for (const name of ['vp', 'subvp', 'cosine'] as const) {
      expect(() => new NDMProcess({ dim: 2, schedule: { name } })).toThrow(/starts at t = 0.*tMin/);
    }
    expect(() => new NDMProcess({ dim: 0 })).toThrow(RangeError);
    expect(() => new NDMProcess({ dim: 2.5 })).toThrow(/positive integer/);
  });

  it('defaults to linear log-SNR 10 → −10 and starts at t₀ = 0 with F(x, 0) = x exactly', () => {
    const proc = new NDMProcess({ dim: 3, rng: 1 });
    expect(proc.kind).toBe('ndm');
    expect(proc.learned).toBe(true);
    expect(proc.schedule.toConfig()).toEqual({ name: 'linear-logsnr', logSnrMax: 10, logSnrMin: -10 });
    expect(proc.start.t).toBe(0);
    expect(proc.start.alpha).toBeCloseTo(Math.sqrt(sigmoid(10)), 15);
    expect(proc.start.sigma).toBeCloseTo(Math.sqrt(sigmoid(-10)), 15);
    expect(proc.priorStd).toBe(1);
    noLeak(() => {
      const [F, x] = tf.tidy(() => {
        const x = new Rng(3).normalTensor([5, 3]);
        return [read(proc.transform(x, tf.zeros([5, 1]), 2).F), read(x)];
      });
      expect(Array.from(F)).toEqual(Array.from(x));
    });
    proc.dispose();
  });

  it('transform is (1 − t) x + t F̄ with its jet, and μ = α_t F, σ = σ_t', () => {
    const proc = new NDMProcess({ dim: 2, hidden: [16, 16], rng: 4 });
    noLeak(() => {
      const [mine, theirs] = tf.tidy(() => {
        const rng = new Rng(5);
        const x = rng.normalTensor([6, 2]);
        const t = rng.uniformTensor([6, 1]);
        const [fb, fb1, fb2] = proc.net.jet(x as tf.Tensor2D, t as tf.Tensor2D, 2).parts();
        const F = tf.add(tf.mul(tf.sub(1, t), x), tf.mul(t, fb));
        const dF = tf.add(tf.sub(fb, x), tf.mul(t, fb1));
        const d2F = tf.add(tf.mul(2, fb1), tf.mul(t, fb2));
        const tr = proc.transform(x, t, 2);
        const v = proc.schedule.at(t, 0);
        const p = proc.params(x, t, 0);
        return [
          tf.concat([F, dF, d2F, tf.mul(v.alpha, F), tf.mul(v.sigma, tf.ones([6, 2]))], 1),
          tf.concat([tr.F, tr.dF!, tr.d2F!, p.mu, tf.mul(p.sigma, tf.ones([6, 2]))], 1),
        ].map(read);
      });
      expect(maxRel(theirs, mine)).toBeLessThan(1e-6);
    });
    proc.dispose();
  });

  it('toConfig is JSON and fromConfig rebuilds the same process', () => {
    const proc = new NDMProcess({
      dim: 2,
      schedule: { name: 've', sigmaMin: 0.02, sigmaMax: 7 },
      hidden: [8, 8],
      activation: 'tanh',
      rng: 9,
    });
    const config = proc.toConfig();
    expect(JSON.parse(JSON.stringify(config))).toEqual(config);
    expect(config).toEqual({
      kind: 'ndm',
      dim: 2,
      schedule: { name: 've', sigmaMin: 0.02, sigmaMax: 7 },
      hidden: [8, 8],
      activation: 'tanh',
      init: 'torch',
    });
    const copy = NDMProcess.fromConfig(JSON.parse(JSON.stringify(config)), 9);
    expect(copy.toConfig()).toEqual(config);
    noLeak(() => {
      const [a, b] = tf.tidy(() => {
        const x = tf.tensor2d([
          [0.3, -1],
          [2, 0.5],
        ]);
        const t = tf.tensor2d([[0.25], [0.75]]);
        return [read(proc.params(x, t, 1).dmu!), read(copy.params(x, t, 1).dmu!)];
      });
      expect(Array.from(b)).toEqual(Array.from(a));
    });
    expect(() => NDMProcess.fromConfig({ kind: 'nfdm', dim: 2 })).toThrow(/kind 'ndm'/);
    proc.dispose();
    copy.dispose();
  });
});

// ------------------------------------------------------------------------------------------
// Continuous time: the NDM integrand against the NFDM bound with g² = −σ² λ′.

/** Linear log-SNR 10 → −10 in float64: λ, SNR, SNR′, α, σ. */
function logSnrAt(t: number) {
  const lambda = 10 - 20 * t;
  const snr = Math.exp(lambda);
  return { snr, dsnr: -20 * snr, alpha: Math.sqrt(sigmoid(lambda)), sigma: Math.sqrt(sigmoid(-lambda)) };
}

/**
 * −½ SNR′(t) ‖ΔF + (SNR/SNR′) ΔF_t‖² per sample, built here from the network's jet:
 * F = (1 − t) x + t F̄, ∂F/∂t = F̄ − x + t F̄′, z = α F(x, t) + σ ε, x̂ = x̂_θ(z, t).
 */
function ndmIntegrand(proc: NDMProcess, predictor: Predictor, x: tf.Tensor, times: number[], eps: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const B = times.length;
    const col = (f: (t: number) => number) => tf.tensor2d(times.map(f), [B, 1]);
    const t = col((v) => v);
    const s = times.map(logSnrAt);
    const alpha = tf.tensor2d(
      s.map((v) => v.alpha),
      [B, 1],
    );
    const sigma = tf.tensor2d(
      s.map((v) => v.sigma),
      [B, 1],
    );
    const Fjet = (y: tf.Tensor) => {
      const [fb, fb1] = proc.net.jet(y as tf.Tensor2D, t as tf.Tensor2D, 1).parts();
      return { F: tf.add(tf.mul(tf.sub(1, t), y), tf.mul(t, fb)), Ft: tf.add(tf.sub(fb, y), tf.mul(t, fb1)) };
    };
    const fx = Fjet(x);
    const z = tf.add(tf.mul(alpha, fx.F), tf.mul(sigma, eps));
    const fh = Fjet(predictor.predict(z, t));
    const ratio = tf.tensor2d(
      s.map((v) => v.snr / v.dsnr),
      [B, 1],
    );
    const inner = tf.add(tf.sub(fx.F, fh.F), tf.mul(ratio, tf.sub(fx.Ft, fh.Ft)));
    const weight = tf.tensor1d(s.map((v) => -0.5 * v.dsnr));
    return tf.mul(weight, tf.sum(tf.square(inner), 1));
  });
}

describe('NDM in continuous time = NFDM with μ = α_t F, σ = σ_t, g² = −σ_t² λ′ (docs/maths/ndm.md#continuous-time)', () => {
  const D = 2;
  let proc: NDMProcess;
  let predictor: Predictor;
  beforeAll(() => {
    proc = new NDMProcess({ dim: D, rng: 21 });
    predictor = new Predictor({ dim: D, rng: 22 });
  });
  afterAll(() => {
    proc.dispose();
    predictor.dispose();
  });

  it('diffusionTerms with MatchedVolatility equals the NDM integrand per sample (rtol 1e-4)', () => {
    const B = 32;
    const rng = new Rng(23);
    const times = Array.from(rng.uniformArray(B, 0.01, 0.99));
    noLeak(() => {
      const [nfdm, ndm] = tf.tidy(() => {
        const x = rng.normalTensor([B, D]);
        const eps = rng.normalTensor([B, D]);
        const t = tf.tensor2d(times, [B, 1]);
        const terms = diffusionTerms({ forward: proc, predictor, volatility: new MatchedVolatility(proc.schedule) }, x, { t, eps });
        return [read(terms.perSample), read(ndmIntegrand(proc, predictor, x, times, eps))];
      });
      expect(ndm.every((v) => Number.isFinite(v) && v > 0)).toBe(true);
      expect(maxRel(nfdm, ndm)).toBeLessThan(1e-4);
    });
  });

  it('ndmContinuousModel wires the matched volatility (g² = 20 σ_t² for λ 10 → −10)', () => {
    const model = ndmContinuousModel(new NDMProcess({ dim: D, hidden: [4], rng: 1 }), new Predictor({ dim: D, hidden: [4], rng: 2 }));
    expect(model.volatility.toConfig()).toEqual({ kind: 'matched', schedule: { name: 'linear-logsnr', logSnrMax: 10, logSnrMin: -10 } });
    const g2 = tf.tidy(() => read(model.volatility.g2(tf.tensor2d([[0.1], [0.5], [0.9]]))));
    expect(
      maxRel(
        g2,
        [0.1, 0.5, 0.9].map((t) => 20 * logSnrAt(t).sigma ** 2),
      ),
    ).toBeLessThan(1e-5);
    model.dispose();
  });
});

// ------------------------------------------------------------------------------------------
// Discrete time.

describe('discrete-time NDM step coefficients (float64 identities)', () => {
  const schedules: Schedule[] = [
    createSchedule({ name: 'linear-logsnr' }),
    createSchedule({ name: 'linear-logsnr', logSnrMax: 6, logSnrMin: -9 }),
    createSchedule({ name: 've', sigmaMin: 0.01, sigmaMax: 20 }),
    createSchedule({ name: 'fm-ot' }),
  ];
  it.each(schedules.map((s) => [JSON.stringify(s.toConfig()), s] as const))('%s', (_, schedule) => {
    for (const T of [1, 7, 100]) {
      for (let i = 1; i <= T; i++) {
        const k = ndmStepCoefficients(schedule, T, i);
        const S = schedule.atNumber((i - 1) / T);
        const Tt = schedule.atNumber(i / T);
        const snrS = (S.alpha / S.sigma) ** 2;
        const snrT = (Tt.alpha / Tt.sigma) ** 2;
        // rtol 1e-9; c gets an absolute floor because its reference √(σ_s² − σ̃²) cancels in float64 when r² ≪ 1.
        const close = (a: number, b: number, what: string, atol = 0) =>
          expect(Math.abs(a - b), `${what} at T=${T}, i=${i}`).toBeLessThanOrEqual(1e-9 * Math.abs(b) + atol);
        // Definitions of docs/maths/ndm.md#discrete-time.
        const sigma2TS = Tt.sigma ** 2 - (Tt.alpha ** 2 / S.alpha ** 2) * S.sigma ** 2;
        close(k.sigma2TS, sigma2TS, 'σ²_{t|s}');
        close(k.tildeSigma2, (sigma2TS * S.sigma ** 2) / Tt.sigma ** 2, 'σ̃²');
        close(k.c, Math.sqrt(S.sigma ** 2 - k.tildeSigma2) / Tt.sigma, 'c', 1e-12);
        // The posterior's marginal is q(z_s | x): c² σ_t² + σ̃² = σ_s² and the mean maps α_t F_t to α_s F_s.
        close(k.c ** 2 * Tt.sigma ** 2 + k.tildeSigma2, S.sigma ** 2, 'marginal variance');
        // With F = x the step loss is VDM's ½ (SNR_s − SNR_t) ‖x − x̂‖².
        close((S.alpha - k.c * Tt.alpha) ** 2 / k.tildeSigma2, snrS - snrT, 'VDM weight');
      }
    }
  });

  it('rejects bad step counts and indices', () => {
    const s = createSchedule({ name: 'linear-logsnr' });
    expect(() => ndmStepCoefficients(s, 0, 1)).toThrow(RangeError);
    expect(() => ndmStepCoefficients(s, 10, 0)).toThrow(/\[1, 10\]/);
    expect(() => ndmStepCoefficients(s, 10, 11)).toThrow(/\[1, 10\]/);
    expect(() => ndmStepCoefficients(s, 10, 2.5)).toThrow(RangeError);
  });
});

describe('discrete-time NDM objective (docs/maths/ndm.md#discrete-time)', () => {
  const D = 2;
  let proc: NDMProcess;
  let predictor: Predictor;
  beforeAll(() => {
    proc = new NDMProcess({ dim: D, rng: 31 });
    predictor = new Predictor({ dim: D, rng: 32 });
  });
  afterAll(() => {
    proc.dispose();
    predictor.dispose();
  });

  it('L_t matches the formula (1/2σ̃²)‖α_s ΔF_s − c α_t ΔF_t‖² computed directly', () => {
    const T = 20;
    const B = 8;
    const rng = new Rng(33);
    const steps = Array.from({ length: B }, (_, b) => [1, 2, 5, 10, 13, 17, 19, 20][b]);
    noLeak(() => {
      const [got, want] = tf.tidy(() => {
        const x = rng.normalTensor([B, D]);
        const eps = rng.normalTensor([B, D]);
        const terms = ndmDiscreteTerms({ forward: proc, predictor }, x, { step: tf.tensor2d(steps, [B, 1], 'int32'), eps }, T);
        const ref: tf.Tensor[] = [];
        for (let b = 0; b < B; b++) {
          const k = ndmStepCoefficients(proc.schedule, T, steps[b]);
          const xb = tf.slice(x, [b, 0], [1, D]);
          const tt = tf.tensor2d([[k.t]]);
          const ss = tf.tensor2d([[k.s]]);
          const z = tf.add(tf.mul(k.alphaT, proc.transform(xb, tt, 0).F), tf.mul(k.sigmaT, tf.slice(eps, [b, 0], [1, D])));
          const xh = predictor.predict(z, tt);
          const dS = tf.sub(proc.transform(xb, ss, 0).F, proc.transform(xh, ss, 0).F);
          const dT = tf.sub(proc.transform(xb, tt, 0).F, proc.transform(xh, tt, 0).F);
          const r = tf.sub(tf.mul(k.alphaS, dS), tf.mul(k.c * k.alphaT, dT));
          ref.push(tf.div(tf.sum(tf.square(r)), 2 * k.tildeSigma2));
        }
        return [read(terms.perStep), read(tf.stack(ref))];
      });
      expect(maxRel(got, want)).toBeLessThan(1e-5);
    });
  });

  it('T·L_t tends to the continuous integrand at the same t as T grows (T = 10, 100, 1000)', () => {
    const times = [0.2, 0.5, 0.8];
    const perTime = 4;
    const B = times.length * perTime;
    const ts = times.flatMap((t) => new Array(perTime).fill(t));
    const rng = new Rng(34);
    const xData = rng.normalArray(B * D);
    const epsData = rng.normalArray(B * D);
    const gaps = noLeak(() =>
      tf.tidy(() => {
        const x = tf.tensor2d(xData, [B, D]);
        const eps = tf.tensor2d(epsData, [B, D]);
        const cont = read(ndmIntegrand(proc, predictor, x, ts, eps));
        return [10, 100, 1000].map((T) => {
          const step = tf.tensor2d(
            ts.map((t) => Math.round(t * T)),
            [B, 1],
            'int32',
          );
          const disc = read(ndmDiscreteTerms({ forward: proc, predictor }, x, { step, eps }, T).perSample);
          let num = 0;
          let den = 0;
          for (let b = 0; b < B; b++) {
            num += Math.abs(disc[b] - cont[b]);
            den += Math.abs(cont[b]);
          }
          return num / den;
        });
      }),
    );
    // Monotone, first-order convergence (the gap shrinks ≈ 10× per decade of T) and ≈ 1% at T = 1000.
    expect(gaps[1]).toBeLessThan(gaps[0]);
    expect(gaps[2]).toBeLessThan(gaps[1]);
    expect(gaps[0] / gaps[1]).toBeGreaterThan(5);
    expect(gaps[1] / gaps[2]).toBeGreaterThan(5);
    expect(gaps[2]).toBeLessThan(0.02);
  });

  it('the loss trains φ and θ (finite gradients for every variable), is seeded, and does not leak', () => {
    const parts: NDMParts = { forward: proc, predictor };
    const rng = new Rng(35);
    const x = rng.normalTensor([64, D]);
    noLeak(() => {
      const { value, grads } = tf.variableGrads(
        () => ndmDiscreteLossFromRng(parts, x, new Rng(1), 50),
        [...trainableVariables(proc), ...trainableVariables(predictor)],
      );
      const v = value.dataSync()[0];
      expect(Number.isFinite(v) && v > 0).toBe(true);
      const names = Object.keys(grads);
      expect(names.length).toBe(trainableVariables(proc).length + trainableVariables(predictor).length);
      let forwardNorm = 0;
      let predictorNorm = 0;
      for (const [i, g] of Object.values(grads).entries()) {
        const n = tf.tidy(() => tf.sum(tf.square(g)).dataSync()[0]);
        expect(Number.isFinite(n)).toBe(true);
        if (i < trainableVariables(proc).length) forwardNorm += n;
        else predictorNorm += n;
      }
      expect(forwardNorm).toBeGreaterThan(0);
      expect(predictorNorm).toBeGreaterThan(0);
      const again = ndmDiscreteLossFromRng(parts, x, new Rng(1), 50);
      expect(again.dataSync()[0]).toBe(v);
      tf.dispose([value, again, ...Object.values(grads)]);
    });
    x.dispose();
  });

  it('the prior term is ½ Σ [α₁² F̄(x, 1)² + σ₁² − 1 − log σ₁²] (F(x, 1) = F̄(x, 1))', () => {
    const B = 16;
    const rng = new Rng(36);
    const { alpha, sigma } = logSnrAt(1);
    noLeak(() => {
      const [got, fbar] = tf.tidy(() => {
        const x = rng.normalTensor([B, D]);
        return [read(priorTerm(proc, x)), read(proc.net.apply(x as tf.Tensor2D, tf.ones([B, 1]) as tf.Tensor2D))];
      });
      for (let b = 0; b < B; b++) {
        let want = 0;
        for (let d = 0; d < D; d++) want += 0.5 * (alpha ** 2 * fbar[b * D + d] ** 2 + sigma ** 2 - 1 - Math.log(sigma ** 2));
        // float32 evaluates (μ² + σ²) − (1 + log σ²) with both sides ≈ 1: absolute error ~1e-7 per dimension.
        expect(Math.abs(got[b] - want)).toBeLessThan(1e-6 * D + 1e-3 * want);
      }
    });
  });

  it('rejects a non-NDM forward process and out-of-range step indices', () => {
    const fixed = new FixedGaussianProcess(D, { name: 'linear-logsnr' });
    const x = tf.zeros([2, D]);
    const noise = { step: tf.tensor2d([[1], [3]], [2, 1], 'int32'), eps: tf.zeros([2, D]) };
    expect(() => ndmDiscreteLoss({ forward: fixed, predictor }, x, noise, 3)).toThrow(/NDMProcess/);
    expect(() => ndmDiscreteLoss({ forward: proc, predictor }, x, noise, 2)).toThrow(/\[1, 2\]/);
    expect(() => ndmDiscreteLoss({ forward: proc, predictor }, x, noise, 0)).toThrow(/positive integer/);
    expect(() => ndmDiscreteLoss({ forward: proc, predictor }, x, { ...noise, eps: tf.zeros([3, D]) }, 3)).toThrow(/eps must have shape/);
    tf.dispose([x, noise.step, noise.eps]);
    const n = drawNDMDiscreteNoise(new Rng(0), 1000, D, 7);
    const idx = n.step.dataSync();
    expect(Math.min(...idx)).toBe(1);
    expect(Math.max(...idx)).toBe(7);
    tf.dispose([n.step, n.eps]);
  });
});

// ------------------------------------------------------------------------------------------
// Gaussian data: with F̄ ≡ 0 the process is fixed, μ = a_t x with a_t = α_t (1 − t), and the
// optimal predictor is the posterior mean E[x | z_t] for x ~ N(m, diag s²):
//   x̂ = m + k_t (z − a_t m),   k_t = a_t s² / (a_t² s² + σ_t²).

const M = [1.5, -0.5];
const S2 = [0.25, 4];

class GaussianPosteriorMean {
  constructor(
    readonly schedule: Schedule,
    readonly m: number[],
    readonly s2: number[],
  ) {}
  predict(z: tf.Tensor, t: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const v = this.schedule.at(t, 0);
      const a = tf.mul(v.alpha, tf.sub(1, t)); // [B, 1]
      const s2 = tf.tensor1d(this.s2);
      const m = tf.tensor1d(this.m);
      const k = tf.div(tf.mul(a, s2), tf.add(tf.mul(tf.square(a), s2), tf.square(v.sigma)));
      return tf.add(m, tf.mul(k, tf.sub(z, tf.mul(a, m))));
    });
  }
}

function zeroFbar(proc: NDMProcess): void {
  const mlp = (proc.net as TimeMLP).net;
  const last = mlp.layers[mlp.layers.length - 1];
  tf.tidy(() => {
    last.weight.assign(tf.zerosLike(last.weight));
    last.bias.assign(tf.zerosLike(last.bias));
  });
}

describe('ancestral sampler and discrete NELBO on Gaussian data', () => {
  it('with a (random) trivial predictor: finite samples of the right shape, seeded, no leaks', () => {
    const parts = { forward: new NDMProcess({ dim: 3, hidden: [8], rng: 41 }), predictor: new Predictor({ dim: 3, hidden: [8], rng: 42 }) };
    noLeak(() => {
      const a = ndmAncestralSample(parts, { n: 50, steps: 20, seed: 3 });
      const b = ndmAncestralSample(parts, { n: 50, steps: 20, seed: 3 });
      expect(a.samples.shape).toEqual([50, 3]);
      expect(a.nfe).toBe(20);
      const va = read(a.samples);
      expect(va.every(Number.isFinite)).toBe(true);
      expect(Array.from(read(b.samples))).toEqual(Array.from(va));
      tf.dispose([a.samples, b.samples]);
    });
    expect(() => ndmAncestralSample(parts, { n: 0, steps: 20 })).toThrow(RangeError);
    expect(() => ndmAncestralSample(parts, { n: 5, steps: 0 })).toThrow(RangeError);
    parts.forward.dispose();
    parts.predictor.dispose();
  });

  it('one reverse step with x̂ = x is the posterior q(z_s | z_t, x): its marginal is q(z_s | x)', () => {
    const proc = new NDMProcess({ dim: 2, hidden: [8], rng: 43 });
    const T = 10;
    const i = 6;
    const n = 20000;
    const x0 = [0.7, -1.2];
    noLeak(() => {
      const k = ndmStepCoefficients(proc.schedule, T, i);
      const varS = k.sigmaS ** 2;
      const [mean, varc, muS] = tf.tidy(() => {
        const rng = new Rng(44);
        const x = tf.tile(tf.tensor2d([x0]), [n, 1]);
        const zt = tf.add(tf.mul(k.alphaT, proc.transform(x, tf.fill([n, 1], k.t), 0).F), tf.mul(k.sigmaT, rng.normalTensor([n, 2])));
        const post = ndmPosterior(proc, x, zt, T, i);
        const zs = tf.add(post.mean, tf.mul(post.std, rng.normalTensor([n, 2])));
        const moments = tf.moments(zs, 0);
        const target = tf.mul(k.alphaS, proc.transform(tf.tensor2d([x0]), tf.tensor2d([[k.s]]), 0).F);
        return [read(moments.mean), read(moments.variance), read(target)];
      });
      for (let d = 0; d < 2; d++) {
        expect(Math.abs(mean[d] - muS[d])).toBeLessThan(5 * Math.sqrt(varS / n));
        expect(Math.abs(varc[d] - varS)).toBeLessThan(5 * varS * Math.sqrt(2 / n));
      }
    });
    proc.dispose();
  });

  it('with the analytic x̂ = E[x | z_t] (F̄ ≡ 0), T = 1000 steps reproduce the data mean and variance', () => {
    const proc = new NDMProcess({ dim: 2, hidden: [4], rng: 45 });
    zeroFbar(proc);
    const predictor = new GaussianPosteriorMean(proc.schedule, M, S2);
    const n = 4000;
    noLeak(() => {
      const { samples } = ndmAncestralSample({ forward: proc, predictor }, { n, steps: 1000, seed: 46 });
      const [mean, variance] = tf.tidy(() => {
        const m = tf.moments(samples, 0);
        return [read(m.mean), read(m.variance)];
      });
      samples.dispose();
      for (let d = 0; d < 2; d++) {
        // 4 standard errors; the variance also has an O(1/T) bias of ≈ −1% at T = 1000
        // (the reverse step uses the point estimate x̂, not p(x | z_t)).
        expect(Math.abs(mean[d] - M[d])).toBeLessThan(4 * Math.sqrt(S2[d] / n));
        expect(Math.abs(variance[d] - S2[d])).toBeLessThan(4 * S2[d] * Math.sqrt(2 / n) + 0.02 * S2[d]);
      }
    });
    proc.dispose();
  });

  it('with the analytic x̂, the discrete NELBO (T = 1000) averages to the data entropy', () => {
    const proc = new NDMProcess({ dim: 2, hidden: [4], rng: 47 });
    zeroFbar(proc);
    const predictor = new GaussianPosteriorMean(proc.schedule, M, S2);
    // The per-draw diffusion term has a standard deviation of ≈ 19 nats here (a scaled χ²
    // at every t), so it takes 10⁵ draws to pin the mean to ≈ 0.06 nats.
    const n = 10000;
    const rng = new Rng(48);
    const x = tf.tidy(() => tf.add(tf.mul(rng.normalTensor([n, 2]), tf.sqrt(tf.tensor1d(S2))), tf.tensor1d(M)));
    const result = noLeak(() => ndmDiscreteNelbo({ forward: proc, predictor }, x, { steps: 1000, draws: 10, seed: 49 }));
    x.dispose();
    const entropy = S2.reduce((h, s2) => h + 0.5 * Math.log(2 * Math.PI * Math.E * s2), 0);
    expect(result.reconstruction).toBeCloseTo(0.5 * 2 * Math.log((2 * Math.PI * proc.start.sigma ** 2) / proc.start.alpha ** 2) + 1, 10);
    expect(result.prior.mean).toBeLessThan(1e-3);
    expect(result.nelbo.stderr).toBeLessThan(0.1);
    expect(Math.abs(result.nelbo.mean - entropy)).toBeLessThan(4 * result.nelbo.stderr + 0.02);
    proc.dispose();
  });
});
