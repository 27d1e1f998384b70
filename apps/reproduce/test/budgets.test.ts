/**
 * The model lists of the experiments come from the CLI's model table: the density models with
 * their own sampling chain (DiffFlow) and the bridge model are found by capability, and the
 * lists are the ones the reports and configs have always named.
 */
import { MODEL_NAMES, PRESETS, presetCapabilities } from '@nfdm/cli/lib';
import { describe, expect, it } from 'vitest';
import { BRIDGE_MODEL, BUDGETS, DENSITY_MODELS, FEWSTEP_MODELS, IMAGE_MODELS, ownChain, REFLOW_TEACHER } from '../src/budgets.js';
import { hasNelbo } from '../src/density.js';

describe('model lists from the model table', () => {
  it('density: five diffusion models, the velocity flow-matching baselines, then the models with their own chain', () => {
    expect(DENSITY_MODELS).toEqual(['nfdm', 'ndm', 'vp', 'subvp', 'fm', 'cfm', 'ot-cfm', 'diffflow']);
    // CFM and OT-CFM report the exact NLL but have no NELBO (n/a in the report).
    expect(DENSITY_MODELS.filter((m) => !hasNelbo(m))).toEqual(['cfm', 'ot-cfm']);
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

  it('few-step: rectified flow reflows from the CFM run, trained before it', () => {
    expect(FEWSTEP_MODELS).toEqual(['nfdm-ot', 'fm', 'vp', 'nfdm', 'cfm', 'ot-cfm', 'rectified-flow']);
    expect(REFLOW_TEACHER).toEqual({ 'rectified-flow': 'cfm' });
    for (const [student, teacher] of Object.entries(REFLOW_TEACHER)) {
      expect(FEWSTEP_MODELS.indexOf(teacher)).toBeGreaterThanOrEqual(0);
      expect(FEWSTEP_MODELS.indexOf(teacher)).toBeLessThan(FEWSTEP_MODELS.indexOf(student as (typeof FEWSTEP_MODELS)[number]));
    }
  });
});

describe('the long budget', () => {
  it('runs the density experiment alone: ≥ 20,000 updates of the reference-size networks on 8gaussians and checkerboard', () => {
    const long = BUDGETS.long;
    expect(long.experiments).toEqual(['density']);
    expect(long.density.datasets).toEqual(expect.arrayContaining(['8gaussians', 'checkerboard']));
    expect(long.density.models).toEqual(['nfdm', 'ndm', 'vp', 'fm', 'cfm']);
    expect(long.density.train.steps).toBeGreaterThanOrEqual(20_000);
    expect(long.density.train).toMatchObject({ hidden: [64, 64, 64, 64], batch: 1024, lr: 1e-3 });
    expect(long.description).toMatch(/estimated .*hours/);
  });

  it('the other budgets define every experiment', () => {
    for (const name of ['smoke', 'quick', 'full'] as const) expect(BUDGETS[name].experiments).toBeUndefined();
  });
});
