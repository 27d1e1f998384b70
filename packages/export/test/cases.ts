/**
 * Models shared by the export tests and the system suite's onnx.checker pass
 * (test/system/onnx-checker.test.ts): DiffusionModel configs of every forward-process family,
 * two bridges, a DiffFlow model with its time grid, U-Net diffusion models and flow-matching
 * (velocity) models.
 */
import { Rng } from '@nfdm/core';
import {
  BRIDGE_FORMAT,
  BridgeModel as Bridge,
  type BridgeModel,
  BridgePredictor,
  BridgeProcess,
  CFM_FORMAT,
  type CFMModel,
  type CFMModelConfig,
  ConstantVolatility,
  createAnyModel,
  createCFMModel,
  createModel,
  DiffFlowModel,
  type DiffusionModel,
  expTimerGrid,
  MODEL_FORMAT,
  type ModelConfig,
  NeuralVolatility,
  obstaclePenalty,
  type Standardization,
} from '@nfdm/models';
import * as tf from '@tensorflow/tfjs';
import { makeModel, smallConfig } from './helpers.js';

/** NFDM (several activations, standardisation), fixed schedules, NDM and single-layer nets. */
export const MAIN_CASES: Array<{ label: string; config: ModelConfig }> = [
  { label: 'nfdm selu', config: smallConfig({ forward: { kind: 'nfdm', hidden: [16, 16], activation: 'selu' } }) },
  {
    label: 'nfdm tanh/silu/gelu',
    config: smallConfig({
      forward: { kind: 'nfdm', hidden: [16, 16], activation: 'tanh' },
      predictor: { hidden: [16, 16], activation: 'silu' },
      volatility: { kind: 'neural', hidden: [8], activation: 'gelu-tanh' },
    }),
  },
  {
    label: 'nfdm gelu/tanh std',
    config: smallConfig({
      dim: 3,
      forward: { kind: 'nfdm', hidden: [16], activation: 'gelu-tanh', delta: 0.05 },
      predictor: { hidden: [16], activation: 'tanh' },
      volatility: { kind: 'constant', value: 0.7 },
      standardization: { mean: [0.5, -1, 2], std: [2, 0.5, 1.5] },
    }),
  },
  {
    label: 'fixed vp',
    config: smallConfig({
      forward: { kind: 'fixed', schedule: { name: 'vp' } },
      volatility: { kind: 'matched', schedule: { name: 'vp' } },
    }),
  },
  {
    label: "fixed sub-VP, 'eps' predictor",
    config: smallConfig({
      forward: { kind: 'fixed', schedule: { name: 'subvp' } },
      predictor: { hidden: [16, 16], activation: 'selu', parametrization: 'eps' },
      volatility: { kind: 'matched', schedule: { name: 'subvp' } },
    }),
  },
  {
    label: 'fixed fm-ot',
    config: smallConfig({ forward: { kind: 'fixed', schedule: { name: 'fm-ot' } }, volatility: { kind: 'constant', value: 1 } }),
  },
  {
    label: 'ndm linear-logsnr',
    config: smallConfig({
      forward: { kind: 'ndm', hidden: [16, 16], activation: 'silu' },
      volatility: { kind: 'matched', schedule: { name: 'linear-logsnr' } },
    }),
  },
  {
    label: 'single-layer nets (hidden [])',
    config: smallConfig({
      forward: { kind: 'nfdm', hidden: [], activation: 'selu' },
      predictor: { hidden: [], activation: 'selu' },
      volatility: { kind: 'neural', hidden: [], activation: 'selu' },
    }),
  },
  {
    label: 'ndm fm-ot selu',
    config: smallConfig({ forward: { kind: 'ndm', schedule: { name: 'fm-ot' }, hidden: [16], activation: 'selu' } }),
  },
];

/** Scale a bridge's trainable weights by `gain` so activations run in their nonlinear range. */
export function scaled<T extends BridgeModel>(model: T, gain = 2): T {
  tf.tidy(() => {
    for (const v of model.parameters().values()) if (v.trainable) v.assign(tf.mul(v, gain));
  });
  return model;
}

/** D = 2 bridge: neural volatility, selu/silu nets, an obstacle penalty. */
export function neuralBridge(): BridgeModel {
  return scaled(
    new Bridge(
      new BridgeProcess({ dim: 2, hidden: [16, 16], activation: 'selu', delta: 0.3, rng: 1 }),
      new BridgePredictor({ dim: 2, hidden: [16, 16], activation: 'silu', rng: 2 }),
      new NeuralVolatility({ hidden: [8], activation: 'tanh', floor: 1e-3, rng: 3 }),
      [obstaclePenalty({ center: [0, 0], radius: 0.5, weight: 10 })],
    ),
  );
}

/** D = 3 bridge: constant volatility 0.3, tanh/gelu-tanh nets. */
export function constantBridge(): BridgeModel {
  return scaled(
    new Bridge(
      new BridgeProcess({ dim: 3, hidden: [16], activation: 'tanh', delta: 0.2, rng: 4 }),
      new BridgePredictor({ dim: 3, hidden: [16], activation: 'gelu-tanh', rng: 5 }),
      new ConstantVolatility(0.3),
    ),
    1.5,
  );
}

/** D = 2 fixed-process bridge baseline (FixedBridgeProcess, σ(1/2) = 0.8), neural volatility, silu predictor. */
export function fixedBridge(): BridgeModel {
  return scaled(
    createAnyModel({
      format: BRIDGE_FORMAT,
      dim: 2,
      process: { kind: 'fixed-bridge', delta: 0.3, sigmaMax: 0.8 },
      predictor: { hidden: [16, 16], activation: 'silu' },
      volatility: { kind: 'neural', hidden: [8], activation: 'tanh' },
      penalties: [{ kind: 'obstacle', center: [0, 0], radius: 0.5, weight: 10 }],
      seed: 14,
    }) as BridgeModel,
  );
}

/** Standardisation stored with the D = 3 bridge. */
export const BRIDGE_STD: Standardization = { mean: [0.5, -1, 2], std: [2, 0.5, 1.5] };

/** DiffFlow's exponential time grid (11 points on [0.001, 1]) and g on it. */
export const DIFFFLOW_GRID = Array.from(expTimerGrid({ N: 10, tMin: 0.001, tMax: 1, exponent: 0.7 }));
export const DIFFFLOW_G = DIFFFLOW_GRID.map((t) => 0.5 + 0.5 * t);
export const DIFFFLOW_STD: Standardization = { mean: [1, -2], std: [0.5, 3] };

/** A D = 2 DiffFlow model with Fourier-feature MLPs. */
export function diffflowModel(seed = 3): DiffFlowModel {
  return DiffFlowModel.fourier(2, { channels: 16, layers: 2, seed });
}

// U-Net models (emit/unet.ts): both layouts, attention, FiLM, ε-prediction, 2 channels.

/**
 * Perturb every trainable parameter by N(0, 0.15²): the U-Net's zero-initialised convolutions
 * (each block's conv2, attention's projection, the output conv) would otherwise make U ≡ 0 and
 * the comparison empty.
 */
export function perturb(parameters: Map<string, tf.Variable>, seed: number): void {
  const rng = new Rng(seed);
  tf.tidy(() => {
    for (const v of parameters.values()) {
      if (!v.trainable) continue;
      v.assign(tf.add(v, tf.tensor(rng.normalArray(v.size, 0, 0.15), v.shape)));
    }
  });
}

/** A small U-Net network section. */
const unet = (image: { height: number; width: number; channels: number }, layout: 'adm' | 'compact', extra: object = {}) => ({
  arch: 'unet' as const,
  image,
  base: 8,
  multipliers: [1, 2],
  groups: 4,
  layout,
  ...extra,
});

const SMALL = { height: 4, width: 4, channels: 1 };

export function unetModel(config: Omit<ModelConfig, 'format' | 'seed'>, seed: number): DiffusionModel {
  const m = createModel({ format: MODEL_FORMAT, seed, ...config } as ModelConfig);
  perturb(m.parameters(), seed + 100);
  return m;
}

export const UNET_CASES: Array<{ label: string; config: Omit<ModelConfig, 'format' | 'seed'> }> = [
  {
    label: 'nfdm (compact FiLM forward, adm predictor with attention)',
    config: {
      dim: 16,
      forward: { kind: 'nfdm', network: unet(SMALL, 'compact', { scaleShift: true, embedding: { minFrequency: 1, maxFrequency: 16 } }) },
      predictor: { network: unet(SMALL, 'adm', { attentionResolutions: [2] }) },
      volatility: { kind: 'neural', hidden: [8] },
    },
  },
  {
    label: 'ndm (adm forward with attention, compact predictor)',
    config: {
      dim: 16,
      forward: { kind: 'ndm', network: unet(SMALL, 'adm', { attentionResolutions: [4] }) },
      predictor: { network: unet(SMALL, 'compact') },
      volatility: { kind: 'matched', schedule: { name: 'linear-logsnr' } },
    },
  },
  {
    label: 'vp, ε-prediction U-Net (2 channels)',
    config: {
      dim: 32,
      forward: { kind: 'fixed', schedule: { name: 'vp' } },
      predictor: { network: unet({ height: 4, width: 4, channels: 2 }, 'adm'), parametrization: 'eps' },
      volatility: { kind: 'matched', schedule: { name: 'vp' } },
    },
  },
];

/** An image ↔ image bridge (4×4×1 rows, D = 16) whose process and predictor are U-Nets (FiLM, attention), perturbed. */
export function unetBridge(): BridgeModel {
  const image = { height: 4, width: 4, channels: 1 };
  const model = createAnyModel({
    format: BRIDGE_FORMAT,
    dim: 16,
    // Low embedding frequencies keep ∂/∂t (and so the velocity) O(10): the default 1000·t embedding
    // makes it O(100) and float32 rounding then exceeds the bridge tests' absolute tolerance.
    process: { network: unet(image, 'compact', { scaleShift: true, embedding: { minFrequency: 1, maxFrequency: 16 } }), delta: 0.2 },
    predictor: { network: unet(image, 'adm', { attentionResolutions: [2] }) },
    volatility: { kind: 'neural', hidden: [8] },
    penalties: [],
    seed: 12,
  }) as BridgeModel;
  perturb(model.parameters(), 13);
  return model;
}

/** A 4×4-image fixed-process bridge: the U-Net predictor of {@link unetBridge}, no process network. */
export function fixedUnetBridge(): BridgeModel {
  const image = { height: 4, width: 4, channels: 1 };
  const model = createAnyModel({
    format: BRIDGE_FORMAT,
    dim: 16,
    process: { kind: 'fixed-bridge', delta: 0.2 },
    predictor: { network: unet(image, 'adm', { attentionResolutions: [2] }) },
    volatility: { kind: 'constant', value: 0.3 },
    penalties: [],
    seed: 15,
  }) as BridgeModel;
  perturb(model.parameters(), 16);
  return model;
}

// Conditional models (emit/condition.ts): labels and vectors, MLP and U-Net, conditioned forward processes.

/** Labels of K = 3 classes with a null row (3 = ∅), and vectors of m = 2 values with null rows (NaN). */
export const CONDITION_LABELS = [0, 2, 3, 1, 0];
export const CONDITION_VECTORS = [0.3, -1, Number.NaN, 0.5, 1.2, 0.1, Number.NaN, Number.NaN, -0.7, 2];

/** A conditional model and the conditions y [5, w] its tests feed (rows of CONDITION_LABELS or _VECTORS). */
export interface ConditionCase {
  label: string;
  /** Build the model (weights scaled or perturbed so the networks are far from linear). */
  make: () => DiffusionModel;
  /** y row-major [5, w]. */
  y: number[];
}

const labels3 = { kind: 'label' as const, classes: 3, dropout: 0.1, embedding: 8 };
const vectors2 = { kind: 'vector' as const, dim: 2, dropout: 0.1, embedding: 6 };

export const CONDITION_CASES: ConditionCase[] = [
  {
    label: 'label nfdm, forward conditioned (MLP)',
    make: () =>
      makeModel(
        smallConfig({ forward: { kind: 'nfdm', hidden: [16, 16], activation: 'selu', conditioned: true }, condition: labels3 } as never),
      ),
    y: CONDITION_LABELS,
  },
  {
    label: 'vector ndm, forward conditioned (MLP)',
    make: () =>
      makeModel(
        smallConfig({
          forward: { kind: 'ndm', hidden: [16], activation: 'silu', conditioned: true },
          predictor: { hidden: [16, 16], activation: 'tanh' },
          volatility: { kind: 'matched', schedule: { name: 'linear-logsnr' } },
          condition: vectors2,
        } as never),
      ),
    y: CONDITION_VECTORS,
  },
  {
    label: "label vp, 'eps' predictor (fixed process)",
    make: () =>
      makeModel(
        smallConfig({
          forward: { kind: 'fixed', schedule: { name: 'vp' } },
          predictor: { hidden: [16, 16], activation: 'selu', parametrization: 'eps' },
          volatility: { kind: 'matched', schedule: { name: 'vp' } },
          condition: labels3,
        } as never),
      ),
    y: CONDITION_LABELS,
  },
  {
    label: 'vector nfdm, forward unconditioned, standardised (MLP)',
    make: () =>
      makeModel(
        smallConfig({
          dim: 3,
          forward: { kind: 'nfdm', hidden: [16], activation: 'tanh' },
          volatility: { kind: 'constant', value: 0.7 },
          standardization: { mean: [0.5, -1, 2], std: [2, 0.5, 1.5] },
          condition: vectors2,
        } as never),
      ),
    y: CONDITION_VECTORS,
  },
  {
    label: 'label nfdm U-Net 4×4, forward conditioned',
    make: () =>
      unetModel(
        {
          dim: 16,
          forward: {
            kind: 'nfdm',
            network: unet(SMALL, 'compact', { scaleShift: true, embedding: { minFrequency: 1, maxFrequency: 16 } }),
            conditioned: true,
          },
          predictor: { network: unet(SMALL, 'adm', { attentionResolutions: [2] }) },
          // A small g keeps the 6-step reverse SDE of this random network from blowing up (|z| ~ 100 with a neural g).
          volatility: { kind: 'constant', value: 0.3 },
          condition: labels3,
        } as never,
        17,
      ),
    y: CONDITION_LABELS,
  },
];

/** A conditional bridge and the conditions y [5, w] its tests feed (rows of CONDITION_LABELS or _VECTORS). */
export interface BridgeConditionCase {
  label: string;
  /** Build the bridge (weights scaled or perturbed so the networks are far from linear). */
  make: () => BridgeModel;
  y: number[];
}

/** A conditional bridge from a config's parts (the bridge config of @nfdm/models), weights scaled by `gain`. */
function conditionalBridge(parts: Record<string, unknown>, seed: number, gain = 1.5): BridgeModel {
  return scaled(createAnyModel({ format: BRIDGE_FORMAT, penalties: [], seed, ...parts } as never) as BridgeModel, gain);
}

/** Conditional bridges: labels and vectors, MLP and U-Net, learned processes with and without F(·, x0, x1, y), the fixed process. */
export const BRIDGE_CONDITION_CASES: BridgeConditionCase[] = [
  {
    label: 'label bridge, process conditioned (MLP, neural volatility), D=2',
    make: () =>
      conditionalBridge(
        {
          dim: 2,
          process: { hidden: [16, 16], activation: 'selu', delta: 0.3, conditioned: true },
          predictor: { hidden: [16, 16], activation: 'silu' },
          volatility: { kind: 'neural', hidden: [8], activation: 'tanh' },
          condition: labels3,
        },
        21,
      ),
    y: CONDITION_LABELS,
  },
  {
    label: 'vector bridge, process unconditioned (MLP, constant volatility), D=3',
    make: () =>
      conditionalBridge(
        {
          dim: 3,
          process: { hidden: [16], activation: 'tanh', delta: 0.2 },
          predictor: { hidden: [16], activation: 'gelu-tanh' },
          volatility: { kind: 'constant', value: 0.3 },
          condition: vectors2,
        },
        22,
      ),
    y: CONDITION_VECTORS,
  },
  {
    label: 'label bridge of 4×4 U-Nets, process conditioned, D=16',
    make: () => {
      const model = createAnyModel({
        format: BRIDGE_FORMAT,
        dim: 16,
        // Low embedding frequencies keep ∂/∂t O(10), as in unetBridge.
        process: {
          network: unet(SMALL, 'compact', { scaleShift: true, embedding: { minFrequency: 1, maxFrequency: 16 } }),
          delta: 0.2,
          conditioned: true,
        },
        predictor: { network: unet(SMALL, 'adm', { attentionResolutions: [2] }) },
        volatility: { kind: 'constant', value: 0.3 },
        penalties: [],
        condition: labels3,
        seed: 23,
      } as never) as BridgeModel;
      perturb(model.parameters(), 24);
      return model;
    },
    y: CONDITION_LABELS,
  },
  {
    label: 'label bridge, fixed process (MLP, neural volatility), D=2',
    make: () =>
      conditionalBridge(
        {
          dim: 2,
          process: { kind: 'fixed-bridge', delta: 0.3, sigmaMax: 0.8 },
          predictor: { hidden: [16, 16], activation: 'silu' },
          volatility: { kind: 'neural', hidden: [8], activation: 'tanh' },
          condition: labels3,
        },
        25,
      ),
    y: CONDITION_LABELS,
  },
];

/** Flow-matching (velocity) models: an MLP with a standardisation, and a 4×4 U-Net. */
export const CFM_CASES: Array<{ label: string; config: Omit<CFMModelConfig, 'format' | 'seed'> }> = [
  {
    label: 'cfm mlp (standardised)',
    config: {
      dim: 2,
      flow: { coupling: 'independent', sigmaMin: 0 },
      velocity: { hidden: [16, 16], activation: 'selu', init: 'torch' },
      standardization: { mean: [0.5, -1], std: [2, 0.5] },
    },
  },
  {
    label: 'cfm unet 4×4',
    config: {
      dim: 16,
      flow: { coupling: 'ot', sigmaMin: 0.01 },
      velocity: {
        hidden: [64, 64, 64, 64],
        activation: 'selu',
        init: 'torch',
        // Low embedding frequencies keep v_θ smooth in t (see unetBridge).
        network: unet(SMALL, 'adm', { attentionResolutions: [2], embedding: { minFrequency: 1, maxFrequency: 16 } }),
      },
    },
  },
];

/** A flow-matching model of `config` with its weights perturbed (nonlinear range). */
export function cfmModel(config: Omit<CFMModelConfig, 'format' | 'seed'>, seed: number): CFMModel {
  const m = createCFMModel({ format: CFM_FORMAT, seed, ...config } as CFMModelConfig);
  perturb(m.parameters(), seed + 100);
  return m;
}
