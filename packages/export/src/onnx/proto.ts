/**
 * ONNX protobuf encoding and decoding with protobufjs reflection over the vendored schema
 * ({@link ONNX_SCHEMA}). Plain-object message shapes mirror the schema (camelCase fields).
 */
import protobuf from 'protobufjs';
import { ONNX_SCHEMA } from './schema.js';

/** ONNX IR version written (ONNX 1.12). */
export const ONNX_IR_VERSION = 8;
/** Default-domain opset written (ONNX 1.12). */
export const ONNX_OPSET = 17;

/** TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, INT32: 6, INT64: 7, BOOL: 9, DOUBLE: 11 } as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

/** AttributeProto.AttributeType values. */
export const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7 } as const;

export interface TensorProto {
  name?: string;
  dims?: number[];
  dataType?: number;
  rawData?: Uint8Array;
  floatData?: number[];
  int64Data?: number[];
  int32Data?: number[];
  docString?: string;
}

export interface AttributeProto {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorProto;
  g?: GraphProto;
  floats?: number[];
  ints?: number[];
}

export interface NodeProto {
  input: string[];
  output: string[];
  name?: string;
  opType: string;
  domain?: string;
  attribute?: AttributeProto[];
  docString?: string;
}

/** A dimension: a fixed size or a symbolic name such as 'N'. */
export type Dim = number | string;

export interface ValueInfoProto {
  name: string;
  type?: { tensorType?: { elemType: number; shape?: { dim: Array<{ dimValue?: number; dimParam?: string }> } } };
  docString?: string;
}

export interface GraphProto {
  name?: string;
  node?: NodeProto[];
  initializer?: TensorProto[];
  input?: ValueInfoProto[];
  output?: ValueInfoProto[];
  valueInfo?: ValueInfoProto[];
  docString?: string;
}

export interface ModelProto {
  irVersion: number;
  opsetImport: Array<{ domain?: string; version: number }>;
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: number;
  docString?: string;
  graph: GraphProto;
  metadataProps?: Array<{ key: string; value: string }>;
}

let modelType: protobuf.Type | undefined;

/** The protobufjs reflection type of onnx.ModelProto (built once). */
export function modelProtoType(): protobuf.Type {
  if (!modelType) modelType = protobuf.Root.fromJSON(ONNX_SCHEMA as unknown as protobuf.INamespace).lookupType('onnx.ModelProto');
  return modelType;
}

/** Serialise a model. Throws if the message does not fit the schema. */
export function encodeModel(model: ModelProto): Uint8Array {
  const type = modelProtoType();
  const problem = type.verify(model);
  if (problem) throw new TypeError(`invalid ONNX ModelProto: ${problem}`);
  const bytes = type.encode(type.fromObject(model)).finish();
  // protobufjs may return a Buffer view into a shared pool: copy into an exact Uint8Array.
  return new Uint8Array(bytes);
}

/** Parse a serialised model into plain objects (int64 fields as numbers, bytes as Uint8Array). */
export function decodeModel(bytes: Uint8Array): ModelProto {
  const type = modelProtoType();
  const message = type.decode(bytes);
  return type.toObject(message, { longs: Number, defaults: false, arrays: true }) as ModelProto;
}

/** Little-endian bytes of a float32 array (ONNX rawData is little-endian). */
export function float32Bytes(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return out;
}

/** Little-endian bytes of int64 values (given as safe integers). */
export function int64Bytes(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    if (!Number.isSafeInteger(values[i])) throw new RangeError(`int64 initializer value ${values[i]} is not a safe integer`);
    view.setBigInt64(i * 8, BigInt(values[i]), true);
  }
  return out;
}

/** float32 values of a TensorProto written with rawData or floatData. */
export function tensorFloat32(t: TensorProto): Float32Array {
  if (t.rawData && t.rawData.length > 0) {
    const view = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
    const out = new Float32Array(t.rawData.byteLength / 4);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
    return out;
  }
  return Float32Array.from(t.floatData ?? []);
}

/** The value-info of a tensor with the given element type and shape. */
export function valueInfo(name: string, elemType: number, shape?: readonly Dim[] | null): ValueInfoProto {
  const tensorType: NonNullable<NonNullable<ValueInfoProto['type']>['tensorType']> = { elemType };
  if (shape) tensorType.shape = { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) };
  return { name, type: { tensorType } };
}
