/**
 * Framework-agnostic contract checks: a contract is a list of named checks, each a function
 * that throws a {@link ContractViolation} (one line naming the quantity, the worst element and
 * the tolerance) when the implementation breaks the contract. Any test runner can use them:
 *
 *   for (const check of odeSolverChecks('dopri5')) it(check.name, check.run);   // vitest, jest
 *   const failures = await runChecks(odeSolverChecks('dopri5'));                  // plain Node
 *
 * The checks are numerical oracles (finite differences, autodiff, closed forms): they read
 * tensors back with `dataSync`, so call them after the tfjs backend is ready.
 */
import * as tf from '@tensorflow/tfjs';

/** One named check of a contract; `run` throws (or rejects with) a {@link ContractViolation} on failure. */
export interface ContractCheck {
  readonly name: string;
  run(): void | Promise<void>;
}

/** A broken contract: the message names the check's quantity and the offending values. */
export class ContractViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContractViolation';
  }
}

/** Throw a {@link ContractViolation} with `message` unless `condition` holds. */
export function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new ContractViolation(message);
}

/** The largest |v| of an array (0 for an empty one). */
export const maxAbs = (a: ArrayLike<number>): number => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/**
 * Elementwise |actual − expected| ≤ rtol·|expected| + atol (NaN fails), reporting the worst
 * offender.
 */
export function checkClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number, what: string): void {
  check(actual.length === expected.length, `${what}: length ${actual.length}, expected ${expected.length}`);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i] - expected[i]);
    const excess = diff === 0 ? 0 : diff / (rtol * Math.abs(expected[i]) + atol);
    if (!(excess <= worst)) {
      worst = excess;
      at = i;
    }
  }
  check(worst <= 1, `${what}: worst at ${at}: actual ${actual[at]} vs expected ${expected[at]} (|diff| > ${rtol}·|expected| + ${atol})`);
}

/** Structural equality of JSON-like values (what a JSON round trip must preserve). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** Run `body` and fail if it leaves tensors behind. */
export function checkNoLeak(body: () => void): void {
  const before = tf.memory().numTensors;
  body();
  const after = tf.memory().numTensors;
  check(after === before, `tensors leaked: ${after - before}`);
}

/** Run every check in order; the failures as `name: message` lines (empty when the contract holds). */
export async function runChecks(checks: readonly ContractCheck[]): Promise<string[]> {
  const failures: string[] = [];
  for (const c of checks) {
    try {
      await c.run();
    } catch (e) {
      failures.push(`${c.name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return failures;
}

/** max |a − b| over nested arrays of equal shape (a length mismatch is a violation). */
export function maxAbsDiff(a: unknown, b: unknown): number {
  if (Array.isArray(a) && Array.isArray(b)) {
    check(a.length === b.length, `array lengths differ: ${a.length} vs ${b.length}`);
    return a.reduce((m: number, v, i) => Math.max(m, maxAbsDiff(v, b[i])), 0);
  }
  return Math.abs((a as number) - (b as number));
}
