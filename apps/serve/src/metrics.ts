/** A small Prometheus registry (text exposition format 0.0.4): counters, gauges, histograms with labels. */

type Labels = Record<string, string>;

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(labels: Labels, extra?: [string, string]): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return parts.length > 0 ? `{${parts.join(',')}}` : '';
}

function fmt(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

const key = (labels: Labels) => JSON.stringify(Object.entries(labels).sort());

interface Metric {
  render(): string;
}

class Series<T> {
  protected readonly series = new Map<string, { labels: Labels; value: T }>();
  protected entry(labels: Labels, init: () => T): { labels: Labels; value: T } {
    const k = key(labels);
    let e = this.series.get(k);
    if (!e) {
      e = { labels, value: init() };
      this.series.set(k, e);
    }
    return e;
  }
}

export class Counter extends Series<number> implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
  ) {
    super();
  }
  inc(labels: Labels = {}, by = 1): void {
    this.entry(labels, () => 0).value += by;
  }
  get(labels: Labels = {}): number {
    return this.series.get(key(labels))?.value ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const { labels, value } of this.series.values()) lines.push(`${this.name}${labelText(labels)} ${fmt(value)}`);
    return lines.join('\n');
  }
}

export class Gauge extends Series<number> implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly collect?: () => number,
  ) {
    super();
  }
  set(value: number, labels: Labels = {}): void {
    this.entry(labels, () => 0).value = value;
  }
  inc(labels: Labels = {}, by = 1): void {
    this.entry(labels, () => 0).value += by;
  }
  dec(labels: Labels = {}, by = 1): void {
    this.entry(labels, () => 0).value -= by;
  }
  get(labels: Labels = {}): number {
    return this.series.get(key(labels))?.value ?? 0;
  }
  render(): string {
    if (this.collect) this.set(this.collect());
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`];
    for (const { labels, value } of this.series.values()) lines.push(`${this.name}${labelText(labels)} ${fmt(value)}`);
    return lines.join('\n');
  }
}

export class Histogram extends Series<{ counts: number[]; sum: number; count: number }> implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {
    super();
  }
  observe(labels: Labels, value: number): void {
    const e = this.entry(labels, () => ({ counts: new Array(this.buckets.length).fill(0), sum: 0, count: 0 }));
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]) e.value.counts[i]++;
    e.value.sum += value;
    e.value.count++;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const { labels, value } of this.series.values()) {
      this.buckets.forEach((le, i) => {
        lines.push(`${this.name}_bucket${labelText(labels, ['le', fmt(le)])} ${value.counts[i]}`);
      });
      lines.push(`${this.name}_bucket${labelText(labels, ['le', '+Inf'])} ${value.count}`);
      lines.push(`${this.name}_sum${labelText(labels)} ${fmt(value.sum)}`);
      lines.push(`${this.name}_count${labelText(labels)} ${value.count}`);
    }
    return lines.join('\n');
  }
}

/** The server's metrics. */
export class ServeMetrics {
  readonly requests = new Counter('nfdm_http_requests_total', 'HTTP requests by method, route (pattern) and status code.');
  readonly duration = new Histogram(
    'nfdm_http_request_duration_seconds',
    'HTTP request latency in seconds by method and route.',
    [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  );
  readonly inFlight = new Gauge('nfdm_http_requests_in_flight', 'HTTP requests being served.');
  readonly samples = new Counter('nfdm_samples_generated_total', 'Samples generated, by model.');
  readonly logProbPoints = new Counter('nfdm_log_prob_points_total', 'Points whose log-density was evaluated, by model.');
  readonly computeSeconds = new Counter(
    'nfdm_compute_seconds_total',
    'Seconds spent computing samples, transports, log-densities or v2 inferences, by model and operation (samples, transport, log_prob, infer).',
  );
  readonly batchedRuns = new Counter(
    'nfdm_batched_runs_total',
    'onnxruntime runs that merged several requests (dynamic batching), by model and graph.',
  );
  readonly batchedRequests = new Counter(
    'nfdm_batched_requests_total',
    'Runs of requests served as part of a merged run, by model and graph.',
  );
  readonly timeouts = new Counter('nfdm_compute_aborted_total', 'Computations abandoned, by reason (timeout, client_closed, busy).');
  readonly computeRunning: Gauge;
  readonly computeQueued: Gauge;
  readonly modelsLoaded: Gauge;
  readonly held: Gauge;
  private readonly startTime = Date.now() / 1000;

  constructor(sources: { running: () => number; queued: () => number; models: () => number; held?: () => number }) {
    this.computeRunning = new Gauge('nfdm_compute_running', 'Model computations running.', sources.running);
    this.computeQueued = new Gauge('nfdm_compute_queued', 'Model computations waiting for a slot.', sources.queued);
    this.modelsLoaded = new Gauge('nfdm_models_loaded', 'Models loaded.', sources.models);
    this.held = new Gauge(
      'nfdm_http_requests_held',
      'Compute requests held because their connection retried within Retry-After of a 503 (admitted or rejected when it is over).',
      sources.held ?? (() => 0),
    );
  }

  render(): string {
    const memory = process.memoryUsage();
    const process_ = [
      '# HELP process_resident_memory_bytes Resident memory size in bytes.',
      '# TYPE process_resident_memory_bytes gauge',
      `process_resident_memory_bytes ${memory.rss}`,
      '# HELP nodejs_heap_used_bytes V8 heap used in bytes.',
      '# TYPE nodejs_heap_used_bytes gauge',
      `nodejs_heap_used_bytes ${memory.heapUsed}`,
      '# HELP process_start_time_seconds Start time of the server since the Unix epoch in seconds.',
      '# TYPE process_start_time_seconds gauge',
      `process_start_time_seconds ${this.startTime}`,
    ].join('\n');
    const metrics: Metric[] = [
      this.requests,
      this.duration,
      this.inFlight,
      this.samples,
      this.logProbPoints,
      this.computeSeconds,
      this.batchedRuns,
      this.batchedRequests,
      this.timeouts,
      this.computeRunning,
      this.computeQueued,
      this.modelsLoaded,
      this.held,
    ];
    return `${metrics.map((m) => m.render()).join('\n')}\n${process_}\n`;
  }
}
