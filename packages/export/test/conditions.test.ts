/**
 * Conditional models in ONNX (emit/condition.ts): every graph of a label- or vector-conditional
 * model (MLP and U-Net networks, NFDM / NDM forward processes conditioned on y, a fixed process)
 * equals the tfjs model with the same condition rows, null rows (label K, a NaN row) included —
 * predictor x̂(z, t, y), forward μ, σ, μ̇, σ̇ of F(·, y), the guided velocity and reverse drift of
 * models' guidance.ts at w = 0 and w = 2, and the exact divergence of the unguided field (the
 * integrand of log p(x | y)); the Loop samplers reproduce DiffusionModel.sample with a
 * condition and guidance; the metadata records the condition; every file is structurally valid
 * and runs.
 */
import { rmSync } from 'node:fs';
import { divergence, initBackend } from '@nfdm/core';
import { type DiffusionModel, guidedReverseDrift, guidedVelocity } from '@nfdm/models';
import { loadOnnxModel, readOnnxMetadata } from '@nfdm/runtime';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  exportDrift,
  exportForwardProcess,
  exportOnnx,
  exportPredictor,
  exportVelocity,
  exportVelocityDivergence,
  exportVolatility,
} from '../src/export.js';
import { CONDITION_CASES, type ConditionCase } from './cases.js';
import {
  checkOnnxFiles,
  expectClose,
  exportDir,
  f32,
  makeModel,
  printErrorLog,
  randomInputs,
  runOnnx,
  saveFile,
  smallConfig,
} from './helpers.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const dir = exportDir();
const files: string[] = [];
const N = 5;
const WEIGHTS = [0, 2];

afterAll(() => {
  printErrorLog('conditional ONNX vs tfjs');
  rmSync(dir, { recursive: true, force: true });
});

/** tfjs values of every graph at per-sample times with the conditions y [N, w]. */
function reference(m: DiffusionModel, zArr: Float32Array, tArr: Float32Array, yArr: number[]) {
  const D = m.dim;
  return tf.tidy(() => {
    const z = tf.tensor2d(zArr, [N, D]);
    const t = tf.tensor2d(tArr, [N, 1]);
    const y = tf.tensor2d(yArr, [N, yArr.length / N]);
    const read = (x: tf.Tensor) => Float32Array.from(x.dataSync());
    const fp = m.forward.params(z, t, 1, y); // the forward graph evaluated at x = z
    const guided = WEIGHTS.map((gw) => ({
      velocity: read(guidedVelocity(m, z, t, y, gw)),
      drift: read(guidedReverseDrift(m, z, t, y, gw)),
    }));
    const div = D <= 16 ? divergence((_t, zz) => guidedVelocity(m, zz, t, y, 0), 0, z).divergence : tf.zeros([0]);
    return {
      xhat: read(m.predictor.predict(z, t, y)),
      mu: read(fp.mu),
      sigma: read(tf.mul(fp.sigma, tf.onesLike(fp.mu))),
      dmu: read(fp.dmu as tf.Tensor),
      dsigma: read(tf.mul(fp.dsigma as tf.Tensor, tf.onesLike(fp.mu))),
      g: read(tf.sqrt(m.volatility.g2(t))),
      guided,
      divergence: read(div),
    };
  });
}

/** A [N, w] output broadcast to [N, D] (σ of fixed schedules and NDM is one column). */
function widen(x: Float32Array, D: number): Float32Array {
  if (x.length === N * D) return x;
  return Float32Array.from({ length: N * D }, (_, i) => x[Math.floor(i / D)]);
}

async function checkGraphs(c: ConditionCase): Promise<void> {
  const m = c.make();
  const D = m.dim;
  const { z, t } = randomInputs(N, D, 0.05, 1, 3);
  t[0] = 1;
  const ref = reference(m, z, t, c.y);
  const condition = f32(Float32Array.from(c.y), [N, c.y.length / N]);
  const feeds = { z: f32(z, [N, D]), t: f32(t, [N, 1]), condition };
  const save = (name: string, bytes: Uint8Array) => {
    files.push(saveFile(dir, `${c.label.replace(/[^a-z0-9]+/gi, '_')}.${name}.onnx`, bytes));
    return bytes;
  };
  const predictor = save('predictor', exportPredictor(m));
  expect(readOnnxMetadata(predictor).condition).toEqual(
    m.condition?.spec.kind === 'label' ? { kind: 'label', classes: 3 } : { kind: 'vector', dim: 2 },
  );
  expectClose(`${c.label}: x̂(z, t, y)`, (await runOnnx(predictor, feeds)).xhat, ref.xhat);
  const forwardBytes = save('forward', exportForwardProcess(m));
  const forwardInputs = readOnnxMetadata(forwardBytes).signature.inputs.map((s) => s.name);
  expect(forwardInputs).toEqual(m.forward.conditioned ? ['x', 't', 'condition'] : ['x', 't']);
  const fwd = await runOnnx(forwardBytes, { x: feeds.z, t: feeds.t, ...(m.forward.conditioned ? { condition } : {}) });
  expectClose(`${c.label}: μ(x, t, y)`, fwd.mu, ref.mu);
  expectClose(`${c.label}: σ(x, t, y)`, widen(fwd.sigma, D), ref.sigma);
  expectClose(`${c.label}: ∂μ/∂t`, fwd.dmu, ref.dmu);
  expectClose(`${c.label}: ∂σ/∂t`, widen(fwd.dsigma, D), ref.dsigma);
  expectClose(`${c.label}: volatility`, (await runOnnx(save('volatility', exportVolatility(m)), { t: feeds.t })).g, ref.g);
  const velocityBytes = save('velocity', exportVelocity(m));
  const driftBytes = save('drift', exportDrift(m));
  for (const [i, w] of WEIGHTS.entries()) {
    const guidance = f32(Float32Array.of(w), [1]);
    const v = await runOnnx(velocityBytes, { ...feeds, guidance });
    expectClose(`${c.label}: guided velocity, w = ${w}`, v.velocity, ref.guided[i].velocity);
    const d = await runOnnx(driftBytes, { ...feeds, guidance });
    expectClose(`${c.label}: guided reverse drift, w = ${w}`, d.drift, ref.guided[i].drift);
  }
  // w = 2 moves the field: the comparison above is not that of the w = 0 field twice.
  const moved = ref.guided[1].velocity.some((v, i) => Math.abs(v - ref.guided[0].velocity[i]) > 1e-2);
  expect(moved).toBe(true);
  if (ref.divergence.length > 0) {
    const vd = await runOnnx(save('velocity_divergence', exportVelocityDivergence(m)), feeds);
    expectClose(`${c.label}: velocity (divergence graph)`, vd.velocity, ref.guided[0].velocity);
    const scale = Math.max(...ref.divergence.map(Math.abs), 1);
    expectClose(`${c.label}: exact divergence of f(z, t, y)`, vd.divergence, ref.divergence, 2e-5 * scale, 1e-4);
  }
  m.dispose();
}

describe('conditional models: every graph equals tfjs (labels, vectors, null rows, w = 0 and 2)', () => {
  for (const c of CONDITION_CASES) it(c.label, () => checkGraphs(c));
});

describe('conditional samplers', () => {
  for (const c of [CONDITION_CASES[0], CONDITION_CASES[1], CONDITION_CASES[4]]) {
    it(`${c.label}: the Loop graphs reproduce DiffusionModel.sample with a condition and guidance`, async () => {
      const m = c.make();
      const samplers = [
        { solver: 'heun', mode: 'ode' },
        { solver: 'euler', mode: 'sde' },
      ] as const;
      const exported = exportOnnx(m, { components: false, samplers: [...samplers] });
      for (const [name, bytes] of Object.entries(exported.graphs))
        files.push(saveFile(dir, `sampler.${c.label.slice(0, 8)}.${name}.onnx`, bytes as Uint8Array));
      const rt = await loadOnnxModel(exported, { intraOpNumThreads: 1 });
      const width = c.y.length / N;
      try {
        for (const [solver, mode, core] of [
          ['heun', 'ode', 'heun'],
          ['euler-maruyama', 'sde', 'euler_maruyama'],
        ] as const) {
          const byWeight: Float32Array[] = [];
          for (const w of WEIGHTS) {
            const y = tf.tensor2d(c.y, [N, width]);
            const r = m.sample({ n: N, steps: 6, solver: core, mode, seed: 4, condition: y, guidance: w });
            const ref = Float32Array.from(r.samples.dataSync());
            r.samples.dispose();
            y.dispose();
            const rows = width === 1 ? c.y : Array.from({ length: N }, (_, i) => c.y.slice(i * width, (i + 1) * width));
            const loop = await rt.sample({ n: N, steps: 6, solver, mode, seed: 4, engine: 'loop', condition: rows, guidance: w });
            expectClose(`${c.label}: ${solver}/${mode} w = ${w} Loop graph vs DiffusionModel.sample`, loop.samples, ref, 1e-4, 1e-3);
            const stepwise = await rt.sample({ n: N, steps: 6, solver, mode, seed: 4, condition: rows, guidance: w });
            expectClose(`${c.label}: ${solver}/${mode} w = ${w} stepwise vs DiffusionModel.sample`, stepwise.samples, ref, 1e-4, 1e-3);
            byWeight.push(loop.samples);
          }
          // A null row is the unconditional model whatever w (x̂_w = x̂(∅)); the others move with w.
          const D = m.dim;
          for (let i = 0; i < N; i++) {
            const row = (k: number) => byWeight[k].subarray(i * D, (i + 1) * D);
            const isNull = c.y.slice(i * width, (i + 1) * width).some((v) => Number.isNaN(v) || (width === 1 && v === 3));
            if (isNull) expectClose(`${c.label}: ${solver}/${mode} null row ${i}, w = 2 vs w = 0`, row(1), row(0), 1e-4, 1e-3);
            else expect(row(1).some((v, d) => Math.abs(v - row(0)[d]) > 1e-3)).toBe(true);
          }
        }
      } finally {
        await rt.dispose();
      }
      m.dispose();
    });
  }

  // ~40 graphs, U-Net samplers among them: about 20 s alone, minutes on a loaded 2-core machine.
  it('every exported file is structurally valid and runs', async () => {
    await checkOnnxFiles(files);
  }, 300_000);
});

describe('runtime: conditions and guidance', () => {
  it('log p(x | y) (rk4 × 12) equals DiffusionModel.logProb with the same conditions, null rows included', async () => {
    for (const c of [CONDITION_CASES[0], CONDITION_CASES[3]]) {
      const m = c.make();
      const D = m.dim;
      const x = randomInputs(N, D, 0, 1, 9).z;
      const width = c.y.length / N;
      const ref = tf.tidy(
        () => m.logProb(tf.tensor2d(x, [N, D]), { solver: 'rk4', steps: 12, condition: tf.tensor2d(c.y, [N, width]) }).logp,
      );
      const rt = await loadOnnxModel(exportOnnx(m, { components: false, samplers: [] }), { intraOpNumThreads: 1 });
      try {
        const got = await rt.logProb(x, { steps: 12, solver: 'rk4', condition: Float32Array.from(c.y), space: 'model' });
        expectClose(`${c.label}: log p(x | y) rk4 × 12 vs DiffusionModel.logProb`, got.logp, ref);
        // Another condition gives another density (the condition reaches the divergence graph).
        const other = await rt.logProb(x, { steps: 12, solver: 'rk4', condition: width === 1 ? 1 : [0.1, 0.2], space: 'model' });
        expect(Array.from(other.logp)).not.toEqual(Array.from(got.logp));
      } finally {
        await rt.dispose();
      }
      m.dispose();
    }
  });

  it('clear RangeErrors: a missing or ill-shaped condition, labels out of range, guidance for an unconditional model or non-finite', async () => {
    const labelled = CONDITION_CASES[0].make();
    const vectors = CONDITION_CASES[1].make();
    const plain = makeModel(smallConfig({ forward: { kind: 'nfdm', hidden: [8] } }));
    const load = (m: DiffusionModel) => loadOnnxModel(exportOnnx(m, { components: false, samplers: [] }), { intraOpNumThreads: 1 });
    const [lab, vec, unc] = await Promise.all([load(labelled), load(vectors), load(plain)]);
    try {
      expect(lab.condition).toEqual({ kind: 'label', classes: 3 });
      expect(vec.condition).toEqual({ kind: 'vector', dim: 2 });
      expect(unc.condition).toBeUndefined();
      const base = { n: 2, steps: 2, seed: 1 };
      const rejects = (p: Promise<unknown>, message: RegExp) =>
        expect(p).rejects.toThrow(expect.objectContaining({ name: 'OnnxConditionError', message: expect.stringMatching(message) }));
      await expect(lab.sample(base)).rejects.toBeInstanceOf(RangeError);
      await rejects(lab.sample(base), /conditional: give a condition/);
      await rejects(lab.sample({ ...base, labels: 4 }), /labels must be integers in 0…3 .* got 4/);
      await rejects(lab.sample({ ...base, labels: [0, 1.5] }), /got 1.5/);
      await rejects(lab.sample({ ...base, labels: [-1, 0] }), /got -1/);
      await rejects(lab.sample({ ...base, labels: [0, 1, 2] }), /3 rows for 2 samples/);
      await rejects(lab.sample({ ...base, labels: 1, condition: 1 }), /not both/);
      await rejects(lab.sample({ ...base, labels: 1, guidance: Number.NaN }), /finite number/);
      await rejects(lab.sample({ ...base, labels: 1, guidance: Number.POSITIVE_INFINITY }), /finite number/);
      await rejects(vec.sample({ ...base, condition: [1, 2, 3] }), /multiple of 2 values/);
      await rejects(vec.sample({ ...base, condition: [[1, 2, 3]] }), /row 0 has 3 values/);
      await rejects(vec.sample({ ...base, condition: [1, Number.POSITIVE_INFINITY] }), /infinite/);
      await rejects(vec.sample({ ...base, labels: 1 }), /not labels/);
      await rejects(unc.sample({ ...base, condition: 1 }), /unconditional/);
      await rejects(unc.sample({ ...base, guidance: 1 }), /needs a conditional model/);
      await rejects(unc.logProb([[0, 0]], { condition: 1 }), /unconditional/);
      await rejects(lab.logProb([[0, 0]]), /conditional: give a condition/);
      await rejects(lab.velocity(Float32Array.of(0, 0), 0.5, { condition: 1, guidance: Number.NaN }), /finite number/);
      expect((await unc.sample({ ...base, guidance: 0 })).samples.length).toBe(4);
      expect((await vec.sample({ ...base, condition: [Number.NaN, 0] })).samples.length).toBe(4);
    } finally {
      await Promise.all([lab.dispose(), vec.dispose(), unc.dispose()]);
      for (const m of [labelled, vectors, plain]) m.dispose();
    }
  });
});
