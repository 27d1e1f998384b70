/**
 * Diffusion models on images: a `network: { arch: 'unet', … }` section gives the predictor and
 * the learned forward processes (NFDM's m̄/l̄, NDM's F̄) a U-Net over rows of flattened NHWC
 * images. The family contract runs on such models (one update with finite gradients, held-out
 * NELBO, sampling, exact log p(x), curvature, forward paths, config round trip); the U-Net's
 * outputs land in the right column blocks; bad sections fail naming the field. Dropout: the rate
 * round-trips through configs and model folders, bad rates fail naming the field, and a model's
 * training mode reaches every U-Net (eval mode, the default, is deterministic). DiffFlow takes the
 * same section for its drift and score: the contract passes on an image DiffFlow, its
 * memory-saving gradient equals the full-graph one through the U-Nets, the shared time [1, 1] is
 * tiled per row, and the FourierMLP form of its configs is unchanged.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, Rng, setTraining, TimeUNet, trainableVariables } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BRIDGE_FORMAT,
  type BridgeModelConfig,
  bridgeFamily,
  createAnyModel,
  createDiffFlowModel,
  createModel,
  DIFFFLOW_FORMAT,
  type DiffFlowModelConfig,
  DiffFlowUNet,
  diffflowFamily,
  diffflowLogProb,
  diffflowModelConfig,
  diffflowPathKL,
  diffflowPathKLGrad,
  diffusionFamily,
  drawDiffFlowNoise,
  expTimerGrid,
  FourierMLP,
  loadAnyModel,
  MODEL_FORMAT,
  type ModelConfig,
  modelConfig,
  type NeuralGaussianProcess,
  type Predictor,
  parseDiffFlowConfig,
  saveAnyModel,
} from '../src/index.js';
import { familyChecks } from '../src/testing/index.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const IMAGE = { height: 8, width: 8, channels: 1 };
const unet = (layout: 'adm' | 'compact', attention: number[] = []) => ({
  arch: 'unet' as const,
  image: IMAGE,
  base: 8,
  multipliers: [1, 2],
  groups: 4,
  layout,
  attentionResolutions: attention,
});

const nfdmImages: ModelConfig = {
  format: MODEL_FORMAT,
  dim: 64,
  forward: { kind: 'nfdm', network: { ...unet('compact'), embedding: { minFrequency: 1, maxFrequency: 16 } } },
  predictor: { network: unet('adm', [4]) },
  volatility: { kind: 'neural', hidden: [8] },
  seed: 1,
};

const ndmImages: ModelConfig = {
  format: MODEL_FORMAT,
  dim: 64,
  forward: { kind: 'ndm', network: unet('compact') },
  predictor: { network: { ...unet('compact'), scaleShift: true } }, // ADM's FiLM conditioning
  volatility: { kind: 'matched', schedule: { name: 'linear-logsnr' } },
  seed: 2,
};

const vpImages: ModelConfig = {
  format: MODEL_FORMAT,
  dim: 64,
  forward: { kind: 'fixed', schedule: { name: 'vp' } },
  predictor: { network: unet('adm'), parametrization: 'eps' },
  volatility: { kind: 'matched', schedule: { name: 'vp' } },
  seed: 3,
};

const bridgeImages: BridgeModelConfig = {
  format: BRIDGE_FORMAT,
  dim: 64,
  process: { network: { ...unet('compact'), embedding: { minFrequency: 1, maxFrequency: 16 } }, delta: 0.1 },
  predictor: { network: unet('adm', [4]) },
  volatility: { kind: 'neural', hidden: [8] },
  penalties: [],
  seed: 4,
};

// DiffFlow's times lie in [tMin, tMax] = [0.001, 0.05]: embedding frequencies 2 … 600 (CLI preset).
const diffflowImages: DiffFlowModelConfig = {
  format: DIFFFLOW_FORMAT,
  dim: 64,
  network: { ...unet('adm', [4]), embedding: { minFrequency: 2, maxFrequency: 600 } },
  time: { N: 4, tMin: 0.001, tMax: 0.05, exponent: 0.9, g: 0.2, flexible: true, progressive: [] },
  seed: 5,
};

function imageRows(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n * 64 }, (_, i) => Math.tanh(Math.sin(i % 64) + 0.3 * rng.normal()));
}

for (const [name, config] of [
  ['NFDM (U-Net forward and predictor)', nfdmImages],
  ['NDM (U-Net F̄)', ndmImages],
  ['VP (U-Net ε-predictor)', vpImages],
] as const) {
  describe(`family contract on images: ${name}`, () => {
    for (const c of familyChecks(diffusionFamily, { config, data: imageRows(4, 5), rows: 4 })) it(c.name, c.run, 120_000);
  });
}

describe('family contract on images: NFBM image ↔ image bridge (U-Nets of two images as channels)', () => {
  // Rows are [target | source] images: 128 columns.
  for (const c of familyChecks(bridgeFamily, { config: bridgeImages, data: imageRows(8, 6), rows: 4 })) it(c.name, c.run, 120_000);
});

describe('family contract on images: DiffFlow (U-Net drift and score)', () => {
  for (const c of familyChecks(diffflowFamily, { config: diffflowImages, data: imageRows(4, 7), rows: 4 })) it(c.name, c.run, 120_000);
});

/** Random weights for every trainable parameter (a fresh U-Net's output conv is zero). */
function randomize(model: { parameters(): Map<string, tf.Variable> }, seed: number, scale = 0.2): void {
  const rng = new Rng(seed);
  for (const v of model.parameters().values()) if (v.trainable) v.assign(tf.tensor(rng.normalArray(v.size, 0, scale), v.shape));
}

describe('DiffFlow with U-Nets', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'nfdm-diffflow-unet-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('builds a DiffFlowUNet for drift and score; a shared t [1, 1] gives the rows of t tiled to [B, 1]', () => {
    const model = createDiffFlowModel(diffflowImages);
    expect(model.driftNet).toBeInstanceOf(DiffFlowUNet);
    expect(model.scoreNet).toBeInstanceOf(DiffFlowUNet);
    expect(model.dim).toBe(64);
    expect(model.evalBatch).toBe(64);
    expect(diffflowFamily.operations?.batchHint?.(model)).toBe(64);
    randomize(model, 3);
    const net = model.driftNet as DiffFlowUNet;
    const x = tf.tensor2d(imageRows(3, 8), [3, 64]);
    const shared = net.apply(x, tf.tensor2d([[0.02]]));
    const tiled = net.net.apply(x, tf.fill([3, 1], 0.02) as tf.Tensor2D);
    expect(shared.shape).toEqual([3, 64]);
    expect(Array.from(shared.dataSync())).toEqual(Array.from(tiled.dataSync()));
    expect(() => net.apply(x, tf.zeros([2, 1]) as tf.Tensor2D)).toThrow(/t \[B, 1\] or \[1, 1\]/);
    expect(() => net.apply(tf.zeros([3, 49]) as tf.Tensor2D, tf.zeros([1, 1]) as tf.Tensor2D)).toThrow(/x \[B, 64\]/);
    tf.dispose([x, shared, tiled]);
    model.dispose();
  });

  it('memory-saving gradient equals the full-graph gradient through the U-Nets (N = 3)', () => {
    const model = createDiffFlowModel(diffflowImages);
    randomize(model, 4, 0.1);
    const rng = new Rng(9);
    const grid = expTimerGrid({ N: 3, tMin: 0.001, tMax: 0.05, exponent: 0.9 });
    const x0 = tf.tensor2d(imageRows(2, 10), [2, 64]);
    const noise = drawDiffFlowNoise(rng, 3, 2, 64);
    const opts = { grid, g: 0.2, noise };
    const vars = trainableVariables(model);
    const naive = tf.variableGrads(() => diffflowPathKL(model, x0, opts), vars);
    const saved = diffflowPathKLGrad(model, x0, opts);
    expect(saved.loss).toBeCloseTo(naive.value.dataSync()[0], 2);
    let worst = 0;
    for (const v of vars) {
      const a = naive.grads[v.name].dataSync();
      const b = saved.grads[v.name].dataSync();
      let num = 0;
      let den = 0;
      for (let k = 0; k < a.length; k++) {
        num = Math.max(num, Math.abs(a[k] - b[k]));
        den = Math.max(den, Math.abs(a[k]));
      }
      worst = Math.max(worst, num / Math.max(den, 1e-3));
    }
    expect(worst).toBeLessThan(1e-3);
    tf.dispose([x0, noise, naive.value, saved.gradX0, ...Object.values(naive.grads), ...Object.values(saved.grads)]);
    model.dispose();
  }, 120_000);

  it('log p(x) of images uses the Hutchinson divergence by default', () => {
    const model = createDiffFlowModel(diffflowImages);
    randomize(model, 5, 0.1);
    const x = tf.tensor2d(imageRows(2, 11), [2, 64]);
    const opts = { solver: 'rk4', steps: 2, seed: 3 };
    const auto = diffflowLogProb(model, x, opts).logp;
    const hutchinson = diffflowLogProb(model, x, { ...opts, divergence: 'hutchinson' }).logp;
    expect(Array.from(auto)).toEqual(Array.from(hutchinson));
    expect(auto.every(Number.isFinite)).toBe(true);
    x.dispose();
    model.dispose();
  }, 120_000);

  it('configs round-trip through save and load, U-Net and FourierMLP alike; old FourierMLP configs parse as before', () => {
    const fourier = { format: DIFFFLOW_FORMAT, dim: 2, network: { channels: 8, layers: 1 }, seed: 2 };
    const parsedFourier = parseDiffFlowConfig(fourier);
    expect(parsedFourier.network).toEqual({ channels: 8, layers: 1 });
    expect(parseDiffFlowConfig({ format: DIFFFLOW_FORMAT, dim: 2, seed: 0 }).network).toEqual({ channels: 128, layers: 3 });
    const parsedUNet = parseDiffFlowConfig(diffflowImages);
    expect(parsedUNet.network).toMatchObject({ arch: 'unet', image: IMAGE, base: 8, numResBlocks: 1, layout: 'adm' });
    for (const [name, config] of [
      ['fourier', parsedFourier],
      ['unet', parsedUNet],
    ] as const) {
      const model = createDiffFlowModel(config);
      randomize(model, 6);
      expect(diffflowModelConfig(model)).toEqual(config);
      saveAnyModel(model, join(dir, name));
      const again = loadAnyModel(join(dir, name));
      expect(diffflowModelConfig(again as typeof model)).toEqual(config);
      const rows = config.dim === 64 ? imageRows(2, 12) : new Float32Array([0.1, -0.3, 1, 0.5]);
      const x = tf.tensor2d(rows, [2, config.dim]);
      const t = tf.tensor2d([[0.01]]);
      for (const which of ['drift', 'score'] as const) {
        const a = model[which](x, t);
        const b = (again as typeof model)[which](x, t);
        expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
        tf.dispose([a, b]);
      }
      expect((again as typeof model).driftNet).toBeInstanceOf(name === 'unet' ? DiffFlowUNet : FourierMLP);
      tf.dispose([x, t]);
      model.dispose();
      (again as typeof model).dispose();
    }
  });

  it('refuses bad network sections with one clear error naming the field', () => {
    const bad =
      (network: unknown, dim = 64) =>
      () =>
        parseDiffFlowConfig({ ...diffflowImages, dim, network });
    expect(bad(diffflowImages.network, 49)).toThrow(/network\.image: 8×8×1 = 64 values, but the model has dim 49/);
    expect(bad({ ...unet('adm'), arch: 'mlp' })).toThrow(/network\.arch: expected "unet" \(omit arch for FourierMLPs/);
    const { arch: _arch, ...noArch } = unet('adm');
    expect(bad(noArch)).toThrow(/network\.arch: missing: a U-Net section needs "arch": "unet"/);
    expect(bad({ ...unet('adm'), channels: 8 })).toThrow(/network\.channels: unknown field/);
    expect(bad({ ...unet('adm'), groups: 3 })).toThrow(/network\.groups: 3 groups do not divide 8 channels/);
    expect(bad({ ...unet('adm'), dropout: 0.1 })).toThrow(/network\.dropout: DiffFlow's U-Nets take no dropout/);
    expect(bad({ channels: 8, layers: 1, base: 4 }, 2)).toThrow(/network\.base: unknown field/);
    expect(() => createDiffFlowModel({ ...diffflowImages, dim: 49 })).toThrow(/network\.image/);
  });
});

describe('U-Net networks in model configs', () => {
  it("NFDM's U-Net puts m̄ and l̄ in the first and second D columns (2 output maps)", () => {
    const model = createModel(nfdmImages);
    const forward = model.forward as NeuralGaussianProcess;
    expect(forward.net).toBeInstanceOf(TimeUNet);
    const net = forward.net as TimeUNet;
    const rng = new Rng(7);
    for (const v of net.parameters().values()) if (v.trainable) v.assign(tf.tensor(rng.normalArray(v.size, 0, 0.2), v.shape));
    const x = tf.tensor2d(imageRows(2, 8), [2, 64]);
    const t = tf.tensor2d([[0.3], [0.6]]);
    const images = net.net.apply(tf.reshape(x, [2, 8, 8, 1]), t); // [2, 8, 8, 2]: channel 0 = m̄, 1 = l̄
    const flat = net.apply(x, t); // [2, 128]
    const m = tf.reshape(tf.slice(images, [0, 0, 0, 0], [2, 8, 8, 1]), [2, 64]);
    const l = tf.reshape(tf.slice(images, [0, 0, 0, 1], [2, 8, 8, 1]), [2, 64]);
    expect(Array.from(tf.slice(flat, [0, 0], [2, 64]).dataSync())).toEqual(Array.from(m.dataSync()));
    expect(Array.from(tf.slice(flat, [0, 64], [2, 64]).dataSync())).toEqual(Array.from(l.dataSync()));
    tf.dispose([x, t, images, flat, m, l]);
    model.dispose();
  });

  it('refuses a network whose image size does not match dim, and unknown fields', () => {
    const wrong = { ...nfdmImages, dim: 49 };
    expect(() => createModel(wrong)).toThrow(/predictor\.network\.image: 8×8×1 = 64 values, but the model has dim 49/);
    const typo = { ...nfdmImages, predictor: { network: { ...unet('adm'), bsae: 3 } } };
    expect(() => createModel(typo as ModelConfig)).toThrow(/predictor\.network\.bsae: unknown field/);
    const groups = { ...nfdmImages, predictor: { network: { ...unet('adm'), groups: 3 } } };
    expect(() => createModel(groups)).toThrow(/predictor\.network\.groups: 3 groups do not divide 8 channels/);
  });
});

describe('U-Net dropout in model configs', () => {
  const withDropout: ModelConfig = {
    ...nfdmImages,
    forward: { kind: 'nfdm', network: { ...unet('compact'), dropout: 0.1 } },
    predictor: { network: { ...unet('adm', [4]), dropout: 0.3 } },
  };
  /** Whether every ResBlock of a U-Net network is in training mode. */
  const training = (net: unknown) => (net as TimeUNet).net.resBlocks().map((b) => b.dropout.training);

  it('the rate round-trips through the config and a model folder; absent or 0 is not written (old configs stay identical)', () => {
    const model = createModel(withDropout);
    const net = (model.predictor as Predictor).net as TimeUNet;
    expect(new Set(net.net.resBlocks().map((b) => b.dropout.rate))).toEqual(new Set([0.3]));
    const config = modelConfig(model);
    expect(config.predictor.network?.dropout).toBe(0.3);
    expect((config.forward as { network?: { dropout?: number } }).network?.dropout).toBe(0.1);
    const dir = mkdtempSync(join(tmpdir(), 'nfdm-dropout-'));
    try {
      saveAnyModel(model, dir);
      const loaded = loadAnyModel(dir) as typeof model;
      expect(modelConfig(loaded)).toEqual(config);
      loaded.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    model.dispose();
    for (const rate of [undefined, 0]) {
      const plain = createModel({ ...nfdmImages, predictor: { network: { ...unet('adm', [4]), dropout: rate } } });
      expect(modelConfig(plain).predictor.network).not.toHaveProperty('dropout');
      plain.dispose();
    }
  });

  it('refuses rates outside [0, 1), naming the field', () => {
    for (const bad of [1, -0.1, '0.1', true, Number.NaN]) {
      const config = { ...nfdmImages, predictor: { network: { ...unet('adm'), dropout: bad } } };
      expect(() => createModel(config as ModelConfig)).toThrow(/predictor\.network\.dropout: expected a rate in \[0, 1\), got /);
    }
  });

  it("a model's training mode reaches every U-Net (diffusion: forward process and predictor; bridge: process and predictor)", () => {
    const model = createModel(withDropout);
    const nets = [(model.forward as NeuralGaussianProcess).net, (model.predictor as Predictor).net];
    for (const net of nets) expect(training(net).every((on) => !on)).toBe(true);
    setTraining(model, new Rng(1));
    for (const net of nets) expect(training(net).every((on) => on)).toBe(true);
    setTraining(model, null);
    for (const net of nets) expect(training(net).every((on) => !on)).toBe(true);
    model.dispose();
    const bridgeConfig = {
      ...bridgeImages,
      process: { ...bridgeImages.process, network: { ...unet('compact'), dropout: 0.2 } },
      predictor: { network: { ...unet('adm', [4]), dropout: 0.2 } },
    };
    const bridge = createAnyModel(bridgeConfig);
    const parts = bridge as unknown as { process: { net: unknown }; predictor: { net: unknown } };
    setTraining(bridge, new Rng(2));
    for (const net of [parts.process.net, parts.predictor.net]) expect(training(net).every((on) => on)).toBe(true);
    setTraining(bridge, null);
    for (const net of [parts.process.net, parts.predictor.net]) expect(training(net).every((on) => !on)).toBe(true);
    bridge.dispose();
  });

  it('training mode draws fresh masks per evaluation; eval mode is deterministic and equals the same weights without dropout', () => {
    const dropped = createModel(withDropout);
    const plain = createModel({ ...withDropout, predictor: { network: unet('adm', [4]) } });
    const rng = new Rng(3);
    const weights = [...dropped.predictor.parameters().values()].map((v) => tf.tensor(rng.normalArray(v.size, 0, 0.2), v.shape));
    for (const model of [dropped, plain]) {
      for (const [i, v] of [...model.predictor.parameters().values()].entries()) v.assign(weights[i]);
    }
    const z = tf.tensor2d(imageRows(2, 9), [2, 64]);
    const t = tf.tensor2d([[0.3], [0.6]]);
    const predict = (model: typeof dropped) => Array.from(tf.tidy(() => model.predictor.predict(z, t)).dataSync());
    const reference = predict(plain);
    expect(predict(dropped)).toEqual(reference);
    setTraining(dropped, new Rng(4));
    const first = predict(dropped);
    const second = predict(dropped);
    expect(first).not.toEqual(reference);
    expect(second).not.toEqual(first);
    setTraining(dropped, null);
    expect(predict(dropped)).toEqual(reference);
    tf.dispose([z, t, ...weights]);
    dropped.dispose();
    plain.dispose();
  });
});

describe('U-Net bridges evaluate in batches', () => {
  it('evalBatch pairs at a time (batchHint): the held-out bound is the row-weighted mean of the batch means', () => {
    const model = bridgeFamily.create(bridgeImages);
    const mlp = bridgeFamily.create({ ...bridgeImages, process: { delta: 0.1 }, predictor: {} });
    expect(model.evalBatch).toBe(64); // 8×8 images at base 8: min(64, 64·14·14·8 / (8·8·8))
    expect(bridgeFamily.operations?.batchHint?.(model)).toBe(64);
    expect(bridgeFamily.operations?.batchHint?.(mlp)).toBeUndefined();
    const n = 70; // two batches: 64 + 6 pairs
    const x = tf.tensor2d(imageRows(2 * n, 9), [n, 128]);
    const task = bridgeFamily.trainingTask(model, { kind: 'nelbo' });
    const got = task.heldOut(x, 1, 5);
    const rng = new Rng(5);
    const part = (start: number, size: number) =>
      tf.tidy(() => {
        const [x0, x1] = tf.split(tf.slice(x, [start, 0], [size, -1]), 2, 1);
        return tf.mean(model.terms(x0, x1, model.drawNoise(rng, size)).diffusion).dataSync()[0];
      });
    const expected = model.reconstructionTerm() + (part(0, 64) * 64 + part(64, 6) * 6) / n;
    expect(got.bridge_bound).toBeCloseTo(expected, 3);
    expect(Number.isFinite(got.bridge_bound)).toBe(true);
    x.dispose();
    model.dispose();
    mlp.dispose();
  }, 120_000);
});
