/**
 * Forward-process ONNX emitters through the forward-process registry of @nfdm/models: an
 * entry's `onnx` slot holds the kind's {@link ForwardProcessEmitter}. This module registers the
 * emitters of the three built-in kinds (nfdm, fixed, ndm) the same way a downstream kind does
 * (once, before the first lookup) and looks emitters up by the process's own `kind`.
 */
import { forwardProcessEntry, type GaussianForwardProcess, setForwardProcessOnnx } from '@nfdm/models';
import type { ForwardProcessEmitter } from './emitter.js';
import { fixedForwardEmitter } from './fixed.js';
import { ndmForwardEmitter } from './ndm.js';
import { neuralForwardEmitter } from './neural.js';

/**
 * Give the registered forward-process `kind` its ONNX emitter (replacing any previous one). A
 * downstream kind may instead pass `onnx: emitter` in its `registerForwardProcess` entry.
 */
export function registerForwardProcessEmitter<P extends GaussianForwardProcess>(kind: string, emitter: ForwardProcessEmitter<P>): void {
  if (!isEmitter(emitter))
    throw new TypeError(`forward process '${kind}': an ONNX emitter needs emit(g, process, x, xs, t) and sigmaWidth(process)`);
  setForwardProcessOnnx(kind, emitter);
}

let builtInsRegistered = false;

const BUILT_IN_EMITTERS: ReadonlyArray<[string, ForwardProcessEmitter<never>]> = [
  ['nfdm', neuralForwardEmitter],
  ['fixed', fixedForwardEmitter],
  ['ndm', ndmForwardEmitter],
];

/**
 * The built-in kinds' emitters, registered through {@link registerForwardProcessEmitter} before
 * the first lookup (an emitter registered for a built-in kind earlier is kept).
 */
function registerBuiltIns(): void {
  if (builtInsRegistered) return;
  builtInsRegistered = true;
  for (const [kind, emitter] of BUILT_IN_EMITTERS) {
    if (forwardProcessEntry(kind)?.onnx === undefined) registerForwardProcessEmitter(kind, emitter);
  }
}

function isEmitter(x: unknown): x is ForwardProcessEmitter {
  const e = x as Partial<ForwardProcessEmitter> | null | undefined;
  return typeof e?.emit === 'function' && typeof e.sigmaWidth === 'function';
}

/**
 * The ONNX emitter of `process` (looked up by `process.kind`); throws a TypeError naming the
 * kind and how to add one when it has none.
 */
export function forwardProcessEmitter<P extends GaussianForwardProcess>(process: P): ForwardProcessEmitter<P> {
  registerBuiltIns();
  const kind = process.kind;
  const entry = forwardProcessEntry(kind);
  const onnx = entry?.onnx;
  if (isEmitter(onnx)) return onnx as ForwardProcessEmitter<P>;
  const shape = 'an emitter is { emit(g, process, x, xs, t) → μ, σ, μ̇, σ̇ and their spatial tangents; sigmaWidth(process) }';
  if (!entry) {
    throw new TypeError(
      `forward process '${kind}' has no ONNX emitter: the kind is not registered with @nfdm/models; register it with ` +
        `registerForwardProcess('${kind}', { parse, create, onnx: emitter }) (${shape})`,
    );
  }
  const how =
    `register one with registerForwardProcessEmitter('${kind}', emitter) from @nfdm/export, or pass ` +
    `onnx: emitter in the registerForwardProcess('${kind}', …) entry (${shape})`;
  if (onnx !== undefined) throw new TypeError(`forward process '${kind}' has an 'onnx' entry that is not an ONNX emitter: ${how}`);
  throw new TypeError(`forward process '${kind}' has no ONNX emitter: ${how}`);
}
