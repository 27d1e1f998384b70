/**
 * NFBM objective, sampler and evaluation (docs/maths/bridges.md#loss).
 *
 * Loss (a bound on −log p(x0 | x1) up to constants, plus optional path penalties):
 *
 *   L = E_{t ~ U(0,1), ε} [ ‖fB(z_t, t, x0, x1) − fB(z_t, t, x̂0, x1)‖² / (2 g²(t)) + Σ_k P_k(z_t, t) ],
 *   z_t = μ(x0, x1, t) + σ(x0, x1, t) ε,   x̂0 = x̂_θ(z_t, t, x1),
 *
 * with fB = f − (g²/2) s the conditional reverse drift of forward/gaussian.ts and g from a
 * {@link Volatility} (e.g. NeuralVolatility). Both boundaries have σ = δ, so the
 * reconstruction term is the constant (D/2) log(2πδ²) + D/2 and there is no prior term (the
 * reverse process starts at z_1 = x1 + δ ε, which is q(z_1 | x0, x1) exactly).
 *
 * Sampling from a source point: start at z_1 = x1 + δ ε and integrate, from t = 1 down to 0,
 * the reverse SDE dz = fB(z, t, x̂0, x1) dt + g(t) dw̄ or the probability-flow ODE
 * dz = f(z, t, x̂0, x1) dt, with core's solve; the drift closes over x1.
 *
 * Conditional bridges (a `condition`; docs/maths/bridges.md#conditions-and-guidance): the predictor
 * is x̂_θ(z, t, x1, y) and, with `process.conditioned`, the process F(·, x0, x1, y); the loss is then
 * a bound on −log p(x0 | x1, y), every term at the row's y. In training each row's y is replaced by
 * ∅ with probability p (condition dropout, uniforms drawn after t and ε). Transport takes the
 * rows' conditions and a guidance weight w (x̂_w of bridge/guidance.ts, for the SDE and the ODE).
 */
import {
  checkConditionShape,
  collectParameters,
  dropConditionRows,
  type Module,
  type NamedVariables,
  nullCondition,
  ODETerm,
  Rng,
  SDETerm,
  type SolveStats,
  setChildrenTraining,
  solve,
} from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { reverseDrift, reverseDriftFromEps, sampleZ } from '../forward/gaussian.js';
import { type ConditionInput, checkLabels, conditionRows, type ModelCondition } from '../model.js';
import { imageEvalBatch } from '../network.js';
import type { Volatility } from '../volatility.js';
import { guidedBridgeReverseDrift, guidedBridgeVelocity } from './guidance.js';
import { type PathPenalty, totalPenalty } from './penalty.js';
import type { BridgePredictor, TwoSidedProcess } from './process.js';

/** One Monte Carlo draw: t [B, 1] ~ U(0, 1), ε [B, D] ~ N(0, I) (and a conditional bridge's y [B, w] after dropout). */
export interface BridgeNoise {
  t: tf.Tensor;
  eps: tf.Tensor;
  /** Conditional bridges: the rows' conditions y [B, w], with condition dropout applied in training. */
  condition?: tf.Tensor;
}

export function drawBridgeNoise(rng: Rng, batch: number, dim: number): BridgeNoise {
  return { t: rng.uniformTensor([batch, 1], 0, 1) as tf.Tensor, eps: rng.normalTensor([batch, dim]) as tf.Tensor };
}

export interface BridgeTerms {
  /** Forward sample z_t, [B, D]. */
  z: tf.Tensor;
  xhat: tf.Tensor;
  /** g², [B, 1]. */
  g2: tf.Tensor;
  fTrue: tf.Tensor;
  fPred: tf.Tensor;
  /** ‖fB_true − fB_pred‖² / (2g²), [B]. */
  diffusion: tf.Tensor;
  /** Σ of the (weighted) path penalties, [B]. */
  penalty: tf.Tensor;
  /** diffusion + penalty, [B]. */
  perSample: tf.Tensor;
}

/** The bridge's three parts: two-sided process (learned or fixed), predictor and volatility. */
export class BridgeModel implements Module {
  constructor(
    /** NFBM's learned BridgeProcess or the FixedBridgeProcess baseline. */
    readonly process: TwoSidedProcess,
    readonly predictor: BridgePredictor,
    readonly volatility: Volatility,
    /** Path penalties added to the loss (e.g. obstaclePenalty). */
    readonly penalties: readonly PathPenalty[] = [],
    /** A conditional bridge's condition (null: unconditional). */
    readonly condition: ModelCondition | null = null,
  ) {
    if (predictor.dim !== process.dim) throw new RangeError(`predictor dim ${predictor.dim} ≠ bridge-process dim ${process.dim}`);
    if (process.conditioned && !condition) throw new RangeError('a bridge process conditioned on y needs a conditional bridge');
    if (condition && !(condition.dropout >= 0 && condition.dropout < 1))
      throw new RangeError(`condition dropout must lie in [0, 1), got ${condition.dropout}`);
  }

  get dim(): number {
    return this.process.dim;
  }

  /**
   * Draw the (t, ε) of one training step; a conditional bridge also takes the rows' conditions
   * y [B, w] and returns them with condition dropout applied (each row's y replaced by ∅ with
   * probability p, decided by B uniforms drawn from `rng` after t and ε, so an unconditional
   * bridge's stream is unchanged). `dropout: false` (evaluation) keeps every y and draws no uniforms.
   */
  drawNoise(rng: Rng, batch: number, condition?: tf.Tensor | null, options: { dropout?: boolean } = {}): BridgeNoise {
    if (!this.condition) {
      if (condition) throw new RangeError('this bridge is unconditional: it takes no condition');
      return drawBridgeNoise(rng, batch, this.dim);
    }
    if (!condition) throw new RangeError("a conditional bridge trains on the rows' conditions y: pass them to drawNoise(rng, batch, y)");
    const { spec, dropout } = this.condition;
    const y = checkConditionShape(spec, condition, batch, 'BridgeModel.drawNoise');
    checkLabels(spec, y);
    const noise = drawBridgeNoise(rng, batch, this.dim);
    if (options.dropout === false) return { ...noise, condition: y };
    const drop = Array.from({ length: batch }, () => dropout > 0 && rng.uniform() < dropout);
    return { ...noise, condition: dropConditionRows(spec, y, drop) };
  }

  /**
   * One draw of the loss's integrand with intermediates; x0 (target), x1 (source) [B, D] (a
   * conditional bridge reads the rows' y from `noise.condition`: the bound on −log p(x0 | x1, y)).
   */
  terms(x0: tf.Tensor, x1: tf.Tensor, noise: BridgeNoise): BridgeTerms {
    const { t, eps } = noise;
    const y = this.checkedCondition(noise.condition, x0.shape[0] as number);
    const p = this.process.params(x0, x1, t, 1, y);
    const z = sampleZ(p, eps);
    const g2 = this.volatility.g2(t);
    const fTrue = reverseDriftFromEps(p, eps, g2);
    const xhat = this.predictor.predict(z, t, x1, y);
    const fPred = reverseDrift(this.process.params(xhat, x1, t, 1, y), z, g2);
    const sq = tf.sum(tf.square(tf.sub(fTrue, fPred)), 1);
    const diffusion = tf.mul(0.5, tf.div(sq, tf.reshape(g2, [-1]))) as tf.Tensor;
    const penalty = totalPenalty(this.penalties, z, t);
    return { z, xhat, g2, fTrue, fPred, diffusion, penalty, perSample: tf.add(diffusion, penalty) };
  }

  /** Batch mean of diffusion + penalties (the training loss). */
  loss(x0: tf.Tensor, x1: tf.Tensor, noise: BridgeNoise): tf.Scalar {
    return tf.mean(this.terms(x0, x1, noise).perSample) as tf.Scalar;
  }

  /**
   * Rows (pairs) per evaluation batch that keep memory bounded: fewer for U-Net bridges (see
   * imageEvalBatch), undefined for MLP bridges (no limit).
   */
  get evalBatch(): number | undefined {
    return imageEvalBatch([...this.process.networks, this.predictor.net]);
  }

  /** (D/2) log(2πδ²) + D/2: the constant reconstruction term of the bound on −log p(x0 | x1). */
  reconstructionTerm(): number {
    const d = this.process.delta;
    return 0.5 * this.dim * Math.log(2 * Math.PI * d * d) + 0.5 * this.dim;
  }

  private column(z: tf.Tensor, t: number): tf.Tensor {
    return tf.fill([z.shape[0], 1], t) as tf.Tensor;
  }

  /** The rows' conditions y [rows, w] of a conditional bridge (required), none for an unconditional one (refused). */
  private checkedCondition(y: tf.Tensor | null | undefined, rows: number): tf.Tensor | null {
    if (!this.condition) {
      if (y) throw new RangeError('this bridge is unconditional: it takes no condition');
      return null;
    }
    if (!y) throw new RangeError('a conditional bridge needs the conditions y of its rows (∅ rows for unconditional ones)');
    return checkConditionShape(this.condition.spec, y, rows, 'BridgeModel');
  }

  /** The condition and guidance weight of a drift evaluation, checked against the model. */
  private guidanceInputs(z: tf.Tensor, condition: tf.Tensor | null | undefined, guidance: number): tf.Tensor | null {
    const y = this.checkedCondition(condition, z.shape[0] as number);
    if (!y && guidance !== 0) throw new RangeError('guidance needs a conditional bridge (a "condition" section)');
    return y;
  }

  /**
   * Reverse-SDE drift fB(z, t, x̂0, x1), [B, D]; for a conditional bridge with y [B, w] and guidance
   * w, the guided drift fB(z, t, x̂_w, x1) of the process at y (bridge/guidance.ts).
   */
  reverseDrift(z: tf.Tensor, t: number, x1: tf.Tensor, condition?: tf.Tensor | null, guidance = 0): tf.Tensor {
    const y = this.guidanceInputs(z, condition, guidance);
    return guidedBridgeReverseDrift(this, z, this.column(z, t), x1, y, guidance);
  }

  /** Probability-flow velocity f(z, t, x̂0, x1), [B, D]; guided f(z, t, x̂_w, x1) as {@link reverseDrift}. */
  velocity(z: tf.Tensor, t: number, x1: tf.Tensor, condition?: tf.Tensor | null, guidance = 0): tf.Tensor {
    const y = this.guidanceInputs(z, condition, guidance);
    return guidedBridgeVelocity(this, z, this.column(z, t), x1, y, guidance);
  }

  /**
   * Forward trajectories z_t = μ(x0, x1, t) + σ(x0, x1, t) ε at the given times (one ε per pair,
   * shared across times: the process's own coupling F(ε, ·)); [T, B, D].
   */
  forwardTrajectories(x0: tf.Tensor, x1: tf.Tensor, times: readonly number[], eps?: tf.Tensor, condition?: tf.Tensor | null): tf.Tensor {
    return tf.tidy(() => {
      const e = eps ?? tf.zerosLike(x0);
      const y = this.process.conditioned ? this.forwardCondition(condition, x0.shape[0] as number) : null;
      const zs = times.map((t) => sampleZ(this.process.params(x0, x1, this.column(x0, t), 0, y), e));
      return tf.stack(zs);
    });
  }

  /** The y of forward paths of a conditioned process: the given rows, or ∅ for every row. */
  private forwardCondition(condition: tf.Tensor | null | undefined, rows: number): tf.Tensor {
    const spec = (this.condition as ModelCondition).spec;
    return condition ? checkConditionShape(spec, condition, rows, 'BridgeModel.forwardTrajectories') : nullCondition(spec, rows);
  }

  /** Generate targets from sources x1 [B, D] (see {@link BridgeSampleOptions}). */
  sample(x1: tf.Tensor, options: BridgeSampleOptions = {}): BridgeSampleResult {
    const mode = options.mode ?? 'sde';
    const steps = options.steps ?? 100;
    const seed = options.seed ?? 0;
    const w = options.guidance ?? 0;
    const y = this.sampleCondition(options, x1.shape[0] as number);
    const saveat = options.trajectory ? { steps: true, t0: true } : undefined;
    const z1 = tf.tidy(() => {
      const eps = new Rng(seed).normalTensor(x1.shape);
      return tf.add(x1, tf.mul(this.process.delta, eps));
    });
    try {
      if (mode === 'sde') {
        const term = new SDETerm({
          drift: (t, z) => this.reverseDrift(z, t, x1, y, w),
          diffusion: (t) => tf.sqrt(this.volatility.g2(tf.fill([1, 1], t))),
          additive: true,
        });
        const sol = solve({
          term,
          solver: options.solver ?? 'euler_maruyama',
          t0: 1,
          t1: 0,
          y0: z1,
          steps,
          seed: seed + 1,
          saveat,
          nonFinite: options.nonFinite,
          onStep: options.onStep,
        });
        return { samples: sol.y1, trajectory: sol.ys, times: sol.ts, stats: sol.stats, nonFiniteRows: sol.nonFiniteRows };
      }
      const term = new ODETerm((t: number, z: tf.Tensor) => this.velocity(z, t, x1, y, w));
      const sol = solve({
        term,
        solver: options.solver ?? 'euler',
        t0: 1,
        t1: 0,
        y0: z1,
        steps,
        saveat,
        nonFinite: options.nonFinite,
        onStep: options.onStep,
      });
      return { samples: sol.y1, trajectory: sol.ys, times: sol.ts, stats: sol.stats, nonFiniteRows: sol.nonFiniteRows };
    } finally {
      z1.dispose();
      y?.dispose();
    }
  }

  /** The conditions y [n, w] of a transport (null for an unconditional bridge), checked against the guidance weight. */
  private sampleCondition(options: BridgeSampleOptions, n: number): tf.Tensor2D | null {
    const w = options.guidance ?? 0;
    if (!Number.isFinite(w)) throw new RangeError(`guidance must be a finite number, got ${w}`);
    if (!this.condition) {
      if (options.condition !== undefined) throw new RangeError('this bridge is unconditional: it takes no condition');
      if (w !== 0) throw new RangeError('guidance needs a conditional bridge (a "condition" section)');
      return null;
    }
    if (options.condition === undefined)
      throw new RangeError(
        `a conditional bridge transports given conditions: pass condition (${this.condition.spec.kind === 'label' ? 'labels' : 'vectors'})`,
      );
    return conditionRows(this.condition.spec, options.condition, n);
  }

  toConfig() {
    return { process: this.process.toConfig(), predictor: this.predictor.toConfig(), volatility: this.volatility.toConfig() };
  }

  parameters(): NamedVariables {
    return collectParameters({ process: this.process, predictor: this.predictor, volatility: this.volatility });
  }

  /** Training mode (U-Net dropout masks from `rng`; the Trainer's updates) or eval mode (null, the default). */
  setTraining(rng: Rng | null): void {
    setChildrenTraining([this.process, this.predictor, this.volatility], rng);
  }

  dispose(): void {
    this.process.dispose();
    this.predictor.dispose();
    this.volatility.dispose();
  }
}

export interface BridgeSampleOptions {
  /** 'sde' (reverse SDE, default) or 'ode' (probability flow). */
  mode?: 'sde' | 'ode';
  /** Registry name (default 'euler_maruyama' for SDE, 'euler' for ODE). */
  solver?: string;
  /** Fixed steps from t = 1 to t = 0 (default 100). */
  steps?: number;
  /** Seed of the start noise z_1 = x1 + δ ε (and, + 1, of the Brownian path). */
  seed?: number;
  /** Also return the trajectory [T, B, D] (t0 and every step). */
  trajectory?: boolean;
  /**
   * `'error'` (default): a pair whose state turns NaN/±Inf fails the whole transport.
   * `'freeze-rows'`: such rows are frozen at their last finite value and listed in
   * `nonFiniteRows`; the other rows are integrated as usual.
   */
  nonFinite?: 'error' | 'freeze-rows';
  /** Called after every solver step with its time (integrating from 1 down to 0). */
  onStep?: (t: number, acceptedSteps: number) => void;
  /**
   * Conditional bridges: the rows' conditions y — a tensor [n, w] or [1, w], labels or vectors
   * (see conditionRows of model.ts). Required by a conditional bridge (∅ rows: unconditional transport).
   */
  condition?: ConditionInput;
  /** Classifier-free guidance weight w (default 0: the conditional bridge; bridge/guidance.ts). */
  guidance?: number;
}

export interface BridgeSampleResult {
  /** z_0 ≈ generated targets, [B, D]; owned by the caller. */
  samples: tf.Tensor;
  /** [T, B, D] when asked for; owned by the caller. */
  trajectory: tf.Tensor | undefined;
  times: number[];
  stats: SolveStats;
  /** With `nonFinite: 'freeze-rows'`: the rows that diverged (their values are not targets). */
  nonFiniteRows?: number[];
}
