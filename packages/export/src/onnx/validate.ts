/**
 * Structural validation of an ONNX model without Python: the rules of `onnx.checker` that an
 * exporter can get wrong, checked against the contract of this package's files (IR 8,
 * default-domain opset 17, the operators of {@link ONNX_OPSET17_OPS}).
 *
 * Checked, recursively through Loop / If subgraphs:
 * - the model: `ir_version` = 8, one opset import for the default domain at version 17, a graph;
 * - operators: every node's (domain, op_type) is in the registry; input/output counts, empty
 *   (omitted) inputs only where optional, attributes known, of the right type, required ones
 *   present, `Cast.to` a real data type; Loop bodies take 2 + N inputs and return 1 + N + K
 *   outputs, If branches take none and return one per node output;
 * - names: graph inputs, initializers and node outputs are assigned once in their scope (SSA;
 *   a subgraph may not redefine a name visible from its outer scope); names are non-empty;
 * - order: every node input is a graph input, an initializer, an output of an EARLIER node or,
 *   in a subgraph, an outer-scope value defined before the node that owns the subgraph (so
 *   nodes are topologically sorted); every graph output is defined;
 * - types: graph inputs and outputs (and value_info entries) declare a tensor element type;
 *   initializers have a known data type, non-negative dims and exactly ∏dims elements.
 *
 * Not checked: shape and type inference across nodes (onnxruntime does that when it loads the
 * file) and operator semantics. The result is the list of problems, each prefixed with where it
 * is (`graph 'g' › node 3 'Mul_node' (Mul)`); an empty list means the model passed.
 */
import { ONNX_OPSET17_OPS, type OnnxOpSchema } from './ops.js';
import {
  type AttributeProto,
  decodeModel,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  ONNX_IR_VERSION,
  ONNX_OPSET,
  type TensorProto,
  type ValueInfoProto,
} from './proto.js';
import { ONNX_SCHEMA } from './schema.js';

const DATA_TYPES: Readonly<Record<string, number>> = ONNX_SCHEMA.nested.onnx.nested.TensorProto.nested.DataType.values;
const DATA_TYPE_NAMES = new Map(Object.entries(DATA_TYPES).map(([name, code]) => [code, name]));
const ATTRIBUTE_TYPES: Readonly<Record<string, number>> = ONNX_SCHEMA.nested.onnx.nested.AttributeProto.nested.AttributeType.values;

/** Bytes per element in rawData, by TensorProto.DataType (STRING has no fixed size). */
const ELEMENT_BYTES: Readonly<Record<number, number>> = {
  1: 4,
  2: 1,
  3: 1,
  4: 2,
  5: 2,
  6: 4,
  7: 8,
  9: 1,
  10: 2,
  11: 8,
  12: 4,
  13: 8,
  14: 8,
  15: 16,
  16: 2,
};

/** The typed field holding a tensor's values when rawData is not used, by data type. */
function typedField(dataType: number): string {
  if (dataType === DATA_TYPES.FLOAT || dataType === DATA_TYPES.COMPLEX64) return 'floatData';
  if (dataType === DATA_TYPES.INT64) return 'int64Data';
  if (dataType === DATA_TYPES.DOUBLE || dataType === DATA_TYPES.COMPLEX128) return 'doubleData';
  if (dataType === DATA_TYPES.UINT32 || dataType === DATA_TYPES.UINT64) return 'uint64Data';
  if (dataType === DATA_TYPES.STRING) return 'stringData';
  return 'int32Data';
}

const isDefaultDomain = (domain: string | undefined) => !domain || domain === 'ai.onnx';

/**
 * Check a serialised (or decoded) ONNX model; returns the problems found, `[]` when it passes.
 * Never throws: bytes that are not a ModelProto give one problem saying so.
 */
export function validateOnnxModel(model: Uint8Array | ModelProto): string[] {
  let proto: ModelProto;
  if (model instanceof Uint8Array) {
    try {
      proto = decodeModel(model);
    } catch (error) {
      return [`not an ONNX ModelProto: ${(error as Error).message}`];
    }
  } else {
    proto = model;
  }
  const problems: string[] = [];
  if (proto.irVersion !== ONNX_IR_VERSION) {
    problems.push(
      `model: ir_version is ${proto.irVersion ?? 'missing'}; expected ${ONNX_IR_VERSION} (ONNX 1.12, the IR of opset ${ONNX_OPSET})`,
    );
  }
  const imports = proto.opsetImport ?? [];
  const defaults = imports.filter((o) => isDefaultDomain(o.domain));
  if (defaults.length !== 1 || defaults[0].version !== ONNX_OPSET) {
    problems.push(
      `model: opset_import must hold the default domain once at version ${ONNX_OPSET}; found ${
        defaults.map((o) => `'${o.domain ?? ''}' ${o.version}`).join(', ') || 'none'
      }`,
    );
  }
  for (const o of imports) if (!isDefaultDomain(o.domain)) problems.push(`model: opset_import of domain '${o.domain}' is not supported`);
  if (!proto.graph) {
    problems.push('model: no graph');
    return problems;
  }
  checkGraph(proto.graph, `graph '${proto.graph.name ?? ''}'`, new Set(), problems);
  return problems;
}

function checkValueInfo(v: ValueInfoProto, where: string, problems: string[]): void {
  const tensor = v.type?.tensorType;
  if (!tensor) {
    problems.push(`${where}: '${v.name}' has no tensor type`);
    return;
  }
  if (!tensor.elemType || !DATA_TYPE_NAMES.has(tensor.elemType)) {
    problems.push(`${where}: '${v.name}' has no valid element type (elem_type ${tensor.elemType ?? 'missing'})`);
  }
  for (const d of tensor.shape?.dim ?? []) {
    if (d.dimValue !== undefined && d.dimValue < 0) problems.push(`${where}: '${v.name}' has a negative dimension ${d.dimValue}`);
  }
}

function checkInitializer(t: TensorProto, where: string, problems: string[]): void {
  const dataType = t.dataType ?? 0;
  const name = DATA_TYPE_NAMES.get(dataType);
  if (!name || dataType === DATA_TYPES.UNDEFINED) {
    problems.push(`${where}: initializer '${t.name}' has no valid data type (${dataType})`);
    return;
  }
  const dims = t.dims ?? [];
  if (dims.some((d) => !(Number.isInteger(d) && d >= 0))) {
    problems.push(`${where}: initializer '${t.name}' has invalid dims [${dims.join(', ')}]`);
    return;
  }
  const count = dims.reduce((a, b) => a * b, 1);
  const raw = t.rawData?.length ?? 0;
  const perElement = ELEMENT_BYTES[dataType];
  let found: number;
  if (raw > 0 && perElement) {
    found = raw / perElement;
  } else {
    const field = typedField(dataType);
    const values = (t as unknown as Record<string, unknown[] | undefined>)[field] ?? [];
    const complex = dataType === DATA_TYPES.COMPLEX64 || dataType === DATA_TYPES.COMPLEX128;
    found = complex ? values.length / 2 : values.length;
  }
  if (found !== count) {
    problems.push(`${where}: initializer '${t.name}' (${name}, dims [${dims.join(', ')}]) holds ${found} elements, not ${count}`);
  }
}

/**
 * Check one graph. `outer` holds the names visible from enclosing graphs at the node that owns
 * this subgraph (empty for the root).
 */
function checkGraph(graph: GraphProto, where: string, outer: ReadonlySet<string>, problems: string[]): void {
  const defined = new Set(outer);
  const local = new Set<string>();
  const define = (name: string, what: string, at: string) => {
    if (!name) {
      problems.push(`${at}: ${what} with an empty name`);
      return;
    }
    if (local.has(name)) problems.push(`${at}: ${what} '${name}' is already defined in this graph (names must be assigned once, SSA)`);
    else if (defined.has(name)) problems.push(`${at}: ${what} '${name}' redefines a value of the outer scope (SSA)`);
    local.add(name);
    defined.add(name);
  };
  for (const input of graph.input ?? []) {
    define(input.name, 'graph input', where);
    checkValueInfo(input, `${where} input`, problems);
  }
  const inputNames = new Set((graph.input ?? []).map((i) => i.name));
  for (const t of graph.initializer ?? []) {
    // An initializer may share its name with a graph input (it is then that input's default).
    if (!inputNames.has(t.name ?? '')) define(t.name ?? '', 'initializer', where);
    checkInitializer(t, where, problems);
  }
  for (const v of graph.valueInfo ?? []) checkValueInfo(v, `${where} value_info`, problems);

  const nodes = graph.node ?? [];
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => {
    for (const out of n.output ?? []) if (out && !producer.has(out)) producer.set(out, i);
  });
  nodes.forEach((node, i) => {
    const at = `${where} › node ${i} '${node.name ?? ''}' (${node.opType || '?'})`;
    const inputs = node.input ?? [];
    const schema = checkOperator(node, at, problems);
    inputs.forEach((name, k) => {
      if (name === '') {
        if (schema && !emptyAllowed(schema, k)) problems.push(`${at}: input ${k} is required but empty`);
        return;
      }
      if (defined.has(name)) return;
      const later = producer.get(name);
      problems.push(
        later !== undefined && later >= i
          ? `${at}: input '${name}' is produced later, by node ${later}: nodes are not in topological order`
          : `${at}: input '${name}' is not defined (not a graph input, initializer, earlier node output or outer-scope value)`,
      );
    });
    for (const a of node.attribute ?? []) {
      if (a.g) checkGraph(a.g, `${at} › ${a.name} graph '${a.g.name ?? ''}'`, defined, problems);
    }
    if (schema) checkSubgraphSignature(node, at, problems);
    for (const out of node.output ?? []) if (out !== '') define(out, 'output', at);
  });

  const outputs = graph.output ?? [];
  if (outputs.length === 0) problems.push(`${where}: the graph has no outputs`);
  const seen = new Set<string>();
  for (const output of outputs) {
    if (seen.has(output.name)) problems.push(`${where}: graph output '${output.name}' is listed twice`);
    seen.add(output.name);
    if (!defined.has(output.name))
      problems.push(`${where}: graph output '${output.name}' is not produced by any node, input or initializer`);
    checkValueInfo(output, `${where} output`, problems);
  }
}

function emptyAllowed(schema: OnnxOpSchema, position: number): boolean {
  if (schema.optional?.includes(position)) return true;
  return position >= schema.inputs[0] && schema.inputs[1] !== Number.POSITIVE_INFINITY;
}

/** Registry, arity and attribute checks of one node; returns its schema when the op is known. */
function checkOperator(node: NodeProto, at: string, problems: string[]): OnnxOpSchema | undefined {
  if (!isDefaultDomain(node.domain)) {
    problems.push(`${at}: domain '${node.domain}' is not imported (only the default ONNX domain is)`);
    return undefined;
  }
  const schema = Object.hasOwn(ONNX_OPSET17_OPS, node.opType) ? ONNX_OPSET17_OPS[node.opType] : undefined;
  if (!schema) {
    problems.push(`${at}: '${node.opType}' is not an operator of the default domain at opset ${ONNX_OPSET} known to this validator`);
    return undefined;
  }
  const count = (node.input ?? []).length;
  const outs = (node.output ?? []).length;
  const range = (r: readonly [number, number]) => (r[0] === r[1] ? `${r[0]}` : `${r[0]}…${r[1] === Number.POSITIVE_INFINITY ? '∞' : r[1]}`);
  if (count < schema.inputs[0] || count > schema.inputs[1])
    problems.push(`${at}: ${count} inputs; ${node.opType} takes ${range(schema.inputs)}`);
  if (outs < schema.outputs[0] || outs > schema.outputs[1])
    problems.push(`${at}: ${outs} outputs; ${node.opType} gives ${range(schema.outputs)}`);
  const accepted = schema.attributes ?? {};
  const names = new Set<string>();
  for (const a of node.attribute ?? []) {
    if (names.has(a.name)) problems.push(`${at}: attribute '${a.name}' is given twice`);
    names.add(a.name);
    const spec = Object.hasOwn(accepted, a.name) ? accepted[a.name] : undefined;
    if (!spec) {
      problems.push(`${at}: ${node.opType} has no attribute '${a.name}'`);
      continue;
    }
    const expected = ATTRIBUTE_TYPES[spec.kind.toUpperCase()];
    if (a.type !== expected || !hasValue(a, spec.kind)) {
      problems.push(`${at}: attribute '${a.name}' must be of type ${spec.kind.toUpperCase()} (type ${a.type ?? 'missing'})`);
    }
  }
  for (const [name, spec] of Object.entries(accepted)) {
    if (spec.required && !names.has(name)) problems.push(`${at}: required attribute '${name}' is missing`);
  }
  const to = (node.attribute ?? []).find((a) => a.name === 'to');
  if (node.opType === 'Cast' && to && (to.i === undefined || !DATA_TYPE_NAMES.has(to.i) || to.i === DATA_TYPES.UNDEFINED)) {
    problems.push(`${at}: Cast to ${to.i} is not a data type`);
  }
  return schema;
}

function hasValue(a: AttributeProto, kind: string): boolean {
  switch (kind) {
    case 'graph':
      return a.g !== undefined && a.g !== null;
    case 'tensor':
      return a.t !== undefined && a.t !== null;
    default:
      return true; // scalars and lists may be zero / empty
  }
}

/** Loop bodies: 2 + N inputs, 1 + N + K outputs; If branches: no inputs, one output per node output. */
function checkSubgraphSignature(node: NodeProto, at: string, problems: string[]): void {
  const graphOf = (name: string) => (node.attribute ?? []).find((a) => a.name === name)?.g;
  if (node.opType === 'Loop') {
    const body = graphOf('body');
    if (!body) return;
    const carried = Math.max(0, (node.input ?? []).length - 2);
    const scans = (node.output ?? []).length - carried;
    const ins = (body.input ?? []).length;
    const outs = (body.output ?? []).length;
    if (scans < 0) problems.push(`${at}: ${(node.output ?? []).length} outputs for ${carried} loop-carried values`);
    if (ins !== 2 + carried)
      problems.push(`${at}: the body takes ${ins} inputs; expected 2 + ${carried} (iteration, condition, carried values)`);
    if (scans >= 0 && outs !== 1 + carried + scans) {
      problems.push(
        `${at}: the body returns ${outs} outputs; expected 1 + ${carried} + ${scans} (condition, carried values, scan outputs)`,
      );
    }
  }
  if (node.opType === 'If') {
    for (const branch of ['then_branch', 'else_branch']) {
      const g = graphOf(branch);
      if (!g) continue;
      if ((g.input ?? []).length > 0) problems.push(`${at}: ${branch} must take no inputs`);
      if ((g.output ?? []).length !== (node.output ?? []).length) {
        problems.push(`${at}: ${branch} returns ${(g.output ?? []).length} outputs for ${(node.output ?? []).length} node outputs`);
      }
    }
  }
}
