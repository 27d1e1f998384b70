/**
 * The conditioning settings of `nfdm train` and what they add to the model config:
 *
 * - `--condition label`: a label-conditional model on the data's labels (labelled toy sets,
 *   Fashion-MNIST; bridges: the labels of the TARGET set), or, with ONE `--condition-column` of
 *   integers 0…K−1 of a CSV file, on that column;
 * - `--condition-column NAME` (repeatable) without `--condition`: a vector-conditional model on
 *   those CSV columns (m = their number), removed from x (condition-columns.ts);
 * - `--condition-dropout p`: the fraction of rows trained with the null condition (default 0.1);
 * - `--condition-forward`: the learned forward process depends on y too (nfdm, ndm, nfdm-ot:
 *   `forward.conditioned`; nfbm: `process.conditioned`).
 */
import type { AnyModelConfig } from '@nfdm/models';
import { UsageError } from './errors.js';
import { type ModelName, PRESETS } from './presets.js';
import type { RunSettings } from './run-config.js';

/** Default condition dropout (the fraction of rows trained without their condition). */
export const DEFAULT_CONDITION_DROPOUT = 0.1;

/** Models whose forward process is learned, so it can take the condition (`--condition-forward`). */
const LEARNED_FORWARD: readonly ModelName[] = ['nfdm', 'ndm', 'nfdm-ot', 'nfbm'];

/** Whether the settings ask for a conditional model. */
export function isConditional(s: Partial<RunSettings>): boolean {
  return s.condition !== undefined || (s.conditionColumns?.length ?? 0) > 0;
}

/**
 * Check the conditioning settings against the model and data (UsageErrors naming the flags) and
 * fill the default condition dropout of a conditional run.
 */
export function checkConditionSettings(s: Partial<RunSettings>): void {
  const conditional = isConditional(s);
  if (s.conditionDropout !== undefined && !conditional)
    throw new UsageError(
      '--condition-dropout sets the condition dropout of a conditional model; it needs --condition label or --condition-column',
    );
  if (s.conditionForward && !conditional)
    throw new UsageError('--condition-forward conditions the forward process on y; it needs --condition label or --condition-column');
  const family = PRESETS[s.model as ModelName].family;
  if (conditional && family !== 'diffusion' && family !== 'bridge')
    throw new UsageError(
      `--condition trains conditional diffusion models (nfdm, ndm, nfdm-ot, vp, …) and bridges (nfbm, fixed-bridge), not ${s.model}`,
    );
  if (s.conditionForward && !LEARNED_FORWARD.includes(s.model as ModelName))
    throw new UsageError(
      `--condition-forward needs a learned forward process (${LEARNED_FORWARD.join(', ')}); ${s.model} has a fixed one, which does not depend on y`,
    );
  const columns = s.conditionColumns ?? [];
  if (columns.length > 0) {
    if (family !== 'diffusion')
      throw new UsageError(`--condition-column reads conditions from a CSV file for diffusion models, not ${s.model}`);
    if (!/\.csv$/i.test(s.data ?? '')) throw new UsageError(`--condition-column names columns of a .csv file; --data ${s.data} is not one`);
    const twice = columns.find((c, i) => columns.indexOf(c) !== i);
    if (twice !== undefined) throw new UsageError(`--condition-column ${twice} is given twice`);
    if (s.condition === 'label' && columns.length !== 1)
      throw new UsageError(
        `--condition label with --condition-column takes ONE column of class labels 0…K−1; got ${columns.length} (${columns.join(', ')}); without --condition label the columns are a vector condition`,
      );
  }
  if (conditional && s.conditionDropout === undefined) s.conditionDropout = DEFAULT_CONDITION_DROPOUT;
}

/** What the data says the condition is: K labels, or vectors of m values. */
export type DataCondition = { kind: 'label'; classes: number } | { kind: 'vector'; dim: number };

/**
 * The model config with the condition of the run: a top-level `condition` section (dropout from
 * the settings) and, with `--condition-forward`, the conditioned flag of the learned process.
 */
export function withCondition(config: AnyModelConfig, condition: DataCondition | undefined, settings: RunSettings): AnyModelConfig {
  if (!condition) return config;
  const dropout = settings.conditionDropout ?? DEFAULT_CONDITION_DROPOUT;
  const section =
    condition.kind === 'label' ? { kind: 'label', classes: condition.classes, dropout } : { kind: 'vector', dim: condition.dim, dropout };
  const out: Record<string, unknown> = { ...config, condition: section };
  if (settings.conditionForward) {
    const key = 'process' in config ? 'process' : 'forward';
    out[key] = { ...(config as unknown as Record<string, object>)[key], conditioned: true };
  }
  return out as unknown as AnyModelConfig;
}
