/**
 * One progress reporter for every long command (train, sample, eval, plot, reproduce, demo).
 *
 * - stderr is a terminal: one line redrawn in place (at most every 100 ms, and at the end):
 *   `sampling 40960/100000 (41%)  7.9 s, eta 11 s  <detail>`;
 * - `--verbose` off a terminal (logs, CI): a plain line each time another tenth of the work is
 *   done (so a log holds at most about ten lines per task, at the same points every run);
 * - otherwise nothing: scripts see only the result.
 */
import type { TrainerEvent } from '@nfdm/training';
import { fmt, type Io } from './output.js';

export type ProgressMode = 'tty' | 'lines' | 'off';

/** How progress is shown on `io.stderr`: a redrawn line on a terminal, lines with --verbose, else nothing. */
export function progressMode(io: Io, verbose: boolean): ProgressMode {
  if (io.stderr.isTTY) return 'tty';
  return verbose ? 'lines' : 'off';
}

/** Seconds as `12 s`, `3.4 min` or `2.1 h`. */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 120) return `${seconds < 10 ? seconds.toFixed(1) : seconds.toFixed(0)} s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

export class Progress {
  private readonly started = performance.now();
  private lastDraw = 0;
  private lastTenth = 0;
  private done = 0;
  private detail = '';
  private finished = false;

  /**
   * `label`: what is being done (`sampling`, `NELBO`); `total`: units of work (> 0);
   * `unit`: what one unit is, for the text (`samples`, `points`, `steps`).
   */
  constructor(
    private readonly stream: Io['stderr'],
    readonly mode: ProgressMode,
    readonly label: string,
    readonly total: number,
    readonly unit = '',
    private readonly intervalMs = 100,
  ) {}

  /** The text of the progress line for `done` units. */
  text(): string {
    const elapsed = (performance.now() - this.started) / 1000;
    const frac = this.total > 0 ? Math.min(1, this.done / this.total) : 1;
    const eta = frac > 0 && frac < 1 ? ` eta ${duration((elapsed * (1 - frac)) / frac)}` : '';
    const unit = this.unit ? ` ${this.unit}` : '';
    return `${this.label} ${this.done}/${this.total}${unit} (${Math.floor(100 * frac)}%)  ${duration(elapsed)}${eta ? `,${eta}` : ''}${this.detail ? `  ${this.detail}` : ''}`;
  }

  /** `done` units are complete (absolute, not an increment); `detail` is appended to the line. */
  update(done: number, detail?: string): void {
    if (this.finished || this.mode === 'off') return;
    this.done = Math.min(done, this.total);
    if (detail !== undefined) this.detail = detail;
    if (this.mode === 'tty') {
      const now = performance.now();
      if (now - this.lastDraw >= this.intervalMs || this.done === this.total) {
        this.lastDraw = now;
        this.draw();
      }
      return;
    }
    const tenth = Math.floor((10 * this.done) / this.total);
    if (tenth > this.lastTenth) {
      this.lastTenth = tenth;
      this.stream.write(`${this.text()}\n`);
    }
  }

  /** Show `detail` now (a terminal redraws; --verbose prints a line), e.g. an evaluation result. */
  event(detail: string): void {
    if (this.finished || this.mode === 'off') return;
    this.detail = detail;
    if (this.mode === 'tty') this.draw();
    else this.stream.write(`${this.text()}\n`);
  }

  /** End the display: a terminal's line is completed with a newline. */
  finish(): void {
    if (this.finished || this.mode === 'off') return;
    this.finished = true;
    if (this.mode === 'tty') {
      this.draw();
      this.stream.write('\n');
    }
  }

  private draw(): void {
    const width = (this.stream as { columns?: number }).columns || 120;
    this.stream.write(`\r\x1b[2K${this.text().slice(0, Math.max(10, width - 1))}`);
  }
}

/** Held-out metrics of a training evaluation, labelled (the NELBO in data units: + logDet). */
export function describeEval(metrics: Record<string, number>, logDet: number): string {
  const parts: string[] = [];
  if (metrics.nelbo !== undefined) parts.push(`held-out NELBO ${fmt(metrics.nelbo + logDet)} nats`);
  if (metrics.nll_bound !== undefined) parts.push(`held-out NLL bound ${fmt(metrics.nll_bound + logDet)} nats`);
  if (metrics.bridge_bound !== undefined) parts.push(`held-out bridge bound ${fmt(metrics.bridge_bound + logDet)} nats`);
  if (metrics.ot_loss !== undefined) parts.push(`held-out NFDM-OT loss ${fmt(metrics.ot_loss)}`);
  return parts.join(', ');
}

/**
 * The trainer's events as progress: `step 1200/5000 (24%) … batch loss 2.314 lr 1.0e-3 |g| 0.81
 * 3.1 ms/step [held-out NELBO 2.41 nats @1000] [ckpt 1000]`. The batch loss is the training
 * objective on one batch (standardised units, without the NELBO's constant terms) — not the
 * NELBO, which is the held-out figure.
 */
export function trainingProgress(progress: Progress, logDet: number): (event: TrainerEvent) => void {
  let step = '';
  let evalNote = '';
  let ckptNote = '';
  const detail = () => `${step}${evalNote}${ckptNote}`;
  return (e) => {
    switch (e.type) {
      case 'step':
        step = `batch loss ${fmt(e.loss)}  lr ${e.lr.toExponential(1)}  |g| ${fmt(e.gradNorm, 3)}  ${e.msPerStep.toFixed(1)} ms/step`;
        progress.update(e.step, detail());
        break;
      case 'eval': {
        const text = describeEval(e.metrics, logDet);
        evalNote = text ? `  [${text} @${e.step}]` : '';
        progress.event(detail());
        break;
      }
      case 'checkpoint':
        ckptNote = `  [ckpt ${e.step}]`;
        break;
      case 'signal':
        ckptNote = `  [${e.signal}: stopping after this step]`;
        progress.event(detail());
        break;
      case 'done':
        progress.finish();
        break;
    }
  };
}
