/**
 * Conditional models (issue 18) are not exported yet: the export refuses them with a clear
 * error instead of emitting graphs without the condition input.
 */
import { initBackend } from '@nfdm/core';
import { createModel, MODEL_FORMAT, type ModelConfig } from '@nfdm/models';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportPredictor } from '../src/index.js';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('conditional models', () => {
  it('exportPredictor refuses a conditional model', () => {
    const model = createModel({
      format: MODEL_FORMAT,
      dim: 2,
      forward: { kind: 'fixed', schedule: { name: 'vp' } },
      predictor: { hidden: [8] },
      volatility: { kind: 'constant', value: 1 },
      seed: 0,
      condition: { kind: 'label', classes: 3, dropout: 0.1 },
    } as ModelConfig);
    expect(() => exportPredictor(model)).toThrow(/conditional networks .* are not exported yet/);
    model.dispose();
  });
});
