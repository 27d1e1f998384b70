/**
 * The abortable view of a model (pool.ts) is built from its family's field methods in the
 * runtime's family table: once the signal aborts, every field evaluation of every family throws
 * the signal's reason; before, the view computes what the model computes.
 */
import { join } from 'node:path';
import { type ExportedModel, loadExportedModel } from '@nfdm/runtime';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { abortable } from '../src/index.js';

const modelsDir = inject('modelsDir');
const models: ExportedModel[] = [];

beforeAll(async () => {
  for (const name of ['toy', 'bridge', 'flow']) models.push(await loadExportedModel(join(modelsDir, name), { intraOpNumThreads: 1 }));
});

afterAll(async () => {
  await Promise.all(models.map((m) => m.dispose()));
});

/** Call field method `name` of `model` on two points at t = 0.5 (bridges also take the sources; frozen steps go to s = 0.25). */
function call(model: ExportedModel, name: string): Promise<unknown> {
  const z = Float32Array.from([0.1, -0.2, 0.3, 0.4]);
  const args = model.capabilities.transport ? [z, 0.5, z] : name.startsWith('frozenStep') ? [z, 0.5, 0.25] : [z, 0.5];
  return (model as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[name](...args);
}

describe('abortable', () => {
  it('wraps every field method of every family: equal results before the abort, the reason after', async () => {
    const wrapped: string[] = [];
    for (const model of models) {
      const controller = new AbortController();
      const view = abortable(model, controller.signal);
      for (const name of model.runtimeFamily.fieldMethods) {
        expect(await call(view, name)).toEqual(await call(model, name));
        wrapped.push(`${model.familyId}.${name}`);
      }
      const reason = new Error(`stop ${model.familyId}`);
      controller.abort(reason);
      for (const name of model.runtimeFamily.fieldMethods) await expect(call(view, name)).rejects.toBe(reason);
      expect(view.dim).toBe(model.dim);
    }
    expect(wrapped).toEqual([
      'diffusion.velocity',
      'diffusion.drift',
      'diffusion.velocityDivergence',
      'diffusion.frozenStep',
      'diffusion.velocityStage',
      'diffusion.driftStage',
      'diffusion.divergenceStage',
      'diffusion.frozenStepStage',
      'bridge.velocity',
      'bridge.drift',
      'bridge.velocityStage',
      'bridge.driftStage',
      'diffflow.drift',
      'diffflow.score',
    ]);
  });
});
