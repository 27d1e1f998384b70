/**
 * Triton model repositories (`writeTritonRepository`): the layout, every `config.pbtxt` parsed
 * against Triton's model-config schema (vendor/triton/model_config.proto, with @bufbuild/protobuf's
 * text-format parser: test/triton/model-config.ts), the declared tensors equal to the ones onnxruntime reads from
 * each `model.onnx`, and batching only where every tensor leads with the batch dim.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportOnnx, type OnnxExport, tritonConfig, writeTritonRepository } from '../src/index.js';
import { makeModel, smallConfig } from './helpers.js';
import { parseModelConfig } from './triton/model-config.js';

let dir: string;
let exported: OnnxExport;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nfdm-triton-'));
  const model = makeModel(smallConfig({ forward: { kind: 'nfdm', hidden: [8], activation: 'selu' } } as never));
  exported = exportOnnx(model);
  model.dispose();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A tensor of the parsed config (proto JSON: int64 dims as strings). */
interface Tensor {
  name: string;
  data_type: string;
  dims: string[];
}

/** The expected Triton dims of an onnxruntime shape (batch dim dropped when batched). */
function tritonDims(shape: ReadonlyArray<number | string>, batched: boolean): number[] {
  const dims = (batched ? shape.slice(1) : shape).map((d) => (typeof d === 'number' ? d : -1));
  return dims.length === 0 ? [1] : dims;
}

describe('Triton model repository', () => {
  it('writes <model>_<graph>/1/model.onnx with a schema-valid config.pbtxt whose tensors match the graph', async () => {
    const { configs } = writeTritonRepository(exported, dir, 'toy');
    const graphs = Object.keys(exported.graphs);
    expect(configs.map((c) => c.name).sort()).toEqual(graphs.map((g) => `toy_${g}`).sort());
    expect(existsSync(join(dir, 'toy.nfdm-onnx.json'))).toBe(true);
    expect(readFileSync(join(dir, 'toy.README.md'), 'utf8')).toMatch(/toy_sampler_euler_ode/);
    const types: Record<string, string> = { float32: 'TYPE_FP32', int64: 'TYPE_INT64' };
    for (const graph of graphs) {
      const name = `toy_${graph}`;
      const text = readFileSync(join(dir, name, 'config.pbtxt'), 'utf8');
      const config = parseModelConfig(text) as Record<string, unknown>;
      expect(config).toMatchObject({ name, backend: 'onnxruntime', platform: 'onnxruntime_onnx' });
      const session = await ort.InferenceSession.create(join(dir, name, '1', 'model.onnx'));
      try {
        const batched = (config.max_batch_size as number) > 0;
        const check = (declared: Tensor[], actual: readonly ort.InferenceSession.ValueMetadata[]) => {
          expect(declared.map((t) => t.name)).toEqual(actual.map((a) => a.name));
          declared.forEach((t, i) => {
            const a = actual[i] as ort.InferenceSession.TensorValueMetadata;
            expect(t.data_type, `${name} ${t.name}`).toBe(types[a.type]);
            expect(t.dims.map(Number), `${name} ${t.name}`).toEqual(tritonDims(a.shape, batched));
            if (batched) expect(typeof a.shape[0], `${name} ${t.name} batch dim`).toBe('string');
          });
        };
        check(config.input as unknown as Tensor[], session.inputMetadata);
        check(config.output as unknown as Tensor[], session.outputMetadata);
        expect(config.instance_group).toMatchObject([{ count: 1, kind: 'KIND_CPU' }]);
        expect(config.dynamic_batching !== undefined).toBe(batched);
      } finally {
        await session.release();
      }
    }
  });

  it('batches the row-wise field graphs and not the Loop samplers (shared steps / [steps, N, D] noise)', () => {
    const velocity = tritonConfig('v', exported.graphs.velocity as Uint8Array);
    expect(velocity.batchDim).toBe('N');
    expect(velocity.text).toMatch(/max_batch_size: 1024/);
    expect(tritonConfig('s', exported.graphs.sampler_euler_ode as Uint8Array).batchDim).toBeNull();
    expect(tritonConfig('s', exported.graphs.sampler_euler_sde as Uint8Array).text).toMatch(/max_batch_size: 0/);
  });

  it('the schema check rejects unknown fields, bad enums, wrong types and syntax errors', () => {
    const bad = [
      'name: "x"\nmax_batch_sise: 0\n',
      'input [ { name: "a" data_type: TYPE_FLOAT32 dims: [ 1 ] } ]',
      'max_batch_size: "8"',
      'max_batch_size: 1.5',
      'name: "a"\nname: "b"',
      'input [ { name: "a" dims: [ 1 ] }',
    ];
    for (const text of bad) expect(() => parseModelConfig(text), text).toThrow();
  });
});
