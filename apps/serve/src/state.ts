/** The server's state (`app.nfdm`) and the server's type. */
import type { FastifyInstance } from 'fastify';
import type { Admission } from './admission.js';
import type { ServeLimits } from './limits.js';
import type { ServeMetrics } from './metrics.js';
import type { LoadedModel } from './models.js';
import type { ComputePool } from './pool.js';

/** The server's state, as `app.nfdm`. */
export interface ServeState {
  readonly models: ReadonlyMap<string, LoadedModel>;
  readonly limits: Readonly<ServeLimits>;
  readonly metrics: ServeMetrics;
  readonly pool: ComputePool;
  /** Admission of compute requests over sockets (load shedding before parsing). */
  readonly admission: Admission;
  /** True once close() began (readyz answers 503). */
  closing: boolean;
}

export type NfdmServer = FastifyInstance & { nfdm: ServeState };
