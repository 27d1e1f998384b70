/**
 * Step-size controllers: *how far* each step goes.
 *
 * - {@link ConstantStepSize}: the grid is fixed by `steps` (or `dt0`) given to {@link solve}.
 * - {@link PIDController}: adaptive steps from an embedded error estimate (diffrax's
 *   `PIDController` restricted to its P and I terms; with the defaults `pcoeff = 0`,
 *   `icoeff = 1` it is the classic I controller of torchdiffeq and Hairer).
 *
 * **Error norm.** With $sc_i = atol + rtol \cdot \max(|y_{n,i}|, |y_{n+1,i}|)$ over *every*
 * component of every leaf (batch and augmented log-density state included),
 * $E = \mathrm{RMS}_i(err_i / sc_i)$ (`norm: 'rms'`, default) or $\max_i |err_i/sc_i|$
 * (`norm: 'max'`, which makes every sample meet the tolerance). A step is accepted iff
 * $E \le 1$.
 *
 * **Update.** With $k$ the solver's error order (`embeddedOrder + 1`, i.e. 5 for dopri5)
 * and $E_{prev}$ the error of the last accepted step (initially 1, floored at $10^{-4}$):
 * $\text{factor} = \text{safety} \cdot E^{-(p + i)/k} \cdot E_{prev}^{\,p/k}$, clipped to
 * $[1, \text{factorMax}]$ after an accepted step (to $[1, 1]$ right after a rejection, as in
 * Hairer) and to $[\text{factorMin}, \text{safety}]$ after a rejected one; $E = 0$ gives
 * factorMax. Hairer's Lund stabilisation (β = 0.04) is `pcoeff = 0.2, icoeff = 0.65` for $k = 5$.
 *
 * Only one number per step is read back from the device: $E$. A non-finite state is folded
 * into it (E becomes NaN), so checking for NaN/Inf costs no extra read.
 */
import * as tf from '@tensorflow/tfjs';
import { combine, keepState, leavesOf, type StateTree, stateSize } from './state.js';
import type { VectorField } from './terms.js';

/** Floor of the tolerance scale, so `atol = 0` with an exactly-zero component is not 0/0. */
const TINY = 1e-30;

/** Fixed steps: `steps` equal steps, or steps of `dt0` (the last one shortened to land on `t1`). */
export class ConstantStepSize {
  readonly kind = 'constant';
}

/** Options of {@link PIDController}. */
export interface PIDControllerOptions {
  /** Relative tolerance (> 0). float32 states cannot honour much below ~1e-6. */
  rtol: number;
  /** Absolute tolerance (≥ 0). */
  atol: number;
  /** Safety factor in (0, 1] (default 0.9). */
  safety?: number;
  /** Smallest shrink factor after a rejection, in (0, 1) (default 0.2). */
  factorMin?: number;
  /** Largest growth factor after an acceptance, > 1 (default 10). */
  factorMax?: number;
  /** Proportional coefficient (default 0). */
  pcoeff?: number;
  /** Integral coefficient (default 1). */
  icoeff?: number;
  /** Smallest allowed |step|; a smaller proposal raises {@link StepSizeUnderflowError} (default 0). */
  dtMin?: number;
  /** Largest allowed |step| (default ∞). */
  dtMax?: number;
  /** `'rms'` (default) or `'max'` over all components. */
  norm?: 'rms' | 'max';
}

/** Controller state threaded through a solve (immutable). */
export interface PIDState {
  /** Error of the last accepted step (floored at 1e-4; 1 before the first). */
  readonly prevError: number;
  /** Whether the last attempted step was rejected. */
  readonly lastRejected: boolean;
}

/** Decision for one attempted step. */
export interface StepDecision {
  accept: boolean;
  /** Signed next step (same sign as the attempted one). */
  hNext: number;
  state: PIDState;
}

function positive(name: string, value: number, allowZero = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new RangeError(`${name} must be a finite number ${allowZero ? '>= 0' : '> 0'}, got ${value}`);
  }
  return value;
}

/** Adaptive step-size controller (see the module doc for the formulas). */
export class PIDController {
  readonly kind = 'adaptive';
  readonly rtol: number;
  readonly atol: number;
  readonly safety: number;
  readonly factorMin: number;
  readonly factorMax: number;
  readonly pcoeff: number;
  readonly icoeff: number;
  readonly dtMin: number;
  readonly dtMax: number;
  readonly norm: 'rms' | 'max';

  /** Throws `RangeError` for `rtol <= 0`, `atol < 0` or inconsistent factors. */
  constructor(options: PIDControllerOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('PIDController needs { rtol, atol }');
    this.rtol = positive('rtol', options.rtol);
    this.atol = positive('atol', options.atol, true);
    this.safety = positive('safety', options.safety ?? 0.9);
    this.factorMin = positive('factorMin', options.factorMin ?? 0.2);
    this.factorMax = positive('factorMax', options.factorMax ?? 10);
    this.pcoeff = positive('pcoeff', options.pcoeff ?? 0, true);
    this.icoeff = positive('icoeff', options.icoeff ?? 1, true);
    this.dtMin = positive('dtMin', options.dtMin ?? 0, true);
    const dtMax = options.dtMax ?? Number.POSITIVE_INFINITY;
    if (!(typeof dtMax === 'number' && dtMax > 0)) throw new RangeError(`dtMax must be > 0, got ${dtMax}`);
    this.dtMax = dtMax;
    this.norm = options.norm ?? 'rms';
    if (this.norm !== 'rms' && this.norm !== 'max') throw new TypeError(`norm must be 'rms' or 'max', got '${String(this.norm)}'`);
    if (this.safety > 1) throw new RangeError(`safety must be in (0, 1], got ${this.safety}`);
    if (this.factorMin >= 1) throw new RangeError(`factorMin must be in (0, 1), got ${this.factorMin}`);
    if (this.factorMax <= 1) throw new RangeError(`factorMax must be > 1, got ${this.factorMax}`);
    if (this.pcoeff + this.icoeff <= 0) throw new RangeError('pcoeff + icoeff must be > 0');
    if (this.dtMin >= this.dtMax) throw new RangeError(`dtMin (${this.dtMin}) must be < dtMax (${this.dtMax})`);
  }

  /** The state before the first step. */
  initialState(): PIDState {
    return { prevError: 1, lastRejected: false };
  }

  /**
   * Scaled error norm $E$ of an attempted step, as a scalar tensor (plain tf ops).
   * NaN if `y1` or `yError` contains NaN/±Inf, so one read answers both "accept?" and
   * "finite?".
   *
   * **Arguments:** `y0`, `y1` — states at both ends; `yError` — the embedded error estimate.
   */
  errorNorm(y0: StateTree, y1: StateTree, yError: StateTree): tf.Scalar {
    const l0 = leavesOf(y0);
    const l1 = leavesOf(y1);
    const scales = l0.map((leaf, i) => tf.maximum(tf.add(this.atol, tf.mul(this.rtol, tf.maximum(tf.abs(leaf), tf.abs(l1[i])))), TINY));
    const norm = this.normOf(yError, scales);
    // 0 · Σ y1 is NaN iff y1 holds a NaN or ±Inf: the finiteness check rides on this read.
    const guard = tf.addN(l1.map((leaf) => tf.mul(tf.sum(leaf), 0)));
    return tf.add(norm, guard) as tf.Scalar;
  }

  /** $\lVert x / sc \rVert$ in this controller's norm (RMS or max) over all leaves. */
  normOf(x: StateTree, scales: tf.Tensor[]): tf.Scalar {
    const ratios = leavesOf(x).map((leaf, i) => tf.div(leaf, scales[i]));
    if (this.norm === 'max') {
      const maxes = ratios.map((r) => tf.max(tf.abs(r)));
      return (maxes.length === 1 ? maxes[0] : tf.max(tf.stack(maxes))) as tf.Scalar;
    }
    const sumSq = tf.addN(ratios.map((r) => tf.sum(tf.square(r))));
    return tf.sqrt(tf.div(sumSq, stateSize(x))) as tf.Scalar;
  }

  /** Tolerance scales $atol + rtol\,|y|$ per leaf. */
  scalesOf(y: StateTree): tf.Tensor[] {
    return leavesOf(y).map((leaf) => tf.maximum(tf.add(this.atol, tf.mul(this.rtol, tf.abs(leaf))), TINY));
  }

  /**
   * Accept or reject an attempted step of size `h` with error norm `error`, and propose
   * the next step.
   *
   * **Arguments:** `h` — attempted signed step; `error` — $E$ (a finite number ≥ 0, or
   * `+Inf` for an overflowing but finite estimate); `errorOrder` — $k$; `state`.
   *
   * **Returns:** {@link StepDecision}; `|hNext| <= dtMax`.
   */
  adapt(h: number, error: number, errorOrder: number, state: PIDState): StepDecision {
    const accept = error <= 1;
    let factor: number;
    if (error === 0) factor = this.factorMax;
    else if (!Number.isFinite(error)) factor = this.factorMin;
    else {
      factor = this.safety * error ** (-(this.pcoeff + this.icoeff) / errorOrder) * state.prevError ** (this.pcoeff / errorOrder);
    }
    let next: PIDState;
    if (accept) {
      const hi = state.lastRejected ? 1 : this.factorMax;
      factor = Math.min(Math.max(factor, 1), hi);
      next = { prevError: Math.max(error, 1e-4), lastRejected: false };
    } else {
      factor = Math.min(Math.max(factor, this.factorMin), this.safety);
      next = { prevError: state.prevError, lastRejected: true };
    }
    return { accept, hNext: this.clampStep(h * factor), state: next };
  }

  /** Reject after a non-finite estimate: shrink by `factorMin`. */
  rejectNonFinite(h: number, state: PIDState): StepDecision {
    return { accept: false, hNext: h * this.factorMin, state: { prevError: state.prevError, lastRejected: true } };
  }

  /** Clamp |h| to `dtMax`, keeping the sign. */
  clampStep(h: number): number {
    return Math.abs(h) > this.dtMax ? Math.sign(h) * this.dtMax : h;
  }
}

/** Any controller {@link solve} accepts. */
export type StepSizeController = ConstantStepSize | PIDController;

/** Result of {@link initialStepSize}. */
export interface InitialStep<Y extends StateTree> {
  /** Signed first step (direction of `tEnd − t0`). */
  h: number;
  /** $f(t_0, y_0)$, kept (owned by the caller): it is the first stage of the first step. */
  f0: Y;
}

/**
 * Hairer's starting step (*Solving ODEs I*, II.4), as used by torchdiffeq and diffrax:
 * with $sc = atol + rtol|y_0|$, $d_0 = \lVert y_0/sc\rVert$, $d_1 = \lVert f_0/sc\rVert$,
 * $h_0 = 10^{-6}$ if $d_0 < 10^{-5}$ or $d_1 < 10^{-5}$ else $0.01\,d_0/d_1$;
 * $f_1 = f(t_0 + h_0, y_0 + h_0 f_0)$, $d_2 = \lVert (f_1 - f_0)/sc\rVert / h_0$;
 * $h_1 = \max(10^{-6}, 10^{-3} h_0)$ if $\max(d_1, d_2) \le 10^{-15}$ else
 * $(0.01/\max(d_1, d_2))^{1/k}$; $h = \min(100 h_0, h_1, dtMax, |t_{end} - t_0|)$.
 * Costs two evaluations of $f$ (the first, $f_0$, is reused by the first step) and two
 * reads from the device.
 *
 * A generator: it yields scalar tensors for the driver to read and receives their values.
 * **Arguments:** `f` (already counting NFE), `t0`, `y0`, `tEnd`, `errorOrder` ($k$),
 * `controller`.
 */
export function* initialStepSize<Y extends StateTree>(
  f: VectorField<Y>,
  t0: number,
  y0: Y,
  tEnd: number,
  errorOrder: number,
  controller: PIDController,
): Generator<tf.Tensor, InitialStep<Y>, ArrayLike<number>> {
  const dir = Math.sign(tEnd - t0);
  const span = Math.abs(tEnd - t0);
  let f0: Y | undefined;
  let ok = false;
  try {
    let d: tf.Tensor | undefined;
    tf.tidy(() => {
      const k = f(t0, y0);
      f0 = keepState(k);
      const sc = controller.scalesOf(y0);
      d = tf.keep(tf.stack([controller.normOf(y0, sc), controller.normOf(k, sc)]));
    });
    const [d0, d1] = Array.from(yield d as tf.Tensor);
    let h0 = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : (0.01 * d0) / d1;
    h0 = Math.min(h0, span, controller.dtMax);
    let d2t: tf.Tensor | undefined;
    const first = f0 as Y;
    tf.tidy(() => {
      const y1 = combine(y0, [[dir * h0, first]], y0);
      const f1 = f(t0 + dir * h0, y1);
      const diff = combine(f1, [[-1, first]], f1);
      d2t = tf.keep(tf.div(controller.normOf(diff, controller.scalesOf(y0)), h0));
    });
    const [d2] = Array.from(yield d2t as tf.Tensor);
    const m = Math.max(d1, d2);
    const h1 = m <= 1e-15 ? Math.max(1e-6, h0 * 1e-3) : (0.01 / m) ** (1 / errorOrder);
    let h = Math.min(100 * h0, h1, span, controller.dtMax);
    if (!Number.isFinite(h) || h <= 0) h = Math.min(1e-6, span);
    ok = true;
    return { h: dir * h, f0: first };
  } finally {
    if (!ok && f0 !== undefined) for (const leaf of leavesOf(f0)) leaf.dispose();
  }
}
