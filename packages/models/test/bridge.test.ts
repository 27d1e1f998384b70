/**
 * NFBM (docs/maths/bridges.md): the two-sided forward process, its boundary conditions and time
 * derivatives, the obstacle path penalty and its gradient, and a seeded training run in which
 * the obstacle penalty keeps forward and generated trajectories out of a central disc.
 */
import { initBackend, Rng, trainableVariables } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { BridgeModel, BridgePredictor, BridgeProcess, fractionInside, NeuralVolatility, obstaclePenalty } from '../src/index.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const D = 2;

function column(b: number, t: number): tf.Tensor {
  return tf.fill([b, 1], t);
}

describe('BridgeProcess', () => {
  it('meets the boundary conditions exactly: μ = x0, x1 and σ = δ at t = 0, 1', () => {
    const before = tf.memory().numTensors;
    const proc = new BridgeProcess({ dim: D, delta: 0.05, hidden: [16, 16], rng: 3 });
    const netTensors = tf.memory().numTensors - before;
    tf.tidy(() => {
      const rng = new Rng(4);
      const x0 = rng.normalTensor([8, D]);
      const x1 = tf.add(rng.normalTensor([8, D]), 3);
      const p0 = proc.params(x0, x1, column(8, 0), 1);
      const p1 = proc.params(x0, x1, column(8, 1), 1);
      expect(Array.from(p0.mu.dataSync())).toEqual(Array.from(x0.dataSync()));
      expect(Array.from(p1.mu.dataSync())).toEqual(Array.from(x1.dataSync()));
      const delta = Math.fround(0.05);
      for (const s of [...p0.sigma.dataSync(), ...p1.sigma.dataSync()]) expect(s).toBe(delta);
      // Not trivially so in between.
      const ph = proc.params(x0, x1, column(8, 0.5), 0);
      expect(Math.max(...Array.from(tf.abs(tf.sub(ph.sigma, delta)).dataSync()))).toBeGreaterThan(1e-4);
    });
    proc.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(netTensors).toBeGreaterThan(0);
  });

  it('first (and second) t-derivatives match central finite differences', () => {
    const proc = new BridgeProcess({ dim: D, hidden: [16, 16], activation: 'tanh', rng: 5 });
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const rng = new Rng(6);
      const B = 6;
      const x0 = rng.normalTensor([B, D]);
      const x1 = rng.normalTensor([B, D]);
      const t = rng.uniformTensor([B, 1], 0.1, 0.9);
      const h = 1e-2;
      const p = proc.params(x0, x1, t, 2);
      const pp = proc.params(x0, x1, tf.add(t, h), 0);
      const pm = proc.params(x0, x1, tf.sub(t, h), 0);
      const fdMu = tf.div(tf.sub(pp.mu, pm.mu), 2 * h);
      const fdSigma = tf.div(tf.sub(pp.sigma, pm.sigma), 2 * h);
      const fd2Mu = tf.div(tf.add(tf.sub(pp.mu, tf.mul(2, p.mu)), pm.mu), h * h);
      const maxErr = (a: tf.Tensor, b: tf.Tensor) => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
      const scale = (a: tf.Tensor) => Math.max(1, tf.max(tf.abs(a)).dataSync()[0]);
      expect(maxErr(p.dmu as tf.Tensor, fdMu)).toBeLessThan(2e-3 * scale(fdMu));
      expect(maxErr(p.dsigma as tf.Tensor, fdSigma)).toBeLessThan(1e-4);
      expect(maxErr(p.d2mu as tf.Tensor, fd2Mu)).toBeLessThan(5e-2 * scale(fd2Mu));
    });
    expect(tf.memory().numTensors).toBe(before);
    proc.dispose();
  });
});

describe('obstaclePenalty', () => {
  const center = [0.5, -0.25];
  const radius = 1;
  const weight = 3;
  const pen = obstaclePenalty({ center, radius, weight });
  // Two points inside, two outside.
  const pts = [
    [0.9, 0.1],
    [0.0, -0.5],
    [2.0, 1.0],
    [-1.5, -0.25],
  ];

  it('has value w·relu(r − ‖z − c‖)² and gradient −2w(r − ‖z − c‖)(z − c)/‖z − c‖ inside, 0 outside', () => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const z = tf.tensor2d(pts);
      const t = column(pts.length, 0.5);
      const value = pen(z, t).dataSync();
      const grad = tf
        .grad((zz: tf.Tensor) => tf.sum(pen(zz, t)))(z)
        .dataSync();
      pts.forEach(([x, y], i) => {
        const dx = x - center[0];
        const dy = y - center[1];
        const n = Math.hypot(dx, dy);
        const depth = Math.max(0, radius - n);
        expect(value[i]).toBeCloseTo(weight * depth * depth, 5);
        const gx = depth > 0 ? (-2 * weight * depth * dx) / n : 0;
        const gy = depth > 0 ? (-2 * weight * depth * dy) / n : 0;
        expect(grad[2 * i]).toBeCloseTo(gx, 4);
        expect(grad[2 * i + 1]).toBeCloseTo(gy, 4);
      });
      expect(value[2]).toBe(0);
      expect(Math.abs(grad[4])).toBe(0);
      expect(Math.abs(grad[5])).toBe(0);
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('fractionInside counts points of a [T, B, D] trajectory', () => {
    const traj = tf.tensor3d([pts, pts]);
    expect(fractionInside(traj, { center, radius })).toBe(0.5);
    traj.dispose();
  });
});

/** Paired toy data: source x1 ~ N((−3, 0), 0.3²), target x0 ~ N((3, 0), 0.3²). */
function pairs(rng: Rng, batch: number): { x0: tf.Tensor; x1: tf.Tensor } {
  const x0 = new Float32Array(batch * 2);
  const x1 = new Float32Array(batch * 2);
  for (let i = 0; i < batch; i++) {
    x0[2 * i] = 3 + 0.3 * rng.normal();
    x0[2 * i + 1] = 0.3 * rng.normal();
    x1[2 * i] = -3 + 0.3 * rng.normal();
    x1[2 * i + 1] = 0.3 * rng.normal();
  }
  return { x0: tf.tensor2d(x0, [batch, 2]), x1: tf.tensor2d(x1, [batch, 2]) };
}

const OBSTACLE = { center: [0, 0], radius: 1 };
const STEPS = Number(process.env.BRIDGE_STEPS ?? 300);
const SAMPLE_STEPS = 50;
const TIMES = Array.from({ length: 21 }, (_, i) => i / 20);

function trainAndMeasure(withPenalty: boolean) {
  const penalties = withPenalty ? [obstaclePenalty({ ...OBSTACLE, weight: Number(process.env.BRIDGE_W ?? 100) })] : [];
  const model = new BridgeModel(
    new BridgeProcess({ dim: D, delta: 0.1, hidden: [32, 32], rng: 1 }),
    new BridgePredictor({ dim: D, hidden: [32, 32], rng: 2 }),
    new NeuralVolatility({ hidden: [32, 32], floor: 1e-3, rng: 3 }),
    penalties,
  );
  const variables = trainableVariables(model);
  const optimizer = tf.train.adam(Number(process.env.BRIDGE_LR ?? 3e-3));
  const rng = new Rng(7);
  const losses: number[] = [];
  const counts: number[] = [];
  for (let step = 0; step < STEPS; step++) {
    const loss = tf.tidy(() => {
      const { x0, x1 } = pairs(rng, 128);
      return optimizer.minimize(() => model.loss(x0, x1, model.drawNoise(rng, 128)), true, variables) as tf.Scalar;
    });
    losses.push(loss.dataSync()[0]);
    loss.dispose();
    counts.push(tf.memory().numTensors);
  }
  const evalRng = new Rng(11);
  const { x0, x1 } = pairs(evalRng, 200);
  const eps = evalRng.normalTensor([200, D]);
  const fwd = model.forwardTrajectories(x0, x1, TIMES, eps);
  const forward = fractionInside(fwd, OBSTACLE);
  const ode = model.sample(x1, { mode: 'ode', steps: SAMPLE_STEPS, trajectory: true, seed: 5 });
  const generated = fractionInside(ode.trajectory as tf.Tensor, OBSTACLE);
  const endMean = tf.tidy(() => Array.from(tf.mean(ode.samples, 0).dataSync()));
  const sde = model.sample(x1, { mode: 'sde', steps: SAMPLE_STEPS, trajectory: true, seed: 6 });
  const generatedSde = fractionInside(sde.trajectory as tf.Tensor, OBSTACLE);
  const sdeEndMean = tf.tidy(() => Array.from(tf.mean(sde.samples, 0).dataSync()));
  tf.dispose([x0, x1, eps, fwd, ode.samples, ode.trajectory as tf.Tensor, sde.samples, sde.trajectory as tf.Tensor]);
  optimizer.dispose();
  model.dispose();
  return { forward, generated, generatedSde, endMean, sdeEndMean, losses, counts };
}

describe('NFBM training with an obstacle (seeded)', () => {
  it('the obstacle penalty keeps forward and generated trajectories out of the disc', () => {
    const before = tf.memory().numTensors;
    const t0 = Date.now();
    const plain = trainAndMeasure(false);
    const avoid = trainAndMeasure(true);
    const fmt = (r: typeof plain) =>
      `forward ${r.forward.toFixed(3)}, generated ODE ${r.generated.toFixed(3)}, SDE ${r.generatedSde.toFixed(3)}, ` +
      `ODE endpoint mean (${r.endMean.map((v) => v.toFixed(2))}), SDE (${r.sdeEndMean.map((v) => v.toFixed(2))}), ` +
      `loss first/last 20 ${mean(r.losses.slice(0, 20)).toFixed(2)}/${mean(r.losses.slice(-20)).toFixed(2)}`;
    console.info(`[bridge] no penalty: ${fmt(plain)}`);
    console.info(`[bridge] obstacle:   ${fmt(avoid)}  (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    for (const r of [plain, avoid]) {
      expect(r.losses.every(Number.isFinite)).toBe(true);
      expect(new Set(r.counts.slice(1)).size).toBe(1);
    }
    expect(plain.forward).toBeGreaterThan(0.15);
    expect(avoid.forward).toBeLessThan(0.5 * plain.forward);
    expect(avoid.generated).toBeLessThan(0.5 * plain.generated);
    expect(avoid.generatedSde).toBeLessThan(0.5 * plain.generatedSde);
    // The endpoints still reach the target N((3, 0), 0.3²).
    for (const m of [plain.endMean, plain.sdeEndMean, avoid.endMean, avoid.sdeEndMean]) {
      expect(Math.hypot(m[0] - 3, m[1])).toBeLessThan(0.5);
    }
    expect(tf.memory().numTensors).toBe(before);
  }, 60_000);
});

function mean(a: number[]): number {
  return a.reduce((s, v) => s + v, 0) / a.length;
}
