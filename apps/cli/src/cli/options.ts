/** Argument parsers and option helpers shared by the commands. */
import { InvalidArgumentError } from '@commander-js/extra-typings';
import { UsageError } from './errors.js';

/** `webgpu` needs the optional peers `webgpu` and `@tensorflow/tfjs-backend-webgpu` and a GPU adapter (see @nfdm/core). */
export const BACKENDS = ['auto', 'wasm', 'cpu', 'tensorflow', 'webgpu'] as const;
export type BackendChoice = (typeof BACKENDS)[number];

/** `--n 1000`: an integer ≥ 1. */
export function positiveInt(value: string): number {
  const n = Number(value.trim());
  if (!/^\+?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError('Expected a positive integer.');
  }
  return n;
}

/** `--eval-every 0`: an integer ≥ 0. */
export function nonNegativeInt(value: string): number {
  const n = Number(value.trim());
  if (!/^\+?\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('Expected a non-negative integer.');
  return n;
}

/** `--lr 1e-3`: a finite number > 0. */
export function positiveNumber(value: string): number {
  const n = Number(value.trim());
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('Expected a number > 0.');
  return n;
}

/** `--curvature-weight 0.5`: a finite number ≥ 0. */
export function nonNegativeNumber(value: string): number {
  const n = Number(value.trim());
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('Expected a number ≥ 0.');
  return n;
}

/** `--dropout 0.1`: a rate in [0, 1). */
export function dropoutRate(value: string): number {
  const n = Number(value.trim());
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n >= 1) throw new InvalidArgumentError('Expected a dropout rate in [0, 1).');
  return n;
}

/** What `--ema none` / `--clip none` parse to (commander turns a parser's null into ''). */
export const NONE = 'none';

const isNone = (v: string) => v === 'none' || v === 'off' || v === '0';

/** `--ema 0.999`: a decay in [0, 1), or `none`/`off`/`0` for no EMA ({@link NONE}). */
export function emaDecay(value: string): number | typeof NONE {
  const v = value.trim().toLowerCase();
  if (isNone(v)) return NONE;
  const n = Number(v);
  if (v === '' || !Number.isFinite(n) || n < 0 || n >= 1) throw new InvalidArgumentError("Expected a decay in [0, 1) or 'none'.");
  return n;
}

/** `--clip 1`: a global norm > 0, or `none`/`off`/`0` for no clipping ({@link NONE}). */
export function clipNorm(value: string): number | typeof NONE {
  const v = value.trim().toLowerCase();
  if (isNone(v)) return NONE;
  const n = Number(v);
  if (v === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("Expected a norm > 0 or 'none'.");
  return n;
}

/** `--hidden 64,64,64`: widths of the hidden layers. */
export function widths(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  if (parts.length === 0 || parts.some((p) => !/^\d+$/.test(p) || Number(p) < 1 || Number(p) > 65536)) {
    throw new InvalidArgumentError('Expected comma-separated positive layer widths, e.g. 64,64,64.');
  }
  return parts.map(Number);
}

/** `--bounds -4,4,-4,4`: xMin,xMax,yMin,yMax. */
export function bounds(value: string): { xMin: number; xMax: number; yMin: number; yMax: number } {
  const parts = value.split(',').map((s) => Number(s.trim()));
  if (parts.length !== 4 || parts.some((p) => !Number.isFinite(p)) || parts[0] >= parts[1] || parts[2] >= parts[3]) {
    throw new InvalidArgumentError('Expected xMin,xMax,yMin,yMax with xMin < xMax and yMin < yMax.');
  }
  return { xMin: parts[0], xMax: parts[1], yMin: parts[2], yMax: parts[3] };
}

/** A comma-separated list whose items must come from `allowed`. */
export function listOf<T extends string>(allowed: readonly T[]): (value: string) => T[] {
  return (value: string) => {
    const items = value
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter((s) => s.length > 0);
    if (items.length === 0) throw new InvalidArgumentError(`Expected a comma-separated list of ${allowed.join(', ')}.`);
    for (const item of items) {
      if (!(allowed as readonly string[]).includes(item)) {
        throw new InvalidArgumentError(`Unknown item '${item}': expected some of ${allowed.join(', ')}.`);
      }
    }
    return [...new Set(items)] as T[];
  };
}

/** Render an examples block for `--help`. */
export function examples(lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => (l.startsWith('#') ? `  ${l}` : `  $ ${l}`)).join('\n')}\n`;
}

/**
 * A required option's value. Commands check these in their action rather than with
 * commander's requiredOption, so an unknown option is reported before a missing one.
 */
export function need<T>(value: T | undefined, flag: string): T {
  if (value === undefined) throw new UsageError(`required option '${flag}' not specified`);
  return value;
}

/** A comma-separated list of positive integers, e.g. `1,2,4,8`. */
export function positiveIntList(value: string): number[] {
  const items = value.split(',').map((v) => v.trim());
  if (items.length === 0 || items.some((v) => !/^[1-9]\d*$/.test(v))) {
    throw new InvalidArgumentError(`'${value}' is not a comma-separated list of positive integers`);
  }
  return items.map(Number);
}

/** `--obstacle cx,cy,r[,weight]`: a disc obstacle (weight default 10). */
export function obstacle(value: string): { center: [number, number]; radius: number; weight: number } {
  const parts = value.split(',').map((s) => Number(s.trim()));
  if (
    (parts.length !== 3 && parts.length !== 4) ||
    parts.some((p) => !Number.isFinite(p)) ||
    !(parts[2] > 0) ||
    (parts.length === 4 && parts[3] < 0)
  ) {
    throw new InvalidArgumentError('Expected cx,cy,r[,weight] with r > 0 and weight ≥ 0, e.g. 0,0,0.5,10.');
  }
  return { center: [parts[0], parts[1]], radius: parts[2], weight: parts[3] ?? 10 };
}
