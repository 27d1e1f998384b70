/**
 * Load shedding before any parsing. A compute request (POST /v1/models/{name}/samples,
 * /log-prob or /transport, POST /v2/models/{name}[/versions/{v}]/infer) is admitted only while fewer than `capacity` (= maxConcurrent +
 * maxQueue) compute requests are admitted and unanswered; otherwise it gets a fixed 503
 * `SERVER_BUSY` with `Retry-After: 1` straight from the raw Node request — no routing, body
 * parsing, validation, per-request log line or queueing.
 *
 * Cheap rejections alone do not keep the goodput up: clients that retry at once turn every
 * free moment of the event loop into another rejection, and the computations (which advance one
 * solver step per event-loop turn) starve. So `Retry-After` is enforced per connection: a request
 * arriving on a connection less than `retryAfterMs` after that connection's last 503 is held
 * (costing nothing but a timer) until the interval is over, then admitted if a slot is free, or
 * rejected again. A client that honours Retry-After never waits for it; one that does not is
 * paced to one rejection per interval and connection.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { reason } from './errors.js';
import { onSettled } from './settle.js';

const COMPUTE_ROUTE = /^\/v1\/models\/[^/?#]+\/(samples|log-prob|transport)(?:\?|$)/;
const V2_INFER_ROUTE = /^\/v2\/models\/[^/?#]+\/(versions\/[^/?#]+\/)?infer(?:\?|$)/;

/** The route pattern of a compute request (`/v1/models/:name/samples`, …, `/v2/models/:name/infer`), or undefined for every other request. */
export function computeRoute(method: string | undefined, url: string | undefined): string | undefined {
  if (method !== 'POST' || url === undefined) return undefined;
  const m = COMPUTE_ROUTE.exec(url);
  if (m) return `/v1/models/:name/${m[1]}`;
  const v2 = V2_INFER_ROUTE.exec(url);
  if (v2) return v2[1] ? '/v2/models/:name/versions/:version/infer' : '/v2/models/:name/infer';
  return undefined;
}

interface Held {
  req: IncomingMessage;
  res: ServerResponse;
  admit: () => void;
  shed: () => void;
  timer: NodeJS.Timeout;
}

export class Admission {
  private count = 0;
  private readonly body: Buffer;
  /** When each connection may be answered its next 503 (performance.now() ms). */
  private readonly pacedUntil = new WeakMap<Socket, number>();
  private readonly held = new Set<Held>();

  constructor(
    /** Compute requests admitted at once (maxConcurrent + maxQueue). */
    readonly capacity: number,
    /** Words naming the limits, for the 503 message. */
    limitsText: string,
    /** The `Retry-After` interval, enforced per connection (ms). */
    readonly retryAfterMs = 1000,
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

  /** The `Retry-After` header value: the interval in whole seconds, rounded up. */
  get retryAfterHeader(): string {
    return String(Math.ceil(this.retryAfterMs / 1000));
  }

  /** Compute requests admitted and not yet answered. */
  get admitted(): number {
    return this.count;
  }

  /** Requests held because their connection retried within Retry-After of a 503. */
  get holding(): number {
    return this.held.size;
  }

  /**
   * Admit the compute request `req` — `admit()` runs it; it counts against the capacity until its
   * response settles — or answer it with the 503 and call `shed()`; possibly after holding it
   * until its connection's Retry-After interval is over.
   */
  handle(req: IncomingMessage, res: ServerResponse, admit: () => void, shed: () => void): void {
    const wait = (this.pacedUntil.get(req.socket) ?? 0) - performance.now();
    if (wait <= 0) {
      this.decide(req, res, admit, shed);
      return;
    }
    const entry: Held = {
      req,
      res,
      admit,
      shed,
      timer: setTimeout(() => {
        this.held.delete(entry);
        this.decide(req, res, admit, shed);
      }, wait),
    };
    this.held.add(entry);
  }

  /** Answer every held request with the 503 now, closing its connection (server shutdown). */
  releaseHeld(): void {
    for (const entry of this.held) {
      clearTimeout(entry.timer);
      if (!entry.req.socket.destroyed) {
        this.reject(entry.res, true);
        entry.shed();
      }
    }
    this.held.clear();
  }

  private decide(req: IncomingMessage, res: ServerResponse, admit: () => void, shed: () => void): void {
    if (req.socket.destroyed) return; // the client left while held
    if (this.count < this.capacity) {
      this.count++;
      onSettled(req, res, () => {
        this.count--;
      });
      admit();
      return;
    }
    this.pacedUntil.set(req.socket, performance.now() + this.retryAfterMs);
    this.reject(res, false);
    shed();
  }

  /** The fixed 503; the connection stays open unless `close` (Node discards the unread body). */
  private reject(res: ServerResponse, close: boolean): void {
    res.writeHead(503, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': this.body.length,
      'retry-after': this.retryAfterHeader,
      ...(close ? { connection: 'close' } : {}),
    });
    res.end(this.body);
  }
}
