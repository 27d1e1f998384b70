/** Request limits of the server and their defaults. */
import { ServeConfigError } from './errors.js';

export interface ServeLimits {
  /** Largest `n` of one samples request, and largest number of sources of one transport request (default 10,000). */
  maxN: number;
  /** Largest `steps` of a samples, transport or log-prob request; also the adaptive log-prob step budget (default 1,000). */
  maxSteps: number;
  /** Largest number of points of one log-prob request (default 10,000). */
  maxPoints: number;
  /** Largest request body in bytes (default 1 MiB); larger bodies get 413. */
  bodyLimit: number;
  /**
   * Per-request deadline in ms (default 30,000): time queued plus computing. Past it the
   * computation is abandoned at the next solver step and the request gets 503. Also Node's
   * `headersTimeout` and `requestTimeout`: a request not received within it gets 408.
   */
  timeoutMs: number;
  /** Model computations run at once, over all models (default 4); others wait in a FIFO queue. */
  maxConcurrent: number;
  /**
   * Computations allowed to wait (default 256). Compute requests beyond maxConcurrent + maxQueue
   * are shed before parsing with 503 SERVER_BUSY (Retry-After enforced per connection).
   */
  maxQueue: number;
}

export const DEFAULT_LIMITS: Readonly<ServeLimits> = Object.freeze({
  maxN: 10_000,
  maxSteps: 1_000,
  maxPoints: 10_000,
  bodyLimit: 1024 * 1024,
  timeoutMs: 30_000,
  maxConcurrent: 4,
  maxQueue: 256,
});

const MIN: Record<keyof ServeLimits, number> = {
  maxN: 1,
  maxSteps: 1,
  maxPoints: 1,
  bodyLimit: 64,
  timeoutMs: 1,
  maxConcurrent: 1,
  maxQueue: 0,
};

/** Defaults overridden by `partial`; every value must be an integer ≥ its minimum. */
export function resolveLimits(partial: Partial<ServeLimits> = {}): ServeLimits {
  const limits = { ...DEFAULT_LIMITS };
  for (const [key, value] of Object.entries(partial) as Array<[keyof ServeLimits, number | undefined]>) {
    if (!(key in DEFAULT_LIMITS)) throw new ServeConfigError(`unknown limit '${key}' (expected ${Object.keys(DEFAULT_LIMITS).join(', ')})`);
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < MIN[key]) {
      throw new ServeConfigError(`limit ${key} must be an integer ≥ ${MIN[key]}, got ${value}`);
    }
    limits[key] = value;
  }
  return limits;
}
