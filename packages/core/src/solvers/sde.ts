/**
 * Fixed-step SDE solvers for the Itô SDE $dy = f(t, y)\,dt + g(t, y) \odot dW_t$.
 *
 * | name              | scheme                               | noise             | strong order | f, g evals/step |
 * |-------------------|--------------------------------------|-------------------|--------------|-----------------|
 * | `euler_maruyama`  | $y + f h + g\,\Delta W$               | any               | 0.5 (1.0 additive) | 1, 1      |
 * | `stochastic_heun` | predictor–corrector trapezoid        | additive only     | 1.0          | 2, 2            |
 * | `sra1`            | Rößler's SRA1, uses Lévy area $H$     | additive only     | 1.5          | 2, 2            |
 *
 * Adaptive SDE stepping is not supported: it is only safe with a Brownian path that stays
 * consistent under step rejection (a Brownian tree) and, for non-commutative noise, not even
 * then (diffrax #471). {@link solve} rejects a {@link PIDController} for SDE terms.
 *
 * Steps may be negative (`t0 > t1`, reverse-time samplers); the increment then has variance
 * $|h|$, as in docs/maths/solvers.md#sde-solvers.
 */
import * as tf from '@tensorflow/tfjs';
import type { BrownianIncrement } from './brownian.js';
import type { SDETerm } from './terms.js';

/** Counts of vector-field evaluations, updated by a step. */
export interface SdeEvalCounter {
  /** Drift evaluations. */
  nfe: number;
  /** Diffusion evaluations. */
  diffusionEvals: number;
}

/** A fixed-step SDE method. Steps are plain tf ops; {@link solve} wraps each in a `tidy`. */
export interface SdeSolver {
  readonly kind: 'sde';
  readonly name: string;
  /** Strong order of convergence for the noise class the method accepts. */
  readonly strongOrder: number;
  /** Whether the method needs $g$ to depend on $t$ only ({@link SDETerm.additive}). */
  readonly requiresAdditiveNoise: boolean;
  /** Whether the method needs the space-time Lévy area $H$. */
  readonly needsLevyArea: boolean;
  /**
   * One step from $(t, y)$ to `tEnd`.
   *
   * **Arguments:** `term`; `t`, `tEnd` (JS numbers, $h = t_{end} - t$ may be negative);
   * `y` — state `[B, ...]`; `inc` — the Brownian increment over the step; `count` — evaluation
   * counters to update.
   *
   * **Returns:** $y_{n+1}$ (same shape as `y`).
   */
  step(term: SDETerm, t: number, tEnd: number, y: tf.Tensor, inc: BrownianIncrement, count: SdeEvalCounter): tf.Tensor;
}

function checkShape(value: tf.Tensor, y: tf.Tensor, what: string): tf.Tensor {
  if (!tf.util.arraysEqual(value.shape, y.shape)) {
    throw new TypeError(`${what} has shape [${value.shape.join(',')}] for a state of shape [${y.shape.join(',')}]`);
  }
  return value;
}

function drift(term: SDETerm, t: number, y: tf.Tensor, count: SdeEvalCounter): tf.Tensor {
  count.nfe++;
  const f = term.drift(t, y);
  if (!(f instanceof tf.Tensor)) throw new TypeError('the SDE drift must return a tf.Tensor');
  return checkShape(f, y, 'the SDE drift');
}

function diffusion(term: SDETerm, t: number, y: tf.Tensor, count: SdeEvalCounter): tf.Tensor {
  count.diffusionEvals++;
  const g = term.diffusion(t, y);
  if (!(g instanceof tf.Tensor)) throw new TypeError('the SDE diffusion must return a tf.Tensor');
  return g;
}

/** `g ⊙ noise`, checked to broadcast into the state's shape and broadcast to it (`addN` does not broadcast). */
function noiseTerm(g: tf.Tensor, noise: tf.Tensor, y: tf.Tensor): tf.Tensor {
  const out = tf.mul(g, noise);
  const shape = tf.broadcast_util.assertAndGetBroadcastShape(out.shape, y.shape);
  if (!tf.util.arraysEqual(shape, y.shape)) {
    throw new TypeError(
      `the SDE diffusion (shape [${g.shape.join(',')}]) times the noise (shape [${noise.shape.join(',')}]) ` +
        `does not broadcast into the state shape [${y.shape.join(',')}]`,
    );
  }
  return tf.util.arraysEqual(out.shape, y.shape) ? out : tf.broadcastTo(out, y.shape);
}

/**
 * Euler–Maruyama: $y_{n+1} = y_n + f(t_n, y_n)\,h + g(t_n, y_n) \odot \Delta W_n$.
 * Strong order 0.5 in general (1.0 for additive noise), weak order 1.
 */
export class EulerMaruyama implements SdeSolver {
  readonly kind = 'sde';
  readonly name = 'euler_maruyama';
  readonly strongOrder = 0.5;
  readonly requiresAdditiveNoise = false;
  readonly needsLevyArea = false;

  step(term: SDETerm, t: number, tEnd: number, y: tf.Tensor, inc: BrownianIncrement, count: SdeEvalCounter): tf.Tensor {
    const h = tEnd - t;
    const f = drift(term, t, y, count);
    const g = diffusion(term, t, y, count);
    return tf.addN([y, tf.mul(f, h), noiseTerm(g, inc.dW, y)]);
  }
}

/**
 * Stochastic Heun (Stratonovich trapezoid; equals Itô for additive noise):
 * $\tilde y = y + f(t, y) h + g(t, y)\Delta W$,
 * $y_{n+1} = y + \tfrac12\big(f(t, y) + f(t + h, \tilde y)\big) h + \tfrac12\big(g(t, y) + g(t + h, \tilde y)\big)\Delta W$.
 * Strong order 1.0 for additive noise.
 */
export class StochasticHeun implements SdeSolver {
  readonly kind = 'sde';
  readonly name = 'stochastic_heun';
  readonly strongOrder = 1;
  readonly requiresAdditiveNoise = true;
  readonly needsLevyArea = false;

  step(term: SDETerm, t: number, tEnd: number, y: tf.Tensor, inc: BrownianIncrement, count: SdeEvalCounter): tf.Tensor {
    const h = tEnd - t;
    const f0 = drift(term, t, y, count);
    const g0 = diffusion(term, t, y, count);
    const yTilde = tf.addN([y, tf.mul(f0, h), noiseTerm(g0, inc.dW, y)]);
    const f1 = drift(term, tEnd, yTilde, count);
    const g1 = diffusion(term, tEnd, yTilde, count);
    return tf.addN([y, tf.mul(tf.add(f0, f1), 0.5 * h), noiseTerm(tf.mul(tf.add(g0, g1), 0.5), inc.dW, y)]);
  }
}

/**
 * SRA1 (Rößler 2010) for additive noise $g = g(t)$, strong order 1.5, using the
 * space-time Lévy area $H$:
 *
 * $z = y + \tfrac34 h\,f(t, y) + g(t)\big(\tfrac34\Delta W + \tfrac32 H\big)$,
 * $y_{n+1} = y + h\big(\tfrac13 f(t, y) + \tfrac23 f(t + \tfrac34 h, z)\big) + g(t)\Delta W
 *   + \big(g(t + h) - g(t)\big)\big(\tfrac12\Delta W - H\big)$.
 */
export class SRA1 implements SdeSolver {
  readonly kind = 'sde';
  readonly name = 'sra1';
  readonly strongOrder = 1.5;
  readonly requiresAdditiveNoise = true;
  readonly needsLevyArea = true;

  step(term: SDETerm, t: number, tEnd: number, y: tf.Tensor, inc: BrownianIncrement, count: SdeEvalCounter): tf.Tensor {
    const h = tEnd - t;
    const H = inc.H;
    if (H === undefined) throw new Error('internal: SRA1 needs the Lévy area H');
    const f0 = drift(term, t, y, count);
    const g0 = diffusion(term, t, y, count);
    const z = tf.addN([y, tf.mul(f0, 0.75 * h), noiseTerm(g0, tf.add(tf.mul(inc.dW, 0.75), tf.mul(H, 1.5)), y)]);
    const f1 = drift(term, t + 0.75 * h, z, count);
    // Additive noise: g does not depend on the state, so evaluating at y is exact.
    const g1 = diffusion(term, tEnd, y, count);
    return tf.addN([
      y,
      tf.mul(f0, h / 3),
      tf.mul(f1, (2 * h) / 3),
      noiseTerm(g0, inc.dW, y),
      noiseTerm(tf.sub(g1, g0), tf.sub(tf.mul(inc.dW, 0.5), H), y),
    ]);
  }
}

/** Type guard for SDE solvers. */
export function isSdeSolver(x: unknown): x is SdeSolver {
  return typeof x === 'object' && x !== null && (x as { kind?: unknown }).kind === 'sde' && 'step' in x;
}
