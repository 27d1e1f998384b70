/**
 * A custom Gaussian forward process defined OUTSIDE the library, through its public extension
 * point `GaussianForwardProcess` (@nfdm/models).
 *
 * The trigonometric process (data at t = 0, prior at t = 1):
 *
 *   q(z_t | x) = N(μ(x, t), σ(t)² I),   μ = a(t) x,   σ = b(t),
 *   a(t) = cos(πt/2),                  b(t) = (1 − δ) sin(πt/2) + δ,
 *
 * with exact time derivatives (c = cos(πt/2), s = sin(πt/2), ω = π/2):
 *
 *   μ̇ = −ω s x,          σ̇ = (1 − δ) ω c,
 *   μ̈ = −ω² c x,         σ̈ = −(1 − δ) ω² s.
 *
 * Boundary values: μ(x, 0) = x, σ(0) = δ, so q(z₀ | x) = N(x, δ² I) (the library's
 * reconstruction term uses `start = { t: 0, alpha: 1, sigma: δ }`); μ(x, 1) = 0, σ(1) = 1, so
 * q(z₁ | x) = N(0, I) = the prior (`priorStd = 1`) and the prior term vanishes.
 * This is the "cosine" interpolation between data and noise (α² + σ² = 1 when δ = 0), with a
 * small noise floor δ at t = 0 as in NFDM's learned process.
 *
 * Everything else — the conditional velocity f = μ̇ + σ̇ ε, the score, the reverse drift
 * fB = f + (g²/2) ε/σ, the NFDM bound, the samplers and the ODE likelihood — comes from the
 * library's closed forms (`forward/gaussian.ts`), unchanged.
 *
 * Shapes: x [B, D], t [B, 1] → μ and its derivatives [B, D]; σ and its derivatives [B, 1]
 * (broadcast over the D data dimensions, as for the library's fixed schedules).
 */
import type { JetOrder, NamedVariables } from '@nfdm/core';
import {
  type ConfigObject,
  configKeys,
  configNumber,
  type ForwardProcessConfig,
  type ForwardProcessEntry,
  type GaussianForwardProcess,
  type GaussianParams,
  registerForwardProcess,
} from '@nfdm/models';
import * as tf from '@tensorflow/tfjs';
import { trigonometricOnnx } from './onnx.js';

/** The `kind` of the process in model configs. */
export const TRIGONOMETRIC_KIND = 'trigonometric';

/** Serialised process (the `forward` field of a model config). */
export interface TrigonometricConfig extends ForwardProcessConfig {
  kind: typeof TRIGONOMETRIC_KIND;
  /** σ at t = 0, in (0, 1). */
  delta: number;
}

export interface TrigonometricOptions {
  /** Data dimension D. */
  dim: number;
  /** σ at t = 0 (default 0.01), in (0, 1). */
  delta?: number;
}

const OMEGA = Math.PI / 2;

export class TrigonometricProcess implements GaussianForwardProcess {
  readonly kind = TRIGONOMETRIC_KIND;
  /** No trainable parameters (μ, σ are fixed functions of x and t). */
  readonly learned = false;
  readonly priorStd = 1;
  readonly dim: number;
  readonly delta: number;

  constructor(options: TrigonometricOptions) {
    if (!Number.isInteger(options.dim) || options.dim < 1) throw new RangeError(`dim must be a positive integer, got ${options.dim}`);
    const delta = options.delta ?? 0.01;
    if (!(delta > 0 && delta < 1)) throw new RangeError(`delta must lie in (0, 1), got ${delta}`);
    this.dim = options.dim;
    this.delta = delta;
  }

  /** q(z₀ | x) = N(1 · x, δ² I). */
  get start() {
    return { t: 0, alpha: 1, sigma: this.delta };
  }

  /** μ, σ and their partial t-derivatives up to `order` (see the module doc). */
  params(x: tf.Tensor, t: tf.Tensor, order: JetOrder): GaussianParams {
    if (x.rank !== 2 || x.shape[1] !== this.dim) throw new RangeError(`expected x of shape [B, ${this.dim}], got [${x.shape}]`);
    if (t.rank !== 2 || t.shape[1] !== 1 || t.shape[0] !== x.shape[0])
      throw new RangeError(`expected t of shape [${x.shape[0]}, 1], got [${t.shape}]`);
    const k = 1 - this.delta;
    const angle = tf.mul(OMEGA, t);
    const c = tf.cos(angle);
    const s = tf.sin(angle);
    const out: GaussianParams = { mu: tf.mul(c, x), sigma: tf.add(tf.mul(k, s), this.delta) };
    if (order >= 1) {
      out.dmu = tf.mul(tf.mul(-OMEGA, s), x);
      out.dsigma = tf.mul(k * OMEGA, c);
    }
    if (order === 2) {
      out.d2mu = tf.mul(tf.mul(-OMEGA * OMEGA, c), x);
      out.d2sigma = tf.mul(-k * OMEGA * OMEGA, s);
    }
    return out;
  }

  toConfig(): TrigonometricConfig {
    return { kind: TRIGONOMETRIC_KIND, delta: this.delta };
  }

  parameters(): NamedVariables {
    return new Map();
  }

  dispose(): void {}
}

/**
 * How model configs validate, build and describe the trigonometric process, and how
 * `@nfdm/export` writes it to ONNX (`onnx`, see onnx.ts).
 */
export const trigonometricEntry: ForwardProcessEntry = {
  parse(raw: ConfigObject, field: string): TrigonometricConfig {
    configKeys(raw, ['kind', 'delta'], field);
    const delta = configNumber(raw, 'delta', field, (n) => n > 0 && n < 1, 'a number in (0, 1)') ?? 0.01;
    return { kind: TRIGONOMETRIC_KIND, delta };
  },
  create(config, dim) {
    return new TrigonometricProcess({ dim, delta: (config as TrigonometricConfig).delta });
  },
  onnx: trigonometricOnnx,
};

/**
 * Register the process with @nfdm/models, so that `createModel`, `saveModel` and `loadModel`
 * handle `{ "forward": { "kind": "trigonometric", "delta": 0.01 } }` and `@nfdm/export` exports
 * it to ONNX. Idempotent.
 */
export function registerTrigonometricProcess(): void {
  registerForwardProcess(TRIGONOMETRIC_KIND, trigonometricEntry);
}
