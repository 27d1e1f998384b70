/**
 * The graphs the Open Inference Protocol (KServe v2) serves: every loaded graph of every model,
 * named `<model>_<graph>` — the same name as its directory in a Triton model repository written by
 * `nfdm export --format triton` — with version "1" only. Names that two (model, graph) pairs
 * would share (model 'a_b' graph 'c' and model 'a' graph 'b_c') are not served (warned).
 */
import type { GraphSignature } from '@nfdm/runtime';
import type { LoadedModel } from '../models.js';

/** The only model version a v2 name has. */
export const V2_VERSION = '1';

/** One v2-served graph. */
export interface V2Graph {
  /** The v2 model name, `<model>_<graph>`. */
  name: string;
  entry: LoadedModel;
  graph: string;
  signature: GraphSignature;
}

/** The v2 name of `graph` of `model` (also the Triton repository directory name). */
export function v2Name(model: string, graph: string): string {
  return `${model}_${graph}`;
}

/** Every loaded graph of `models` by v2 name; ambiguous names are left out and reported through `warn`. */
export function v2Graphs(models: ReadonlyMap<string, LoadedModel>, warn: (message: string) => void): Map<string, V2Graph> {
  const out = new Map<string, V2Graph>();
  const ambiguous = new Set<string>();
  for (const entry of models.values()) {
    for (const graph of entry.model.graphs) {
      const name = v2Name(entry.name, graph);
      if (out.has(name) || ambiguous.has(name)) {
        ambiguous.add(name);
        out.delete(name);
        continue;
      }
      out.set(name, { name, entry, graph, signature: entry.model.signature(graph) });
    }
  }
  for (const name of ambiguous) warn(`v2 model name '${name}' would name two graphs; it is not served under /v2`);
  return out;
}
