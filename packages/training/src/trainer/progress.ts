/**
 * A one-line progress display for terminals. The library never prints; the CLI passes
 * `ttyProgress()` as the trainer's `onEvent`.
 */
import type { TrainerEvent } from './trainer.js';

export interface TtyProgressOptions {
  /** Default `process.stderr`; nothing is written unless it is a TTY. */
  stream?: NodeJS.WriteStream;
  /** Minimum time between redraws of the step line (default 100 ms). */
  intervalMs?: number;
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : v.toPrecision(4);
}

/**
 * An event listener that keeps one updating line on `stream` (when it is a TTY):
 * `step 1200/5000 (24%)  loss 2.314  lr 1.00e-3  |g| 0.812  3.1 ms/step  eta 12s  [nelbo 2.41 @1000] [ckpt 1000]`.
 * The line is ended with a newline when the run finishes or is interrupted.
 */
export function ttyProgress(options: TtyProgressOptions = {}): (event: TrainerEvent) => void {
  const stream = options.stream ?? process.stderr;
  if (!stream.isTTY) return () => {};
  const interval = options.intervalMs ?? 100;
  let last = 0;
  let line = '';
  let evalNote = '';
  let ckptNote = '';
  let msAvg = 0;
  const draw = () => {
    const width = stream.columns || 120;
    stream.write(`\r\x1b[2K${`${line}${evalNote}${ckptNote}`.slice(0, Math.max(10, width - 1))}`);
  };
  return (event) => {
    switch (event.type) {
      case 'step': {
        msAvg = msAvg === 0 ? event.msPerStep : 0.95 * msAvg + 0.05 * event.msPerStep;
        const pct = event.steps > 0 ? Math.floor((100 * event.step) / event.steps) : 100;
        const eta = ((event.steps - event.step) * msAvg) / 1000;
        line =
          `step ${event.step}/${event.steps} (${pct}%)  loss ${fmt(event.loss)}  lr ${event.lr.toExponential(2)}  ` +
          `|g| ${fmt(event.gradNorm)}  ${msAvg.toFixed(1)} ms/step  eta ${eta < 120 ? `${eta.toFixed(0)}s` : `${(eta / 60).toFixed(1)}m`}`;
        const now = Date.now();
        if (now - last >= interval || event.step === event.steps) {
          last = now;
          draw();
        }
        break;
      }
      case 'eval': {
        const parts = Object.entries(event.metrics)
          .filter(([k]) => !k.endsWith('_stderr'))
          .map(([k, v]) => `${k} ${fmt(v)}`);
        evalNote = parts.length > 0 ? `  [${parts.join(' ')} @${event.step}]` : '';
        draw();
        break;
      }
      case 'checkpoint':
        ckptNote = `  [ckpt ${event.step}]`;
        draw();
        break;
      case 'signal':
        ckptNote = `  [${event.signal}: stopping after this step]`;
        draw();
        break;
      case 'done':
        draw();
        stream.write('\n');
        break;
    }
  };
}
