/**
 * Golden values from the PyTorch reference (shared/bench/torch_reference.py, float64), for the
 * reference configuration with the learned (NFDM) and the fixed FM-OT forward process: every
 * intermediate of the loss, the loss, its parameter gradients, velocities, divergences and the
 * exact NLL of 16 points by RK4 (200 steps, t = 0 → 1).
 */
import { readFileSync } from 'node:fs';
import { divergence, initBackend, logDensityODE, type MLP, type TimeMLP } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DiffusionModel, diffusionTerms, FixedGaussianProcess, NeuralGaussianProcess, NeuralVolatility, Predictor } from '../src/index.js';

type Linear = { weight: number[][]; bias: number[] };
interface GoldenCase {
  weights: Record<string, Linear[]>;
  inputs: { x: number[][]; t: number[][]; eps: number[][] };
  intermediates: Record<string, number[][]>;
  loss: number;
  grads: Record<string, Linear[]>;
  velocity_check: { z: number[][]; t: number; velocity: number[][]; divergence: number[] };
  ode_nll_check: { points: number[][]; rk4_steps: number; mean_nll_nats: number };
}
const golden = JSON.parse(readFileSync(new URL('./fixtures/nfdm_golden.json', import.meta.url), 'utf8')) as {
  cases: Record<'neural' | 'fixed', GoldenCase>;
};

beforeAll(async () => {
  await initBackend('wasm');
});

function build(kind: 'neural' | 'fixed', c: GoldenCase): DiffusionModel {
  const forward =
    kind === 'neural' ? new NeuralGaussianProcess({ dim: 2 }) : new FixedGaussianProcess(2, { name: 'fm-ot', sigmaMin: 0.01 });
  if (forward instanceof NeuralGaussianProcess) (forward.net as TimeMLP).net.loadTorchLinear(c.weights.forward);
  const predictor = new Predictor({ dim: 2 });
  (predictor.net as TimeMLP).net.loadTorchLinear(c.weights.predictor);
  const volatility = new NeuralVolatility();
  volatility.net.net.loadTorchLinear(c.weights.volatility);
  return new DiffusionModel(forward, predictor, volatility);
}

function maxRelErr(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number): number {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / (atol + Math.abs(expected[i])));
  return worst;
}

/** ‖a − e‖₂ / ‖e‖₂ over a whole tensor. */
function normRelErr(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < expected.length; i++) {
    num += (actual[i] - expected[i]) ** 2;
    den += expected[i] ** 2;
  }
  return Math.sqrt(num / den);
}

const nets = (m: DiffusionModel): Record<string, MLP | null> => ({
  forward: m.forward instanceof NeuralGaussianProcess ? (m.forward.net as TimeMLP).net : null,
  predictor: ((m.predictor as Predictor).net as TimeMLP).net,
  volatility: (m.volatility as NeuralVolatility).net.net,
});

for (const kind of ['neural', 'fixed'] as const) {
  describe(`golden values: ${kind === 'neural' ? 'NFDM (learned forward process)' : 'fixed FM-OT'}`, () => {
    const c = golden.cases[kind];
    const names: Array<[string, string]> = [
      ['z', 'z'],
      ['g', 'g'],
      ['fTrue', 'f_true'],
      ['xhat', 'xhat'],
      ['fPred', 'f_pred'],
    ];

    it('every intermediate, the per-sample loss and the loss (rtol 1e-4)', () => {
      const model = build(kind, c);
      const out = tf.tidy(() => {
        const x = tf.tensor2d(c.inputs.x);
        const noise = { t: tf.tensor2d(c.inputs.t), eps: tf.tensor2d(c.inputs.eps) };
        const terms = diffusionTerms(model, x, noise);
        const p = model.forward.params(x, noise.t, 1);
        const sigma = tf.mul(p.sigma, tf.onesLike(x));
        const dsigma = tf.mul(p.dsigma as tf.Tensor, tf.onesLike(x));
        const read = (t: tf.Tensor) => Array.from(t.dataSync());
        return {
          mu: read(p.mu),
          sigma: read(sigma),
          dmu_dt: read(p.dmu as tf.Tensor),
          dsigma_dt: read(dsigma),
          z: read(terms.z),
          g: read(tf.sqrt(terms.g2)),
          fTrue: read(terms.fTrue),
          xhat: read(terms.xhat),
          fPred: read(terms.fPred),
          per: read(terms.perSample),
          loss: tf.mean(terms.perSample).dataSync()[0],
        };
      });
      for (const key of ['mu', 'sigma', 'dmu_dt', 'dsigma_dt'] as const) {
        expect(maxRelErr(out[key], c.intermediates[key].flat(), 1e-4), key).toBeLessThan(1e-4);
      }
      for (const [ours, theirs] of names) {
        expect(maxRelErr(out[ours as keyof typeof out] as number[], c.intermediates[theirs].flat(), 1e-4), ours).toBeLessThan(1e-4);
      }
      expect(maxRelErr(out.per, c.intermediates.per_sample_loss.flat(), 1e-4)).toBeLessThan(1e-4);
      expect(Math.abs(out.loss - c.loss) / Math.abs(c.loss)).toBeLessThan(1e-4);
      model.dispose();
    });

    it('the gradient of the loss for every parameter (relative error ≤ 1e-3 per tensor)', () => {
      const model = build(kind, c);
      const byNet = nets(model);
      const variables: tf.Variable[] = [];
      for (const net of Object.values(byNet)) if (net) for (const l of net.layers) variables.push(l.weight, l.bias);
      const grads = tf.tidy(() => {
        const x = tf.tensor2d(c.inputs.x);
        const noise = { t: tf.tensor2d(c.inputs.t), eps: tf.tensor2d(c.inputs.eps) };
        const { grads: g } = tf.variableGrads(() => model.loss(x, noise) as tf.Scalar, variables);
        return Object.fromEntries(variables.map((v) => [v.name, Array.from(g[v.name].dataSync())]));
      });
      let checked = 0;
      for (const [name, net] of Object.entries(byNet)) {
        if (!net) continue;
        net.layers.forEach((layer, i) => {
          const ref = c.grads[name][i];
          // PyTorch weight grads are [out][in]; ours are [in, out].
          const refW = ref.weight[0].flatMap((_, inIdx) => ref.weight.map((row) => row[inIdx]));
          expect(normRelErr(grads[layer.weight.name], refW), `${name}.${i}.weight`).toBeLessThan(1e-3);
          expect(normRelErr(grads[layer.bias.name], ref.bias), `${name}.${i}.bias`).toBeLessThan(1e-3);
          checked++;
        });
      }
      expect(checked).toBe(kind === 'neural' ? 15 : 10);
      model.dispose();
    });

    it('probability-flow velocity and its exact divergence at given points', () => {
      const model = build(kind, c);
      const { z, t, velocity, divergence: div } = c.velocity_check;
      const [v, d] = tf.tidy(() => {
        const zt = tf.tensor2d(z);
        const vel = model.velocity(zt, t);
        const res = divergence((tt, y) => model.velocity(y as tf.Tensor2D, tt), t, zt, { method: 'exact' });
        return [Array.from(vel.dataSync()), Array.from(res.divergence.dataSync())];
      });
      expect(maxRelErr(v, velocity.flat(), 1e-3)).toBeLessThan(1e-3);
      expect(maxRelErr(d, div, 1e-2)).toBeLessThan(1e-3);
      model.dispose();
    });

    it('exact NLL of 16 points by RK4 with 200 steps (rtol 1e-3)', () => {
      const model = build(kind, c);
      const { points, rk4_steps, mean_nll_nats } = c.ode_nll_check;
      const x = tf.tensor2d(points);
      const res = logDensityODE({
        field: (tt, y) => model.velocity(y as tf.Tensor2D, tt),
        x,
        t0: 0,
        t1: 1,
        solver: 'rk4',
        steps: rk4_steps,
      });
      const nll = -tf.mean(res.logp).dataSync()[0];
      tf.dispose([x, res.logp, res.z, res.deltaLogp, res.priorLogp]);
      expect(Math.abs(nll - mean_nll_nats) / Math.abs(mean_nll_nats)).toBeLessThan(1e-3);
      model.dispose();
    });
  });
}
