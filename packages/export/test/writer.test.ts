/**
 * The ONNX writer: protobuf encoding through protobufjs reflection (round trip), the graph
 * builder (names, shared constants, subgraphs, attributes), the plain-JS metadata reader, the
 * version stamp. (The runtime's no-tfjs import check moved to @nfdm/runtime's tests.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { metadataToProps, type OnnxGraphMetadata, OnnxMetadataError, propsToMetadata, readMetadataProps } from '@nfdm/runtime';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { attr, buildModel, Graph } from '../src/onnx/builder.js';
import { AttributeType, DataType, decodeModel, ONNX_IR_VERSION, ONNX_OPSET, tensorFloat32 } from '../src/onnx/proto.js';
import { NFDM_EXPORT_VERSION } from '../src/version.js';

describe('protobuf encoding', () => {
  it('round-trips a model through protobufjs (IR 8, opset 17, dims, rawData, attributes, metadata)', () => {
    const g = new Graph('g');
    const x = g.input('x', ['N', 3]);
    const w = g.floatTensor('w', Float32Array.from([1.5, -2, 0.25, 3, 1e-7, -0]), [3, 2]);
    const y = g.op('Selu', [g.matmul(x, w)], { alpha: attr.float(1.5), gamma: attr.float(2) });
    g.output('y', g.op('Concat', [y, y], { axis: attr.int(-1) }), ['N', 4]);
    const bytes = buildModel(g, { metadata: { 'nfdm.a': 'b', é: '∂μ/∂t' }, producerVersion: '9.9' });
    const m = decodeModel(bytes);
    expect(m.irVersion).toBe(ONNX_IR_VERSION);
    expect(m.opsetImport?.map((o) => [o.domain ?? '', o.version])).toEqual([['', ONNX_OPSET]]); // '' = default domain
    expect(m.producerName).toBe('nfdm');
    expect(m.metadataProps).toEqual([
      { key: 'nfdm.a', value: 'b' },
      { key: 'é', value: '∂μ/∂t' },
    ]);
    const init = m.graph.initializer?.find((t) => t.name === 'w');
    expect(init?.dims).toEqual([3, 2]);
    expect(init?.dataType).toBe(DataType.FLOAT);
    expect(Array.from(tensorFloat32(init as never))).toEqual(Array.from(Float32Array.from([1.5, -2, 0.25, 3, 1e-7, -0])));
    const selu = m.graph.node?.find((n) => n.opType === 'Selu');
    expect(selu?.attribute?.map((a) => [a.name, a.type, a.f])).toEqual([
      ['alpha', AttributeType.FLOAT, 1.5],
      ['gamma', AttributeType.FLOAT, 2],
    ]);
    const concat = m.graph.node?.find((n) => n.opType === 'Concat');
    expect(concat?.attribute?.[0]).toMatchObject({ name: 'axis', type: AttributeType.INT, i: -1 });
    expect(m.graph.input?.[0].type?.tensorType?.shape?.dim).toEqual([{ dimParam: 'N' }, { dimValue: 3 }]);
    expect(readMetadataProps(bytes)).toEqual({ 'nfdm.a': 'b', é: '∂μ/∂t' });
  });

  it('builds runnable graphs with unique names, shared constants and a Loop subgraph', async () => {
    const g = new Graph('loop');
    const x = g.input('x', ['N', 2]);
    const a = g.add(x, 0.5);
    const b = g.add(a, 0.5);
    expect(g.scalar(0.5)).toBe(g.scalar(0.5));
    expect(g.unique('v')).not.toBe(g.unique('v'));
    const w1 = g.floatTensor('w', [1, 2], [2]);
    expect(g.floatTensor('w', [1, 2], [2])).toBe(w1);
    const other = new Graph('other');
    expect(other.floatTensor('w', [1, 2], [2])).toBe('w');
    expect(other.floatTensor('w', [1, 3], [2])).toBe('w_1');
    // Loop: z ← 2z + w, three times, reading x-independent outer values.
    const body = g.subgraph('body');
    body.input('i', [], DataType.INT64);
    const cond = body.input('c', [], DataType.BOOL);
    const z = body.input('z', null);
    body.output('c_out', cond, [], DataType.BOOL);
    body.output('z_out', body.add(body.mul(z, 2), w1), null);
    const [out] = g.node('Loop', [g.int64Tensor([3], []), '', b], { body: attr.graph(body) }, [g.unique('z_final')]);
    g.output('y', out, ['N', 2]);
    const session = await ort.InferenceSession.create(buildModel(g));
    const r = await session.run({ x: new ort.Tensor('float32', Float32Array.from([0, 1, 2, 3]), [2, 2]) });
    // z0 = x + 1; after 3 steps: 8 z0 + 7 w.
    expect(Array.from(r.y.data as Float32Array)).toEqual([15, 30, 31, 46]);
    await session.release();
    expect(() => g.input('x', [1])).toThrow(/already used/);
  });
});

describe('metadata', () => {
  const meta: OnnxGraphMetadata = {
    format: 'nfdm-onnx/1',
    version: NFDM_EXPORT_VERSION,
    graph: 'drift',
    kind: 'nfdm',
    dim: 2,
    forwardKind: 'nfdm',
    forward: { kind: 'nfdm', delta: 0.01 },
    volatility: { kind: 'constant', value: 1 },
    standardization: { mean: [1, 2], std: [3, 4] },
    objective: { kind: 'ot', curvatureWeight: 0.25 },
    priorStd: 1,
    tStart: 0,
    signature: { inputs: [{ name: 'z', shape: ['N', 2], type: 'float32', doc: '' }], outputs: [] },
  };

  it('round-trips through metadata_props and the plain-JS reader', () => {
    const g = new Graph('m');
    g.output('y', g.unary('Relu', g.input('x', ['N', 2])), ['N', 2]);
    const bytes = buildModel(g, { metadata: metadataToProps(meta) });
    expect(propsToMetadata(readMetadataProps(bytes))).toEqual(meta);
  });

  it('rejects foreign or malformed metadata clearly', () => {
    expect(() => propsToMetadata({})).toThrow(OnnxMetadataError);
    expect(() => propsToMetadata({ ...metadataToProps(meta), 'nfdm.format': 'nfdm-onnx/9' })).toThrow(/unsupported nfdm ONNX format/);
    expect(() => propsToMetadata({ ...metadataToProps(meta), 'nfdm.dim': 'x' })).toThrow(/positive integer/);
    expect(() => propsToMetadata({ ...metadataToProps(meta), 'nfdm.standardization': '{"mean":[1],"std":[1]}' })).toThrow(/length 2/);
    expect(() => readMetadataProps(new Uint8Array([0x72, 0x05, 0x01]))).toThrow(/truncated/);
  });

  it('the version stamp equals package.json', () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8'));
    expect(NFDM_EXPORT_VERSION).toBe(pkg.version);
  });
});
