/**
 * The bridge family: Neural Flow Bridge Models ({@link BridgeModel}, config format
 * {@link BRIDGE_FORMAT}, docs/maths/bridges.md). Transports source points x1 to the target
 * distribution by the reverse SDE or the probability-flow ODE from t = 1 to 0 (fixed steps).
 *
 * Training data rows are [x0 (target) | x1 (source)] [2D]; the loss is the bridge loss plus the
 * path penalties; held-out metrics: bridge_bound ± stderr (a bound on −log p(x0 | x1)) and
 * bridge_penalty, evaluated in batches of `evalBatch` pairs for U-Net bridges (`batchHint`).
 *
 * Conditional bridges (a `condition`): every row brings its condition y [w] (`conditionDim`), the
 * loss applies condition dropout, the held-out bound is that of −log p(x0 | x1, y) (every row at its
 * own y, no dropout), and transport takes the rows' conditions and the guidance weight.
 */
import { conditionWidth, Rng } from '@nfdm/core';
import * as tf from '@tensorflow/tfjs';
import { BRIDGE_FORMAT, type BridgeModelConfig, bridgeModelConfig, createBridgeModel, parseBridgeConfig } from '../bridge/config.js';
import { BridgeModel } from '../bridge/model.js';
import { meanStderr } from './held-out.js';
import type { FamilyDescriptor, FamilyOperations, HeldOutMetric, TrainingTask } from './types.js';

/** Split bridge rows [B, 2D] into x0 (target, first D columns) and x1 (source). */
export function splitPairs(x: tf.Tensor2D, dim: number): { x0: tf.Tensor2D; x1: tf.Tensor2D } {
  if (x.shape[1] !== 2 * dim) throw new RangeError(`bridge rows must be [B, ${2 * dim}] (target then source), got [${x.shape}]`);
  const [x0, x1] = tf.split(x, 2, 1) as tf.Tensor2D[];
  return { x0, x1 };
}

const BRIDGE_METRICS: readonly HeldOutMetric[] = [
  { key: 'bridge_bound', stderrKey: 'bridge_bound_stderr', label: 'bound on −log p(target | source)', bound: true, role: 'bound' },
  { key: 'bridge_penalty', label: 'path penalty', bound: false, role: 'diagnostic' },
];

/** The held-out metrics of a conditional bridge: the same keys, the bound given the condition too. */
const CONDITIONAL_BRIDGE_METRICS: readonly HeldOutMetric[] = [
  { ...BRIDGE_METRICS[0], label: 'bound on −log p(target | source, y)' },
  BRIDGE_METRICS[1],
];

class BridgeTask implements TrainingTask {
  readonly family = 'bridge';
  constructor(readonly model: BridgeModel) {}

  get heldOutMetrics(): readonly HeldOutMetric[] {
    return this.model.condition ? CONDITIONAL_BRIDGE_METRICS : BRIDGE_METRICS;
  }

  /** Width of the rows' conditions y for a conditional bridge (0: unconditional). */
  get conditionDim(): number {
    const c = this.model.condition;
    return c ? conditionWidth(c.spec) : 0;
  }

  get dataDim(): number {
    return 2 * this.model.dim;
  }

  get dataRow(): string {
    return `2 × model dim ${this.model.dim}: target then source columns`;
  }

  lossAndGrads(x: tf.Tensor2D, noiseRng: Rng, variables: tf.Variable[], _step?: number, condition?: tf.Tensor2D) {
    const { x0, x1 } = splitPairs(x, this.model.dim);
    const noise = this.model.drawNoise(noiseRng, x.shape[0], condition);
    return tf.variableGrads(() => this.model.loss(x0, x1, noise), variables);
  }

  heldOut(x: tf.Tensor2D, draws: number, seed: number, condition?: tf.Tensor2D): Record<string, number> {
    if (this.model.condition && !condition)
      throw new RangeError("the held-out bound of a conditional bridge is given the rows' conditions: pass them [n, w]");
    const rng = new Rng(seed);
    const bounds: number[] = [];
    const penalties: number[] = [];
    const rec = this.model.reconstructionTerm();
    for (let d = 0; d < draws; d++) {
      const [b, p] = heldOutDraw(this.model, x, rng, condition);
      bounds.push(rec + b);
      penalties.push(p);
    }
    const r = meanStderr(bounds);
    return { bridge_bound: r.mean, bridge_bound_stderr: r.stderr, bridge_penalty: meanStderr(penalties).mean };
  }
}

/**
 * One Monte Carlo draw of the held-out terms over all rows: the means of the diffusion term and
 * of the penalty, in batches of the model's `evalBatch` rows (U-Net bridges; one batch for MLPs);
 * a conditional bridge's rows at their conditions y [n, w] (no dropout).
 */
function heldOutDraw(model: BridgeModel, x: tf.Tensor2D, rng: Rng, condition?: tf.Tensor2D): [number, number] {
  const n = x.shape[0];
  const batch = model.evalBatch ?? n;
  let diffusion = 0;
  let penalty = 0;
  for (let start = 0; start < n; start += batch) {
    const size = Math.min(batch, n - start);
    const [b, p] = tf.tidy(() => {
      const rows = size === n ? x : (tf.slice(x, [start, 0], [size, -1]) as tf.Tensor2D);
      const { x0, x1 } = splitPairs(rows, model.dim);
      const y = condition && size !== n ? tf.slice(condition, [start, 0], [size, -1]) : condition;
      const terms = model.terms(x0, x1, model.drawNoise(rng, size, y, { dropout: false }));
      return tf.stack([tf.mean(terms.diffusion), tf.mean(terms.penalty)]).dataSync();
    });
    // Batch means weighted by their share of the rows (one batch: the mean itself).
    diffusion += (b * size) / n;
    penalty += (p * size) / n;
  }
  return [diffusion, penalty];
}

/**
 * Transport from given sources x1 at t = 1 to targets at t = 0 (fixed steps; progress 1 − t; a
 * conditional bridge at the rows' conditions with the guidance weight) and forward paths between
 * (target, source) rows at T times from 0 (target) to 1 (source) (a conditioned process: at ∅).
 */
const bridgeOperations: FamilyOperations<BridgeModel> = {
  transport(model, sources, o) {
    if (o.adaptive) throw new RangeError('bridges transport with fixed steps (adaptive ODE stepping is not supported)');
    const r = model.sample(sources, {
      mode: o.mode,
      solver: o.solver,
      steps: o.steps,
      seed: o.seed,
      trajectory: o.trajectory,
      nonFinite: o.nonFinite,
      onStep: o.onProgress ? (t) => o.onProgress?.(1 - t) : undefined,
      condition: o.condition,
      guidance: o.guidance,
    });
    return { ...r, samples: r.samples as tf.Tensor2D, trajectory: r.trajectory as tf.Tensor3D | undefined };
  },
  batchHint: (model) => model.evalBatch,
  forwardTrajectories(model, rows, T, eps) {
    const times = Array.from({ length: T }, (_, k) => k / (T - 1));
    const { x0, x1 } = splitPairs(rows, model.dim);
    try {
      return { paths: model.forwardTrajectories(x0, x1, times, eps) as tf.Tensor3D, times };
    } finally {
      tf.dispose([x0, x1]);
    }
  },
};

export const bridgeFamily: FamilyDescriptor<BridgeModel, BridgeModelConfig> = {
  id: 'bridge',
  format: BRIDGE_FORMAT,
  title: 'NFBM bridge',
  description:
    'A Neural Flow Bridge Model: a learned stochastic bridge between a source and a target distribution, optionally steered by path penalties (e.g. obstacle avoidance). Transports given source points to targets by the reverse SDE or the probability-flow ODE; reports a bound on −log p(target | source).',
  capabilities: {
    sample: false,
    transport: true,
    logProb: false,
    nelbo: false,
    bound: true,
    curvature: false,
    fewStep: false,
    sde: true,
    solvers: true,
    adaptive: false,
    forwardTrajectories: true,
  },
  objectives: ['nelbo'],
  owns: (model: unknown): model is BridgeModel => model instanceof BridgeModel,
  parseConfig: parseBridgeConfig,
  create: createBridgeModel,
  configOf: (model, options) => bridgeModelConfig(model, { seed: options?.seed }),
  standardization: () => undefined,
  trainingTask: (model) => new BridgeTask(model),
  heldOutMetrics: () => BRIDGE_METRICS,
  operations: bridgeOperations,
};
