/**
 * Test models: small exported nfdm models written into a models directory (the tfjs side,
 * @nfdm/models + @nfdm/export, is used here only; the server loads them with the runtime).
 *
 *   toy/        dim 2 NFDM, every runtime graph + the five one-call Loop samplers
 *   vp3/        dim 3 fixed VP schedule with a standardisation, field graphs only
 *   velo.onnx   the velocity graph of `toy` alone (ODE samples only, no log-densities)
 *   loop.onnx   the one-call Euler ODE sampler graph of `toy` alone (served with the Loop engine)
 *   notes.txt, .hidden/, "bad name.onnx"   ignored or skipped by the loader
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '@nfdm/core';
import { exportOnnx, exportSampler, exportVelocity, writeOnnxExport } from '@nfdm/export';
import { createModel, type ModelConfig } from '@nfdm/models';

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
  mkdirSync(join(dir, '.hidden'));
  writeFileSync(join(dir, '.hidden', 'x.onnx'), 'garbage');
}
