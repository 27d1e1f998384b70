/**
 * Dead-node elimination (onnx/prune.ts): the nodes and initializers no output depends on go, in
 * the root and in Loop / If bodies; the outer values a kept body reads stay; the pruned model is
 * valid and computes the same outputs; and the exporters' graphs come out without dead nodes
 * (frozen_step computes μ and σ of the forward process, not μ̇, σ̇).
 */
import { initBackend } from '@nfdm/core';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportFrozenStep, exportSampler, exportVelocity } from '../src/export.js';
import { attr, buildModel, Graph } from '../src/onnx/builder.js';
import { DataType, decodeModel, type GraphProto, type NodeProto } from '../src/onnx/proto.js';
import { pruneGraph } from '../src/onnx/prune.js';
import { validateOnnxModel } from '../src/onnx/validate.js';
import { makeModel, runOnnx, smallConfig } from './helpers.js';

beforeAll(async () => {
  await initBackend('wasm');
});

/** Nodes of `graph` (and its bodies) none of whose outputs is read by a node, a body or an output. */
function deadNodes(graph: GraphProto): number {
  const read = new Set<string>();
  const all: NodeProto[] = [];
  const visit = (gp: GraphProto) => {
    for (const o of gp.output ?? []) read.add(o.name);
    for (const n of gp.node ?? []) {
      all.push(n);
      for (const x of n.input) read.add(x);
      for (const a of n.attribute ?? []) if (a.g) visit(a.g);
    }
  };
  visit(graph);
  return all.filter((n) => !n.output.some((o) => read.has(o))).length;
}

/** y = Loop_k(x ← x·a + b) for `steps` steps, with dead work in the root and in the body. */
function graphWithDeadWork(): Graph {
  const g = new Graph('dead');
  const x = g.input('x', ['N', 2]);
  const steps = g.reshape(g.input('steps', [1], DataType.INT64), []);
  const a = g.floatTensor('a', [0.5, 2], [1, 2]);
  const b = g.add(g.floatTensor('b', [1, -1], [1, 2]), 0); // read by the body from the outer scope
  g.unary('Exp', g.matmul(x, g.floatTensor('dead_w', [1, 2, 3, 4], [2, 2]))); // dead, with its own initializer
  const body = g.subgraph('body');
  body.input('i', [], DataType.INT64);
  const cond = body.input('cond_in', [], DataType.BOOL);
  const z = body.input('z_in', null);
  body.unary('Tanh', body.mul(z, 3)); // dead inside the body
  body.output('cond_out', cond, [], DataType.BOOL);
  body.output('z_out', body.add(body.mul(z, a), b), null);
  const [y] = g.node('Loop', [steps, '', x], { body: attr.graph(body) }, [g.unique('y')]);
  g.output('y', y, ['N', 2]);
  return g;
}

describe('pruneGraph', () => {
  it('drops dead nodes and initializers in the root and in a Loop body, keeps what the body reads', async () => {
    const g = graphWithDeadWork();
    const full = decodeModel(buildModel(g)).graph;
    const prunedBytes = buildModel(g, { prune: true });
    const pruned = decodeModel(prunedBytes).graph;
    const ops = (nodes: Array<{ opType: string }> | undefined) => (nodes ?? []).map((n) => n.opType);
    expect(ops(full.node)).toEqual(expect.arrayContaining(['MatMul', 'Exp']));
    expect(ops(pruned.node)).not.toContain('MatMul');
    expect(ops(pruned.node)).not.toContain('Exp');
    expect(ops(pruned.node)).toEqual(expect.arrayContaining(['Add', 'Loop']));
    const body = (pruned.node ?? []).find((n) => n.opType === 'Loop')?.attribute?.[0].g;
    expect(ops(body?.node)).not.toContain('Tanh');
    expect(ops(body?.node).filter((op) => op !== 'Identity')).toEqual(['Mul', 'Add']);
    const names = (pruned.initializer ?? []).map((t) => t.name);
    expect(names).not.toContain('dead_w');
    expect(names).toEqual(expect.arrayContaining(['a', 'b']));
    expect(validateOnnxModel(prunedBytes)).toEqual([]);
    // the same outputs: x ← x·a + b twice
    const feeds = {
      x: new ort.Tensor('float32', Float32Array.of(1, 2, -1, 0), [2, 2]),
      steps: new ort.Tensor('int64', BigInt64Array.of(2n), [1]),
    };
    const want = [1.75, 5, 1.25, -3];
    expect(Array.from((await runOnnx(prunedBytes, feeds)).y)).toEqual(want);
    expect(Array.from((await runOnnx(buildModel(g), feeds)).y)).toEqual(want);
  });

  it('leaves a graph without dead nodes as it is', () => {
    const g = new Graph('live');
    const x = g.input('x', ['N', 2]);
    g.output('y', g.add(g.mul(x, 2), 1), ['N', 2]);
    const proto = g.toProto();
    expect(pruneGraph(proto)).toEqual(proto);
  });

  it('the exporters prune: frozen_step and sampler_ddim_ode evaluate F without its time derivatives', () => {
    expect(deadNodes(graphWithDeadWork().toProto())).toBeGreaterThan(0); // the check below can fail
    const m = makeModel(smallConfig({ forward: { kind: 'nfdm', hidden: [16, 16], activation: 'selu' } }));
    for (const bytes of [exportFrozenStep(m), exportSampler(m, { solver: 'ddim', mode: 'ode' }), exportVelocity(m)])
      expect(deadNodes(decodeModel(bytes).graph)).toBe(0);
    m.dispose();
  });
});
