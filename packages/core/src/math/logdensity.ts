/**
 * Log-density of data under a continuous normalising flow / probability-flow ODE.
 *
 * **Sign convention.** Integrate $dy/dt = v(t, y)$ from the data time $t_0$ (where $y = x$)
 * to the prior time $t_1$, together with $d\ell/dt = \nabla\cdot v(t, y)$, $\ell(t_0) = 0$.
 * Then
 *
 * $$\log p_{t_0}(x) = \log p_{\text{prior}}\big(y(t_1)\big) + \ell(t_1) - \ell(t_0),$$
 *
 * because $\frac{d}{dt}\log p_t(y(t)) = -\nabla\cdot v$ along trajectories. This is the
 * opposite sign of FFJORD's state (which integrates $-\nabla\cdot v$ and subtracts). With
 * nfdm's convention (t = 0 data, t = 1 prior) the defaults `t0 = 0`, `t1 = 1` are right; the
 * formula holds for `t0 > t1` too.
 *
 * The augmented state is the tuple `[y, ℓ]` (`y: [B, ...]`, `ℓ: [B]`); the adaptive error norm
 * covers both. The Hutchinson probe is drawn once per solve and kept fixed.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../random.js';
import { PIDController, type StepSizeController } from '../solvers/controllers.js';
import { getSolver, type Solver } from '../solvers/registry.js';
import { RungeKutta } from '../solvers/rk.js';
import { type Solution, type SolveOptions, type SolveStats, solve, solveAsync } from '../solvers/solve.js';
import type { VectorField } from '../solvers/terms.js';
import { type DivergenceMethod, divergence, makeProbe, type ProbeKind } from './divergence.js';
import { standardNormalLogProb } from './gaussian.js';

/** The prior at `t1`: the standard normal, or a function `z [B, ...] -> log p(z) [B]`. */
export type Prior = 'standard-normal' | ((z: tf.Tensor) => tf.Tensor);

/** Arguments of {@link logDensityODE}. */
export interface LogDensityOptions {
  /** The vector field $v(t, y)$, `[B, ...] -> [B, ...]`. */
  field: VectorField;
  /** Data points at `t0`, `[B, ...]` float32. */
  x: tf.Tensor;
  /** Data time (default 0). */
  t0?: number;
  /** Prior time (default 1). */
  t1?: number;
  /** ODE solver instance or name (default `'dopri5'`). */
  solver?: Solver | string;
  /** Step-size controller; default a {@link PIDController} with `rtol`/`atol` for adaptive solvers. */
  controller?: StepSizeController;
  /** Default 1e-5 (FFJORD / score_sde). Used only when `controller` is not given. */
  rtol?: number;
  /** Default 1e-5. Used only when `controller` is not given. */
  atol?: number;
  /** Constant steps (fixed-step solvers). */
  steps?: number;
  /** First step (adaptive) or constant step. */
  dt0?: number;
  /** Budget of attempted steps (default 10 000). */
  maxSteps?: number;
  /** `'exact'` (default; D reverse passes per evaluation) or `'hutchinson'` (one). */
  divergence?: DivergenceMethod;
  /** Hutchinson probe: a kind to draw (default `'rademacher'`) or an explicit tensor of `x`'s shape. */
  probe?: ProbeKind | tf.Tensor;
  /** Seed of the probe draw (Hutchinson with a probe kind needs `seed` or `rng`). */
  seed?: number;
  /** Generator for the probe draw. */
  rng?: Rng;
  /** Prior log-density at `t1` (default `'standard-normal'`). */
  prior?: Prior;
  /** Called after every accepted step with its end time (progress); see {@link SolveOptions.onStep}. */
  onStep?: (t: number, acceptedSteps: number) => void;
}

/** Result of {@link logDensityODE}; tensors owned by the caller. */
export interface LogDensityResult {
  /** $\log p_{t_0}(x)$ per sample, `[B]` (nats). */
  logp: tf.Tensor;
  /** $y(t_1)$, `[B, ...]`. */
  z: tf.Tensor;
  /** $\ell(t_1) - \ell(t_0) = \int_{t_0}^{t_1} \nabla\cdot v\,dt$, `[B]`. */
  deltaLogp: tf.Tensor;
  /** $\log p_{\text{prior}}(y(t_1))$, `[B]`. */
  priorLogp: tf.Tensor;
  /** Solver counters; `nfe` counts evaluations of the augmented field (each costs D
   *  forward + D reverse passes of `field` for `'exact'`, one of each for `'hutchinson'`). */
  stats: SolveStats;
}

type Aug = [tf.Tensor, tf.Tensor];

function prepare(o: LogDensityOptions): { solveOptions: SolveOptions<Aug>; probe?: tf.Tensor; prior: Prior } {
  if (typeof o !== 'object' || o === null) throw new TypeError('logDensityODE needs an options object');
  if (typeof o.field !== 'function') throw new TypeError('logDensityODE needs `field`: (t, y) => v');
  const x = o.x;
  if (!(x instanceof tf.Tensor) || x.rank < 1 || x.dtype !== 'float32') {
    throw new TypeError('logDensityODE needs `x`: a float32 tensor of shape [B, ...]');
  }
  const method = o.divergence ?? 'exact';
  if (method !== 'exact' && method !== 'hutchinson') {
    throw new TypeError(`unknown divergence method '${String(method)}': expected 'exact' or 'hutchinson'`);
  }
  const prior = o.prior ?? 'standard-normal';
  if (prior !== 'standard-normal' && typeof prior !== 'function') {
    throw new TypeError("prior must be 'standard-normal' or a function z => log p(z) [B]");
  }
  const solver = typeof o.solver === 'object' ? o.solver : getSolver(o.solver ?? 'dopri5');
  if (!(solver instanceof RungeKutta)) throw new TypeError(`logDensityODE needs an ODE solver, got '${solver.name}'`);
  let controller = o.controller;
  if (controller === undefined && solver.adaptive && o.steps === undefined) {
    controller = new PIDController({ rtol: o.rtol ?? 1e-5, atol: o.atol ?? 1e-5 });
  }

  let probe: tf.Tensor | undefined;
  if (method === 'hutchinson') {
    const p = o.probe ?? 'rademacher';
    if (p instanceof tf.Tensor) {
      if (!tf.util.arraysEqual(p.shape, x.shape)) {
        throw new TypeError(`probe shape [${p.shape.join(',')}] must equal x's shape [${x.shape.join(',')}]`);
      }
      probe = tf.clone(p);
    } else {
      if (o.rng === undefined && o.seed === undefined) {
        throw new TypeError('the Hutchinson estimator needs `seed` (or `rng`, or an explicit `probe` tensor)');
      }
      probe = makeProbe(x.shape, p, o.rng ?? new Rng(o.seed));
    }
  }
  const divOptions = { method, probe };
  const field = o.field;
  const augmented: VectorField<Aug> = (t, [y]) => {
    const r = divergence(field, t, y, divOptions);
    return [r.value, r.divergence];
  };
  const solveOptions: SolveOptions<Aug> = {
    term: augmented,
    solver,
    t0: o.t0 ?? 0,
    t1: o.t1 ?? 1,
    y0: [x, tf.zeros([x.shape[0]])],
    controller,
    steps: o.steps,
    dt0: o.dt0,
    maxSteps: o.maxSteps,
    onStep: o.onStep,
  };
  return { solveOptions, probe, prior };
}

function finish(sol: Solution<Aug>, prior: Prior): LogDensityResult {
  const [z, deltaLogp] = sol.y1;
  try {
    const priorLogp = tf.tidy(() => (prior === 'standard-normal' ? standardNormalLogProb(z) : prior(z)));
    if (!tf.util.arraysEqual(priorLogp.shape, deltaLogp.shape)) {
      const shape = priorLogp.shape;
      priorLogp.dispose();
      throw new TypeError(`the prior returned shape [${shape.join(',')}]; expected [${deltaLogp.shape.join(',')}]`);
    }
    const logp = tf.add(priorLogp, deltaLogp);
    return { logp, z, deltaLogp, priorLogp, stats: sol.stats };
  } catch (error) {
    z.dispose();
    deltaLogp.dispose();
    throw error;
  }
}

/**
 * $\log p_{t_0}(x)$ under the flow of `field`, by integrating the augmented state
 * $[y, \ell]$ from `t0` to `t1` (see the module doc for the sign convention).
 *
 * **Arguments:** {@link LogDensityOptions}.
 *
 * **Returns:** {@link LogDensityResult}.
 *
 * **Raises:** as {@link solve}; `TypeError` for bad arguments.
 */
export function logDensityODE(options: LogDensityOptions): LogDensityResult {
  const { solveOptions, probe, prior } = prepare(options);
  try {
    return finish(solve(solveOptions), prior);
  } finally {
    probe?.dispose();
    solveOptions.y0[1].dispose();
  }
}

/** {@link logDensityODE} with asynchronous device reads. */
export async function logDensityODEAsync(options: LogDensityOptions): Promise<LogDensityResult> {
  const { solveOptions, probe, prior } = prepare(options);
  try {
    return finish(await solveAsync(solveOptions), prior);
  } finally {
    probe?.dispose();
    solveOptions.y0[1].dispose();
  }
}
