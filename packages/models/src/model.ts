/**
 * A diffusion model = a Gaussian forward process q_φ(z_t | x), a predictor x̂_θ(z, t) and a
 * volatility g_φ(t), with the bound of {@link diffusionTerms} as its objective.
 *
 * Generative dynamics (t from 1 down to t₀), with x̂ = x̂_θ(z, t) held fixed inside the
 * partial time derivatives:
 *   reverse SDE          dz = fB(z, t, x̂) dt + g(t) dw̄,   fB = f − (g²/2) s,
 *   probability-flow ODE dz = f(z, t, x̂) dt,               f = μ̇ + (σ̇/σ)(z − μ),
 * started from z₁ ~ N(0, s² I) (s = the process's prior std).
 *
 * Conditional models (a `condition`): x̂ = x̂_θ(z, t, y) (and μ, σ of F(·, y) when the forward
 * process is conditioned); sampling takes the rows' conditions y and a guidance weight w, and uses
 * the guided drifts of guidance.ts (x̂_w = (1 + w) x̂(z, t, y) − w x̂(z, t, ∅)).
 *
 * A model is fully described by its JSON config; {@link createModel} rebuilds it and
 * {@link saveModel}/{@link loadModel} store config.json + weights.safetensors.
 */
import {
  type ConditionSpec,
  checkConditionShape,
  collectParameters,
  conditionWidth,
  type DivergenceMethod,
  dropConditionRows,
  logDensityODE,
  type Module,
  type NamedVariables,
  nativeKernelsStatus,
  normalLogProb,
  Rng,
  SDETerm,
  type SolveStats,
  setChildrenTraining,
  solve,
} from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { FROZEN_PREDICTION_SOLVER, isFrozenPredictionSolver, sampleFrozenPrediction } from './frozen-step.js';
import { imageEvalBatch, imageTrainBatch } from './network.js';
import { sampleODE } from './ode-sample.js';

export { IMAGE_EVAL_BATCH, IMAGE_TRAIN_UNITS, imageEvalBatch, imageTrainBatch } from './network.js';

import type { GaussianForwardProcess } from './forward/gaussian.js';
import { guidedReverseDrift, guidedVelocity } from './guidance.js';
import {
  type BoundParts,
  type DiffusionNoise,
  diffusionLoss,
  diffusionTerms,
  drawDiffusionNoise,
  priorTerm,
  reconstructionTerm,
} from './objective.js';
import type { DataPredictor } from './predictor.js';
import type { Volatility } from './volatility.js';

/** Mean and standard error of a per-sample estimate. */
export interface Estimate {
  mean: number;
  stderr: number;
  n: number;
}

export function estimate(values: ArrayLike<number>): Estimate {
  const n = values.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i];
  mean /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (values[i] - mean) ** 2;
  const sd = n > 1 ? Math.sqrt(v / (n - 1)) : Number.NaN;
  return { mean, stderr: sd / Math.sqrt(n), n };
}

/**
 * Bits per dimension from nats per sample: nats / (D ln 2) + offset. For 8-bit images
 * dequantised and rescaled to [−1, 1] the offset is 7 (= −log₂(2/256)); for [0, 1] it is 8.
 */
export function bitsPerDim(nats: number, dim: number, offset = 0): number {
  if (!Number.isInteger(dim) || dim <= 0) throw new RangeError(`dim must be a positive integer, got ${dim}`);
  return nats / (dim * Math.LN2) + offset;
}

export interface NelboResult {
  /** NELBO per sample in nats: reconstruction + diffusion + prior. */
  nelbo: Estimate;
  diffusion: Estimate;
  reconstruction: number;
  prior: Estimate;
}

export interface NelboOptions {
  /** Monte Carlo draws of the diffusion term per row (default 1). */
  draws?: number;
  seed?: number;
  /** Rows per batch (default 4096). */
  batch?: number;
  /**
   * Conditional models: the rows' conditions y [n, w] (no condition dropout), giving the
   * conditional NELBO of −log p(x | y). Required by a conditional model.
   */
  condition?: tf.Tensor;
}

/**
 * NELBO per row of x in nats, L_rec + (diffusion term averaged over `draws` draws) + L_prior,
 * with mean and standard error over rows. `drawDiffusion(xb, rng)` returns one draw of the
 * per-row diffusion term [b] for a batch xb [b, D] (with its rows' conditions yb [b, w] when
 * `options.condition` is given; a forward process conditioned on y also takes them in the prior
 * term); batches run in one tidy each.
 */
export function monteCarloNelbo(
  forward: GaussianForwardProcess,
  x: tf.Tensor,
  options: NelboOptions,
  drawDiffusion: (xb: tf.Tensor, rng: Rng, yb?: tf.Tensor) => tf.Tensor,
): NelboResult {
  const draws = options.draws ?? 1;
  if (!Number.isInteger(draws) || draws < 1) throw new RangeError(`draws must be a positive integer, got ${draws}`);
  const rng = new Rng(options.seed ?? 0);
  const batch = options.batch ?? 4096;
  const n = x.shape[0] as number;
  const diff = new Float64Array(n);
  const prior = new Float64Array(n);
  for (let start = 0; start < n; start += batch) {
    const size = Math.min(batch, n - start);
    const [d, p] = tf.tidy(() => {
      const xb = tf.slice(x, [start, 0], [size, forward.dim]);
      const yb = options.condition ? tf.slice(options.condition, [start, 0], [size, -1]) : undefined;
      let acc = tf.zeros([size]);
      for (let k = 0; k < draws; k++) {
        // One scope per draw: a draw's intermediates (U-Net activations for images) are freed before the next.
        const next = tf.tidy(() => tf.add(acc, drawDiffusion(xb, rng, yb)));
        acc.dispose();
        acc = next;
      }
      return [tf.div(acc, draws), priorTerm(forward, xb, forward.conditioned ? yb : undefined)];
    });
    diff.set(d.dataSync(), start);
    prior.set(p.dataSync(), start);
    tf.dispose([d, p]);
  }
  const rec = reconstructionTerm(forward);
  const total = diff.map((v, i) => v + prior[i] + rec);
  return { nelbo: estimate(total), diffusion: estimate(diff), reconstruction: rec, prior: estimate(prior) };
}

export interface SampleOptions {
  n: number;
  /** 'sde' (reverse SDE, default) or 'ode' (probability flow). */
  mode?: 'sde' | 'ode';
  /**
   * Solver name (default euler_maruyama for SDE, euler for ODE; any registry spelling, e.g.
   * euler-maruyama, is accepted). ODE only: `'ddim'`, the frozen-prediction steps of
   * frozen-step.ts (exact for a frozen x̂; DDIM with η = 0 for fixed processes).
   */
  solver?: string;
  /** Fixed number of steps (default 100); ignored with `adaptive`. */
  steps?: number;
  /** ODE only: adaptive stepping with rtol/atol (solver must be adaptive, e.g. dopri5). */
  adaptive?: { rtol?: number; atol?: number };
  seed?: number;
  /** Save the state at every step (returned as [T, n, D]). */
  trajectory?: boolean;
  /**
   * `'error'` (default): a sample that turns NaN/±Inf fails the whole draw. `'freeze-rows'`:
   * such samples are frozen at their last finite value and listed in `nonFiniteRows`; the
   * others are integrated as usual (see the solver option of the same name).
   */
  nonFinite?: 'error' | 'freeze-rows';
  /** Called after every accepted solver step with its time (integrating from 1 down to t₀). */
  onStep?: (t: number, acceptedSteps: number) => void;
  /**
   * Conditional models: the samples' conditions y — a tensor [n, w] or [1, w], labels (one
   * per sample, or one for all) or vectors (rows of m values, or one row for all); see
   * {@link conditionRows}. Required by a conditional model (∅ rows give unconditional samples).
   */
  condition?: ConditionInput;
  /** Classifier-free guidance weight w (default 0: the conditional model; guidance.ts). */
  guidance?: number;
}

/** Conditions as given by a user: a tensor [n | 1, w], labels k (number or number[]), or vectors (number[][]). */
export type ConditionInput = tf.Tensor | number | number[] | number[][];

/**
 * The condition tensor y [n, w] from {@link ConditionInput}: one value (or row) is repeated for
 * all n samples. Labels must be integers in 0…K (K = ∅); vectors have m values (NaN rows = ∅).
 */
export function conditionRows(spec: ConditionSpec, input: ConditionInput, n: number): tf.Tensor2D {
  const w = conditionWidth(spec);
  return tf.tidy(() => {
    let y: tf.Tensor2D;
    if (input instanceof tf.Tensor) y = (input.rank === 1 && w === 1 ? tf.reshape(input, [-1, 1]) : input) as tf.Tensor2D;
    else if (typeof input === 'number') y = tf.tensor2d([[input]]);
    else if (input.length > 0 && Array.isArray(input[0])) y = tf.tensor2d(input as number[][]);
    else y = spec.kind === 'label' ? tf.tensor2d(input as number[], [input.length, 1]) : tf.tensor2d([input as number[]]);
    if (y.rank === 2 && y.shape[0] === 1 && n !== 1) y = tf.tile(y, [n, 1]);
    checkConditionShape(spec, y, n, 'the model');
    checkLabels(spec, y);
    return y;
  });
}

/** Throw unless a label condition y holds integers in 0…K (K = ∅); vectors pass. */
export function checkLabels(spec: ConditionSpec, y: tf.Tensor): void {
  if (spec.kind !== 'label') return;
  const bad = Array.from(y.dataSync()).find((k) => !(Number.isInteger(k) && k >= 0 && k <= spec.classes));
  if (bad !== undefined) throw new RangeError(`labels must be integers in 0…${spec.classes} (${spec.classes} = null), got ${bad}`);
}

/** A conditional model's condition: what y is and the training dropout rate p. */
export interface ModelCondition {
  spec: ConditionSpec;
  /** Fraction of training rows whose y is replaced by ∅ (condition dropout), in [0, 1). */
  dropout: number;
}

export interface SampleResult {
  samples: tf.Tensor;
  /** [T, n, D] when asked for. */
  trajectory?: tf.Tensor;
  times?: number[];
  stats: SolveStats;
  /** With `nonFinite: 'freeze-rows'`: the rows that diverged (their values are not samples). */
  nonFiniteRows?: number[];
}

export interface LogProbOptions {
  solver?: string;
  rtol?: number;
  atol?: number;
  steps?: number;
  divergence?: DivergenceMethod;
  seed?: number;
  /** Called after every accepted solver step with its time (integrating from t₀ up to 1). */
  onStep?: (t: number, acceptedSteps: number) => void;
  /**
   * Conditional models: the rows' conditions y [n, w] (labels [n, 1]; ∅ rows give the
   * unconditional log p(x) of the model), held fixed along the ODE; gives log p(x | y).
   * Required by a conditional model.
   */
  condition?: tf.Tensor;
}

export class DiffusionModel implements Module, BoundParts {
  constructor(
    readonly forward: GaussianForwardProcess,
    readonly predictor: DataPredictor,
    readonly volatility: Volatility,
    /** A conditional model's condition (null: unconditional). */
    readonly condition: ModelCondition | null = null,
  ) {
    if (predictor.dim !== forward.dim) throw new RangeError(`predictor dim ${predictor.dim} ≠ forward-process dim ${forward.dim}`);
    if (forward.conditioned && !condition) throw new RangeError('a forward process conditioned on y needs a conditional model');
    if (condition && !(condition.dropout >= 0 && condition.dropout < 1))
      throw new RangeError(`condition dropout must lie in [0, 1), got ${condition.dropout}`);
  }

  get dim(): number {
    return this.forward.dim;
  }

  /**
   * Draw the (t, ε) of one training step; a conditional model also takes the rows' conditions
   * y [B, w] and returns them with condition dropout applied: each row's y is replaced by ∅ with
   * probability p, decided by B uniforms drawn from `rng` after t and ε (so an unconditional
   * model's stream is unchanged). `dropout: false` (evaluation) keeps every row's y and draws no uniforms.
   */
  drawNoise(rng: Rng, batch: number, condition?: tf.Tensor | null, options: { dropout?: boolean } = {}): DiffusionNoise {
    if (!this.condition) {
      if (condition) throw new RangeError('this model is unconditional: it takes no condition');
      return drawDiffusionNoise(rng, batch, this.dim, this.forward.start.t);
    }
    if (!condition) throw new RangeError("a conditional model trains on the rows' conditions y: pass them to drawNoise(rng, batch, y)");
    const { spec, dropout } = this.condition;
    const y = checkConditionShape(spec, condition, batch, 'DiffusionModel.drawNoise');
    checkLabels(spec, y);
    const noise = drawDiffusionNoise(rng, batch, this.dim, this.forward.start.t);
    if (options.dropout === false) return { ...noise, condition: y };
    const drop = Array.from({ length: batch }, () => dropout > 0 && rng.uniform() < dropout);
    return { ...noise, condition: dropConditionRows(spec, y, drop) };
  }

  /** Batch-mean diffusion term for given noise (the training loss; a conditional model reads noise.condition). */
  loss(x: tf.Tensor, noise: DiffusionNoise): tf.Scalar {
    return diffusionLoss(this, x, noise);
  }

  /**
   * NELBO of each row of x (nats), by Monte Carlo over (t, ε) with `draws` draws per row;
   * reports mean and standard error over rows. A conditional model needs the rows' conditions
   * (`options.condition`, [n, w]) and gives the conditional NELBO (a bound on −log p(x | y)).
   */
  nelbo(x: tf.Tensor, options: NelboOptions = {}): NelboResult {
    const batched = { batch: this.evalBatch ?? 4096, ...options };
    const y = options.condition;
    if (this.condition && !y)
      throw new RangeError("the NELBO of a conditional model needs the rows' conditions: pass options.condition [n, w]");
    if (y && this.condition) checkConditionShape(this.condition.spec, y, x.shape[0] as number, 'DiffusionModel.nelbo');
    return monteCarloNelbo(
      this.forward,
      x,
      batched,
      (xb, rng, yb) => diffusionTerms(this, xb, this.drawNoise(rng, xb.shape[0] as number, yb, { dropout: false })).perSample,
    );
  }

  /**
   * Rows per evaluation batch that keep memory bounded, when the networks need fewer than the
   * usual thousands: a U-Net's activations grow with H·W·base, so image models evaluate
   * 64 · (14·14·8)/(H·W·base) images at a time (64 for 14×14 at base 8, 8 for 28×28 at base
   * 16; at least 1); undefined for MLP models (no limit beyond the defaults).
   */
  get evalBatch(): number | undefined {
    return imageEvalBatch([(this.forward as { net?: unknown }).net, (this.predictor as { net?: unknown }).net]);
  }

  /**
   * Rows per training micro-batch for image models (network.ts, imageTrainBatch: the wasm heap
   * bounds one reverse pass), with or without the native image kernels; undefined for MLP models.
   * A larger batch is trained as micro-batches whose gradients are averaged ({@link microBatchedGrads}).
   */
  get trainBatch(): number | undefined {
    const status = nativeKernelsStatus();
    const nets = [(this.forward as { net?: unknown }).net, (this.predictor as { net?: unknown }).net];
    return imageTrainBatch(nets, status.conv2d && status.groupNorm);
  }

  private timeColumn(z: tf.Tensor, t: number): tf.Tensor {
    return tf.fill([z.shape[0], 1], t) as tf.Tensor;
  }

  /**
   * Reverse-SDE drift fB(z, t, x̂_θ(z, t)), [B, D]; for a conditional model with y [B, w] and
   * guidance w, the guided drift fB(z, t, x̂_w) of the conditional process (guidance.ts).
   */
  reverseDrift(z: tf.Tensor, t: number, condition?: tf.Tensor | null, guidance = 0): tf.Tensor {
    const tt = this.timeColumn(z, t);
    return guidedReverseDrift(this.guidanceParts(condition, guidance), z, tt, condition, guidance);
  }

  /** Probability-flow velocity f(z, t, x̂_θ(z, t)), [B, D]; guided f(z, t, x̂_w) as {@link reverseDrift}. */
  velocity(z: tf.Tensor, t: number, condition?: tf.Tensor | null, guidance = 0): tf.Tensor {
    const tt = this.timeColumn(z, t);
    return guidedVelocity(this.guidanceParts(condition, guidance), z, tt, condition, guidance);
  }

  /** The parts guidance.ts needs, after checking that condition and guidance fit the model. */
  private guidanceParts(condition: tf.Tensor | null | undefined, guidance: number) {
    if (!this.condition) {
      if (condition) throw new RangeError('this model is unconditional: it takes no condition');
      if (guidance !== 0) throw new RangeError('guidance needs a conditional model (a "condition" section)');
      return { forward: this.forward, predictor: this.predictor, volatility: this.volatility, condition: null };
    }
    if (!condition) throw new RangeError('a conditional model needs the conditions y of its samples (∅ rows for unconditional ones)');
    return this;
  }

  /** g(t) as a [1, 1] tensor (additive noise). */
  diffusionCoefficient(t: number): tf.Tensor {
    return tf.sqrt(this.volatility.g2(tf.fill([1, 1], t)));
  }

  /**
   * Draw samples by integrating from t = 1 (prior) down to the process start; a conditional model
   * samples given `condition` with guidance weight `guidance` (default 0).
   */
  sample(options: SampleOptions): SampleResult {
    const mode = options.mode ?? 'sde';
    const w = options.guidance ?? 0;
    const y = this.sampleCondition(options);
    const rng = new Rng(options.seed ?? 0);
    const z1 = tf.tidy(() => tf.mul(rng.normalTensor([options.n, this.dim]), this.forward.priorStd));
    const t0 = 1;
    const t1 = this.forward.start.t;
    const saveat = options.trajectory ? { steps: true, t0: true } : undefined;
    try {
      if (mode === 'sde') {
        const term = new SDETerm({
          drift: (t, z) => this.reverseDrift(z, t, y, w),
          diffusion: (t) => this.diffusionCoefficient(t),
          additive: true,
        });
        const sol = solve({
          term,
          solver: options.solver ?? 'euler_maruyama',
          t0,
          t1,
          y0: z1,
          steps: options.steps ?? 100,
          seed: rng.nextUint32(),
          saveat,
          nonFinite: options.nonFinite,
          onStep: options.onStep,
        });
        return { samples: sol.y1, trajectory: sol.ys, times: sol.ts, stats: sol.stats, nonFiniteRows: sol.nonFiniteRows };
      }
      if (isFrozenPredictionSolver(options.solver)) {
        if (options.adaptive) throw new RangeError(`'${FROZEN_PREDICTION_SOLVER}' takes fixed steps, not rtol/atol`);
        return sampleFrozenPrediction(this.guidanceParts(y, w), z1, t1, y, w, options);
      }
      return sampleODE((t, z) => this.velocity(z, t, y, w), z1, t0, t1, options);
    } finally {
      z1.dispose();
      y?.dispose();
    }
  }

  /** The conditions y [n, w] of a draw (null for an unconditional model), checked against the guidance weight. */
  private sampleCondition(options: SampleOptions): tf.Tensor2D | null {
    const w = options.guidance ?? 0;
    if (!Number.isFinite(w)) throw new RangeError(`guidance must be a finite number, got ${w}`);
    if (!this.condition) {
      if (options.condition !== undefined) throw new RangeError('this model is unconditional: it takes no condition');
      if (w !== 0) throw new RangeError('guidance needs a conditional model (a "condition" section)');
      return null;
    }
    if (options.condition === undefined)
      throw new RangeError(
        `a conditional model samples given conditions: pass condition (${this.condition.spec.kind === 'label' ? 'labels' : 'vectors'})`,
      );
    return conditionRows(this.condition.spec, options.condition, options.n);
  }

  /**
   * Exact log-likelihood (nats) of each row of x through the probability-flow ODE from the
   * process start to t = 1: log p(x) = log N(z₁; 0, s²I) + ∫ div f dt.
   *
   * A conditional model takes the rows' conditions y (`options.condition`, [n, w]) and gives the
   * exact conditional log p(x | y) of its unguided (w = 0) conditional process: the velocity is
   * f(z, t, y) = μ̇ + (σ̇/σ)(z − μ) with μ, σ = F(x̂_θ(z, t, y), t, y) (F(·, y) when the forward
   * process is conditioned), y held fixed along the ODE, and the same prior N(0, s²I) at t = 1:
   *   log p(x | y) = log N(z₁; 0, s²I) + ∫_{t₀}^{1} div_z f(z_t, t, y) dt.
   * An ∅ row gives the model's unconditional log p(x) (the ∅-conditioned process).
   */
  logProb(x: tf.Tensor, options: LogProbOptions = {}): { logp: Float32Array; stats: SolveStats } {
    const prior = this.forward.priorStd;
    const y = options.condition;
    if (this.condition) {
      if (!y) throw new RangeError("the likelihood of a conditional model needs the rows' conditions: pass options.condition [n, w]");
      checkConditionShape(this.condition.spec, y, x.shape[0] as number, 'DiffusionModel.logProb');
    } else if (y) throw new RangeError('this model is unconditional: it takes no condition');
    const result = logDensityODE({
      field: (t, z) => this.velocity(z as tf.Tensor, t, y),
      x,
      t0: this.forward.start.t,
      t1: 1,
      solver: options.solver ?? 'dopri5',
      rtol: options.rtol ?? 1e-5,
      atol: options.atol ?? 1e-5,
      steps: options.steps,
      divergence: options.divergence ?? (this.dim <= 16 ? 'exact' : 'hutchinson'),
      seed: options.seed ?? 0,
      prior: prior === 1 ? 'standard-normal' : (z) => tf.sum(normalLogProb(z, 0, prior), 1),
      onStep: options.onStep,
    });
    const logp = result.logp.dataSync() as Float32Array;
    tf.dispose([result.logp, result.z, result.deltaLogp, result.priorLogp]);
    return { logp, stats: result.stats };
  }

  parameters(): NamedVariables {
    return collectParameters({ forward: this.forward, predictor: this.predictor, volatility: this.volatility });
  }

  /**
   * Training mode — the networks' dropout (U-Nets with `dropout` > 0) draws its masks from `rng` —
   * or eval mode (null): deterministic, the default, for sampling and evaluation. The Trainer
   * switches it on for its updates only.
   */
  setTraining(rng: Rng | null): void {
    setChildrenTraining([this.forward, this.predictor, this.volatility], rng);
  }

  dispose(): void {
    this.forward.dispose();
    this.predictor.dispose();
    this.volatility.dispose();
  }
}
