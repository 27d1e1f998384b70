/**
 * Terms: *what* is integrated, separate from *how* (solvers) and *how far per step*
 * (controllers).
 *
 * - {@link ODETerm}: $dy = f(t, y)\,dt$.
 * - {@link SDETerm}: $dy = f(t, y)\,dt + g(t, y) \odot dW_t$ (Itô), with diagonal noise (one
 *   independent Brownian motion per state component) or scalar noise (one Brownian motion
 *   per sample, shared by all components of that sample).
 *
 * Vector fields are plain functions of a JS-number time and a float32 state. They are
 * called inside the solver's `tf.tidy`, so they may create temporaries freely, must not
 * dispose their input, and must not call `tf.grad` on code that is itself differentiated
 * (see docs/architecture.md#time-derivatives).
 */
import type * as tf from '@tensorflow/tfjs';
import type { StateTree } from './state.js';

/**
 * A vector field $f(t, y)$.
 *
 * **Arguments:** `t` — time (float64 JS number); `y` — state with the structure of `y0`
 * (`[B, ...]` tensor, or a tuple of tensors).
 *
 * **Returns:** $dy/dt$ with exactly the structure and shapes of `y`.
 */
export type VectorField<Y extends StateTree = tf.Tensor> = (t: number, y: Y) => Y;

/** Diffusion coefficient $g(t, y)$: a tensor broadcastable to `y`'s shape. */
export type Diffusion = (t: number, y: tf.Tensor) => tf.Tensor;

/** The ordinary differential equation $dy/dt = f(t, y)$. */
export class ODETerm<Y extends StateTree = tf.Tensor> {
  readonly kind = 'ode';
  /** **Arguments:** `vf` — the vector field $f$. */
  constructor(readonly vf: VectorField<Y>) {
    if (typeof vf !== 'function') throw new TypeError('ODETerm needs a vector field function (t, y) => dy/dt');
  }
}

/**
 * How the Brownian motion enters an SDE.
 * - `'diagonal'`: $W$ has the shape of `y`; component $i$ gets $g_i\,dW_i$.
 * - `'scalar'`: $W$ has shape `[B, 1, …, 1]`; every component of sample $b$ is driven by the
 *   same $dW_b$ (torchsde's `noise_type='scalar'`).
 */
export type NoiseType = 'diagonal' | 'scalar';

/** Options of {@link SDETerm}. */
export interface SDETermOptions {
  /** Drift $f(t, y)$, same shape as `y`. */
  drift: (t: number, y: tf.Tensor) => tf.Tensor;
  /**
   * Diffusion $g(t, y)$, broadcastable to `y`'s shape (e.g. `[B, D]`, `[B, 1]` or a scalar
   * `[]` for $g(t)\,I$).
   */
  diffusion: Diffusion;
  /** Noise structure (default `'diagonal'`). */
  noise?: NoiseType;
  /**
   * Declares that $g$ depends on `t` only (additive noise). Stochastic Heun and SRA1
   * require it: for additive noise the Itô and Stratonovich solutions coincide, and SRA1's
   * order-1.5 scheme is built for it. Default `false`.
   */
  additive?: boolean;
}

/**
 * The Itô SDE $dy = f(t, y)\,dt + g(t, y) \odot dW_t$, for a single-tensor state `[B, ...]`.
 *
 * For samplers that run backwards in time (`t0 > t1`), each step uses $h < 0$ and a
 * Brownian increment with variance $|h|$ — the usual reverse-time convention.
 */
export class SDETerm {
  readonly kind = 'sde';
  readonly drift: (t: number, y: tf.Tensor) => tf.Tensor;
  readonly diffusion: Diffusion;
  readonly noise: NoiseType;
  readonly additive: boolean;

  constructor(options: SDETermOptions) {
    if (typeof options?.drift !== 'function') throw new TypeError('SDETerm needs a drift function (t, y) => f');
    if (typeof options.diffusion !== 'function') throw new TypeError('SDETerm needs a diffusion function (t, y) => g');
    const noise = options.noise ?? 'diagonal';
    if (noise !== 'diagonal' && noise !== 'scalar') {
      throw new TypeError(`unknown SDE noise type '${String(noise)}': expected 'diagonal' or 'scalar'`);
    }
    this.drift = options.drift;
    this.diffusion = options.diffusion;
    this.noise = noise;
    this.additive = options.additive ?? false;
  }
}

/** Any term {@link solve} accepts. */
export type Term<Y extends StateTree = tf.Tensor> = ODETerm<Y> | SDETerm;

/** The shape of the Brownian increment for a state of shape `yShape` and noise type `noise`. */
export function noiseShape(yShape: readonly number[], noise: NoiseType): number[] {
  if (noise === 'diagonal') return [...yShape];
  if (yShape.length === 0) throw new TypeError('scalar noise needs a state with a batch axis ([B, ...])');
  return [yShape[0], ...yShape.slice(1).map(() => 1)];
}
