/**
 * exportAnyModel dispatches by family id to the registered exporter: for each built-in family
 * it writes exactly the bytes of that family's own export call with the family's defaults (the
 * CLI's former per-class branches), and an unknown family fails naming the registered ones.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@nfdm/core';
import { bridgeModelConfig, diffflowEvalGrid, diffflowStandardization } from '@nfdm/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportBridgeOnnx } from '../src/bridge.js';
import { exportCFMOnnx } from '../src/cfm.js';
import { exportDiffFlowOnnx } from '../src/diffflow.js';
import { exportOnnx, type OnnxExport } from '../src/export.js';
import { exportAnyModel, familyExporter, registerFamilyExporter, writeAnyExport } from '../src/families.js';
import { CFM_CASES, cfmModel, DIFFFLOW_STD, diffflowModel, MAIN_CASES, neuralBridge } from './cases.js';
import { makeModel } from './helpers.js';

let root: string;
beforeAll(async () => {
  await initBackend('wasm');
  root = mkdtempSync(join(tmpdir(), 'nfdm-export-families-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function expectSameExport(actual: OnnxExport, expected: OnnxExport): void {
  expect(actual.metadata).toEqual(expected.metadata);
  expect(Object.keys(actual.graphs).sort()).toEqual(Object.keys(expected.graphs).sort());
  for (const [name, bytes] of Object.entries(expected.graphs))
    expect(actual.graphs[name as keyof OnnxExport['graphs']], name).toEqual(bytes);
}

describe('exportAnyModel', () => {
  it('diffusion models: the bytes of exportOnnx (standardisation remembered with the model, or overridden)', () => {
    const config = MAIN_CASES[2].config;
    const model = makeModel(config);
    const any = exportAnyModel(model);
    expect(any.metadata.kind).toBe('nfdm');
    expect(any.metadata.standardization).toEqual(config.standardization);
    expectSameExport(any, exportOnnx(model));
    expectSameExport(exportAnyModel(model, { standardization: null }), exportOnnx(model, { standardization: null }));
    model.dispose();
  });

  it('bridges: the bytes of exportBridgeOnnx with the penalties of the model config', () => {
    const model = neuralBridge();
    const any = exportAnyModel(model);
    expect(any.metadata.kind).toBe('nfbm');
    expect(any.metadata.penalties).toEqual(bridgeModelConfig(model).penalties);
    expectSameExport(
      any,
      exportBridgeOnnx(model, { penalties: bridgeModelConfig(model).penalties as unknown as Array<Record<string, unknown>> }),
    );
    model.dispose();
  });

  it('DiffFlow: the bytes of exportDiffFlowOnnx on the evaluation grid; writeAnyExport writes them', () => {
    const model = diffflowModel();
    const expected = exportDiffFlowOnnx(model, {
      grid: diffflowEvalGrid(model.time),
      g: model.time.g,
      standardization: diffflowStandardization(model) ?? null,
    });
    const any = exportAnyModel(model);
    expect(any.metadata.kind).toBe('diffflow');
    expectSameExport(any, expected);
    const withStd = exportAnyModel(model, { standardization: DIFFFLOW_STD });
    expect(withStd.metadata.standardization).toEqual(DIFFFLOW_STD);
    const dir = join(root, 'df');
    const files = writeAnyExport(model, dir);
    expect(readdirSync(dir).sort()).toEqual(files.map((f) => f.split('/').pop()).sort());
    expect(new Uint8Array(readFileSync(join(dir, 'diffflow_drift.onnx')))).toEqual(expected.graphs.diffflow_drift);
    model.dispose();
  });

  it('a flow-matching model: exportCFMOnnx with the standardisation remembered by its config', () => {
    const model = cfmModel(CFM_CASES[0].config, 2);
    const any = exportAnyModel(model);
    expect(any.metadata.kind).toBe('cfm');
    expect(any.metadata.standardization).toEqual(CFM_CASES[0].config.standardization);
    expectSameExport(any, exportCFMOnnx(model));
    expect(exportAnyModel(model, { standardization: null }).metadata.standardization).toBeUndefined();
    model.dispose();
  });

  it('an unknown family fails naming the registered families; exporters are checked', () => {
    expect(() => familyExporter('no-such-family')).toThrow(
      "no ONNX exporter for the 'no-such-family' model family (registered: diffusion, bridge, diffflow, cfm); register one with registerFamilyExporter('no-such-family', { exportModel })",
    );
    expect(() => registerFamilyExporter('x', {} as never)).toThrow(/needs exportModel/);
    expect(() => exportAnyModel({} as never)).toThrow(TypeError);
  });
});
