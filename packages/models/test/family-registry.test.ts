/**
 * The family registry: the family contract (@nfdm/models/testing) on the built-in families (CFM in
 * its three couplings)
 * and on a family defined here as a downstream package would (one descriptor plus one
 * `registerFamily` line); capabilities per objective; registry errors.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, Rng } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type AnyModel,
  BRIDGE_FORMAT,
  bridgeFamily,
  CFM_FORMAT,
  capabilitiesOf,
  cfmFamily,
  createAnyModel,
  DIFFFLOW_FORMAT,
  diffflowFamily,
  diffusionFamily,
  type FamilyDescriptor,
  families,
  familyById,
  familyOf,
  familyOfConfig,
  loadAnyModel,
  MODEL_FORMAT,
  ModelConfigError,
  registerFamily,
  saveAnyModel,
} from '../src/index.js';
import { familyChecks, type GaussianFit, type GaussianFitConfig, gaussianFitFamily } from '../src/testing/index.js';

beforeAll(async () => {
  await initBackend('wasm');
});

function gaussianRows(rows: number, cols: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: rows * cols }, () => rng.normal());
}

registerFamily(gaussianFitFamily);

// --- Contracts. ------------------------------------------------------------------------------

const contracts: Array<[string, FamilyDescriptor<any, any>, { format: string; dim: number }, number]> = [
  [
    'diffusion (NFDM)',
    diffusionFamily,
    {
      format: MODEL_FORMAT,
      dim: 2,
      forward: { kind: 'nfdm', hidden: [8] },
      predictor: { hidden: [8] },
      volatility: { kind: 'neural', hidden: [4] },
      seed: 3,
    } as { format: string; dim: number },
    2,
  ],
  [
    'bridge',
    bridgeFamily,
    {
      format: BRIDGE_FORMAT,
      dim: 2,
      process: { hidden: [8], delta: 0.1 },
      predictor: { hidden: [8] },
      volatility: { kind: 'neural', hidden: [4] },
      penalties: [{ kind: 'obstacle', center: [0, 0.5], radius: 0.4, weight: 5 }],
      seed: 4,
    } as { format: string; dim: number },
    4,
  ],
  [
    'diffflow',
    diffflowFamily,
    { format: DIFFFLOW_FORMAT, dim: 2, network: { channels: 4, layers: 1 }, time: { N: 4 }, seed: 1 } as { format: string; dim: number },
    2,
  ],
  [
    'flow matching (CFM)',
    cfmFamily,
    { format: CFM_FORMAT, dim: 2, velocity: { hidden: [8] }, seed: 2 } as { format: string; dim: number },
    2,
  ],
  [
    'flow matching (OT-CFM, σ_min 0.1)',
    cfmFamily,
    { format: CFM_FORMAT, dim: 2, flow: { coupling: 'ot', sigmaMin: 0.1 }, velocity: { hidden: [8] }, seed: 2 } as {
      format: string;
      dim: number;
    },
    2,
  ],
  [
    'flow matching (reflow pairs)',
    cfmFamily,
    { format: CFM_FORMAT, dim: 2, flow: { coupling: 'reflow' }, velocity: { hidden: [8] }, seed: 2 } as { format: string; dim: number },
    4,
  ],
  [
    'flow matching (U-Net, 8×8 images)',
    cfmFamily,
    {
      format: CFM_FORMAT,
      dim: 64,
      velocity: { network: { arch: 'unet', image: { height: 8, width: 8, channels: 1 }, base: 8, multipliers: [1, 2], groups: 4 } },
      seed: 2,
    } as { format: string; dim: number },
    64,
  ],
  ['downstream Gaussian fit', gaussianFitFamily, { format: 'example-gaussian-fit/1', dim: 3, seed: 5 } as GaussianFitConfig, 3],
];

for (const [name, family, config, cols] of contracts) {
  describe(`family contract: ${name}`, () => {
    for (const c of familyChecks(family, { config, data: gaussianRows(16, cols, 9), rows: 16 })) it(c.name, c.run, 60_000);
  });
}

describe('family registry', () => {
  it('finds families by model, config and id; built-ins first; the downstream family saves and loads through the registry', () => {
    expect(families().map((f) => f.id)).toEqual(['diffusion', 'bridge', 'diffflow', 'cfm', 'example-gaussian-fit']);
    expect(familyOfConfig({ format: BRIDGE_FORMAT })).toBe(bridgeFamily);
    expect(familyById('diffflow')).toBe(diffflowFamily);
    const model = createAnyModel({ format: 'example-gaussian-fit/1', dim: 2, seed: 1 } as never) as unknown as GaussianFit;
    expect(familyOf(model)).toBe(gaussianFitFamily);
    model.m.assign(tf.tensor1d([1.5, -2]));
    const dir = mkdtempSync(join(tmpdir(), 'nfdm-family-'));
    saveAnyModel(model as unknown as AnyModel, dir, { seed: 1 });
    const loaded = loadAnyModel(dir) as unknown as GaussianFit;
    expect(Array.from(loaded.m.dataSync())).toEqual([1.5, -2]);
    model.dispose();
    loaded.dispose();
  });

  it('NFDM-OT is an objective: it adds fewStep and removes the NELBO; other families refuse it', () => {
    const ot = capabilitiesOf(diffusionFamily, { kind: 'ot', curvatureWeight: 1 });
    const nelbo = capabilitiesOf(diffusionFamily);
    expect([ot.fewStep, ot.nelbo, ot.logProb]).toEqual([true, false, true]);
    expect([nelbo.fewStep, nelbo.nelbo]).toEqual([false, true]);
    expect(() => capabilitiesOf(bridgeFamily, { kind: 'ot', curvatureWeight: 1 })).toThrow(
      /'ot' objective applies to diffusion models only, not to a NFBM bridge/,
    );
    expect(capabilitiesOf(bridgeFamily).transport && !capabilitiesOf(bridgeFamily).sample).toBe(true);
  });

  it('refuses a second family with the same id or format, and names the registered families for unknown input', () => {
    expect(() => registerFamily({ ...gaussianFitFamily })).toThrow(/id 'example-gaussian-fit' is already registered/);
    expect(() => registerFamily({ ...gaussianFitFamily, id: 'other' })).toThrow(/format 'example-gaussian-fit\/1' already belongs/);
    registerFamily(gaussianFitFamily); // the same object again: a no-op
    expect(() => familyOf({})).toThrow(
      /not an nfdm model \(expected one of: diffusion model, NFBM bridge, DiffFlow model, flow-matching model, Gaussian fit\)/,
    );
    expect(() => familyOfConfig({ format: 'nope/1' })).toThrow(ModelConfigError);
    expect(() => familyById('nope')).toThrow(
      /unknown model family 'nope' \(registered: diffusion, bridge, diffflow, cfm, example-gaussian-fit\)/,
    );
  });
});
