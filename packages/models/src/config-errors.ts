/**
 * The errors and the first validation helpers of config parsing, shared by config.ts and the
 * network sections (network.ts). Each helper takes the dotted field path for its messages.
 */

/** An invalid config; `field` is the dotted path of the offending field (e.g. `forward.kind`). */
export class ModelConfigError extends Error {
  override readonly name = 'ModelConfigError';
  constructor(
    readonly field: string,
    detail: string,
  ) {
    super(`invalid model config: ${field}: ${detail}`);
  }
}

/** A JSON object being validated. */
export type ConfigObject = Record<string, unknown>;

/** How a bad value is quoted in messages. */
export const describeValue = (v: unknown): string => (v === undefined ? 'missing' : `got ${JSON.stringify(v)}`);

/** `v` must be a plain object; returns it. */
export function configObject(v: unknown, field: string): ConfigObject {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new ModelConfigError(field, v === undefined ? 'is missing (expected an object)' : `expected an object, ${describeValue(v)}`);
  }
  return v as ConfigObject;
}

/** Reject keys outside `allowed` (catches typos such as `betamax`). */
export function configKeys(obj: ConfigObject, allowed: readonly string[], field: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) throw new ModelConfigError(`${field}.${key}`, `unknown field (expected one of ${allowed.join(', ')})`);
  }
}
