/**
 * The model lists of the experiments come from the CLI's model table: the density models with
 * their own sampling chain (DiffFlow) and the bridge model are found by capability, and the
 * lists are the ones the reports and configs have always named.
 */
import { MODEL_NAMES, PRESETS, presetCapabilities } from '@nfdm/cli/lib';
import { describe, expect, it } from 'vitest';
import {
  BRIDGE_MODEL,
  BUDGETS,
  DENSITY_MODELS,
  EXPERIMENT_NAMES,
  experimentModels,
  FEWSTEP_MODELS,
  IMAGE_BRIDGE_MODELS,
  IMAGE_DENSITY_MODELS,
  IMAGE_FEWSTEP_MODELS,
  IMAGE_MODELS,
  ownChain,
  REFLOW_TEACHER,
  selectModels,
} from '../src/budgets.js';
import { hasNelbo } from '../src/density.js';

describe('model lists from the model table', () => {
  it('density: five diffusion models, the velocity flow-matching baselines, then the models with their own chain', () => {
    expect(DENSITY_MODELS).toEqual(['nfdm', 'ndm', 'vp', 'subvp', 'fm', 'cfm', 'ot-cfm', 'diffflow']);
    // CFM and OT-CFM report the exact NLL but have no NELBO (n/a in the report).
    expect(DENSITY_MODELS.filter((m) => !hasNelbo(m))).toEqual(['cfm', 'ot-cfm']);
    expect(MODEL_NAMES.filter(ownChain)).toEqual(['diffflow']);
    for (const m of DENSITY_MODELS) expect(ownChain(m)).toBe(!presetCapabilities(m).solvers);
  });

  it('bridges: NFBM, the first model that transports; its family heads the bridges table', () => {
    expect(BRIDGE_MODEL).toBe('nfbm');
    // The first model that transports is NFBM; the fixed-process bridge (its baseline) transports too.
    expect(MODEL_NAMES.filter((m) => presetCapabilities(m).transport)).toEqual([BRIDGE_MODEL, 'fixed-bridge']);
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

describe('the image models', () => {
  it('are models of the table: every density and few-step model trained once, CFM before rectified flow', () => {
    for (const m of [...IMAGE_MODELS, ...IMAGE_BRIDGE_MODELS]) expect(MODEL_NAMES).toContain(m);
    expect(IMAGE_DENSITY_MODELS).toEqual(['nfdm', 'ndm', 'vp', 'cfm']);
    expect(IMAGE_FEWSTEP_MODELS).toEqual(['nfdm-ot', 'cfm', 'ot-cfm', 'rectified-flow', 'vp']);
    expect([...IMAGE_MODELS].sort()).toEqual([...new Set([...IMAGE_DENSITY_MODELS, ...IMAGE_FEWSTEP_MODELS])].sort());
    expect(IMAGE_MODELS.indexOf('cfm')).toBeLessThan(IMAGE_MODELS.indexOf('rectified-flow'));
    // Only CFM of the density models has no NELBO; every image model has a U-Net.
    expect(IMAGE_DENSITY_MODELS.filter((m) => !hasNelbo(m))).toEqual(['cfm']);
    for (const m of [...IMAGE_MODELS, ...IMAGE_BRIDGE_MODELS]) expect(PRESETS[m].unet, m).toBe(true);
  });

  it('the image bridge: NFBM against the fixed-process bridge, both transport', () => {
    expect(IMAGE_BRIDGE_MODELS).toEqual(['nfbm', 'fixed-bridge']);
    for (const m of IMAGE_BRIDGE_MODELS) expect(presetCapabilities(m).transport, m).toBe(true);
  });
});

describe('the long budget', () => {
  it('density: ≥ 20,000 updates of the reference-size networks on 8gaussians and checkerboard, settings unchanged (a long run resumes by them)', () => {
    const long = BUDGETS.long;
    expect(long.density.datasets).toEqual(['8gaussians', 'checkerboard']);
    expect(long.density.models).toEqual(['nfdm', 'ndm', 'vp', 'fm', 'cfm']);
    expect(long.density.train).toEqual({
      steps: 20_000,
      hidden: [64, 64, 64, 64],
      batch: 1024,
      lr: 1e-3,
      ema: 0.999,
      clip: 1,
      checkpointEvery: 2000,
    });
    expect(long.description).toMatch(/Measured.*hours of process time/);
  });

  it('is the largest budget: every experiment, few-step and bridges as in full, images and the image bridge at 28×28 with U-Nets', () => {
    const long = BUDGETS.long;
    expect(long.experiments).toEqual([...EXPERIMENT_NAMES]);
    expect(EXPERIMENT_NAMES).toContain('image-bridge');
    expect(long.fewstep).toEqual(BUDGETS.full.fewstep);
    expect(long.bridges).toEqual(BUDGETS.full.bridges);
    const { images, imageBridge, classifier } = long;
    expect(images).toMatchObject({ data: 'fashion-mnist', net: { arch: 'unet', base: 16 }, testImages: 500, nfe: [1, 2, 4, 8] });
    // Adaptive: fixed RK4 steps do not converge for VP's stiff probability-flow ODE on images.
    expect(images.nll).toEqual({ solver: 'dopri5', tol: 1e-3 });
    expect(images.frechetSamples).toBeGreaterThanOrEqual(1000);
    expect(images.train).toMatchObject({ batch: 32, lr: 2e-4, checkpointEvery: 250 });
    expect(images.train.steps).toBeGreaterThanOrEqual(1500);
    expect(imageBridge).toMatchObject({ data: 'fashion-mnist', source: 7, target: 9, net: { arch: 'unet', base: 16 } });
    expect(imageBridge.train.checkpointEvery).toBeGreaterThan(0);
    expect(classifier.steps).toBeGreaterThanOrEqual(3000);
  });

  it('the other budgets define every experiment', () => {
    for (const name of ['smoke', 'quick', 'full'] as const) expect(BUDGETS[name].experiments).toBeUndefined();
  });
});

describe('--models', () => {
  it('selects in training order, and a reflow student brings its teacher', () => {
    expect(selectModels(IMAGE_MODELS)).toEqual([...IMAGE_MODELS]);
    expect(selectModels(IMAGE_MODELS, ['ot-cfm', 'nfdm-ot'])).toEqual(['nfdm-ot', 'ot-cfm']);
    expect(selectModels(FEWSTEP_MODELS, ['rectified-flow'])).toEqual(['cfm', 'rectified-flow']);
    expect(selectModels(IMAGE_BRIDGE_MODELS, ['nfdm'])).toEqual([]);
  });

  it("selects from each experiment's models under the budget (the bridges' variants are not models)", () => {
    expect(experimentModels(BUDGETS.long, 'density')).toEqual(['nfdm', 'ndm', 'vp', 'fm', 'cfm']);
    expect(experimentModels(BUDGETS.full, 'density')).toEqual(DENSITY_MODELS);
    expect(experimentModels(BUDGETS.long, 'images')).toEqual(IMAGE_MODELS);
    expect(experimentModels(BUDGETS.long, 'image-bridge')).toEqual(IMAGE_BRIDGE_MODELS);
    expect(experimentModels(BUDGETS.long, 'fewstep')).toEqual(FEWSTEP_MODELS);
    expect(experimentModels(BUDGETS.long, 'bridges')).toEqual([]);
  });
});
