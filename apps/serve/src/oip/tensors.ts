/**
 * Named typed tensors of the Open Inference Protocol (KServe v2) ↔ onnxruntime tensors: request
 * inputs checked against the graph's signature (names, datatypes, ranks, fixed dims, one size
 * per symbolic dim, element counts and values) before any run, and outputs as JSON tensors.
 */
import * as ort from 'onnxruntime-node';
import { HttpError } from '../errors.js';
import { DECODABLE, v2Datatype, v2Shape } from './datatypes.js';
import type { V2Graph } from './graphs.js';

/** One input tensor of an infer request (JSON: `data` flat in row-major order, or nested). */
export interface V2RequestTensor {
  name: string;
  shape: number[];
  datatype: string;
  data: unknown[];
  parameters?: Record<string, unknown>;
}

/** One output tensor of an infer response. */
export interface V2ResponseTensor {
  name: string;
  datatype: string;
  shape: number[];
  data: Array<number | boolean>;
}

export interface TensorLimits {
  /** Largest number of elements of all inputs of one request together. */
  maxElements: number;
  /** Largest value of an INT64 input named `steps` (the Loop samplers' step count). */
  maxSteps: number;
}

const bad = (message: string) => new HttpError(400, 'INVALID_TENSOR', message);

/** The onnxruntime feeds of an infer request's `inputs` for `graph`; 400 on any mismatch. */
export function decodeInputs(graph: V2Graph, inputs: readonly V2RequestTensor[], limits: TensorLimits): Record<string, ort.Tensor> {
  const expected = new Map(graph.signature.inputs.map((t) => [t.name, t]));
  const names = [...expected.keys()].join(', ');
  const symbols = new Map<string, number>();
  const feeds: Record<string, ort.Tensor> = {};
  let elements = 0;
  for (const input of inputs) {
    const spec = expected.get(input.name);
    if (!spec) throw bad(`model '${graph.name}' has no input '${input.name}' (inputs: ${names})`);
    if (input.name in feeds) throw bad(`input '${input.name}' is given twice`);
    if (input.parameters && 'binary_data_size' in input.parameters) {
      throw bad(`input '${input.name}': the binary tensor data extension is not supported; send 'data' as JSON`);
    }
    const datatype = v2Datatype(spec.type);
    if (input.datatype !== datatype) throw bad(`input '${input.name}' must have datatype ${datatype}, got ${input.datatype}`);
    checkShape(input, spec.shape, symbols);
    const size = input.shape.reduce((a, b) => a * b, 1);
    elements += size;
    if (elements > limits.maxElements) {
      throw new HttpError(400, 'TOO_LARGE', `the inputs exceed this server's limit of ${limits.maxElements} elements per request`);
    }
    const data = input.data.flat(Number.POSITIVE_INFINITY);
    if (data.length !== size) {
      throw bad(`input '${input.name}' has shape [${input.shape.join(', ')}] (${size} elements) but ${data.length} data values`);
    }
    feeds[input.name] = tensorOf(input.name, datatype, data, input.shape);
    if (input.name === 'steps' && datatype === 'INT64') checkSteps(data as number[], limits.maxSteps);
  }
  const missing = [...expected.keys()].filter((n) => !(n in feeds));
  if (missing.length > 0) throw bad(`model '${graph.name}' needs the input${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  return feeds;
}

/** Rank and fixed dims as the graph declares them; a symbolic dim one size over all inputs. */
function checkShape(input: V2RequestTensor, declared: ReadonlyArray<number | string>, symbols: Map<string, number>): void {
  const want = `[${v2Shape(declared).join(', ')}]`;
  if (input.shape.length !== declared.length) {
    throw bad(`input '${input.name}' must have rank ${declared.length} (shape ${want}), got shape [${input.shape.join(', ')}]`);
  }
  declared.forEach((d, i) => {
    const got = input.shape[i];
    if (typeof d === 'number' && d >= 0 && got !== d) {
      throw bad(`input '${input.name}' must have shape ${want}, got [${input.shape.join(', ')}]`);
    }
    if (typeof d === 'string' && d !== '') {
      const seen = symbols.get(d);
      if (seen !== undefined && seen !== got) {
        throw bad(`input '${input.name}' dim ${i} (${d}) is ${got}, but another input has ${d} = ${seen}`);
      }
      symbols.set(d, got);
    }
  });
}

function checkSteps(values: readonly number[], maxSteps: number): void {
  for (const v of values) {
    if (v < 1 || v > maxSteps) throw bad(`input 'steps' must be between 1 and ${maxSteps} (this server's maxSteps limit), got ${v}`);
  }
}

/** An onnxruntime tensor of checked JSON values. */
function tensorOf(name: string, datatype: string, data: unknown[], shape: number[]): ort.Tensor {
  if (!DECODABLE.has(datatype)) throw bad(`input '${name}' has datatype ${datatype}, which this server cannot decode from JSON`);
  if (datatype === 'BOOL') {
    if (!data.every((v) => typeof v === 'boolean')) throw bad(`input '${name}' (BOOL) must hold true/false values`);
    return new ort.Tensor('bool', Uint8Array.from(data as boolean[], Number), shape);
  }
  if (datatype === 'FP32' || datatype === 'FP64') {
    if (!data.every((v) => typeof v === 'number' && Number.isFinite(v)))
      throw bad(`input '${name}' (${datatype}) must hold finite numbers`);
    return datatype === 'FP32'
      ? new ort.Tensor('float32', Float32Array.from(data as number[]), shape)
      : new ort.Tensor('float64', Float64Array.from(data as number[]), shape);
  }
  if (!data.every((v) => Number.isSafeInteger(v))) throw bad(`input '${name}' (${datatype}) must hold integers`);
  return datatype === 'INT64'
    ? new ort.Tensor(
        'int64',
        BigInt64Array.from(data as number[], (v) => BigInt(v)),
        shape,
      )
    : new ort.Tensor('int32', Int32Array.from(data as number[]), shape);
}

/** The requested outputs (all, in the graph's order, when `requested` is undefined) as JSON tensors. */
export function encodeOutputs(graph: V2Graph, results: Record<string, ort.Tensor>, requested?: readonly string[]): V2ResponseTensor[] {
  const names = requested ?? graph.signature.outputs.map((o) => o.name);
  return names.map((name) => {
    const t = results[name];
    const data =
      t.type === 'int64' || t.type === 'uint64' ? Array.from(t.data as BigInt64Array, Number) : Array.from(t.data as ArrayLike<number>);
    return { name, datatype: v2Datatype(t.type), shape: [...t.dims], data: t.type === 'bool' ? data.map(Boolean) : data };
  });
}

/** 400 unless every requested output exists (and none twice); the names, or undefined for all. */
export function requestedOutputs(graph: V2Graph, outputs: ReadonlyArray<{ name: string }> | undefined): string[] | undefined {
  if (outputs === undefined) return undefined;
  const known = graph.signature.outputs.map((o) => o.name);
  const names = outputs.map((o) => o.name);
  for (const name of names) {
    if (!known.includes(name)) throw bad(`model '${graph.name}' has no output '${name}' (outputs: ${known.join(', ')})`);
  }
  if (new Set(names).size !== names.length) throw bad('an output is requested twice');
  return names;
}
