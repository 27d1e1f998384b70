/**
 * Golden values of the flow-matching losses from PyTorch (bench/cfm_reference.py, float64 on
 * float32 inputs): CFM at σ_min = 0 and 0.1 with the gradient of the first layer's weight, and
 * OT-CFM with the coupling found by brute force over all 8! permutations. The test only reads the
 * committed fixture test/fixtures/cfm_golden.json.
 */
import { readFileSync } from 'node:fs';
import { initBackend, type TimeMLP } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { CFMModel, cfmLoss, otCouple, otPermutation } from '../src/index.js';

interface Golden {
  layers: { weight: number[][]; bias: number[] }[];
  x: number[][];
  eps: number[][];
  t: number[][];
  cfm: { sigmaMin: number; loss: number; gradW1: number[][] }[];
  ot: { perm: number[]; cost: number; independentCost: number; loss: number; gradW1: number[][] };
}
const golden = JSON.parse(readFileSync(new URL('./fixtures/cfm_golden.json', import.meta.url), 'utf8')) as Golden;

beforeAll(async () => {
  await initBackend('wasm');
});

function model(sigmaMin: number): CFMModel {
  const m = new CFMModel({ dim: 2, sigmaMin, hidden: [16, 16] });
  (m.net as TimeMLP).net.loadTorchLinear(golden.layers);
  return m;
}

/** The loss and its gradient with respect to the first layer's weight, in torch's layout [out, in]. */
function lossAndGrad(m: CFMModel, eps: tf.Tensor2D): { loss: number; grad: number[][] } {
  const x = tf.tensor2d(golden.x);
  const t = tf.tensor2d(golden.t);
  const w = (m.net as TimeMLP).net.layers[0].weight;
  const r = tf.variableGrads(() => cfmLoss(m, { x, eps, t }), [w]);
  const loss = r.value.dataSync()[0];
  const grad = tf.transpose(r.grads[w.name]).arraySync() as number[][];
  tf.dispose([x, t, r.value, ...Object.values(r.grads)]);
  return { loss, grad };
}

function expectClose(actual: number[][], expected: number[][], tol: number): void {
  const flat = (a: number[][]) => a.flat();
  const e = flat(expected);
  const scale = Math.max(...e.map(Math.abs));
  const worst = Math.max(...flat(actual).map((v, i) => Math.abs(v - e[i])));
  expect(worst).toBeLessThan(tol * scale);
}

describe('flow-matching losses against PyTorch', () => {
  for (const c of golden.cfm) {
    it(`CFM loss and gradient at σ_min = ${c.sigmaMin}`, () => {
      const m = model(c.sigmaMin);
      const eps = tf.tensor2d(golden.eps);
      const r = lossAndGrad(m, eps);
      expect(Math.abs(r.loss - c.loss)).toBeLessThan(1e-5 * Math.abs(c.loss));
      expectClose(r.grad, c.gradW1, 1e-4);
      eps.dispose();
      m.dispose();
    });
  }

  it('OT-CFM: the LAPJV coupling is the brute-force optimal permutation, and the loss matches', () => {
    const x = tf.tensor2d(golden.x);
    const eps = tf.tensor2d(golden.eps);
    expect(Array.from(otPermutation(x, eps))).toEqual(golden.ot.perm);
    expect(golden.ot.cost).toBeLessThan(golden.ot.independentCost);
    const coupled = otCouple(x, eps);
    const m = model(0);
    const r = lossAndGrad(m, coupled);
    expect(Math.abs(r.loss - golden.ot.loss)).toBeLessThan(1e-5 * Math.abs(golden.ot.loss));
    expectClose(r.grad, golden.ot.gradW1, 1e-4);
    tf.dispose([x, eps, coupled]);
    m.dispose();
  });
});
