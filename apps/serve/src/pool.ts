/**
 * A FIFO limiter for model computations, and per-request cancellation.
 *
 * onnxruntime-node runs `session.run` synchronously on the JS thread (inside a setImmediate),
 * so two runs never overlap and sharing one session between requests is safe; the runtime's
 * samplers keep all their state per call. Concurrent requests therefore interleave at solver
 * step granularity on one thread. The limiter bounds how many interleave (memory, latency) and
 * how many may wait; it does not serialise per model.
 */
import type { ExportedModel } from '@nfdm/runtime';
import { HttpError } from './errors.js';

interface Waiter {
  start: () => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal;
  onAbort: () => void;
}

export class ComputePool {
  private active = 0;
  private readonly queue: Waiter[] = [];
  private idleWaiters: Array<() => void> = [];

  constructor(
    readonly maxConcurrent: number,
    readonly maxQueue: number,
  ) {}

  get running(): number {
    return this.active;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Run `fn` when a slot is free; rejects with 503 if the queue is full, or with the signal's reason if it aborts first. */
  async run<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    if (signal.aborted) throw signal.reason;
    if (this.active >= this.maxConcurrent) {
      if (this.queue.length >= this.maxQueue) {
        throw new HttpError(
          503,
          'SERVER_BUSY',
          `server busy: ${this.active} computations running and ${this.queue.length} queued (limits maxConcurrent ${this.maxConcurrent}, maxQueue ${this.maxQueue}); retry later`,
        );
      }
      await new Promise<void>((resolve, reject) => {
        const waiter: Waiter = {
          start: () => {
            signal.removeEventListener('abort', waiter.onAbort);
            resolve();
          },
          reject,
          signal,
          onAbort: () => {
            const i = this.queue.indexOf(waiter);
            if (i >= 0) this.queue.splice(i, 1);
            reject(signal.reason);
          },
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
        this.queue.push(waiter);
      });
    } else {
      this.active++;
    }
    // the slot was handed over by release() (active not decremented) or taken above
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  private release(): void {
    const next = this.queue.shift();
    if (next) {
      next.start(); // hands the slot over
      return;
    }
    this.active--;
    if (this.active === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Resolves when no computation is running or queued. */
  idle(): Promise<void> {
    if (this.active === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}

/**
 * A view of `model` whose field evaluations throw the signal's reason once it aborts, so a
 * timed-out or abandoned sample / log-prob / transport computation stops at its next solver step
 * instead of running to the end. (The runtime's samplers call the model's own field methods —
 * the `fieldMethods` of its family in the runtime's family table, e.g. `velocity`, `drift`,
 * `velocityDivergence` — for every stage; the view overrides those on an object whose prototype
 * is the model. The one-call Loop engines are a single session run and are not interruptible.)
 */
export function abortable<M extends ExportedModel>(model: M, signal: AbortSignal): M {
  const view = Object.create(model) as Record<string, unknown>;
  for (const name of model.runtimeFamily.fieldMethods) {
    const field = (model as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[name];
    view[name] = async (...args: unknown[]) => {
      if (signal.aborted) throw signal.reason;
      return field.apply(model, args);
    };
  }
  return view as M;
}
