/**
 * Parameter containers. A module owns named tf.Variables; names are dotted paths
 * ("layers.0.weight"), and composite modules prefix their children's names
 * ("forward.layers.0.weight"). Non-trainable variables are buffers (e.g. fixed Fourier
 * frequencies): they are saved with the weights but not optimised.
 *
 * Modes: every module starts in eval mode (deterministic). {@link setTraining} switches a
 * module and its children into training mode, where stochastic layers (dropout) draw from the
 * generator it is given, and back (null). Composite modules forward the mode to their children
 * with {@link setChildrenTraining}; modules without stochastic layers below them need not
 * implement it.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Rng } from '../random.js';

/** Named variables in a stable order. */
export type NamedVariables = Map<string, tf.Variable>;

/** Anything that owns parameters. */
export interface Module {
  /** All variables (trainable and buffers), by dotted name. */
  parameters(): NamedVariables;
  /** Free the variables. */
  dispose(): void;
  /**
   * Training mode with `rng` (stochastic layers such as dropout draw their masks from it) or
   * eval mode (null, the default). Optional: see {@link setTraining}.
   */
  setTraining?(rng: Rng | null): void;
}

/**
 * Put `module` and its children into training mode — dropout layers draw their masks from `rng`,
 * in the order the forward pass reaches them — or, with `null`, back into eval mode
 * (deterministic; the mode every module starts in). A module without stochastic layers ignores it.
 */
export function setTraining(module: Module, rng: Rng | null): void {
  module.setTraining?.(rng);
}

/** {@link setTraining} on each child: the `setTraining` of a composite module. */
export function setChildrenTraining(children: readonly (Module | null | undefined)[], rng: Rng | null): void {
  for (const child of children) if (child) setTraining(child, rng);
}

/** Merge children's parameters under `prefix.` names. */
export function collectParameters(children: Record<string, Module | null | undefined>): NamedVariables {
  const out: NamedVariables = new Map();
  for (const [prefix, child] of Object.entries(children)) {
    if (!child) continue;
    for (const [name, variable] of child.parameters()) {
      const key = prefix ? `${prefix}.${name}` : name;
      if (out.has(key)) throw new Error(`duplicate parameter name '${key}'`);
      out.set(key, variable);
    }
  }
  return out;
}

/** The trainable variables of a module, in name order. */
export function trainableVariables(module: Module): tf.Variable[] {
  return [...module.parameters().values()].filter((v) => v.trainable);
}

/** Total number of scalars in the trainable variables. */
export function countParameters(module: Module): number {
  return trainableVariables(module).reduce((n, v) => n + v.size, 0);
}
