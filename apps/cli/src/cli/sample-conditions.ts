/**
 * `nfdm sample --condition v1,v2,…` for vector-conditional models (trained with
 * `--condition-column`): the values are in data units and are standardised with the statistics
 * stored with the model's data description; every sample gets the same condition. Labels
 * (`--label`, `--labels`) are read by the sample command itself.
 */
import { InvalidArgumentError } from '@commander-js/extra-typings';
import type { AnyModelConfig } from '@nfdm/models';
import { conditionVector } from './condition-columns.js';
import { UsageError } from './errors.js';
import { type ModelMeta, modelCondition } from './runtime.js';

/** `--condition 3,1.5`: comma-separated finite numbers. */
export function numberList(value: string): number[] {
  const parts = value.split(',').map((p) => p.trim());
  const values = parts.map(Number);
  if (parts.some((p) => p === '') || values.some((v) => !Number.isFinite(v)))
    throw new InvalidArgumentError('Expected comma-separated numbers, e.g. 3,1.5.');
  return values;
}

/** What the sample command was given about conditions. */
export interface ConditionFlags {
  condition?: number[];
  label?: number;
  labels?: number[] | 'all';
}

/**
 * The standardised condition vector of every sample from `--condition`, checked against the model
 * (undefined without the flag); UsageErrors for unconditional and label-conditional models, for
 * --condition together with --label/--labels, and for the wrong number of values.
 */
export function sampleVector(flags: ConditionFlags, config: AnyModelConfig, meta: ModelMeta | undefined): number[] | undefined {
  if (flags.condition === undefined) return undefined;
  if (flags.label !== undefined || flags.labels !== undefined)
    throw new UsageError('give --condition (vector-conditional models) or --label/--labels (label-conditional ones), not both');
  const c = modelCondition(config);
  if (!c)
    throw new UsageError('--condition needs a vector-conditional model (trained with --condition-column); this model is unconditional');
  if (c.kind !== 'vector') throw new UsageError('--condition: this model is conditioned on class labels; give --label K or --labels K,K,…');
  return conditionVector(flags.condition, meta?.data?.condition, c.dim);
}
