/**
 * A small ONNX graph builder: inputs and outputs (with symbolic dims such as the dynamic batch
 * 'N'), float32/int64 initializers, nodes with typed attributes, unique names, and subgraphs
 * (Loop/If bodies) that see the outer graph's values. Every value is named by a string; the
 * helpers return the name of the value they create, so graphs read like the tfjs code they
 * mirror: `g.add(g.mul(h, w), b)`. JS numbers passed where a tensor is expected become float32
 * scalar initializers (shared by value), which broadcast numpy-style in Add/Mul/Sub/Div.
 */
import {
  type AttributeProto,
  AttributeType,
  DataType,
  type Dim,
  encodeModel,
  float32Bytes,
  type GraphProto,
  int64Bytes,
  type ModelProto,
  type NodeProto,
  ONNX_IR_VERSION,
  ONNX_OPSET,
  type TensorProto,
  type ValueInfoProto,
  valueInfo,
} from './proto.js';
import { pruneGraph } from './prune.js';

/** A typed attribute value: build with {@link attr}. */
export type Attr =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'ints'; value: number[] }
  | { kind: 'floats'; value: number[] }
  | { kind: 'string'; value: string }
  | { kind: 'graph'; value: Graph };

export const attr = {
  int: (value: number): Attr => ({ kind: 'int', value }),
  float: (value: number): Attr => ({ kind: 'float', value }),
  ints: (value: number[]): Attr => ({ kind: 'ints', value }),
  floats: (value: number[]): Attr => ({ kind: 'floats', value }),
  string: (value: string): Attr => ({ kind: 'string', value }),
  graph: (value: Graph): Attr => ({ kind: 'graph', value }),
};

/** A tensor operand: a value name, or a JS number (a float32 scalar constant). */
export type Operand = string | number;

interface Shared {
  names: Set<string>;
  counters: Map<string, number>;
  initializers: TensorProto[];
  scalars: Map<string, string>;
  constants: Map<string, string>;
  /** Float initializers by prefix, so re-emitting a network reuses its weights. */
  byPrefix: Map<string, Array<{ name: string; data: Float32Array; dims: string }>>;
}

/**
 * One graph. The root graph owns the initializers; subgraphs made by {@link Graph.subgraph}
 * add their constants to the root (subgraphs may read outer-scope values in ONNX) and share
 * its name space, so every name is unique across the model.
 */
export class Graph {
  private readonly shared: Shared;
  private readonly nodes: NodeProto[] = [];
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  readonly parent: Graph | null;

  constructor(
    readonly name: string,
    parent: Graph | null = null,
  ) {
    this.parent = parent;
    this.shared = parent
      ? parent.shared
      : { names: new Set(), counters: new Map(), initializers: [], scalars: new Map(), constants: new Map(), byPrefix: new Map() };
  }

  /** A new subgraph (e.g. a Loop body) sharing names and initializers with this graph. */
  subgraph(name: string): Graph {
    return new Graph(this.unique(name), this);
  }

  /** A fresh name `prefix` or `prefix_k`, unique across the model. */
  unique(prefix: string): string {
    const base = prefix.replace(/[^A-Za-z0-9_.:/-]/g, '_') || 'v';
    let name = base;
    let k = this.shared.counters.get(base) ?? 0;
    while (this.shared.names.has(name)) {
      k++;
      name = `${base}_${k}`;
    }
    this.shared.counters.set(base, k);
    this.shared.names.add(name);
    return name;
  }

  /** Reserve an exact name (graph inputs/outputs); throws if taken. */
  private claim(name: string): string {
    if (this.shared.names.has(name)) throw new Error(`ONNX value name '${name}' is already used`);
    this.shared.names.add(name);
    return name;
  }

  /** Declare a graph input; returns its name. */
  input(name: string, shape: readonly Dim[] | null, elemType: number = DataType.FLOAT): string {
    this.inputs.push(valueInfo(this.claim(name), elemType, shape));
    return name;
  }

  /** Declare `value` as the graph output `name` (an Identity node when the names differ). */
  output(name: string, value: string, shape: readonly Dim[] | null, elemType: number = DataType.FLOAT): string {
    if (value !== name) this.node('Identity', [value], {}, [this.claim(name)]);
    this.outputs.push(valueInfo(name, elemType, shape));
    return name;
  }

  /**
   * A float32 initializer (root graph); returns its name (`prefix` when free). Asking again
   * with the same prefix, dims and values returns the same initializer, so a network emitted
   * several times (e.g. the stages of a Heun step) stores its weights once.
   */
  floatTensor(prefix: string, values: Float32Array | readonly number[], dims: readonly number[]): string {
    const data = values instanceof Float32Array ? Float32Array.from(values) : Float32Array.from(values);
    const size = dims.reduce((a, b) => a * b, 1);
    if (size !== data.length) throw new RangeError(`initializer '${prefix}': ${data.length} values for dims [${dims}]`);
    const key = dims.join('x');
    const seen = this.shared.byPrefix.get(prefix) ?? [];
    const hit = seen.find((e) => e.dims === key && e.data.length === data.length && e.data.every((x, i) => Object.is(x, data[i])));
    if (hit) return hit.name;
    const name = this.unique(prefix);
    this.shared.initializers.push({ name, dims: [...dims], dataType: DataType.FLOAT, rawData: float32Bytes(data) });
    seen.push({ name, data, dims: key });
    this.shared.byPrefix.set(prefix, seen);
    return name;
  }

  /** An int64 initializer (root graph), shared by value. */
  int64Tensor(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `i64:${dims.join('x')}:${values.join(',')}`;
    const hit = this.shared.constants.get(key);
    if (hit) return hit;
    const name = this.unique(`const_i64_${values.length === 1 ? values[0] : values.length}`.replace('-', 'm'));
    this.shared.initializers.push({ name, dims: [...dims], dataType: DataType.INT64, rawData: int64Bytes(values) });
    this.shared.constants.set(key, name);
    return name;
  }

  /** A float32 constant shared by value (e.g. an identity matrix). */
  floatConstant(prefix: string, values: Float32Array | readonly number[], dims: readonly number[]): string {
    const data = values instanceof Float32Array ? values : Float32Array.from(values);
    const key = `f32:${dims.join('x')}:${Array.from(data).join(',')}`;
    const hit = this.shared.constants.get(key);
    if (hit) return hit;
    const name = this.floatTensor(prefix, data, dims);
    this.shared.constants.set(key, name);
    return name;
  }

  /** A float32 scalar (rank 0) constant, shared by value. */
  scalar(value: number): string {
    const f = Math.fround(value);
    const key = Object.is(f, -0) ? '-0' : String(f);
    const hit = this.shared.scalars.get(key);
    if (hit) return hit;
    const name = this.floatTensor(`c_${key.replace('-', 'm').replace('.', 'p')}`.slice(0, 24), [f], []);
    this.shared.scalars.set(key, name);
    return name;
  }

  /** Name of an operand (numbers become scalar constants). */
  value(x: Operand): string {
    return typeof x === 'number' ? this.scalar(x) : x;
  }

  /**
   * Add a node. `outputs` are exact names to claim, or a count of fresh names derived from
   * the op type. Returns the output names. Empty-string inputs mark omitted optional inputs.
   */
  node(opType: string, inputs: Operand[], attrs: Record<string, Attr> = {}, outputs: string[] | number = 1): string[] {
    const outNames = typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.unique(opType.toLowerCase())) : outputs;
    const attribute: AttributeProto[] = Object.entries(attrs).map(([name, a]) => encodeAttr(name, a));
    this.nodes.push({
      input: inputs.map((x) => (x === '' ? '' : this.value(x))),
      output: outNames,
      name: this.unique(`${opType}_node`),
      opType,
      attribute,
    });
    return outNames;
  }

  /** A single-output node; returns its output name. */
  op(opType: string, inputs: Operand[], attrs: Record<string, Attr> = {}): string {
    return this.node(opType, inputs, attrs, 1)[0];
  }

  // Elementwise arithmetic (numpy broadcasting).
  add(a: Operand, b: Operand): string {
    return this.op('Add', [a, b]);
  }
  sub(a: Operand, b: Operand): string {
    return this.op('Sub', [a, b]);
  }
  mul(a: Operand, b: Operand): string {
    return this.op('Mul', [a, b]);
  }
  div(a: Operand, b: Operand): string {
    return this.op('Div', [a, b]);
  }
  neg(a: string): string {
    return this.op('Neg', [a]);
  }
  square(a: string): string {
    return this.op('Mul', [a, a]);
  }
  /** Sum of several tensors (one Sum node; broadcasting). */
  sum(xs: string[]): string {
    return xs.length === 1 ? xs[0] : this.op('Sum', xs);
  }
  unary(opType: string, a: string): string {
    return this.op(opType, [a]);
  }
  matmul(a: string, b: string): string {
    return this.op('MatMul', [a, b]);
  }
  concat(xs: string[], axis: number): string {
    return xs.length === 1 ? xs[0] : this.op('Concat', xs, { axis: attr.int(axis) });
  }
  /** Columns [start, end) along `axis`. */
  slice(x: string, start: number, end: number, axis: number): string {
    return this.op('Slice', [x, this.int64Tensor([start]), this.int64Tensor([end]), this.int64Tensor([axis])]);
  }
  reshape(x: string, shape: readonly number[]): string {
    return this.op('Reshape', [x, this.int64Tensor(shape)]);
  }
  /** `x` (broadcastable) expanded to the shape of `like`. */
  expandLike(x: Operand, like: string): string {
    return this.op('Expand', [x, this.op('Shape', [like])]);
  }
  cast(x: string, to: number): string {
    return this.op('Cast', [x], { to: attr.int(to) });
  }

  /** This graph as a GraphProto (the root includes all initializers). */
  toProto(): GraphProto {
    const proto: GraphProto = { name: this.name, node: this.nodes, input: this.inputs, output: this.outputs };
    if (!this.parent) proto.initializer = this.shared.initializers;
    return proto;
  }

  /** Number of nodes in this graph (not counting subgraphs). */
  get nodeCount(): number {
    return this.nodes.length;
  }
}

function encodeAttr(name: string, a: Attr): AttributeProto {
  switch (a.kind) {
    case 'int':
      return { name, type: AttributeType.INT, i: a.value };
    case 'float':
      return { name, type: AttributeType.FLOAT, f: a.value };
    case 'ints':
      return { name, type: AttributeType.INTS, ints: a.value };
    case 'floats':
      return { name, type: AttributeType.FLOATS, floats: a.value };
    case 'string':
      return { name, type: AttributeType.STRING, s: new TextEncoder().encode(a.value) };
    case 'graph':
      return { name, type: AttributeType.GRAPH, g: a.value.toProto() };
  }
}

/** Options of {@link buildModel}. */
export interface BuildModelOptions {
  metadata?: Record<string, string>;
  /** Drop the nodes (and initializers) no output depends on (onnx/prune.ts); default false. */
  prune?: boolean;
  docString?: string;
  producerVersion?: string;
}

/** A ModelProto (IR 8, default-domain opset 17) around a root graph. */
export function modelProto(graph: Graph, options: BuildModelOptions = {}): ModelProto {
  if (graph.parent) throw new Error('modelProto needs the root graph');
  return {
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'nfdm',
    producerVersion: options.producerVersion ?? '',
    docString: options.docString ?? '',
    graph: options.prune ? pruneGraph(graph.toProto()) : graph.toProto(),
    metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
  };
}

/** Serialise a root graph as an ONNX model. */
export function buildModel(graph: Graph, options: BuildModelOptions = {}): Uint8Array {
  return encodeModel(modelProto(graph, options));
}
