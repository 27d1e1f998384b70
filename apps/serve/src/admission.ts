/**
 * Load shedding before any parsing: a compute request (POST /v1/models/{name}/samples,
 * /log-prob or /transport) is admitted only while fewer than `capacity` (= maxConcurrent +
 * maxQueue) compute requests are admitted; otherwise it is answered at once, from the raw
 * Node request, with a fixed 503 — no routing, body parsing, validation, logging or queueing.
 * A client that retries immediately therefore costs the server a few microseconds per retry
 * instead of a full request, and the computations keep the CPU.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { reason } from './errors.js';
import { onSettled } from './settle.js';

const COMPUTE_ROUTE = /^\/v1\/models\/[^/?#]+\/(samples|log-prob|transport)(?:\?|$)/;

/** The route pattern of a compute request (`/v1/models/:name/samples`, …), or undefined for every other request. */
export function computeRoute(method: string | undefined, url: string | undefined): string | undefined {
  if (method !== 'POST' || url === undefined) return undefined;
  const m = COMPUTE_ROUTE.exec(url);
  return m ? `/v1/models/:name/${m[1]}` : undefined;
}

export class Admission {
  private count = 0;
  private readonly body: Buffer;

  constructor(
    /** Compute requests admitted at once (maxConcurrent + maxQueue). */
    readonly capacity: number,
    limitsText: string,
  ) {
    this.body = Buffer.from(
      JSON.stringify({
        error: reason(503),
        message: `server busy: ${capacity} compute requests already admitted (${limitsText}); retry later`,
        statusCode: 503,
        code: 'SERVER_BUSY',
      }),
    );
  }

  /** Compute requests admitted and not yet answered. */
  get admitted(): number {
    return this.count;
  }

  /**
   * Admit `req` (true: counted until its response settles) or answer it with the 503 and
   * return false. The 503 keeps the connection open (the unread body is discarded by Node).
   */
  admit(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.count < this.capacity) {
      this.count++;
      onSettled(req, res, () => {
        this.count--;
      });
      return true;
    }
    res.writeHead(503, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': this.body.length,
      'retry-after': '1',
    });
    res.end(this.body);
    return false;
  }
}
