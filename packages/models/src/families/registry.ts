/**
 * The family registry: the built-in families are registered here (one line each); downstream
 * packages add theirs with {@link registerFamily}. Everything that needs to know a model's family
 * asks {@link familyOf} / {@link familyOfConfig} and then the descriptor.
 */
import { ModelConfigError } from '../config.js';
import { bridgeFamily } from './bridge.js';
import { cfmFamily } from './cfm.js';
import { diffflowFamily } from './diffflow.js';
import { diffusionFamily } from './diffusion.js';
import type { FamilyCapabilities, FamilyDescriptor, FamilyId, HeldOutMetric, HeldOutRole, Objective } from './types.js';

// biome-ignore lint/suspicious/noExplicitAny: descriptors are stored type-erased; each one checks its own models and configs
type AnyDescriptor = FamilyDescriptor<any, any>;

const REGISTRY = new Map<FamilyId, AnyDescriptor>();

/**
 * Add a family. Its `id` and config `format` must be new (a second registration of the same
 * descriptor object is a no-op, so modules may register on import).
 */
export function registerFamily(family: AnyDescriptor): void {
  const existing = REGISTRY.get(family.id);
  if (existing === family) return;
  if (existing) throw new Error(`a model family with id '${family.id}' is already registered`);
  for (const other of REGISTRY.values()) {
    if (other.format === family.format) throw new Error(`config format '${family.format}' already belongs to family '${other.id}'`);
  }
  REGISTRY.set(family.id, family);
}

registerFamily(diffusionFamily);
registerFamily(bridgeFamily);
registerFamily(diffflowFamily);
registerFamily(cfmFamily);

/** The registered families, built-ins first. */
export function families(): AnyDescriptor[] {
  return [...REGISTRY.values()];
}

/** The family with this id (a RangeError naming the registered ids otherwise). */
export function familyById(id: string): AnyDescriptor {
  const f = REGISTRY.get(id);
  if (!f) throw new RangeError(`unknown model family '${id}' (registered: ${[...REGISTRY.keys()].join(', ')})`);
  return f;
}

/** The family of a model object (a TypeError naming the registered families otherwise). */
export function familyOf(model: unknown): AnyDescriptor {
  for (const f of REGISTRY.values()) if (f.owns(model)) return f;
  const titles = [...REGISTRY.values()].map((f) => f.title);
  throw new TypeError(`not an nfdm model (expected one of: ${titles.join(', ')})`);
}

/** The family of a config, from its `format` (a ModelConfigError on field 'format' otherwise). */
export function familyOfConfig(config: { format?: unknown }): AnyDescriptor {
  const format = config?.format;
  for (const f of REGISTRY.values()) if (f.format === format) return f;
  const formats = [...REGISTRY.values()].map((f) => `"${f.format}"`);
  throw new ModelConfigError('format', `expected one of ${formats.join(', ')}, got ${JSON.stringify(format)}`);
}

/** The default objective, `{ kind: 'nelbo' }`. */
export const DEFAULT_OBJECTIVE: Objective = { kind: 'nelbo' };

/** Throw a RangeError if `family` does not train with `objective`. */
export function checkObjective(family: AnyDescriptor, objective: Objective): void {
  if (family.objectives.includes(objective.kind)) return;
  const users = families()
    .filter((f) => f.objectives.includes(objective.kind))
    .map((f) => `${f.title}s`);
  const where = users.length > 0 ? `applies to ${users.join(' and ')} only` : 'applies to no registered family';
  throw new RangeError(
    `the '${objective.kind}' objective ${where}, not to a ${family.title} (it trains with: ${family.objectives.join(', ')})`,
  );
}

/** What models of `family` trained with `objective` can do. */
export function capabilitiesOf(family: AnyDescriptor, objective: Objective = DEFAULT_OBJECTIVE): FamilyCapabilities {
  checkObjective(family, objective);
  return { ...family.capabilities, ...(family.objectiveCapabilities?.(objective) ?? {}) };
}

/** The role of a held-out metric, with its default. */
export function heldOutRole(metric: HeldOutMetric): HeldOutRole {
  return metric.role ?? (metric.bound ? 'bound' : 'diagnostic');
}
