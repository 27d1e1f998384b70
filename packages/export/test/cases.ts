/**
 * Models shared by the export tests and the system suite's onnx.checker pass
 * (test/system/onnx-checker.test.ts): DiffusionModel configs of every forward-process family,
 * two bridges and a DiffFlow model with its time grid.
 */
import {
  BridgeModel as Bridge,
  type BridgeModel,
  BridgePredictor,
  BridgeProcess,
  ConstantVolatility,
  DiffFlowModel,
  expTimerGrid,
  type ModelConfig,
  NeuralVolatility,
  obstaclePenalty,
  type Standardization,
} from '@nfdm/models';
import * as tf from '@tensorflow/tfjs';
import { smallConfig } from './helpers.js';

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
