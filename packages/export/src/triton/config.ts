/**
 * The Triton Inference Server model configuration (`config.pbtxt`, protobuf text format of
 * Triton's `inference.ModelConfig`) of one exported ONNX graph, read off the graph's declared
 * inputs and outputs: the onnxruntime backend, every tensor's name, data type and dims, and —
 * when every input and output leads with the same symbolic batch dim — `max_batch_size` with
 * dynamic batching (the batch dim then leaves `dims`, as Triton expects). nfdm's graphs compute
 * each row from that row's inputs alone, so such graphs can be batched across requests; graphs
 * with shared inputs (a Loop sampler's `steps` [1], the SDE noise [steps, N, D]) cannot.
 */
import { decodeModel, type ValueInfoProto } from '../onnx/proto.js';

/** ONNX TensorProto element types → Triton's DataType names. */
const TRITON_TYPES: Readonly<Record<number, string>> = {
  1: 'TYPE_FP32',
  2: 'TYPE_UINT8',
  3: 'TYPE_INT8',
  5: 'TYPE_INT16',
  6: 'TYPE_INT32',
  7: 'TYPE_INT64',
  9: 'TYPE_BOOL',
  10: 'TYPE_FP16',
  11: 'TYPE_FP64',
};

/** One declared tensor of a graph: its name, Triton data type and dims (-1 for a symbolic dim). */
export interface TritonTensor {
  name: string;
  dataType: string;
  /** The graph's full shape; symbolic dims (e.g. 'N') as strings. */
  shape: Array<number | string>;
}

export interface TritonConfigOptions {
  /** Largest batch Triton's dynamic batcher may form for batchable graphs (default 1024). */
  maxBatchSize?: number;
  /** Triton's `max_queue_delay_microseconds` of dynamic batching (default 1000). */
  maxQueueDelayMicroseconds?: number;
  /** Instances per CPU (`instance_group { count, kind: KIND_CPU }`; default 1). */
  instances?: number;
}

/** The model's config: the declared tensors, whether it batches, and the `config.pbtxt` text. */
export interface TritonModelConfig {
  name: string;
  inputs: TritonTensor[];
  outputs: TritonTensor[];
  /** The symbolic batch dim every tensor leads with, or null when the graph is not batchable. */
  batchDim: string | null;
  text: string;
}

function tensorOf(v: ValueInfoProto): TritonTensor {
  const t = v.type?.tensorType;
  const dataType = t ? TRITON_TYPES[t.elemType] : undefined;
  if (!t || !dataType) throw new Error(`tensor '${v.name}' has no element type Triton supports`);
  const shape = (t.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue ?? -1)));
  return { name: v.name, dataType, shape };
}

/** The declared inputs and outputs of a serialised ONNX model. */
export function graphTensors(onnx: Uint8Array): { inputs: TritonTensor[]; outputs: TritonTensor[] } {
  const graph = decodeModel(onnx).graph;
  return { inputs: (graph.input ?? []).map(tensorOf), outputs: (graph.output ?? []).map(tensorOf) };
}

/** The symbolic dim every tensor leads with, or null. */
export function batchDimOf(tensors: readonly TritonTensor[]): string | null {
  const first = tensors[0]?.shape[0];
  if (typeof first !== 'string') return null;
  return tensors.every((t) => t.shape[0] === first) ? first : null;
}

function tensorText(t: TritonTensor, batched: boolean): string {
  const shape = (batched ? t.shape.slice(1) : t.shape).map((d) => (typeof d === 'number' ? d : -1));
  // Triton needs at least one dim: a batched [N] tensor is dims [1] reshaped to []
  const dims = shape.length === 0 ? [1] : shape;
  const reshape = shape.length === 0 ? '\n    reshape { shape: [ ] }' : '';
  return `  {\n    name: ${JSON.stringify(t.name)}\n    data_type: ${t.dataType}\n    dims: [ ${dims.join(', ')} ]${reshape}\n  }`;
}

/** The Triton model configuration of the ONNX graph `onnx`, served as the Triton model `name`. */
export function tritonConfig(name: string, onnx: Uint8Array, options: TritonConfigOptions = {}): TritonModelConfig {
  const { inputs, outputs } = graphTensors(onnx);
  const batchDim = batchDimOf([...inputs, ...outputs]);
  const batched = batchDim !== null;
  const lines = [
    `name: ${JSON.stringify(name)}`,
    'platform: "onnxruntime_onnx"',
    'backend: "onnxruntime"',
    `max_batch_size: ${batched ? (options.maxBatchSize ?? 1024) : 0}`,
    `input [\n${inputs.map((t) => tensorText(t, batched)).join(',\n')}\n]`,
    `output [\n${outputs.map((t) => tensorText(t, batched)).join(',\n')}\n]`,
  ];
  if (batched) lines.push(`dynamic_batching {\n  max_queue_delay_microseconds: ${options.maxQueueDelayMicroseconds ?? 1000}\n}`);
  lines.push(`instance_group [\n  {\n    count: ${options.instances ?? 1}\n    kind: KIND_CPU\n  }\n]`);
  return { name, inputs, outputs, batchDim, text: `${lines.join('\n')}\n` };
}
