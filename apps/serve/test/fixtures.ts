/**
 * Test models: small exported nfdm models written into a models directory (the tfjs side,
 * @nfdm/models + @nfdm/export, is used here only; the server loads them with the runtime).
 *
 *   toy/        dim 2 NFDM, every runtime graph + the five one-call Loop samplers
 *   vp3/        dim 3 fixed VP schedule with a standardisation, field graphs only
 *   velo.onnx   the velocity graph of `toy` alone (ODE samples only, no log-densities)
 *   loop.onnx   the one-call Euler ODE sampler graph of `toy` alone (served with the Loop engine)
 *   bridge/     dim 2 NFBM bridge (exportBridge): bridge_velocity, bridge_drift, Euler Loop samplers
 *   flow/       dim 2 DiffFlow model with an 8-step grid and a standardisation (exportDiffFlow)
 *   img/        4×4×1 images (dim 16): NFDM with U-Net predictor and forward process, Euler ODE Loop sampler
 *   imgbridge/  4×4×1 image ↔ image NFBM bridge with U-Nets (exportBridge)
 *   notes.txt, .hidden/, "bad name.onnx"   ignored or skipped by the loader
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '@nfdm/core';
import { exportBridge, exportDiffFlow, exportOnnx, exportSampler, exportVelocity, writeOnnxExport } from '@nfdm/export';
import {
  BRIDGE_FORMAT,
  BridgeModel,
  type BridgeModel as BridgeModelType,
  BridgePredictor,
  BridgeProcess,
  ConstantVolatility,
  createAnyModel,
  createModel,
  DiffFlowModel,
  expTimerGrid,
  type ModelConfig,
  type UNetNetworkConfig,
} from '@nfdm/models';

export const TOY: ModelConfig = {
  format: 'nfdm-model/1',
  dim: 2,
  forward: { kind: 'nfdm', hidden: [16], activation: 'selu' },
  predictor: { hidden: [16], activation: 'selu' },
  volatility: { kind: 'constant', value: 0.5 },
  seed: 3,
} as ModelConfig;

export const VP3: ModelConfig = {
  format: 'nfdm-model/1',
  dim: 3,
  forward: { kind: 'fixed', schedule: { name: 'vp' } },
  predictor: { hidden: [16], activation: 'silu' },
  volatility: { kind: 'matched', schedule: { name: 'vp' } },
  standardization: { mean: [0.5, -1, 2], std: [2, 0.5, 1.5] },
  seed: 4,
} as ModelConfig;

/** A tiny U-Net network section for 4×4×1 images. */
export const UNET: UNetNetworkConfig = {
  arch: 'unet',
  image: { height: 4, width: 4, channels: 1 },
  base: 8,
  multipliers: [1, 2],
  groups: 4,
  layout: 'compact',
};

export const IMG: ModelConfig = {
  format: 'nfdm-model/1',
  dim: 16,
  forward: { kind: 'nfdm', network: UNET },
  predictor: { network: UNET },
  volatility: { kind: 'constant', value: 0.5 },
  seed: 5,
} as ModelConfig;

/** The DiffFlow fixture's grid and diffusion. */
export const FLOW_GRID = Array.from(expTimerGrid({ N: 8, tMin: 0.001, tMax: 1, exponent: 0.7 }));
export const FLOW_G = 0.5;
export const FLOW_STD = { mean: [1, -1], std: [2, 0.5] };

/** Write the test models into `dir` (created). */
export async function writeFixtureModels(dir: string): Promise<void> {
  await initBackend('cpu');
  mkdirSync(dir, { recursive: true });
  const toy = createModel(TOY);
  writeOnnxExport(exportOnnx(toy, { components: false }), join(dir, 'toy'));
  writeFileSync(join(dir, 'velo.onnx'), exportVelocity(toy));
  writeFileSync(join(dir, 'loop.onnx'), exportSampler(toy, { solver: 'euler', mode: 'ode' }));
  writeFileSync(join(dir, 'bad name.onnx'), exportVelocity(toy));
  const vp3 = createModel(VP3);
  writeOnnxExport(exportOnnx(vp3, { components: false, samplers: [] }), join(dir, 'vp3'));
  writeFileSync(join(dir, 'notes.txt'), 'not a model\n');
  const bridge = new BridgeModel(
    new BridgeProcess({ dim: 2, hidden: [16], activation: 'selu', delta: 0.2, rng: 6 }),
    new BridgePredictor({ dim: 2, hidden: [16], activation: 'silu', rng: 7 }),
    new ConstantVolatility(0.3),
  );
  exportBridge(bridge, join(dir, 'bridge'));
  const flow = DiffFlowModel.fourier(2, { channels: 16, layers: 1, seed: 8 });
  exportDiffFlow(flow, join(dir, 'flow'), { grid: FLOW_GRID, g: FLOW_G, standardization: FLOW_STD });
  const img = createModel(IMG);
  writeOnnxExport(exportOnnx(img, { components: false, samplers: [{ solver: 'euler', mode: 'ode' }] }), join(dir, 'img'));
  const imageBridge = createAnyModel({
    format: BRIDGE_FORMAT,
    dim: 16,
    process: { network: UNET, delta: 0.2 },
    predictor: { network: UNET },
    volatility: { kind: 'constant', value: 0.3 },
    penalties: [],
    seed: 9,
  }) as BridgeModelType;
  exportBridge(imageBridge, join(dir, 'imgbridge'));
  mkdirSync(join(dir, '.hidden'));
  writeFileSync(join(dir, '.hidden', 'x.onnx'), 'garbage');
}
