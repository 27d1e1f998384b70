/**
 * The runtime's family table: metadata kinds map to one family each (an unknown kind is a
 * diffusion model's downstream forward process), loadExportedModel dispatches through it, and a
 * loaded model's capabilities follow from the graphs it was loaded with.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  canTransport,
  EXPORT_FAMILIES,
  familyOfKind,
  hasLogProb,
  loadExportedModel,
  loadOnnxDiffFlow,
  loadOnnxModel,
  metadataToProps,
  propsToMetadata,
  RUNTIME_FAMILIES,
  readOnnxMetadata,
  runtimeFamily,
  samplesOnGrid,
  samplesWithSolvers,
} from '../src/index.js';

const fixtures = join(import.meta.dirname, 'fixtures');

describe('family table', () => {
  it('maps every metadata kind to one family; unknown kinds are diffusion forward processes', () => {
    expect(['nfdm', 'ndm', 'fixed', 'linear-interpolation', 'nfbm', 'diffflow', 'cfm'].map((k) => familyOfKind(k).id)).toEqual([
      'diffusion',
      'diffusion',
      'diffusion',
      'diffusion',
      'bridge',
      'diffflow',
      'cfm',
    ]);
    expect(RUNTIME_FAMILIES.map((f) => f.exportName)).toEqual([...EXPORT_FAMILIES]);
    expect(runtimeFamily('bridge')).toBe(runtimeFamily('nfbm'));
    expect(() => runtimeFamily('gan')).toThrow(/unknown model family 'gan' \(known: diffusion, bridge, diffflow, cfm\)/);
  });

  it('parses metadata of a downstream forward-process kind, and still checks bridge and DiffFlow fields', () => {
    const meta = readOnnxMetadata(readFileSync(join(fixtures, 'nfdm-2d', 'velocity.onnx')));
    const custom = propsToMetadata(metadataToProps({ ...meta, kind: 'linear-interpolation', forwardKind: 'linear-interpolation' }));
    expect([custom.kind, custom.forwardKind]).toEqual(['linear-interpolation', 'linear-interpolation']);
    expect(() => propsToMetadata(metadataToProps({ ...meta, kind: 'nfbm' }))).toThrow(/NFBM metadata needs a positive 'nfdm.delta'/);
    expect(() => propsToMetadata(metadataToProps({ ...meta, kind: 'diffflow', grid: [0, 1], g: [1] }))).toThrow(/DiffFlow metadata needs/);
  });

  it('fewStep comes from an NFDM-OT objective recorded in the export config', () => {
    const meta = readOnnxMetadata(readFileSync(join(fixtures, 'nfdm-2d', 'velocity.onnx')));
    const diffusion = runtimeFamily('diffusion');
    expect(diffusion.capabilitiesOf(meta, ['velocity']).fewStep).toBe(false);
    expect(diffusion.capabilitiesOf({ ...meta, config: { objective: { kind: 'ot' } } }, ['velocity']).fewStep).toBe(true);
    expect(diffusion.capabilitiesOf({ ...meta, config: { model: 'nfdm-ot' } }, ['velocity']).fewStep).toBe(true);
  });

  it("fewStep comes from the export's nfdm.objective (as nfdm export records it), which round-trips and is checked", () => {
    const meta = readOnnxMetadata(readFileSync(join(fixtures, 'nfdm-2d', 'velocity.onnx')));
    const diffusion = runtimeFamily('diffusion');
    const ot = propsToMetadata(metadataToProps({ ...meta, objective: { kind: 'ot', curvatureWeight: 0.5 } }));
    expect(ot.objective).toEqual({ kind: 'ot', curvatureWeight: 0.5 });
    expect(diffusion.capabilitiesOf(ot, ['velocity']).fewStep).toBe(true);
    // a recorded NELBO objective wins over a config that says otherwise
    const nelbo = propsToMetadata(metadataToProps({ ...meta, objective: { kind: 'nelbo' }, config: { model: 'nfdm-ot' } }));
    expect(diffusion.capabilitiesOf(nelbo, ['velocity']).fewStep).toBe(false);
    for (const bad of ['{"kind":"ot"}', '{"kind":"ot","curvatureWeight":-1}', '{"kind":"score"}', '[1]'])
      expect(() => propsToMetadata({ ...metadataToProps(meta), 'nfdm.objective': bad })).toThrow(/nfdm.objective/);
  });

  it('flow matching (cfm): the ODE and log p by its graphs, never an SDE; fewStep after a reflow round', () => {
    const meta = { ...readOnnxMetadata(readFileSync(join(fixtures, 'nfdm-2d', 'velocity.onnx'))), kind: 'cfm' };
    const cfm = runtimeFamily('cfm');
    expect(cfm.capabilitiesOf(meta, ['velocity'])).toMatchObject({
      sample: true,
      logProb: false,
      sde: false,
      solvers: true,
      transport: false,
    });
    expect(cfm.capabilitiesOf(meta, ['velocity_divergence'])).toMatchObject({ sample: true, logProb: true, adaptive: true, sde: false });
    expect(cfm.capabilitiesOf(meta, ['sampler_rk4_ode']).sample).toBe(true);
    expect(['velocity', 'velocity_divergence', 'sampler_heun_ode', 'sampler_euler_sde', 'drift', 'predictor'].map(cfm.wants)).toEqual([
      true,
      true,
      true,
      false,
      false,
      false,
    ]);
    expect(cfm.capabilitiesOf({ ...meta, config: { flow: { coupling: 'reflow' } } }, ['velocity']).fewStep).toBe(true);
    expect(cfm.capabilitiesOf({ ...meta, config: { flow: { coupling: 'ot' } } }, ['velocity']).fewStep).toBe(false);
  });
});

/** `bytes` with one more metadata_props entry (ModelProto field 14); a later entry of the same key wins. */
function withMetadata(bytes: Uint8Array, key: string, value: string): Uint8Array {
  const utf8 = (x: string) => Array.from(new TextEncoder().encode(x));
  const [k, v] = [utf8(key), utf8(value)];
  const entry = [0x0a, k.length, ...k, 0x12, v.length, ...v];
  return Uint8Array.from([...bytes, (14 << 3) | 2, entry.length, ...entry]);
}

describe('capabilities of loaded models', () => {
  it('an export whose kind is a downstream forward process loads and samples as a diffusion model', async () => {
    const bytes = readFileSync(join(fixtures, 'nfdm-2d', 'velocity.onnx'));
    const custom = withMetadata(bytes, 'nfdm.kind', 'linear-interpolation');
    expect(readOnnxMetadata(custom).kind).toBe('linear-interpolation');
    const model = await loadExportedModel(custom);
    const reference = await loadOnnxModel(bytes);
    try {
      expect([model.familyId, model.family, model.metadata.kind]).toEqual(['diffusion', 'diffusion', 'linear-interpolation']);
      expect(samplesWithSolvers(model)).toBe(true);
      if (!samplesWithSolvers(model)) return;
      const options = { n: 3, steps: 4, solver: 'heun', mode: 'ode', seed: 5 } as const;
      expect((await model.sample(options)).samples).toEqual((await reference.sample(options)).samples);
    } finally {
      await model.dispose();
      await reference.dispose();
    }
  });

  it('a diffusion export with every graph samples (ODE and SDE), has log-densities and its forward process', async () => {
    const model = await loadExportedModel(join(fixtures, 'nfdm-2d'), { graphs: ['velocity', 'velocity_divergence', 'drift', 'forward'] });
    try {
      expect([model.family, model.familyId]).toEqual(['diffusion', 'diffusion']);
      expect(model.capabilities).toEqual({
        sample: true,
        transport: false,
        logProb: true,
        nelbo: false,
        bound: false,
        curvature: false,
        fewStep: false,
        sde: true,
        solvers: true,
        adaptive: true,
        forwardTrajectories: true,
      });
      expect([samplesWithSolvers(model), hasLogProb(model), canTransport(model), samplesOnGrid(model)]).toEqual([true, true, false, false]);
    } finally {
      await model.dispose();
    }
  });

  it('without velocity_divergence there are no log-densities; an ODE-only export has no SDE', async () => {
    const model = await loadOnnxModel(join(fixtures, 'nfdm-2d'), { graphs: ['velocity'] });
    try {
      expect(model.capabilities).toMatchObject({ sample: true, logProb: false, adaptive: false, sde: false, forwardTrajectories: false });
      expect(hasLogProb(model)).toBe(false);
    } finally {
      await model.dispose();
    }
  });

  it('bridges transport; DiffFlow samples on its own grid (no solver table)', async () => {
    const bridge = await loadExportedModel(join(fixtures, 'bridge-2d'));
    const flow = await loadExportedModel(join(fixtures, 'diffflow-2d'));
    try {
      expect([bridge.familyId, bridge.capabilities.transport, bridge.capabilities.sample, bridge.capabilities.logProb]).toEqual([
        'bridge',
        true,
        false,
        false,
      ]);
      expect([canTransport(bridge), samplesWithSolvers(bridge)]).toEqual([true, false]);
      expect([flow.familyId, flow.capabilities.sample, flow.capabilities.solvers, flow.capabilities.logProb]).toEqual([
        'diffflow',
        true,
        false,
        false,
      ]);
      expect([samplesOnGrid(flow), samplesWithSolvers(flow), canTransport(flow)]).toEqual([true, false, false]);
    } finally {
      await bridge.dispose();
      await flow.dispose();
    }
  });

  it('a family loader refuses another family with the table’s message', async () => {
    await expect(loadOnnxModel(join(fixtures, 'diffflow-2d'))).rejects.toThrow(/this is an diffflow export; load it with loadOnnxDiffFlow/);
    await expect(loadOnnxDiffFlow(join(fixtures, 'bridge-2d'))).rejects.toThrow(/not a DiffFlow export \(kind 'nfbm'\)/);
  });
});
