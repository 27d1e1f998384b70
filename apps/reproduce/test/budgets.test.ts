/**
 * The model lists of the experiments come from the CLI's model table: the density models with
 * their own sampling chain (DiffFlow) and the bridge model are found by capability, and the
 * lists are the ones the reports and configs have always named.
 */
import { MODEL_NAMES, PRESETS, presetCapabilities } from '@nfdm/cli/lib';
import { describe, expect, it } from 'vitest';
import { BRIDGE_MODEL, DENSITY_MODELS, FEWSTEP_MODELS, IMAGE_MODELS, ownChain } from '../src/budgets.js';

describe('model lists from the model table', () => {
  it('density: five diffusion models, then the models with their own chain', () => {
    expect(DENSITY_MODELS).toEqual(['nfdm', 'ndm', 'vp', 'subvp', 'fm', 'diffflow']);
    expect(MODEL_NAMES.filter(ownChain)).toEqual(['diffflow']);
    for (const m of DENSITY_MODELS) expect(ownChain(m)).toBe(!presetCapabilities(m).solvers);
  });

  it('bridges: the one model that transports; its family heads the bridges table', () => {
    expect(BRIDGE_MODEL).toBe('nfbm');
    expect(MODEL_NAMES.filter((m) => presetCapabilities(m).transport)).toEqual([BRIDGE_MODEL]);
    expect(PRESETS[BRIDGE_MODEL].family).toBe('bridge');
  });

  it('few-step and images name models of the table; only NFDM-OT is trained for few steps', () => {
    for (const m of [...FEWSTEP_MODELS, ...IMAGE_MODELS]) expect(MODEL_NAMES).toContain(m);
    expect(FEWSTEP_MODELS.filter((m) => presetCapabilities(m).fewStep)).toEqual(['nfdm-ot']);
  });
});
