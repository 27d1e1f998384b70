/**
 * The flow-matching family against closed forms (docs/maths/flow-matching.md#gaussian-to-gaussian):
 * for data N(m, s² I) and the independent coupling, the minimiser of the CFM loss is
 *
 *   v*(z, t) = −m + ((1 − σ_min) b − a s²) / V · (z − a m),   a = 1 − t, b = σ_min + (1 − σ_min) t,
 *   V = a² s² + b²,
 *
 * whose ODE carries z₁ to m + √(s² + σ_min²) z₁ and whose t = 0 marginal is N(m, (s² + σ_min²) I).
 * Also: the OT coupling against brute force, reflow pairs against the ODE map, and a short
 * training that finds v*.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, type Jet, type NamedVariables, Rng, type TimeNetwork } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  anyModelConfig,
  CFMModel,
  cfmBatch,
  cfmFamily,
  cfmLogProb,
  cfmPath,
  cfmSample,
  createAnyModel,
  loadAnyModel,
  ModelConfigError,
  otPermutation,
  parseCFMConfig,
  reflowPairs,
  saveAnyModel,
  squaredDistances,
} from '../src/index.js';

beforeAll(async () => {
  await initBackend('wasm');
});

interface Gaussian {
  m: number[];
  s: number;
  sigmaMin: number;
}

/** The closed-form slope β(t) and intercept of v* per coordinate: v*_k = α_k(t) + β(t) z_k. */
function optimal(g: Gaussian, t: number): { alpha: number[]; beta: number } {
  const a = 1 - t;
  const b = g.sigmaMin + (1 - g.sigmaMin) * t;
  const beta = ((1 - g.sigmaMin) * b - a * g.s * g.s) / (a * a * g.s * g.s + b * b);
  return { alpha: g.m.map((mk) => -mk - beta * a * mk), beta };
}

/** v* as a velocity network (no parameters). */
class OptimalField implements TimeNetwork {
  constructor(readonly g: Gaussian) {}
  apply(x: tf.Tensor2D | null, t: tf.Tensor2D): tf.Tensor2D {
    const z = x as tf.Tensor2D;
    return tf.tidy(() => {
      const ts = t.dataSync();
      const rows = Array.from(ts, (tv) => {
        const o = optimal(this.g, tv);
        return [o.alpha, o.beta] as const;
      });
      const alpha = tf.tensor2d(rows.map((r) => r[0]));
      const beta = tf.tensor2d(
        rows.map((r) => [r[1]]),
        [rows.length, 1],
      );
      return tf.add(alpha, tf.mul(beta, z)) as tf.Tensor2D;
    });
  }
  jet(): Jet {
    throw new Error('not needed');
  }
  parameters(): NamedVariables {
    return new Map();
  }
  dispose(): void {}
}

const optimalModel = (g: Gaussian) => new CFMModel({ dim: g.m.length, sigmaMin: g.sigmaMin, net: new OptimalField(g) });

describe('CFM closed forms (Gaussian to Gaussian)', () => {
  const g: Gaussian = { m: [1, -2], s: 0.5, sigmaMin: 0.05 };

  it('v* is the least-squares regression of u_t on x_t (the minimiser of the CFM loss at each t)', () => {
    const rng = new Rng(1);
    const n = 20000;
    for (const tv of [0.1, 0.5, 0.9]) {
      const stats = tf.tidy(() => {
        const x = tf.add(tf.tensor1d(g.m), tf.mul(g.s, rng.normalTensor([n, 2]))) as tf.Tensor2D;
        const eps = rng.normalTensor([n, 2]) as tf.Tensor2D;
        const { xt, ut } = cfmPath(x, eps, tf.fill([n, 1], tv) as tf.Tensor2D, g.sigmaMin);
        const mx = tf.mean(xt, 0);
        const mu = tf.mean(ut, 0);
        const slope = tf.div(tf.mean(tf.mul(tf.sub(xt, mx), tf.sub(ut, mu)), 0), tf.mean(tf.square(tf.sub(xt, mx)), 0));
        return { slope: Array.from(slope.dataSync()), intercept: Array.from(tf.sub(mu, tf.mul(slope, mx)).dataSync()) };
      });
      const o = optimal(g, tv);
      for (let k = 0; k < 2; k++) {
        expect(Math.abs(stats.slope[k] - o.beta)).toBeLessThan(0.03);
        expect(Math.abs(stats.intercept[k] - o.alpha[k])).toBeLessThan(0.05);
      }
    }
  });

  it('the ODE of v* carries z₁ to m + √(s² + σ_min²) z₁ (fixed-step and adaptive solvers)', () => {
    const model = optimalModel(g);
    const z1 = new Rng(2).normalTensor([200, 2]) as tf.Tensor2D;
    const expected = tf.tidy(() => tf.add(tf.tensor1d(g.m), tf.mul(Math.sqrt(g.s ** 2 + g.sigmaMin ** 2), z1)));
    for (const o of [{ solver: 'rk4', steps: 40 }, { adaptive: { rtol: 1e-6, atol: 1e-6 } }]) {
      const r = cfmSample(model, { n: 200, z1, ...o });
      const err = tf.tidy(() => tf.max(tf.abs(tf.sub(r.samples, expected))).dataSync()[0]);
      expect(err).toBeLessThan(1e-4);
      r.samples.dispose();
    }
    tf.dispose([z1, expected]);
  });

  it('exact log p(x) of v* is the Gaussian marginal log N(x; m, (s² + σ_min²) I): exact divergence (D = 2) and Hutchinson (D = 20)', () => {
    for (const dim of [2, 20]) {
      const gd: Gaussian = { ...g, m: Array.from({ length: dim }, (_, k) => g.m[k % 2]) };
      const model = optimalModel(gd);
      const x = tf.tidy(() => tf.add(tf.tensor1d(gd.m), tf.mul(0.8, new Rng(3).normalTensor([16, dim])))) as tf.Tensor2D;
      const { logp } = cfmLogProb(model, x, { rtol: 1e-6, atol: 1e-6 });
      const v = g.s ** 2 + g.sigmaMin ** 2;
      const xs = x.arraySync();
      xs.forEach((row, i) => {
        const q = row.reduce((acc, xk, k) => acc + (xk - gd.m[k]) ** 2, 0);
        const expected = (-0.5 * q) / v - 0.5 * dim * Math.log(2 * Math.PI * v);
        expect(Math.abs(logp[i] - expected)).toBeLessThan(2e-3);
      });
      x.dispose();
    }
  });

  it('reflow pairs are [ODE_{1→0}(z₁) | z₁] with z₁ ~ N(0, I) from the seed', () => {
    const model = optimalModel(g);
    const pairs = reflowPairs(model, { n: 50, seed: 4, solver: 'rk4', steps: 40, batch: 32 });
    expect(pairs.shape).toEqual([50, 4]);
    const [xh, z1] = tf.split(pairs, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
    const rng = new Rng(4);
    const drawn = tf.concat([rng.normalTensor([32, 2]), rng.normalTensor([18, 2])]);
    expect(Array.from(z1.dataSync())).toEqual(Array.from(drawn.dataSync()));
    const direct = cfmSample(model, { n: 50, z1, solver: 'rk4', steps: 40 });
    expect(Array.from(xh.dataSync())).toEqual(Array.from(direct.samples.dataSync()));
    const affine = tf.tidy(() => tf.add(tf.tensor1d(g.m), tf.mul(Math.sqrt(g.s ** 2 + g.sigmaMin ** 2), z1)));
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(xh, affine))).dataSync()[0])).toBeLessThan(1e-4);
    tf.dispose([pairs, xh, z1, drawn, direct.samples, affine]);
  });
});

describe('couplings', () => {
  /** The cheapest permutation by enumeration. */
  function bruteForce(cost: Float64Array, n: number): number {
    let best = Number.POSITIVE_INFINITY;
    const perm = Array.from({ length: n }, (_, i) => i);
    const visit = (k: number) => {
      if (k === n) {
        best = Math.min(
          best,
          perm.reduce((acc, j, i) => acc + cost[i * n + j], 0),
        );
        return;
      }
      for (let i = k; i < n; i++) {
        [perm[k], perm[i]] = [perm[i], perm[k]];
        visit(k + 1);
        [perm[k], perm[i]] = [perm[i], perm[k]];
      }
    };
    visit(0);
    return best;
  }

  it('the OT coupling of a tiny batch is the brute-force optimal permutation', () => {
    for (let seed = 0; seed < 5; seed++) {
      const rng = new Rng(seed);
      const x = rng.normalTensor([6, 3]) as tf.Tensor2D;
      const eps = rng.normalTensor([6, 3]) as tf.Tensor2D;
      const perm = otPermutation(x, eps);
      const cost = squaredDistances(x.dataSync(), eps.dataSync(), 6, 3);
      const found = Array.from(perm).reduce((acc, j, i) => acc + cost[i * 6 + j], 0);
      expect(new Set(perm).size).toBe(6);
      expect(found).toBeCloseTo(bruteForce(cost, 6), 10);
      tf.dispose([x, eps]);
    }
  });

  it('batches: independent ε as drawn, OT ε a cheaper permutation of the same draw, reflow rows split as [x | ε]', () => {
    const x = new Rng(7).normalTensor([12, 2]) as tf.Tensor2D;
    const ind = cfmBatch(x, 'independent', 2, new Rng(8));
    const ot = cfmBatch(x, 'ot', 2, new Rng(8));
    expect(Array.from(ot.t.dataSync())).toEqual(Array.from(ind.t.dataSync()));
    const sorted = (t: tf.Tensor) => Array.from(t.dataSync()).sort();
    expect(sorted(ot.eps)).toEqual(sorted(ind.eps));
    const cost = (e: tf.Tensor) => tf.tidy(() => tf.sum(tf.square(tf.sub(x, e))).dataSync()[0]);
    expect(cost(ot.eps)).toBeLessThan(cost(ind.eps));
    const pairs = tf.concat([x, ind.eps], 1) as tf.Tensor2D;
    const rf = cfmBatch(pairs, 'reflow', 2, new Rng(8));
    expect(Array.from(rf.x.dataSync())).toEqual(Array.from(x.dataSync()));
    expect(Array.from(rf.eps.dataSync())).toEqual(Array.from(ind.eps.dataSync()));
    expect(() => cfmBatch(x, 'reflow', 2, new Rng(8))).toThrow(/pairs \[x \| ε\] of 4 columns/);
    tf.dispose([x, ind.t, ind.eps, ot.t, ot.eps, pairs, rf.x, rf.eps, rf.t]);
  });
});

describe('save and load', () => {
  const unet = { arch: 'unet', image: { height: 8, width: 8, channels: 1 }, base: 8, multipliers: [1, 2], groups: 4 };
  for (const [name, config] of [
    [
      'MLP, OT coupling, σ_min 0.1',
      { format: 'nfdm-cfm/1', dim: 2, flow: { coupling: 'ot', sigmaMin: 0.1 }, velocity: { hidden: [8, 8] }, seed: 5 },
    ],
    ['U-Net on 8×8 images', { format: 'nfdm-cfm/1', dim: 64, velocity: { network: unet }, seed: 6 }],
  ] as const) {
    it(`${name}: config and weights round-trip; the loaded model has the same velocity`, () => {
      const model = createAnyModel(config as never) as CFMModel;
      const dir = mkdtempSync(join(tmpdir(), 'nfdm-cfm-'));
      const saved = saveAnyModel(model, dir);
      const loaded = loadAnyModel(dir) as CFMModel;
      expect(loaded).toBeInstanceOf(CFMModel);
      expect(anyModelConfig(loaded)).toEqual(saved);
      expect([loaded.coupling, loaded.sigmaMin]).toEqual([model.coupling, model.sigmaMin]);
      const z = new Rng(1).normalTensor([3, model.dim]) as tf.Tensor2D;
      const a = model.velocity(z, 0.3);
      const b = loaded.velocity(z, 0.3);
      expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
      tf.dispose([z, a, b]);
      model.dispose();
      loaded.dispose();
      rmSync(dir, { recursive: true, force: true });
    });
  }

  it('refuses bad configs naming the field', () => {
    const base = { format: 'nfdm-cfm/1', dim: 2 };
    expect(() => parseCFMConfig({ ...base, flow: { coupling: 'sinkhorn' } })).toThrow(/flow\.coupling/);
    expect(() => parseCFMConfig({ ...base, flow: { sigmaMin: 1 } })).toThrow(/flow\.sigmaMin: expected a number in \[0, 1\)/);
    expect(() => parseCFMConfig({ ...base, velocity: { network: { ...unet } } })).toThrow(/velocity\.network\.image/);
    expect(() => parseCFMConfig({ ...base, extra: 1 })).toThrow(ModelConfigError);
  });
});

describe('training finds v*', () => {
  it('a short CFM training of a small MLP on N(1, 0.5²) approaches the closed-form velocity', () => {
    const g: Gaussian = { m: [1], s: 0.5, sigmaMin: 0 };
    const model = createAnyModel(parseCFMConfig({ format: 'nfdm-cfm/1', dim: 1, velocity: { hidden: [32, 32] }, seed: 1 })) as CFMModel;
    const task = cfmFamily.trainingTask(model, { kind: 'nelbo' });
    const variables = [...model.parameters().values()];
    const opt = tf.train.adam(1e-2);
    const data = new Rng(2);
    const noise = new Rng(3);
    for (let step = 0; step < 600; step++) {
      tf.tidy(() => {
        const x = tf.add(1, tf.mul(0.5, data.normalTensor([256, 1]))) as tf.Tensor2D;
        const { grads } = task.lossAndGrads(x, noise, variables, step);
        opt.applyGradients(grads as unknown as Record<string, tf.Variable>);
      });
    }
    let worst = 0;
    for (const tv of [0.2, 0.5, 0.8]) {
      const o = optimal(g, tv);
      const sd = Math.sqrt((1 - tv) ** 2 * g.s ** 2 + tv ** 2);
      const zs = [-1, -0.5, 0, 0.5, 1].map((k) => (1 - tv) * g.m[0] + k * sd);
      const v = tf.tidy(() => model.velocity(tf.tensor2d(zs, [5, 1]), tv).dataSync());
      zs.forEach((z, i) => {
        worst = Math.max(worst, Math.abs(v[i] - (o.alpha[0] + o.beta * z)));
      });
    }
    expect(worst).toBeLessThan(0.2);
    opt.dispose();
    model.dispose();
  }, 120_000);

  it('operations: sample is cfmSample with its trajectory from t = 1 to 0 and rising progress; logProb is cfmLogProb; forward paths end at x + σ_min ε and ε', () => {
    const model = createAnyModel(
      parseCFMConfig({ format: 'nfdm-cfm/1', dim: 2, flow: { sigmaMin: 0.1 }, velocity: { hidden: [8] }, seed: 3 }),
    ) as CFMModel;
    const ops = cfmFamily.operations;
    const fractions: number[] = [];
    const a = ops?.sample?.(model, 5, {
      mode: 'ode',
      solver: 'heun',
      steps: 6,
      seed: 2,
      trajectory: true,
      onProgress: (f) => fractions.push(f),
    });
    const b = cfmSample(model, { n: 5, solver: 'heun', steps: 6, seed: 2 });
    expect(Array.from(a?.samples.dataSync() ?? [])).toEqual(Array.from(b.samples.dataSync()));
    expect(a?.trajectory?.shape).toEqual([7, 5, 2]);
    expect([a?.times?.[0], a?.times?.[6]]).toEqual([1, 0]);
    expect(fractions.every((f, i) => f > (fractions[i - 1] ?? 0) && f <= 1 + 1e-12)).toBe(true);
    expect(fractions[fractions.length - 1]).toBeCloseTo(1, 12);
    const x = tf.tensor2d([0.3, -1, 1.2, 0.5], [2, 2]);
    const solve = { solver: 'rk4', steps: 8, rtol: 1e-4, atol: 1e-4, seed: 0 };
    expect(Array.from(ops?.logProb?.(model, x, solve).logp ?? [])).toEqual(Array.from(cfmLogProb(model, x, solve).logp));
    const eps = tf.tensor2d([0.1, 0.2, -0.3, 0.4], [2, 2]);
    const r = ops?.forwardTrajectories?.(model, x, 3, eps);
    const [first, , last] = tf.unstack(r?.paths as tf.Tensor3D);
    const blurred = tf.add(x, tf.mul(0.1, eps));
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(first, blurred))).dataSync()[0])).toBeLessThan(1e-6);
    expect(Array.from(last.dataSync())).toEqual(Array.from(eps.dataSync()));
    tf.dispose([a?.samples ?? [], a?.trajectory ?? [], b.samples, x, eps, r?.paths ?? [], first, last, blurred]);
    model.dispose();
  });

  it('the descriptor: no NELBO, no SDE; sampling refuses mode "sde"', () => {
    expect(cfmFamily.capabilities.nelbo || cfmFamily.capabilities.sde).toBe(false);
    const model = createAnyModel(parseCFMConfig({ format: 'nfdm-cfm/1', dim: 2, velocity: { hidden: [4] } })) as CFMModel;
    expect(() => cfmFamily.operations?.sample?.(model, 2, { mode: 'sde', solver: 'euler', seed: 0 })).toThrow(/ODE only/);
    model.dispose();
  });
});
