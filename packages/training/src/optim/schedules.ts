/**
 * Learning-rate schedules as pure functions of the step.
 *
 * `step` is the 0-based index of the update about to be taken (the first update uses
 * `step = 0`). With `warmup = W > 0` the rate rises linearly, `lr · (step + 1) / W`, reaching
 * `lr` at `step = W − 1`; afterwards, with progress p = min(1, (step − W) / max(1, total − W)):
 *
 *   constant     lr
 *   cosine       floor + (lr − floor) · ½ (1 + cos πp)
 *   polynomial   floor + (lr − floor) · (1 − p)^power          (power 1 = linear decay)
 *
 * so the decay ends at `floor` at `step = total` and stays there.
 */

/** A constant rate, optionally after a linear warm-up. */
export interface ConstantSchedule {
  kind: 'constant';
  lr: number;
  warmup?: number;
}

/** Linear warm-up, then cosine decay from `lr` to `floor` at step `total`. */
export interface CosineSchedule {
  kind: 'cosine';
  lr: number;
  /** Step at which the decay ends (usually the run's total steps). */
  total: number;
  warmup?: number;
  /** Final rate (default 0). */
  floor?: number;
}

/** Linear warm-up, then polynomial decay (1 − p)^power from `lr` to `floor` at step `total`. */
export interface PolynomialSchedule {
  kind: 'polynomial';
  lr: number;
  total: number;
  warmup?: number;
  floor?: number;
  /** Exponent (default 1: linear decay). */
  power?: number;
}

export type LRSchedule = ConstantSchedule | CosineSchedule | PolynomialSchedule;

/** An invalid schedule (names the field). */
export class ScheduleConfigError extends Error {
  override readonly name = 'ScheduleConfigError';
  constructor(
    readonly field: string,
    detail: string,
  ) {
    super(`invalid learning-rate schedule: ${field}: ${detail}`);
  }
}

function num(obj: Record<string, unknown>, key: string, ok: (n: number) => boolean, what: string, fallback?: number): number {
  const v = obj[key];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) {
    throw new ScheduleConfigError(key, `expected ${what}, ${v === undefined ? 'missing' : `got ${JSON.stringify(v)}`}`);
  }
  return v;
}

/** Validate a schedule (any JSON value) and return it with every default filled in. */
export function parseLRSchedule(raw: unknown): LRSchedule {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ScheduleConfigError('schedule', 'expected an object');
  const obj = raw as Record<string, unknown>;
  const allowed: Record<string, string[]> = {
    constant: ['kind', 'lr', 'warmup'],
    cosine: ['kind', 'lr', 'total', 'warmup', 'floor'],
    polynomial: ['kind', 'lr', 'total', 'warmup', 'floor', 'power'],
  };
  const kind = obj.kind;
  if (typeof kind !== 'string' || !(kind in allowed)) {
    throw new ScheduleConfigError('kind', `expected one of ${Object.keys(allowed).join(', ')}, got ${JSON.stringify(kind)}`);
  }
  for (const key of Object.keys(obj)) {
    if (!allowed[kind].includes(key)) throw new ScheduleConfigError(key, `unknown field for kind '${kind}'`);
  }
  const lr = num(obj, 'lr', (n) => n >= 0, 'a number >= 0');
  const warmup = num(obj, 'warmup', (n) => Number.isInteger(n) && n >= 0, 'a non-negative integer', 0);
  if (kind === 'constant') return { kind, lr, warmup };
  const total = num(obj, 'total', (n) => Number.isInteger(n) && n >= 0, 'a non-negative integer');
  const floor = num(obj, 'floor', (n) => n >= 0 && n <= lr, `a number in [0, lr = ${lr}]`, 0);
  if (kind === 'cosine') return { kind, lr, total, warmup, floor };
  const power = num(obj, 'power', (n) => n > 0, 'a number > 0', 1);
  return { kind: 'polynomial', lr, total, warmup, floor, power };
}

/** The learning rate of update `step` (0-based) under `schedule`: a pure function. */
export function learningRate(schedule: LRSchedule, step: number): number {
  if (!Number.isInteger(step) || step < 0) throw new RangeError(`step must be a non-negative integer, got ${step}`);
  const warmup = schedule.warmup ?? 0;
  if (step < warmup) return (schedule.lr * (step + 1)) / warmup;
  if (schedule.kind === 'constant') return schedule.lr;
  const floor = schedule.floor ?? 0;
  const p = Math.min(1, (step - warmup) / Math.max(1, schedule.total - warmup));
  if (schedule.kind === 'cosine') return floor + (schedule.lr - floor) * 0.5 * (1 + Math.cos(Math.PI * p));
  return floor + (schedule.lr - floor) * (1 - p) ** (schedule.power ?? 1);
}
