/**
 * Gradient checkpointing (recomputation): y = f(x₁, …, x_k) recorded on the gradient tape as ONE
 * node that keeps only its inputs. Nothing computed inside f is held for the reverse pass; when
 * the reverse pass reaches the node it runs f again under a fresh tape and back-propagates dy
 * through it, returning ∂L/∂xᵢ and ∂L/∂θ for the parameters θ that f reads. Exact (the same ops
 * run twice), at the price of one more forward evaluation of f; the memory of a network's reverse
 * pass drops from every intermediate of every block to the blocks' inputs plus one block's
 * intermediates.
 *
 * Switch: `setCheckpointing(true | false)` or `NFDM_CHECKPOINT=1 | 0` in the environment force it
 * on or off; otherwise each caller decides (`auto`): the U-Net recomputes its blocks only when
 * the call is large enough for memory to matter (UNet.jet; measured: recomputation costs ≈ 1.5×
 * the step time and saves ≈ 2.7× the memory). f must be deterministic given its inputs: draw
 * random masks outside and pass them in.
 */
import * as tf from '@tensorflow/tfjs';

let override: boolean | undefined;

/** Force recomputation on or off for every {@link checkpoint} call (undefined: back to NFDM_CHECKPOINT, else the callers' choice). */
export function setCheckpointing(on: boolean | undefined): void {
  override = on;
}

/** Whether {@link checkpoint} recomputes: the forced setting if any, else `auto` (the caller's choice). */
export function checkpointingEnabled(auto = true): boolean {
  if (override !== undefined) return override;
  const env = typeof process !== 'undefined' ? process.env?.NFDM_CHECKPOINT : undefined;
  if (env === '0' || env === 'false') return false;
  if (env === '1' || env === 'true') return true;
  return auto;
}

/**
 * f(inputs) with recomputation in the reverse pass (see the module doc). `parameters` are the
 * trainable tensors f reads (they become inputs of the tape node, so gradients reach them);
 * `constants` are inputs that need no gradient (e.g. dropout masks), passed to f after `inputs`;
 * `auto` is the caller's choice when nothing forces the setting.
 */
export function checkpoint(
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  inputs: tf.Tensor[],
  parameters: tf.Tensor[],
  constants: tf.Tensor[] = [],
  auto = true,
): tf.Tensor {
  if (!checkpointingEnabled(auto)) return f(...inputs, ...constants);
  const nIn = inputs.length;
  const nConst = constants.length;
  const op = tf.customGrad((...args: unknown[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const all = args.slice(0, -1) as tf.Tensor[];
    const xs = all.slice(0, nIn);
    const cs = all.slice(nIn, nIn + nConst);
    save([...xs, ...cs]);
    const value = f(...xs, ...cs);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const xsSaved = saved.slice(0, nIn);
      const csSaved = saved.slice(nIn);
      const { value: again, grads } = nestedGradients(() => f(...xsSaved, ...csSaved), [...xsSaved, ...parameters], dy);
      again.dispose();
      const zeros = csSaved.map((c) => tf.zerosLike(c));
      const orZeros = (g: tf.Tensor | null | undefined, like: tf.Tensor) => g ?? tf.zerosLike(like);
      return [...xsSaved.map((x, i) => orZeros(grads[i], x)), ...zeros, ...parameters.map((p, i) => orZeros(grads[nIn + i], p))];
    };
    return { value, gradFunc };
  });
  return op(...inputs, ...constants, ...parameters) as tf.Tensor;
}

/** The engine state that {@link nestedGradients} must keep (tfjs 4.22's Engine.state). */
interface EngineTapeState {
  state: { activeTape: unknown };
}

/**
 * engine.gradients() called while an outer reverse pass is running (inside a gradFunc): tfjs
 * starts a fresh tape for it but, when it ends at gradient depth 0, sets the engine's active tape
 * to null — the outer pass's tape, which it reads again when it finishes. Keep it and put it back.
 */
function nestedGradients(f: () => tf.Tensor, xs: tf.Tensor[], dy: tf.Tensor): { value: tf.Tensor; grads: Array<tf.Tensor | null> } {
  const engine = tf.engine() as unknown as EngineTapeState;
  const outer = engine.state.activeTape;
  try {
    return tf.engine().gradients(f, xs, dy, true);
  } finally {
    engine.state.activeTape = outer;
  }
}
