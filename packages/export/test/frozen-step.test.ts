/**
 * Frozen-prediction ("DDIM") steps in ONNX (docs/maths/sampling.md#frozen-prediction-steps):
 * the `frozen_step` graph, z_s = μ(x̂, s) + σ(x̂, s) ⊙ (z − μ(x̂, t)) / σ(x̂, t) with x̂ = x̂_w(z, t, y)
 * frozen, equals models' frozenPredictionStep (tfjs) row by row at per-row times t > s (s = t₀
 * included) for a learned NFDM, a fixed VP, an NDM and conditional models with guidance w = 0
 * and 2; the one-call `sampler_ddim_ode` Loop graph and the runtime's stepwise solver (one
 * frozen_step call per step) reproduce `DiffusionModel.sample({ mode: 'ode', solver: 'ddim' })`
 * for the same seed; the runtime refuses 'ddim' in SDE mode, without the graph, for
 * flow-matching models and for bridges; every file passes the structural checks.
 */
import { rmSync } from 'node:fs';
import { initBackend, Rng } from '@nfdm/core';
import { type DiffusionModel, frozenPredictionStep } from '@nfdm/models';
import { loadExportedModel, loadOnnxBridge, loadOnnxModel, type OnnxModel, OnnxRuntimeError, readOnnxMetadata } from '@nfdm/runtime';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportBridgeOnnx } from '../src/bridge.js';
import { exportCFMOnnx } from '../src/cfm.js';
import { DEFAULT_SAMPLER_GRAPHS, exportFrozenStep, exportOnnx, exportSampler } from '../src/export.js';
import { CFM_CASES, CONDITION_CASES, type ConditionCase, cfmModel, MAIN_CASES, neuralBridge, UNET_CASES, unetModel } from './cases.js';
import { checkOnnxFiles, expectClose, exportDir, f32, makeModel, printErrorLog, runOnnx, saveFile, smallConfig } from './helpers.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const dir = exportDir();
const files: string[] = [];

afterAll(() => {
  printErrorLog('frozen-prediction steps: ONNX vs tfjs');
  rmSync(dir, { recursive: true, force: true });
});

const caseConfig = (label: string) => {
  const c = MAIN_CASES.find((x) => x.label === label);
  if (!c) throw new Error(`no case '${label}'`);
  return c.config;
};

/** Per-row times 1 ≥ t > s ≥ t₀ (row 0: t = 1; the last row: s = t₀) and z ~ N(0, 1.5²), [n, D]. */
function stepInputs(n: number, D: number, t0: number, seed: number) {
  const rng = new Rng(seed);
  const z = rng.normalArray(n * D, 0, 1.5);
  const a = rng.uniformArray(n, t0, 1);
  const b = rng.uniformArray(n, t0, 1);
  const t = Float32Array.from(a, (v, i) => Math.max(v, b[i]));
  const s = Float32Array.from(a, (v, i) => Math.min(v, b[i]));
  t[0] = 1;
  s[n - 1] = t0;
  return { z, t, s };
}

/** frozenPredictionStep of the tfjs model, one row at a time (its t and s are numbers), [n, D]. */
function reference(m: DiffusionModel, z: Float32Array, t: Float32Array, s: Float32Array, y: number[] | null, w: number): Float32Array {
  const D = m.dim;
  const n = t.length;
  const out = new Float32Array(n * D);
  for (let i = 0; i < n; i++) {
    tf.tidy(() => {
      const zi = tf.tensor2d(z.subarray(i * D, (i + 1) * D), [1, D]);
      const yi = y ? tf.tensor2d(y.slice((i * y.length) / n, ((i + 1) * y.length) / n), [1, y.length / n]) : null;
      out.set(frozenPredictionStep(m, zi, t[i], s[i], yi, w).dataSync(), i * D);
    });
  }
  return out;
}

/** The frozen_step graph of `m` against {@link reference} at per-row times (w = 0 and 2 for a conditional model). */
async function checkFrozenStep(label: string, m: DiffusionModel, y: number[] | null = null): Promise<void> {
  const D = m.dim;
  const spec = m.condition?.spec;
  const n = y ? y.length / (spec?.kind === 'vector' ? spec.dim : 1) : 12;
  const { z, t, s } = stepInputs(n, D, m.forward.start.t, 4);
  const bytes = exportFrozenStep(m);
  files.push(saveFile(dir, `${label.replace(/[^a-z0-9]+/gi, '_')}.frozen_step.onnx`, bytes));
  const meta = readOnnxMetadata(bytes);
  expect(meta.graph).toBe('frozen_step');
  expect(meta.signature.inputs.map((x) => x.name)).toEqual(y ? ['z', 't', 's', 'condition', 'guidance'] : ['z', 't', 's']);
  expect(meta.signature.outputs.map((x) => x.name)).toEqual(['z_s']);
  const feeds = { z: f32(z, [n, D]), t: f32(t, [n, 1]), s: f32(s, [n, 1]) };
  const refs: Float32Array[] = [];
  for (const w of y ? [0, 2] : [0]) {
    const cond: Record<string, ReturnType<typeof f32>> = y
      ? { condition: f32(Float32Array.from(y), [n, y.length / n]), guidance: f32(Float32Array.of(w), [1]) }
      : {};
    const ref = reference(m, z, t, s, y, w);
    refs.push(ref);
    expectClose(`${label}: frozen step z_t → z_s, w = ${w}`, (await runOnnx(bytes, { ...feeds, ...cond })).z_s, ref);
  }
  // the comparison is not vacuous: the step moves z, and guidance moves the step
  expect(refs[0].some((v, i) => Math.abs(v - z[i]) > 1e-2)).toBe(true);
  if (refs.length > 1) expect(refs[1].some((v, i) => Math.abs(v - refs[0][i]) > 1e-3)).toBe(true);
}

describe('the frozen_step graph equals frozenPredictionStep (tfjs)', () => {
  for (const label of ['nfdm selu', 'fixed vp', 'ndm linear-logsnr', 'nfdm gelu/tanh std']) {
    it(label, async () => {
      const m = makeModel(caseConfig(label));
      await checkFrozenStep(label, m);
      m.dispose();
    });
  }

  const conditional = (c: ConditionCase) => async () => {
    const m = c.make();
    await checkFrozenStep(c.label, m, c.y);
    m.dispose();
  };
  it(`U-Net ${UNET_CASES[0].label}`, async () => {
    const m = unetModel(UNET_CASES[0].config, 11);
    await checkFrozenStep('unet nfdm', m);
    m.dispose();
  });
  it(`${CONDITION_CASES[0].label}, guidance w = 0 and 2`, conditional(CONDITION_CASES[0]));
  it(`${CONDITION_CASES[1].label}, guidance w = 0 and 2`, conditional(CONDITION_CASES[1]));
});

const N = 24;
const STEPS = 12;

/** DiffusionModel.sample({ mode: 'ode', solver: 'ddim' }) in model space (labels: one per sample). */
function tfDdim(m: DiffusionModel, seed: number, labels: number[] | null = null, guidance = 0): Float32Array {
  const condition = labels ? tf.tensor2d(labels, [labels.length, 1]) : undefined;
  const n = labels ? labels.length : N;
  const r = m.sample({ n, steps: STEPS, mode: 'ode', solver: 'ddim', seed, condition, guidance });
  const out = Float32Array.from(r.samples.dataSync());
  r.samples.dispose();
  condition?.dispose();
  return out;
}

async function withRuntime(m: DiffusionModel, fn: (rt: OnnxModel) => Promise<void>): Promise<void> {
  const exported = exportOnnx(m, { components: false, samplers: [{ solver: 'ddim', mode: 'ode' }] });
  for (const [name, bytes] of Object.entries(exported.graphs)) {
    if (name === 'frozen_step' || name === 'sampler_ddim_ode')
      files.push(saveFile(dir, `rt.${m.forward.kind}.${m.dim}.${name}.onnx`, bytes as Uint8Array));
  }
  const rt = await loadOnnxModel(exported, { intraOpNumThreads: 1 });
  try {
    await fn(rt);
  } finally {
    await rt.dispose();
  }
}

describe("solver 'ddim' reproduces DiffusionModel.sample({ mode: 'ode', solver: 'ddim' }) (same seed)", () => {
  for (const label of ['nfdm selu', 'fixed vp', 'ndm linear-logsnr', 'nfdm gelu/tanh std']) {
    it(`${label}: the runtime stepwise (frozen_step) and with the Loop graph (sampler_ddim_ode)`, async () => {
      const m = makeModel(caseConfig(label));
      const ref = tfDdim(m, 3);
      await withRuntime(m, async (rt) => {
        expect(rt.graphs).toEqual(expect.arrayContaining(['frozen_step', 'sampler_ddim_ode']));
        const stepwise = await rt.sample({ n: N, steps: STEPS, solver: 'ddim', seed: 3, space: 'model' });
        expect([stepwise.mode, stepwise.solver, stepwise.engine, stepwise.stats.nfe]).toEqual(['ode', 'ddim', 'stepwise', STEPS]);
        expectClose(`${label}: ddim stepwise vs DiffusionModel.sample`, stepwise.samples, ref);
        const loop = await rt.sample({ n: N, steps: STEPS, solver: 'ddim', mode: 'ode', seed: 3, engine: 'loop', space: 'model' });
        expect([loop.engine, loop.stats.nfe]).toEqual(['loop', STEPS]);
        expectClose(`${label}: ddim Loop graph vs DiffusionModel.sample`, loop.samples, ref);
      });
      m.dispose();
    });
  }

  it('data space: the standardisation is undone by both engines', async () => {
    const config = caseConfig('nfdm gelu/tanh std');
    const std = config.standardization;
    if (!std) throw new Error('the case has no standardisation');
    const m = makeModel(config);
    const ref = Float32Array.from(tfDdim(m, 8), (v, i) => v * std.std[i % 3] + std.mean[i % 3]);
    await withRuntime(m, async (rt) => {
      for (const engine of ['stepwise', 'loop'] as const) {
        const out = await rt.sample({ n: N, steps: STEPS, solver: 'ddim', seed: 8, engine });
        expectClose(`ddim ${engine}, data space`, out.samples, ref);
      }
    });
    m.dispose();
  });

  for (const c of [CONDITION_CASES[0], CONDITION_CASES[2]]) {
    it(`${c.label}: with a condition and guidance w = 2`, async () => {
      const m = c.make();
      const ref = tfDdim(m, 6, c.y, 2);
      const unguided = tfDdim(m, 6, c.y, 0);
      expect(ref.some((v, i) => Math.abs(v - unguided[i]) > 1e-3)).toBe(true);
      await withRuntime(m, async (rt) => {
        const n = c.y.length;
        for (const engine of ['stepwise', 'loop'] as const) {
          const out = await rt.sample({ n, steps: STEPS, solver: 'ddim', seed: 6, engine, labels: c.y, guidance: 2, space: 'model' });
          expectClose(`${c.label}: ddim ${engine}, w = 2`, out.samples, ref, 1e-4, 1e-3);
        }
      });
      m.dispose();
    });
  }

  it(`U-Net ${UNET_CASES[0].label}: stepwise and Loop`, async () => {
    const m = unetModel(UNET_CASES[0].config, 11);
    const r = m.sample({ n: 4, steps: 6, mode: 'ode', solver: 'ddim', seed: 2 });
    const ref = Float32Array.from(r.samples.dataSync());
    r.samples.dispose();
    await withRuntime(m, async (rt) => {
      for (const engine of ['stepwise', 'loop'] as const) {
        const out = await rt.sample({ n: 4, steps: 6, solver: 'ddim', seed: 2, engine });
        expectClose(`U-Net nfdm: ddim ${engine} vs DiffusionModel.sample`, out.samples, ref, 1e-4, 1e-3);
      }
    });
    m.dispose();
  });

  it('trajectory: z(1) first, the samples last, on the grid 1 … t₀', async () => {
    const m = makeModel(caseConfig('nfdm selu'));
    const r = m.sample({ n: 4, steps: 5, mode: 'ode', solver: 'ddim', seed: 1, trajectory: true });
    const tfStates = Float32Array.from(r.trajectory?.dataSync() ?? []);
    tf.dispose([r.samples, r.trajectory as tf.Tensor]);
    await withRuntime(m, async (rt) => {
      const out = await rt.sample({ n: 4, steps: 5, solver: 'ddim', seed: 1, trajectory: true });
      const tr = out.trajectory;
      if (!tr) throw new Error('no trajectory');
      expect(tr.times).toEqual(r.times);
      expect(tr.times[5]).toBe(rt.tStart);
      expectClose('ddim trajectory vs DiffusionModel.sample({ trajectory: true })', tr.states, tfStates);
      expect([...tr.states.subarray(5 * 8)]).toEqual([...out.samples]);
      const eps = new Rng(1).normalArray(8);
      eps.forEach((e, i) => {
        expect(tr.states[i]).toBeCloseTo(e * rt.priorStd, 5);
      });
      // one frozen_step call from the trajectory's first state gives its second
      const z1 = Float32Array.from(tr.states.subarray(0, 8));
      expectClose('frozenStep() vs the trajectory', await rt.frozenStep(z1, tr.times[0], tr.times[1]), tr.states.subarray(8, 16));
    });
    m.dispose();
  });
});

describe("'ddim' errors", () => {
  it('the exporter: default graphs include it; no SDE graph', () => {
    expect(DEFAULT_SAMPLER_GRAPHS).toContainEqual({ solver: 'ddim', mode: 'ode' });
    const m = makeModel(smallConfig({ forward: { kind: 'nfdm', hidden: [8], activation: 'selu' } }));
    expect(() => exportSampler(m, { solver: 'ddim', mode: 'sde' })).toThrow(/probability-flow ODE only/);
    const exported = exportOnnx(m, { frozenStep: false, samplers: [] });
    expect(exported.graphs.frozen_step).toBeUndefined();
    expect(exportOnnx(m, { components: false }).graphs).toHaveProperty('frozen_step');
    m.dispose();
  });

  it('the runtime refuses SDE mode and a missing graph with an OnnxRuntimeError', async () => {
    const m = makeModel(smallConfig({ forward: { kind: 'nfdm', hidden: [8], activation: 'selu' } }));
    await withRuntime(m, async (rt) => {
      await expect(rt.sample({ n: 2, solver: 'ddim', mode: 'sde' })).rejects.toThrow(OnnxRuntimeError);
      await expect(rt.sample({ n: 2, solver: 'ddim', mode: 'sde' })).rejects.toThrow(/needs mode 'ode'/);
    });
    const partial = await loadOnnxModel(exportOnnx(m, { components: false }), { graphs: ['velocity'] });
    try {
      await expect(partial.sample({ n: 2, solver: 'ddim' })).rejects.toThrow(/'frozen_step' graph/);
      await expect(partial.sample({ n: 2, solver: 'ddim', engine: 'loop' })).rejects.toThrow(/'sampler_ddim_ode' graph/);
    } finally {
      await partial.dispose();
    }
    m.dispose();
  });

  it('flow-matching models and bridges refuse it', async () => {
    const flow = cfmModel(CFM_CASES[0].config, 2);
    const cfm = await loadExportedModel(exportCFMOnnx(flow));
    try {
      if (cfm.family !== 'cfm') throw new Error(`expected a cfm model, got ${cfm.family}`);
      await expect(cfm.sample({ n: 2, solver: 'ddim' })).rejects.toThrow(/flow-matching model has no data prediction/);
      await expect(cfm.frozenStep(new Float32Array(2), 1, 0)).rejects.toThrow(OnnxRuntimeError);
    } finally {
      await cfm.dispose();
    }
    flow.dispose();
    const model = neuralBridge();
    const bridge = await loadOnnxBridge(exportBridgeOnnx(model));
    try {
      await expect(bridge.transport([[0, 1]], { solver: 'ddim' as never, mode: 'ode' })).rejects.toThrow(/needs a diffusion model/);
    } finally {
      await bridge.dispose();
    }
    model.dispose();
  });
});

describe('files', () => {
  it('every frozen_step and sampler_ddim_ode file passes the structural checks and runs in onnxruntime', async () => {
    expect(files.length).toBeGreaterThan(10);
    await checkOnnxFiles(files);
  });
});
