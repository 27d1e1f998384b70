/**
 * Shared loading code of the runtime: graph bytes, metadata checks, one onnxruntime session
 * per graph (made by an injected {@link CreateSession}: onnxruntime-node's or
 * onnxruntime-web's), and point parsing. No Node built-ins: paths are read in sources-node.ts.
 */
import type * as ort from 'onnxruntime-common';
import { familyOfKind, type RuntimeFamily } from './families.js';
import { type GraphName, type OnnxGraphMetadata, readOnnxMetadata } from './metadata.js';

/** A user error loading or running an exported model (bad file, missing graph, bad options). */
export class OnnxRuntimeError extends Error {
  override readonly name = 'OnnxRuntimeError';
}

/**
 * Graph bytes: one `.onnx` graph (then only what that graph supports is available), or several
 * graphs (an array, or `{ graphs }` — graph name → bytes, as returned by `exportOnnx`).
 */
export type ModelSource = Uint8Array | ArrayBuffer | readonly Uint8Array[] | { graphs: Partial<Record<string, Uint8Array>> };

/**
 * Where the graphs come from (Node): a directory written by `writeOnnxExport` (every `*.onnx`
 * inside is loaded), the path of one `.onnx` graph, or graph bytes ({@link ModelSource}).
 */
export type OnnxModelSource = string | ModelSource;

/** Graph bytes and where they came from (a path, or `<bytes i>`). */
export interface GraphBytes {
  bytes: Uint8Array;
  origin: string;
}

/** One onnxruntime session from graph bytes: onnxruntime-node's or onnxruntime-web's `InferenceSession.create`. */
export type CreateSession = (bytes: Uint8Array, options: ort.InferenceSession.SessionOptions) => Promise<ort.InferenceSession>;

/** Options of {@link loadOnnxModel}. */
export interface LoadOnnxOptions {
  /** onnxruntime intra-op threads per session (default: onnxruntime's choice). */
  intraOpNumThreads?: number;
  /** Load only these graphs (default: all given; component graphs are skipped unless listed). */
  graphs?: GraphName[];
}

/** Points as row-major floats or rows. */
export type Points = Float32Array | Float64Array | readonly (readonly number[])[];

function toBytes(x: Uint8Array | ArrayBuffer): Uint8Array {
  return x instanceof Uint8Array ? x : new Uint8Array(x);
}

/** The graphs of a {@link ModelSource}; anything else is an OnnxRuntimeError. */
export function collectBytes(source: ModelSource): GraphBytes[] {
  if (source instanceof Uint8Array || source instanceof ArrayBuffer) return [{ bytes: toBytes(source), origin: '<bytes>' }];
  if (Array.isArray(source)) return (source as Uint8Array[]).map((b, i) => ({ bytes: toBytes(b), origin: `<bytes ${i}>` }));
  const graphs = (source as { graphs?: Record<string, Uint8Array | undefined> } | null)?.graphs;
  if (graphs && typeof graphs === 'object') {
    return Object.entries(graphs)
      .filter((e): e is [string, Uint8Array] => e[1] instanceof Uint8Array)
      .map(([name, bytes]) => ({ bytes, origin: `<${name}>` }));
  }
  throw new OnnxRuntimeError('a model source must be ONNX bytes, an array of ONNX bytes or { graphs } (Node: or a path)');
}

/** Metadata shared by the graphs of one loaded model. */
export type ModelMetadata = Omit<OnnxGraphMetadata, 'graph' | 'signature' | 'solver' | 'mode'>;

/** One graph file: its metadata, bytes and where it came from. */
export interface GraphEntry {
  meta: OnnxGraphMetadata;
  bytes: Uint8Array;
  origin: string;
}

/** Read the metadata of every graph (throws OnnxRuntimeError on files that are not nfdm exports). */
export function readEntries(items: GraphBytes[]): GraphEntry[] {
  return items.map((item) => {
    try {
      return { ...item, meta: readOnnxMetadata(item.bytes) };
    } catch (error) {
      throw new OnnxRuntimeError(`${item.origin}: ${(error as Error).message}`);
    }
  });
}

/**
 * Keep the wanted graphs (`options.graphs`, else those `wanted` accepts, else — for a single
 * file — that file), check they belong to one model and create one session each.
 */
export async function createSessions(
  entries: GraphEntry[],
  options: LoadOnnxOptions,
  wanted: (graph: string) => boolean,
  what: string,
  createSession: CreateSession,
): Promise<{ metadata: ModelMetadata; sessions: Map<string, ort.InferenceSession> }> {
  const kept = entries.filter((e) =>
    options.graphs ? options.graphs.includes(e.meta.graph) : entries.length === 1 || wanted(e.meta.graph),
  );
  if (kept.length === 0) throw new OnnxRuntimeError(`no usable nfdm graph was found (${what})`);
  const first = kept[0].meta;
  for (const e of kept) {
    const m = e.meta;
    if (m.dim !== first.dim || m.kind !== first.kind || JSON.stringify(m.config ?? null) !== JSON.stringify(first.config ?? null)) {
      throw new OnnxRuntimeError(`${e.origin}: graph '${m.graph}' belongs to a different model than ${kept[0].origin}`);
    }
  }
  const sessionOptions: ort.InferenceSession.SessionOptions = {};
  if (options.intraOpNumThreads !== undefined) sessionOptions.intraOpNumThreads = options.intraOpNumThreads;
  const sessions = new Map<string, ort.InferenceSession>();
  try {
    for (const e of kept) {
      try {
        sessions.set(e.meta.graph, await createSession(e.bytes, sessionOptions));
      } catch (error) {
        throw new OnnxRuntimeError(`${e.origin}: onnxruntime cannot load graph '${e.meta.graph}': ${(error as Error).message}`);
      }
    }
  } catch (error) {
    await Promise.all([...sessions.values()].map((s) => s.release()));
    throw error;
  }
  const { graph: _g, signature: _s, solver: _so, mode: _mo, ...metadata } = first;
  return { metadata, sessions };
}

/**
 * Sessions of the runtime graphs of one family's export: every entry must belong to `family`
 * (else one error naming the file, from the family table), and only the family's graphs are
 * loaded (unless `options.graphs` names others).
 */
export async function familySessions(
  entries: GraphEntry[],
  options: LoadOnnxOptions,
  family: RuntimeFamily,
  createSession: CreateSession,
): Promise<{ metadata: ModelMetadata; sessions: Map<string, ort.InferenceSession> }> {
  const wrong = entries.find((e) => familyOfKind(e.meta.kind) !== family);
  if (wrong) throw new OnnxRuntimeError(family.mismatch(wrong.origin, wrong.meta.kind, familyOfKind(wrong.meta.kind)));
  return createSessions(entries, options, family.wants, family.graphList, createSession);
}

/** The loaded sessions of one model, with clear errors for missing graphs. */
export class SessionSet {
  constructor(readonly sessions: Map<string, ort.InferenceSession>) {}

  get graphs(): string[] {
    return [...this.sessions.keys()];
  }

  has(graph: string): boolean {
    return this.sessions.has(graph);
  }

  get(graph: string, why: string): ort.InferenceSession {
    const s = this.sessions.get(graph);
    if (!s)
      throw new OnnxRuntimeError(`${why} needs the '${graph}' graph, which was not loaded (have: ${this.graphs.join(', ') || 'none'})`);
    return s;
  }

  async dispose(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((s) => s.release()));
    this.sessions.clear();
  }
}

/** Points as a row-major Float64Array (checked: n ≥ 1 rows of D finite numbers). */
export function flatten(points: Points, D: number): Float64Array {
  let flat: Float64Array;
  if (points instanceof Float32Array || points instanceof Float64Array) {
    if (points.length === 0 || points.length % D !== 0)
      throw new OnnxRuntimeError(`points need a positive multiple of dim ${D} values, got ${points.length}`);
    flat = Float64Array.from(points);
  } else {
    if (!Array.isArray(points) || points.length === 0)
      throw new OnnxRuntimeError('points must be a non-empty array of rows or a Float32Array');
    flat = new Float64Array(points.length * D);
    points.forEach((row, i) => {
      if (!Array.isArray(row) || row.length !== D) throw new OnnxRuntimeError(`point ${i} must have ${D} coordinates`);
      row.forEach((v, d) => {
        flat[i * D + d] = v;
      });
    });
  }
  for (let i = 0; i < flat.length; i++) {
    if (!Number.isFinite(flat[i])) throw new OnnxRuntimeError(`point ${Math.floor(i / D)} has a non-finite coordinate`);
  }
  return flat;
}
