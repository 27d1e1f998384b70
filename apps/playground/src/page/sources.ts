/**
 * Where the page's models come from: the server's list (`GET v1/models`, then each graph file
 * from `GET v1/models/{name}/files/{graph}` of `nfdm serve`), or `.onnx` files the user drops.
 * Either way the result is graph name → bytes, read by `@nfdm/runtime/web`.
 */
import { readOnnxMetadata } from '@nfdm/runtime/web';

/** A model's graphs as bytes, by graph name. */
export interface ModelFiles {
  name: string;
  graphs: Record<string, Uint8Array>;
}

/** One model of `GET v1/models` (the fields the page uses). */
export interface ServedModel {
  name: string;
  dim: number;
  kind: string;
  family: string;
}

/**
 * The graphs the page runs: the stepwise fields and the forward process; not the component
 * predictor / volatility graphs, nor the one-call Loop samplers (the page solves stepwise, and
 * records trajectories) — except DiffFlow's, whose samplers run on its own grid.
 */
export function wantedGraph(graph: string): boolean {
  if (graph === 'predictor' || graph === 'volatility') return false;
  return !/sampler/.test(graph) || graph.startsWith('diffflow_');
}

/** The served models, or null when the page is not served by `nfdm serve` (a static copy). */
export async function servedModels(): Promise<ServedModel[] | null> {
  try {
    const response = await fetch('v1/models', { headers: { accept: 'application/json' } });
    if (!response.ok) return null;
    return ((await response.json()) as { models: ServedModel[] }).models;
  } catch {
    return null;
  }
}

async function fetchOk(url: string): Promise<Response> {
  const response = await fetch(url);
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as { message?: string };
    throw new Error(`GET ${url}: ${response.status} ${body.message ?? response.statusText}`);
  }
  return response;
}

/** The wanted graph files of a served model. */
export async function fetchModel(name: string): Promise<ModelFiles> {
  const base = `v1/models/${encodeURIComponent(name)}/files`;
  const { files } = (await (await fetchOk(base)).json()) as { files: Array<{ graph: string }> };
  const graphs: Record<string, Uint8Array> = {};
  await Promise.all(
    files
      .filter((f) => wantedGraph(f.graph))
      .map(async (f) => {
        graphs[f.graph] = new Uint8Array(await (await fetchOk(`${base}/${encodeURIComponent(f.graph)}`)).arrayBuffer());
      }),
  );
  return { name, graphs };
}

/** The wanted graphs among dropped files (named by their nfdm metadata; other files are an error). */
export async function readDropped(files: readonly File[]): Promise<ModelFiles> {
  const onnx = files.filter((f) => f.name.endsWith('.onnx'));
  if (onnx.length === 0) throw new Error('drop the .onnx files of an export (nfdm export writes one per graph)');
  const graphs: Record<string, Uint8Array> = {};
  for (const file of onnx) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    let graph: string;
    try {
      graph = readOnnxMetadata(bytes).graph;
    } catch (error) {
      throw new Error(`${file.name}: ${(error as Error).message}`);
    }
    if (wantedGraph(graph)) graphs[graph] = bytes;
  }
  if (Object.keys(graphs).length === 0) throw new Error('none of the dropped files is a graph the page can run');
  return { name: onnx.length === 1 ? onnx[0].name : `${onnx.length} dropped files`, graphs };
}
