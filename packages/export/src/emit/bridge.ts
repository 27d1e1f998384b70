/**
 * NFBM (a {@link BridgeModel}) as ONNX ops, mirroring `@nfdm/models`' bridge/process.ts and
 * bridge/model.ts op for op. With x1 the source (condition) and x̂0 = x̂_θ(z, t, x1):
 *
 *   x̂0 = (1 − t) z + (t + c) NN_θ([z, x1], t)
 *   [m̄, l̄] = NN_φ([x̂0, x1], t) (with ∂/∂t at fixed input),
 *   μ = (1 − t) x̂0 + t x1 + t(1 − t) m̄,     σ = δ exp(t(1 − t) l̄),
 *   μ̇ = x1 − x̂0 + (1 − 2t) m̄ + t(1 − t) m̄′, σ̇ = σ ((1 − 2t) l̄ + t(1 − t) l̄′),
 *   ε = (z − μ)/σ,  f = μ̇ + σ̇ ε  (probability flow),  fB = f + (g²/2) ε/σ  (reverse SDE).
 *
 * The sampler starts at z(1) = x1 + δ·start_noise and integrates from t = 1 to 0 with Euler
 * (ODE) or Euler–Maruyama (SDE) in one ONNX `Loop`, the field inlined in the body.
 *
 * Conditional bridges (a condition y [N, w], encoded as in emit/condition.ts): the predictor is
 * x̂_θ(z, t, x1, y) (NN([z, x1], t, y)) and a process conditioned on y reads it too
 * (NN_φ([x̂0, x1], t, y)). With a guidance weight w the fields use
 *
 *   x̂_w = (1 + w) x̂_θ(z, t, x1, y) − w x̂_θ(z, t, x1, ∅)
 *
 * (emit/model.ts's emitGuidedPrediction: one call on [z; z], [t; t], [x1; x1] with [y; ∅], or
 * the conditional call alone when w = 0) in the process at the row's y (models' bridge/guidance.ts).
 *
 * The fixed-process baseline (a FixedBridgeProcess, m̄ ≡ 0, l̄ ≡ L = 4 log(σ_max/δ)) is emitted in
 * closed form, no network: μ = (1 − t) x̂0 + t x1, σ = δ exp(t(1 − t) L), μ̇ = x1 − x̂0,
 * σ̇ = σ (1 − 2t) L (σ, σ̇ [N, 1], broadcast over D).
 */

import { conditionWidth } from '@nfdm/core';
import {
  BridgeModel,
  BridgePredictor,
  BridgeProcess,
  ConstantVolatility,
  FixedBridgeProcess,
  MatchedVolatility,
  NeuralVolatility,
  type TwoSidedProcess,
} from '@nfdm/models';
import { attr, type Graph } from '../onnx/builder.js';
import { DataType } from '../onnx/proto.js';
import { emitGuidedConditions, type FieldCondition } from './condition.js';
import { emitG2, emitGuidedPrediction } from './model.js';
import { emitTimeNetwork, jetColumns } from './nets.js';

/** Throw a clear error for bridges the exporter cannot write. */
export function assertBridgeExportable(model: BridgeModel): void {
  if (!(model instanceof BridgeModel)) throw new TypeError('exportBridgeOnnx needs a BridgeModel from @nfdm/models');
  if (!(model.process instanceof BridgeProcess || model.process instanceof FixedBridgeProcess))
    throw new TypeError('only the library BridgeProcess and FixedBridgeProcess can be exported to ONNX');
  if (!(model.predictor instanceof BridgePredictor)) throw new TypeError('only the library BridgePredictor can be exported to ONNX');
  const v = model.volatility;
  if (!(v instanceof NeuralVolatility || v instanceof ConstantVolatility || v instanceof MatchedVolatility)) {
    throw new TypeError(`cannot export volatility of kind '${v.kind}' to ONNX`);
  }
}

/** x̂0(z, t, x1) = (1 − t) z + (t + c) NN([z, x1], t) (NN([z, x1], t, y) given the condition y [N, w]). */
export function emitBridgePredictor(
  g: Graph,
  predictor: BridgePredictor,
  z: string,
  t: string,
  x1: string,
  y: string | null = null,
): string {
  const nn = emitTimeNetwork(g, predictor.net, { x: g.concat([z, x1], 1), t, timeTangent: false, y }, 'predictor');
  return g.add(g.mul(g.sub(1, t), z), g.mul(g.add(t, predictor.offset), nn.v));
}

/** μ, σ, μ̇, σ̇ of the fixed bridge process at (x0, x1, t) in closed form (module doc); μ, μ̇ [N, D], σ, σ̇ [N, 1]. */
function emitFixedBridgeParams(g: Graph, process: FixedBridgeProcess, x0: string, x1: string, t: string) {
  const L = process.logPeak;
  const mu = g.add(g.mul(g.sub(1, t), x0), g.mul(t, x1));
  const sigma = g.mul(process.delta, g.unary('Exp', g.mul(L, g.mul(t, g.sub(1, t)))));
  const dsigma = g.mul(sigma, g.mul(L, g.sub(1, g.mul(2, t))));
  return { mu, sigma, dmu: g.sub(x1, x0), dsigma };
}

/**
 * μ, σ, μ̇, σ̇ of the bridge process at (x0, x1, t) ([N, D] each; [N, 1] for σ, σ̇ of the fixed
 * process); a process conditioned on y reads y [N, w] (ignored otherwise).
 */
export function emitBridgeParams(g: Graph, process: TwoSidedProcess, x0: string, x1: string, t: string, y: string | null = null) {
  if (process instanceof FixedBridgeProcess) return emitFixedBridgeParams(g, process, x0, x1, t);
  if (!(process instanceof BridgeProcess)) throw new TypeError(`cannot export a bridge process of kind '${process.kind}' to ONNX`);
  const D = process.dim;
  const inputs = { x: g.concat([x0, x1], 1), t, timeTangent: true, y: process.conditioned ? y : null };
  const jet = emitTimeNetwork(g, process.net, inputs, 'process');
  const m = jetColumns(g, jet, 0, D);
  const l = jetColumns(g, jet, D, D);
  const one = g.sub(1, t);
  const tt = g.mul(t, one);
  const mu = g.add(g.add(g.mul(one, x0), g.mul(t, x1)), g.mul(tt, m.v));
  const sigma = g.mul(process.delta, g.unary('Exp', g.mul(tt, l.v)));
  const slope = g.sub(1, g.mul(2, t));
  const dmu = g.add(g.add(g.sub(x1, x0), g.mul(slope, m.v)), g.mul(tt, m.t as string));
  const dl = g.add(g.mul(slope, l.v), g.mul(tt, l.t as string));
  const dsigma = g.mul(sigma, dl);
  return { mu, sigma, dmu, dsigma };
}

/** What {@link emitBridgeField} returns. */
export interface EmittedBridgeField {
  velocity: string;
  drift?: string;
  g2?: string;
}

/**
 * x̂ of a bridge field: x̂_θ(z, t, x1) unconditionally, x̂_θ(z, t, x1, y) given y, the guided x̂_w
 * given y, [y; ∅] and w (module doc).
 */
function emitBridgeXhat(g: Graph, predictor: BridgePredictor, z: string, t: string, x1: string, condition: FieldCondition | null): string {
  const guidance = condition?.guidance ?? null;
  if (!condition || !guidance) return emitBridgePredictor(g, predictor, z, t, x1, condition?.y ?? null);
  const twice = (b: Graph, v: string) => b.concat([v, v], 0);
  const predict = (b: Graph, doubled: boolean) =>
    doubled
      ? emitBridgePredictor(b, predictor, twice(b, z), twice(b, t), twice(b, x1), guidance.both)
      : emitBridgePredictor(b, predictor, z, t, x1, condition.y);
  return emitGuidedPrediction(g, predict, guidance.w);
}

/**
 * f (and fB, g²) of the bridge at (z, t) given the source x1. `gTime` as in emitField. A
 * conditional bridge reads `condition` (y, and for a guided field [y; ∅] and w; module doc).
 */
export function emitBridgeField(
  g: Graph,
  model: BridgeModel,
  z: string,
  t: string,
  x1: string,
  want: { drift?: boolean },
  gTime: string = t,
  condition: FieldCondition | null = null,
): EmittedBridgeField {
  const xhat = emitBridgeXhat(g, model.predictor, z, t, x1, condition);
  const p = emitBridgeParams(g, model.process, xhat, x1, t, condition?.y ?? null);
  const eps = g.div(g.sub(z, p.mu), p.sigma);
  const velocity = g.add(p.dmu, g.mul(p.dsigma, eps));
  if (!want.drift) return { velocity };
  const g2 = emitG2(g, model.volatility, gTime);
  return { velocity, g2, drift: g.add(velocity, g.mul(g.mul(0.5, g2), g.div(eps, p.sigma))) };
}

/** Options of {@link emitBridgeSampler}. */
export interface BridgeSamplerGraphOptions {
  mode: 'ode' | 'sde';
  standardization?: { mean: number[]; std: number[] };
}

/**
 * The Euler (ODE) / Euler–Maruyama (SDE) transport from sources to targets as one graph.
 * Inputs: source [N, D], start_noise [N, D], and steps [1] int64 (ODE) or noise [S, N, D]
 * (SDE, S = steps, ΔW_k = √|h| noise_k); a conditional bridge also condition [N, w] and
 * guidance [1] ([y; ∅] built once, outside the Loop). Output: samples [N, D]. With a
 * standardisation the source is standardised on the way in and the samples are mapped back to
 * data space.
 */
export function emitBridgeSampler(root: Graph, model: BridgeModel, options: BridgeSamplerGraphOptions): void {
  const D = model.dim;
  const { mode } = options;
  const s = options.standardization;
  const sourceIn = root.input('source', ['N', D]);
  const startNoise = root.input('start_noise', ['N', D]);
  let steps: string;
  let noise: string | null = null;
  if (mode === 'ode') {
    steps = root.reshape(root.input('steps', [1], DataType.INT64), []);
  } else {
    noise = root.input('noise', ['S', 'N', D]);
    steps = root.op('Gather', [root.op('Shape', [noise]), root.int64Tensor([0], [])], { axis: attr.int(0) });
  }
  const spec = model.condition?.spec ?? null;
  const cond: FieldCondition | null = spec
    ? emitGuidedConditions(root, spec, root.input('condition', ['N', conditionWidth(spec)]), root.input('guidance', [1]))
    : null;
  const mean = s ? root.floatTensor('standardization.mean', s.mean, [1, D]) : null;
  const std = s ? root.floatTensor('standardization.std', s.std, [1, D]) : null;
  const x1 = s ? root.div(root.sub(sourceIn, mean as string), std as string) : sourceIn;
  const z1 = root.add(x1, root.mul(model.process.delta, startNoise));
  const h = root.div(-1, root.cast(steps, DataType.FLOAT));
  const columnShape = root.concat([root.slice(root.op('Shape', [sourceIn]), 0, 1, 0), root.int64Tensor([1])], 0);
  const sqrtH = mode === 'sde' ? root.unary('Sqrt', root.unary('Abs', h)) : null;

  const body = root.subgraph('bridge_sampler_step');
  const iter = body.input('step_index', [], DataType.INT64);
  const condIn = body.input('cond_in', [], DataType.BOOL);
  const z = body.input('z_in', null);
  const t = body.add(1, body.mul(body.cast(iter, DataType.FLOAT), h));
  const tCol = body.op('Expand', [t, columnShape]);
  let next: string;
  if (mode === 'ode') {
    next = body.add(z, body.mul(emitBridgeField(body, model, z, tCol, x1, {}, tCol, cond).velocity, h));
  } else {
    const xi = body.op('Gather', [noise as string, iter], { axis: attr.int(0) });
    const dW = body.mul(xi, sqrtH as string);
    const f = emitBridgeField(body, model, z, tCol, x1, { drift: true }, body.reshape(t, [1, 1]), cond);
    next = body.sum([z, body.mul(f.drift as string, h), body.mul(body.unary('Sqrt', f.g2 as string), dW)]);
  }
  body.output('cond_out', condIn, [], DataType.BOOL);
  body.output('z_out', next, null);
  const [zFinal] = root.node('Loop', [steps, '', z1], { body: attr.graph(body) }, [root.unique('z_final')]);
  const samples = s ? root.add(root.mul(zFinal, std as string), mean as string) : zFinal;
  root.output('samples', samples, ['N', D]);
}
