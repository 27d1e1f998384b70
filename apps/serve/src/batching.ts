/**
 * Dynamic batching: onnxruntime runs of the same graph that arrive within a window (ms) are
 * merged into one run and split back. A graph can be batched when every output leads with one
 * symbolic dim (the batch dim, e.g. 'N') and the inputs either lead with it (their rows are
 * concatenated) or do not mention it at all (shared inputs such as a Loop sampler's `steps`):
 * runs are merged only when their shared inputs are equal. nfdm's graphs compute each row from
 * that row's inputs, so a request's rows come out as they would alone: the seeded noise of a
 * request travels as rows of its inputs (prior noise drawn per request from its seed) and the
 * stepwise solvers' field calls carry each row's own time. Graphs with the batch dim elsewhere
 * (the SDE Loop samplers' noise [steps, N, D]) are not batched.
 */
import type { GraphSignature, RunFn } from '@nfdm/runtime';
import * as ort from 'onnxruntime-node';

/** How a graph batches: its batch dim and its inputs that lead with it; null when it cannot. */
export interface BatchSpec {
  dim: string;
  rowInputs: ReadonlySet<string>;
}

/** The batch spec of a graph from its signature, or null. */
export function batchSpec(signature: GraphSignature): BatchSpec | null {
  const dim = signature.outputs[0]?.shape[0];
  if (typeof dim !== 'string' || dim === '') return null;
  if (!signature.outputs.every((o) => o.shape[0] === dim && !o.shape.slice(1).includes(dim))) return null;
  const rowInputs = new Set<string>();
  for (const input of signature.inputs) {
    if (input.shape.slice(1).includes(dim)) return null;
    if (input.shape[0] === dim) rowInputs.add(input.name);
  }
  return rowInputs.size > 0 ? { dim, rowInputs } : null;
}

interface Pending {
  feeds: Record<string, ort.Tensor>;
  rows: number;
  resolve: (out: Record<string, ort.Tensor>) => void;
  reject: (error: unknown) => void;
}

/** What a batcher reports per merged run (for the metrics). */
export type BatchListener = (requests: number, rows: number) => void;

/** Merges the runs of one graph arriving within `windowMs` (at most `maxRows` rows per run). */
export class GraphBatcher {
  private pending: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly spec: BatchSpec,
    private readonly windowMs: number,
    private readonly maxRows: number,
    private readonly onBatch: BatchListener = () => {},
  ) {}

  /** Queue one run (`next` is the session's own run); resolves with this run's outputs. */
  run(feeds: Record<string, ort.Tensor>, next: RunFn): Promise<Record<string, ort.Tensor>> {
    const first = [...this.spec.rowInputs][0];
    const rows = Number(feeds[first]?.dims[0] ?? 0);
    if (rows >= this.maxRows) return next(feeds);
    return new Promise((resolve, reject) => {
      this.pending.push({ feeds, rows, resolve, reject });
      this.timer ??= setTimeout(() => this.flush(next), this.windowMs);
    });
  }

  private flush(next: RunFn): void {
    const pending = this.pending;
    this.pending = [];
    this.timer = undefined;
    const groups = new Map<string, Pending[]>();
    for (const p of pending) {
      const key = this.sharedKey(p.feeds);
      const group = groups.get(key);
      if (group) group.push(p);
      else groups.set(key, [p]);
    }
    for (const group of groups.values()) {
      let batch: Pending[] = [];
      let rows = 0;
      for (const p of group) {
        if (batch.length > 0 && rows + p.rows > this.maxRows) {
          void this.runBatch(batch, next);
          batch = [];
          rows = 0;
        }
        batch.push(p);
        rows += p.rows;
      }
      void this.runBatch(batch, next);
    }
  }

  /** The shared (non-row) inputs of a run, as a string: runs merge only when these are equal. */
  private sharedKey(feeds: Record<string, ort.Tensor>): string {
    const parts: string[] = [];
    for (const name of Object.keys(feeds).sort()) {
      if (this.spec.rowInputs.has(name)) continue;
      const t = feeds[name];
      const data = t.data as ArrayLike<number | bigint>;
      parts.push(`${name}:${t.type}:${t.dims.join('x')}:${Array.from(data, String).join(',')}`);
    }
    return parts.join(';');
  }

  private async runBatch(batch: Pending[], next: RunFn): Promise<void> {
    if (batch.length === 1) {
      const [p] = batch;
      next(p.feeds).then(p.resolve, p.reject);
      return;
    }
    const rows = batch.reduce((a, p) => a + p.rows, 0);
    this.onBatch(batch.length, rows);
    try {
      const feeds: Record<string, ort.Tensor> = { ...batch[0].feeds };
      for (const name of this.spec.rowInputs) feeds[name] = concatRows(batch.map((p) => p.feeds[name]));
      const out = await next(feeds);
      let offset = 0;
      for (const p of batch) {
        const mine: Record<string, ort.Tensor> = {};
        for (const [name, t] of Object.entries(out)) mine[name] = sliceRows(t, offset, p.rows);
        offset += p.rows;
        p.resolve(mine);
      }
    } catch {
      // one request's inputs can fail the merged run: run each alone, so only its own fails
      for (const p of batch) next(p.feeds).then(p.resolve, p.reject);
    }
  }
}

/** Tensors of the same type and trailing dims, concatenated along dim 0. */
function concatRows(tensors: ort.Tensor[]): ort.Tensor {
  const first = tensors[0];
  const rows = tensors.reduce((a, t) => a + Number(t.dims[0]), 0);
  const size = tensors.reduce((a, t) => a + t.size, 0);
  type Typed = ArrayLike<number> & { set(a: ArrayLike<number>, o: number): void };
  const Ctor = (first.data as unknown as { constructor: new (n: number) => Typed }).constructor;
  const data = new Ctor(size);
  let offset = 0;
  for (const t of tensors) {
    data.set(t.data as ArrayLike<number>, offset);
    offset += t.size;
  }
  return new ort.Tensor(first.type as 'float32', data as Float32Array, [rows, ...first.dims.slice(1)]);
}

/** Rows [start, start + count) of a tensor (a copy). */
function sliceRows(t: ort.Tensor, start: number, count: number): ort.Tensor {
  const rowSize = t.dims.slice(1).reduce((a, b) => a * b, 1);
  const data = (t.data as Float32Array).slice(start * rowSize, (start + count) * rowSize);
  return new ort.Tensor(t.type as 'float32', data, [count, ...t.dims.slice(1)]);
}
