/**
 * validateOnnxModel: a tiny valid model passes (and onnxruntime computes what it says), and
 * each broken copy (test/broken-models.ts) is reported with the rule it breaks. The system
 * suite checks that Python's onnx.checker rejects the same files.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { ONNX_OPSET17_OPS } from '../src/onnx/ops.js';
import { decodeModel } from '../src/onnx/proto.js';
import { validateOnnxModel } from '../src/onnx/validate.js';
import { brokenModels, tinyModel } from './broken-models.js';
import { f32, runOnnx } from './helpers.js';

describe('validateOnnxModel', () => {
  it('passes the tiny Loop model, which onnxruntime evaluates to 4·x·t + 1', async () => {
    const bytes = tinyModel();
    expect(validateOnnxModel(bytes)).toEqual([]);
    expect(validateOnnxModel(decodeModel(bytes))).toEqual([]);
    const x = Float32Array.of(1, -2, 0.5, 3);
    const t = Float32Array.of(0.25, 2);
    const { out } = await runOnnx(bytes, { x: f32(x, [2, 2]), t: f32(t, [2, 1]) });
    expect(Array.from(out)).toEqual([2, -1, 5, 25]);
  });

  for (const { label, bytes, problem } of brokenModels()) {
    it(`reports: ${label}`, () => {
      const problems = validateOnnxModel(bytes);
      expect(problems.length, problems.join('\n')).toBeGreaterThan(0);
      expect(problems).toContainEqual(expect.stringMatching(problem));
    });
  }

  it('onnxruntime itself refuses some broken models, but not all of them', async () => {
    const refused: string[] = [];
    for (const { label, bytes } of brokenModels()) {
      try {
        await (await ort.InferenceSession.create(bytes)).release();
      } catch {
        refused.push(label);
      }
    }
    expect(refused).toContain('unknown op (Gelu is opset 20)');
    expect(refused).toContain('undefined input');
    // Loading is not validation: onnxruntime sorts nodes itself, so the checker's rule
    // (topological order, needed by other runtimes and by onnx.checker) is checked here only.
    expect(refused).not.toContain('unsorted nodes');
  });

  it('bytes that are not a ModelProto give one problem; a node names its graph and position', () => {
    const problems = validateOnnxModel(Uint8Array.of(0xff, 0xff, 0xff, 0xff));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^not an ONNX ModelProto: /);
    const unsorted = validateOnnxModel(brokenModels()[0].bytes);
    expect(unsorted).toEqual([
      "graph 'tiny' › node 0 'Add_node' (Add): input 'h' is produced later, by node 1: nodes are not in topological order",
    ]);
  });

  it('the registry holds opset-17 signatures (ReduceSum takes axes as an input, ReduceMean as an attribute)', () => {
    expect(ONNX_OPSET17_OPS.ReduceSum.inputs).toEqual([1, 2]);
    expect(ONNX_OPSET17_OPS.ReduceMean.attributes?.axes).toEqual({ kind: 'ints' });
    expect(ONNX_OPSET17_OPS.Gelu).toBeUndefined();
    expect(ONNX_OPSET17_OPS.Loop.attributes?.body).toEqual({ kind: 'graph', required: true });
  });
});
