/**
 * System suite (needs Debian's python3-onnx): every kind of exported graph passes the official
 * onnx.checker.check_model(full_check=True, which runs shape inference) with IR 8 / opset 17 —
 * U-Net models (Conv, GroupNorm decomposition, attention) and conditional models (label and
 * vector condition inputs, guidance inputs; IsNaN, Gather, Split; conditional bridges, whose Loop
 * samplers nest the guidance If) and flow-matching models (velocity, exact divergence and ODE Loop
 * samplers of an MLP and a U-Net) included —, its metadata round-trips
 * through Python's onnx, and the JS validator used by `npm test` agrees with the checker on
 * the exported files and on the broken models of its unit tests.
 */
import { rmSync } from 'node:fs';
import { initBackend } from '@nfdm/core';
import { metadataToProps, readOnnxMetadata } from '@nfdm/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportBridgeOnnx } from '../../src/bridge.js';
import { exportCFMOnnx } from '../../src/cfm.js';
import { exportDiffFlowOnnx } from '../../src/diffflow.js';
import { exportOnnx } from '../../src/export.js';
import { validateOnnxModel } from '../../src/onnx/validate.js';
import { brokenModels, tinyModel } from '../broken-models.js';
import {
  BRIDGE_CONDITION_CASES,
  BRIDGE_STD,
  CFM_CASES,
  CONDITION_CASES,
  cfmModel,
  constantBridge,
  DIFFFLOW_G,
  DIFFFLOW_GRID,
  DIFFFLOW_STD,
  diffflowModel,
  MAIN_CASES,
  neuralBridge,
  UNET_CASES,
  unetModel,
} from '../cases.js';
import { exportDir, makeModel, saveFile } from '../helpers.js';
import { type CheckerVerdict, onnxChecker } from './python-onnx.js';

const dir = exportDir();
const exported = new Map<string, Uint8Array>();
let verdicts: Record<string, CheckerVerdict>;

function keep(label: string, graphs: Record<string, Uint8Array | undefined>): void {
  for (const [name, bytes] of Object.entries(graphs)) {
    if (bytes) exported.set(saveFile(dir, `${label.replace(/[^a-z0-9]+/gi, '_')}.${name}.onnx`, bytes), bytes);
  }
}

beforeAll(async () => {
  await initBackend('wasm');
  for (const { label, config } of MAIN_CASES) {
    const model = makeModel(config);
    keep(label, exportOnnx(model).graphs);
    model.dispose();
  }
  const neural = neuralBridge();
  keep('bridge neural', exportBridgeOnnx(neural).graphs);
  neural.dispose();
  const constant = constantBridge();
  const penalties = [{ kind: 'obstacle' as const, center: [0, 0, 0], radius: 1 }];
  keep('bridge constant std', exportBridgeOnnx(constant, { standardization: BRIDGE_STD, penalties }).graphs);
  constant.dispose();
  const diffflow = diffflowModel();
  keep('diffflow g1', exportDiffFlowOnnx(diffflow, { grid: DIFFFLOW_GRID, g: 1 }).graphs);
  keep('diffflow grid std', exportDiffFlowOnnx(diffflow, { grid: DIFFFLOW_GRID, g: DIFFFLOW_G, standardization: DIFFFLOW_STD }).graphs);
  diffflow.dispose();
  for (const { label, config } of UNET_CASES) {
    const model = unetModel(config, 7);
    keep(`unet ${label}`, exportOnnx(model, { maxDivergenceDim: 16, samplers: [{ solver: 'heun', mode: 'ode' }] }).graphs);
    model.dispose();
  }
  for (const c of CONDITION_CASES) {
    const model = c.make();
    const samplers = [
      { solver: 'heun' as const, mode: 'ode' as const },
      { solver: 'euler' as const, mode: 'sde' as const },
    ];
    keep(`conditional ${c.label}`, exportOnnx(model, { samplers }).graphs);
    model.dispose();
  }
  for (const c of BRIDGE_CONDITION_CASES) {
    const model = c.make();
    keep(`conditional bridge ${c.label}`, exportBridgeOnnx(model).graphs);
    model.dispose();
  }
  for (const { label, config } of CFM_CASES) {
    const model = cfmModel(config, 7);
    keep(label, exportCFMOnnx(model).graphs);
    model.dispose();
  }
  verdicts = onnxChecker([...exported.keys()]);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('onnx.checker (Python, full_check) on every kind of exported graph', () => {
  it('passes every file: DiffusionModel families, samplers, bridges, DiffFlow, conditional models and bridges, flow matching; IR 8, opset 17', () => {
    expect(exported.size).toBeGreaterThan(100);
    const conditional = [...exported.keys()].filter((file) => /conditional_/.test(file));
    expect(conditional.length).toBeGreaterThanOrEqual(5 * 7 + 3 * 4);
    expect(conditional.filter((file) => /conditional_bridge_/.test(file)).length).toBe(4 * BRIDGE_CONDITION_CASES.length);
    for (const file of conditional) expect(verdicts[file].props['nfdm.condition'], file).toMatch(/"kind":"(label|vector)"/);
    const cfm = [...exported.keys()].filter((file) => /\/cfm_/.test(file));
    expect(cfm.length).toBe(5 * CFM_CASES.length);
    for (const file of cfm) expect(verdicts[file].props['nfdm.kind'], file).toBe('cfm');
    const failed = Object.entries(verdicts).filter(([, v]) => !v.ok);
    expect(failed.map(([file, v]) => `${file}: ${v.error}`)).toEqual([]);
    for (const v of Object.values(verdicts)) {
      expect(v.irVersion).toBe(8);
      expect(v.opsets).toEqual([['', 17]]);
    }
  });

  it("metadata round-trips through Python's onnx", () => {
    for (const [file, bytes] of exported) {
      expect(verdicts[file].props['nfdm.format']).toBe('nfdm-onnx/1');
      expect(verdicts[file].props).toEqual(metadataToProps(readOnnxMetadata(bytes)));
    }
  });

  it('agrees with the JS validator of npm test: both accept every export and the tiny model', () => {
    for (const bytes of exported.values()) expect(validateOnnxModel(bytes)).toEqual([]);
    const tiny = saveFile(dir, 'tiny.onnx', tinyModel());
    expect(onnxChecker([tiny])[tiny]).toMatchObject({ ok: true });
  });

  it("rejects the validator's broken models for the same reason (except this package's own opset-17 rule)", () => {
    const cases = brokenModels();
    const files = cases.map((c, i) => saveFile(dir, `broken-${i}.onnx`, c.bytes));
    const byPython = onnxChecker(files);
    cases.forEach((c, i) => {
      const verdict = byPython[files[i]];
      if (c.checkerError) {
        expect(verdict.ok, c.label).toBe(false);
        expect(verdict.error, c.label).toMatch(c.checkerError);
      } else {
        expect(verdict, c.label).toMatchObject({ ok: true });
      }
    });
    expect(cases.filter((c) => c.checkerError).length).toBeGreaterThanOrEqual(9);
    for (const c of cases) expect(validateOnnxModel(c.bytes).length).toBeGreaterThan(0);
  });
});
