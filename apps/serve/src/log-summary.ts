/**
 * Aggregated logging of frequent, expected responses (503s under overload): instead of one log
 * line per response, counts by code and one summary line per window (the first response of a
 * quiet period opens a window; the summary is written when it ends, or at close()).
 */

export class LogSummary {
  private counts = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    /** Writes one summary: counts by code over `windowMs`. */
    private readonly write: (counts: Record<string, number>, total: number, windowMs: number) => void,
    readonly windowMs = 10_000,
  ) {}

  /** Count one response with this code. */
  add(code: string): void {
    this.counts.set(code, (this.counts.get(code) ?? 0) + 1);
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.windowMs);
      this.timer.unref();
    }
  }

  /** Write the pending summary now (if any). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.counts.size === 0) return;
    const counts = Object.fromEntries(this.counts);
    this.counts = new Map();
    this.write(
      counts,
      Object.values(counts).reduce((a, b) => a + b, 0),
      this.windowMs,
    );
  }
}
