/**
 * Parameter containers. A module owns named tf.Variables; names are dotted paths
 * ("layers.0.weight"), and composite modules prefix their children's names
 * ("forward.layers.0.weight"). Non-trainable variables are buffers (e.g. fixed Fourier
 * frequencies): they are saved with the weights but not optimised.
 */
import type * as tf from '@tensorflow/tfjs';

/** Named variables in a stable order. */
export type NamedVariables = Map<string, tf.Variable>;

/** Anything that owns parameters. */
export interface Module {
  /** All variables (trainable and buffers), by dotted name. */
  parameters(): NamedVariables;
  /** Free the variables. */
  dispose(): void;
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
