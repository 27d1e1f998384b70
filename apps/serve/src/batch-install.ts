/** Dynamic batching on every batchable graph of the loaded models (batching.ts), counted in the metrics. */
import { batchSpec, GraphBatcher } from './batching.js';
import type { ServeMetrics } from './metrics.js';
import type { LoadedModel } from './models.js';

/** Route the runs of every batchable graph through a batcher of window `windowMs` and at most `maxRows` rows per run. */
export function installBatching(models: ReadonlyMap<string, LoadedModel>, windowMs: number, maxRows: number, metrics: ServeMetrics): void {
  for (const { name, model } of models.values()) {
    for (const graph of model.graphs) {
      const spec = batchSpec(model.signature(graph));
      if (spec === null) continue;
      const batcher = new GraphBatcher(spec, windowMs, maxRows, (requests) => {
        metrics.batchedRuns.inc({ model: name, graph });
        metrics.batchedRequests.inc({ model: name, graph }, requests);
      });
      model.interceptRuns(graph, (feeds, next) => batcher.run(feeds, next));
    }
  }
}
