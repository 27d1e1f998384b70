/**
 * A tiny valid ONNX model and broken copies of it, shared by the validator's unit tests
 * (validate.test.ts) and the system suite, which checks that Python's onnx.checker rejects the
 * same files (so the validator's rules are ONNX's rules, not invented ones).
 */
import { attr, buildModel, Graph } from '../src/onnx/builder.js';
import { DataType, decodeModel, encodeModel, type ModelProto } from '../src/onnx/proto.js';

/**
 * out = Loop³(acc ↦ acc + h)(x·t + 1) with h = x·t read from the outer scope inside the body:
 * root nodes 0 Mul (h), 1 Add (y), 2 Loop (z), 3 Identity (out).
 */
export function tinyModel(): Uint8Array {
  const g = new Graph('tiny');
  const x = g.input('x', ['N', 2]);
  const t = g.input('t', ['N', 1]);
  const h = g.node('Mul', [x, t], {}, ['h'])[0];
  const y = g.node('Add', [h, 1], {}, ['y'])[0];
  const body = g.subgraph('body');
  body.input('i', [], DataType.INT64);
  const c = body.input('c', [], DataType.BOOL);
  const acc = body.input('acc', null);
  body.output('c_out', c, [], DataType.BOOL);
  body.output('acc_out', body.node('Add', [acc, h], {}, ['acc_next'])[0], null);
  const [z] = g.node('Loop', [g.int64Tensor([3], []), '', y], { body: attr.graph(body) }, ['z']);
  g.output('out', z, ['N', 2]);
  return buildModel(g);
}

export interface BrokenModel {
  label: string;
  bytes: Uint8Array;
  /** The validator's problem for it. */
  problem: RegExp;
  /** onnx.checker's (full_check, onnx 1.12) error for it; null for rules of this package's contract only. */
  checkerError: RegExp | null;
}

function broken(label: string, problem: RegExp, checkerError: RegExp | null, mutate: (m: ModelProto) => void): BrokenModel {
  const m = decodeModel(tinyModel());
  mutate(m);
  return { label, bytes: encodeModel(m), problem, checkerError };
}

const rootNodes = (m: ModelProto) => m.graph.node ?? [];
const loopBody = (m: ModelProto) => {
  const body = rootNodes(m)[2].attribute?.find((a) => a.name === 'body')?.g;
  if (!body) throw new Error('tinyModel has no Loop body');
  return body;
};

/** One model per rule, each breaking exactly that rule. */
export function brokenModels(): BrokenModel[] {
  return [
    broken(
      'unsorted nodes',
      /input 'h' is produced later, by node 1: nodes are not in topological order/,
      /must be topologically sorted, however input 'h'/,
      (m) => {
        const [mul, add] = rootNodes(m);
        m.graph.node = [add, mul, ...rootNodes(m).slice(2)];
      },
    ),
    broken(
      'undefined input',
      /node 1 .*\(Add\): input 'ghost' is not defined/,
      /must be topologically sorted, however input 'ghost'/,
      (m) => {
        rootNodes(m)[1].input[0] = 'ghost';
      },
    ),
    broken(
      'unknown op (Gelu is opset 20)',
      /node 0 .*'Gelu' is not an operator of the default domain at opset 17/,
      /No Op registered for Gelu with domain_version of 17/,
      (m) => {
        rootNodes(m)[0].opType = 'Gelu';
      },
    ),
    broken(
      'duplicate output (not SSA)',
      /node 1 .*output 'h' is already defined in this graph \(names must be assigned once, SSA\)/,
      /single static assignment \(SSA\) form, however 'h' has been used as output names multiple times/,
      (m) => {
        rootNodes(m)[1].output[0] = 'h';
      },
    ),
    broken(
      'graph input without a type',
      /graph 'tiny' input: 't' has no tensor type/,
      /Field 'type' of 'value_info' is required but missing/,
      (m) => {
        delete (m.graph.input ?? [])[1].type;
      },
    ),
    broken(
      'graph output without an element type',
      /graph 'tiny' output: 'out' has no valid element type/,
      /Field 'elem_type' of 'type' is required but missing/,
      (m) => {
        const tensorType = (m.graph.output ?? [])[0].type?.tensorType;
        if (tensorType) tensorType.elemType = 0;
      },
    ),
    broken(
      'Loop body reads an outer value defined after the Loop',
      /body graph 'body' › node 1 .*input 'out' is not defined \(not a graph input, initializer, earlier node output or outer-scope value\)/,
      /must be topologically sorted, however input 'out'/,
      (m) => {
        const add = (loopBody(m).node ?? []).find((n) => n.opType === 'Add');
        if (add) add.input[1] = 'out';
      },
    ),
    broken(
      'Loop without its body',
      /node 2 .*\(Loop\): required attribute 'body' is missing/,
      /Required attribute 'body' is missing/,
      (m) => {
        rootNodes(m)[2].attribute = [];
      },
    ),
    broken(
      'Loop body with a missing carried input',
      /the body takes 2 inputs; expected 2 \+ 1 \(iteration, condition, carried values\)/,
      /Graph has 2 inputs but 3 were provided/,
      (m) => {
        const body = loopBody(m);
        body.input = (body.input ?? []).slice(0, 2);
        for (const n of body.node ?? []) n.input = n.input.map((name) => (name === 'acc' ? 'c' : name));
      },
    ),
    broken('Mul with three inputs', /node 0 .*: 3 inputs; Mul takes 2/, /input size 3 not in range \[min=2, max=2\]/, (m) => {
      rootNodes(m)[0].input.push('x');
    }),
    broken('opset 18 instead of 17', /opset_import must hold the default domain once at version 17; found '' 18/, null, (m) => {
      m.opsetImport = [{ domain: '', version: 18 }];
    }),
  ];
}
