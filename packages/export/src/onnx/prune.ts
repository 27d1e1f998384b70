/**
 * Dead-node elimination: a graph keeps only the nodes its outputs depend on, in their order, and
 * the initializers those nodes read. Subgraph attributes (Loop and If bodies) are pruned the same
 * way against their own outputs (all of them: a body's outputs are its contract with the node
 * holding it), and the outer-scope values a kept body reads count as inputs of the node that
 * holds it. Emitters may compute more than a graph returns — the forward process's time
 * derivatives μ̇, σ̇ in the frozen-prediction step, say, which uses μ and σ only — and
 * onnxruntime runs every node it is given, used or not.
 */
import type { GraphProto, NodeProto } from './proto.js';

/** `graph` without the nodes and initializers none of its outputs depends on (module doc). */
export function pruneGraph(graph: GraphProto): GraphProto {
  return prune(graph).graph;
}

/** The pruned graph and the names it reads from enclosing scopes. */
function prune(graph: GraphProto): { graph: GraphProto; reads: Set<string> } {
  const needed = new Set((graph.output ?? []).map((o) => o.name));
  const kept: NodeProto[] = [];
  const nodes = graph.node ?? [];
  // reverse topological order: a node's consumers (and the bodies reading it) come first
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i];
    if (!node.output.some((o) => needed.has(o))) continue;
    const attribute = node.attribute?.map((a) => {
      if (!a.g) return a;
      const body = prune(a.g);
      for (const name of body.reads) needed.add(name);
      return { ...a, g: body.graph };
    });
    for (const name of node.input) if (name !== '') needed.add(name);
    kept.push(attribute ? { ...node, attribute } : node);
  }
  kept.reverse();
  const out: GraphProto = { ...graph, node: kept };
  if (graph.initializer) out.initializer = graph.initializer.filter((t) => needed.has(t.name ?? ''));
  const defined = new Set([
    ...(graph.input ?? []).map((v) => v.name),
    ...kept.flatMap((n) => n.output),
    ...(out.initializer ?? []).map((t) => t.name ?? ''),
  ]);
  return { graph: out, reads: new Set([...needed].filter((name) => !defined.has(name))) };
}
