/**
 * The parts of a {@link DiffusionModel} as ONNX ops: predictor x̂(z, t), forward-process
 * parameters μ, σ, ∂μ/∂t, ∂σ/∂t (by the emitter registered for the process kind — nfdm, fixed,
 * ndm built in, see emit/forward/), volatility g², and the fields
 * the samplers integrate,
 *
 *   ε = (z − μ)/σ,   f = μ̇ + σ̇ ⊙ ε   (probability flow),   fB = f + (g²/2) ε/σ   (reverse SDE),
 *
 * at (x̂(z, t), t) with x̂ held fixed inside the time derivatives — the formulas of
 * `@nfdm/models` (gaussian.ts, predictor.ts, volatility.ts and the forward processes), op for
 * op. With spatial tangents dz (K directions stacked [K, ·, D]) every quantity also carries its
 * directional derivative, so J_f·dz — and the exact divergence Σ_i (J_f e_i)_i — are ordinary
 * ops (forward mode; no autodiff at run time).
 *
 * Conditional models (emit/condition.ts): the predictor reads the condition y [N, w] (x̂(z, t, y)),
 * the forward process too when it is conditioned (F(·, y)); with a guidance weight w the fields
 * use the guided prediction x̂_w = (1 + w) x̂(z, t, y) − w x̂(z, t, ∅), from one predictor call on
 * [z; z] with [y; ∅] (one call on z with y when w = 0, an If), plugged into the conditional
 * process F(·, y) (models' guidance.ts).
 *
 * Besides the fields: the frozen-prediction step z_t → z_s ({@link emitFrozenStep}), which holds
 * x̂ fixed and solves the probability-flow ODE exactly over the step.
 */
import {
  ConstantVolatility,
  type DiffusionModel,
  type GaussianForwardProcess,
  MatchedVolatility,
  NeuralVolatility,
  Predictor,
  type Volatility,
} from '@nfdm/models';
import { attr, type Graph } from '../onnx/builder.js';
import type { FieldCondition } from './condition.js';
import type { EmittedParams } from './forward/emitter.js';
import { forwardProcessEmitter } from './forward/registry.js';
import { emitTimeNetwork } from './nets.js';
import { emitMatchedG2, emitSchedule } from './schedules.js';

export type { EmittedParams } from './forward/emitter.js';

/**
 * Throw a clear error for parts the exporter cannot write: a forward process without an ONNX
 * emitter (see emit/forward/registry.ts), a predictor other than the library's, an unknown
 * volatility.
 */
export function assertExportable(model: DiffusionModel): void {
  const emitter = forwardProcessEmitter(model.forward);
  if (model.forward.conditioned && !emitter.conditioned)
    throw new TypeError(`the ONNX emitter of forward process '${model.forward.kind}' does not handle a process conditioned on y`);
  if (!(model.predictor instanceof Predictor)) throw new TypeError('only the library Predictor can be exported to ONNX');
  const v = model.volatility;
  if (!(v instanceof NeuralVolatility || v instanceof ConstantVolatility || v instanceof MatchedVolatility)) {
    throw new TypeError(`cannot export volatility of kind '${v.kind}' to ONNX`);
  }
}

/**
 * x̂(z, t) = (1 − t) z + (t + c) NN([z, t]) and, with dz, its tangent (1 − t) dz + (t + c) NN_s;
 * a conditional predictor reads y [N, w] (NN([z, t, y])).
 */
export function emitPredictor(
  g: Graph,
  predictor: Predictor,
  z: string,
  t: string,
  dz: string | null = null,
  y: string | null = null,
): { v: string; s: string | null } {
  const nn = emitTimeNetwork(g, predictor.net, { x: z, xs: dz, t, timeTangent: false, y }, 'predictor');
  if (predictor.parametrization === 'eps' && predictor.schedule) {
    // x̂ = (z − σ_t NN)/α_t; α, σ do not depend on z, so the tangent is (dz − σ_t NN′)/α_t.
    const sch = emitSchedule(g, predictor.schedule, t);
    const v = g.div(g.sub(z, g.mul(sch.sigma, nn.v)), sch.alpha);
    const s = dz === null ? null : g.div(g.sub(dz, g.mul(sch.sigma, nn.s as string)), sch.alpha);
    return { v, s };
  }
  const one = g.sub(1, t);
  const scale = g.add(t, predictor.offset);
  const v = g.add(g.mul(one, z), g.mul(scale, nn.v));
  const s = dz === null ? null : g.add(g.mul(one, dz), g.mul(scale, nn.s as string));
  return { v, s };
}

/**
 * x̂_w = (1 + w) x̂(y) − w x̂(∅), [N, D], `w` a float32 scalar, for any predictor: an If on w = 0.
 * Then `predict(b, false)`, the conditional prediction on the N rows with y (what core computes
 * at w = 0); else `predict(b, true)`, one call on the doubled rows (inputs stacked [·; ·], the
 * conditions [y; ∅] [2N, w]), split in halves and combined. Diffusion predictors use it through
 * {@link emitGuidedPredictor}, bridge predictors through emit/bridge.ts.
 */
export function emitGuidedPrediction(g: Graph, predict: (b: Graph, doubled: boolean) => string, w: string): string {
  const branch = (name: string, emit: (b: Graph) => string) => {
    const b = g.subgraph(name);
    const v = emit(b);
    b.output(v, v, null);
    return b;
  };
  const conditional = branch('xhat_conditional', (b) => predict(b, false));
  const guided = branch('xhat_guided', (b) => {
    const xhat = predict(b, true);
    const [cond, uncond] = b.node('Split', [xhat], { axis: attr.int(0) }, 2);
    return b.sub(b.mul(b.add(1, w), cond), b.mul(w, uncond));
  });
  const unguided = g.op('Equal', [w, 0]);
  return g.op('If', [unguided], { then_branch: attr.graph(conditional), else_branch: attr.graph(guided) });
}

/**
 * x̂_w = (1 + w) x̂(z, t, y) − w x̂(z, t, ∅) of a diffusion predictor ({@link emitGuidedPrediction};
 * the doubled call reads [z; z], [t; t] and the conditions `both` = [y; ∅] [2N, w]).
 */
export function emitGuidedPredictor(g: Graph, predictor: Predictor, z: string, t: string, y: string, both: string, w: string): string {
  return emitGuidedPrediction(
    g,
    (b, doubled) =>
      doubled
        ? emitPredictor(b, predictor, b.concat([z, z], 0), b.concat([t, t], 0), null, both).v
        : emitPredictor(b, predictor, z, t, null, y).v,
    w,
  );
}

/**
 * μ, σ, μ̇, σ̇ at (x, t) and their tangents along xs, by the process kind's registered emitter;
 * a process conditioned on y reads y [N, w] (ignored otherwise).
 */
export function emitForward(
  g: Graph,
  forward: GaussianForwardProcess,
  x: string,
  xs: string | null,
  t: string,
  y: string | null = null,
): EmittedParams {
  const emitter = forwardProcessEmitter(forward);
  return forward.conditioned ? emitter.emit(g, forward, x, xs, t, y) : emitter.emit(g, forward, x, xs, t);
}

/** g(t)² at t [N, 1] ([N, 1] or a broadcastable constant). */
export function emitG2(g: Graph, volatility: Volatility, t: string): string {
  if (volatility instanceof NeuralVolatility) {
    const nn = emitTimeNetwork(g, volatility.net, { x: null, t, timeTangent: false }, 'volatility');
    let gt = g.unary('Softplus', nn.v);
    if (volatility.floor > 0) gt = g.add(gt, volatility.floor);
    return g.square(gt);
  }
  if (volatility instanceof ConstantVolatility) return g.expandLike(volatility.value * volatility.value, t);
  if (volatility instanceof MatchedVolatility) return emitMatchedG2(g, emitSchedule(g, volatility.schedule, t));
  throw new TypeError(`cannot export volatility of kind '${(volatility as Volatility).kind}' to ONNX`);
}

/** What {@link emitField} should produce. */
export interface FieldRequest {
  velocity?: boolean;
  drift?: boolean;
  /** Exact divergence of the velocity, Σ_i ∂f_i/∂z_i, by D stacked forward tangents. */
  divergence?: boolean;
}

export interface EmittedField {
  velocity?: string;
  drift?: string;
  /** [N]. */
  divergence?: string;
  /** g(t)² (with the drift). */
  g2?: string;
}

/**
 * The sampler fields at (z [N, D], t [N, 1]): f, fB and/or div f. The divergence pushes the D
 * unit directions e_i (a constant [D, 1, D], broadcast over the batch) through predictor and
 * forward process as tangents and sums the diagonal: div f = Σ_i (J_f e_i)_i. `gTime` is the
 * time g² is evaluated at (default t; a [1, 1] common time saves evaluating g once per row).
 * A conditional model's fields read `condition` (y, and for guided fields [y; ∅] and w; the
 * divergence is that of the unguided field f(z, t, y)).
 */
export function emitField(
  g: Graph,
  model: DiffusionModel,
  z: string,
  t: string,
  want: FieldRequest,
  gTime: string = t,
  condition: FieldCondition | null = null,
): EmittedField {
  const D = model.dim;
  const eye = want.divergence ? g.floatConstant('eye', eyeStack(D), [D, 1, D]) : null;
  if (condition?.guidance && eye) throw new TypeError('emitField: the divergence is that of the unguided field (no guidance weight)');
  const xhat = emitFieldPrediction(g, model.predictor as Predictor, z, t, condition, eye);
  const p = emitForward(g, model.forward, xhat.v, xhat.s, t, condition?.y ?? null);
  const eps = g.div(g.sub(z, p.mu), p.sigma);
  const velocity = g.add(p.dmu, g.mul(p.dsigma, eps));
  const out: EmittedField = {};
  if (want.velocity || want.divergence) out.velocity = velocity;
  if (want.drift) {
    const g2 = emitG2(g, model.volatility, gTime);
    out.g2 = g2;
    out.drift = g.add(velocity, g.mul(g.mul(0.5, g2), g.div(eps, p.sigma)));
  }
  if (want.divergence && eye) {
    // ε_s = (dz − μ_s − ε σ_s)/σ,  f_s = μ̇_s + σ̇_s ε + σ̇ ε_s  (null tangents are zero).
    let num = p.mu_s === null ? eye : g.sub(eye, p.mu_s);
    if (p.sigma_s) num = g.sub(num, g.mul(eps, p.sigma_s));
    const eps_s = g.div(num, p.sigma);
    const dsigmaEps_s = g.mul(p.dsigma, eps_s);
    let f_s = p.dmu_s === null ? dsigmaEps_s : g.add(p.dmu_s, dsigmaEps_s);
    if (p.dsigma_s) f_s = g.add(f_s, g.mul(p.dsigma_s, eps));
    out.divergence = g.op('ReduceSum', [g.mul(f_s, eye), g.int64Tensor([0, 2])], { keepdims: attr.int(0) });
  }
  return out;
}

/**
 * The data prediction the fields use at (z [N, D], t [N, 1]), [N, D]: the guided x̂_w (one
 * predictor call on 2N rows, {@link emitGuidedPredictor}) when `condition` carries a guidance
 * weight, else x̂(z, t) or x̂(z, t, y) with its tangents along `dz` (null: none; guided: none).
 */
function emitFieldPrediction(
  g: Graph,
  predictor: Predictor,
  z: string,
  t: string,
  condition: FieldCondition | null,
  dz: string | null = null,
): { v: string; s: string | null } {
  const guidance = condition?.guidance ?? null;
  if (!guidance) return emitPredictor(g, predictor, z, t, dz, condition?.y ?? null);
  return { v: emitGuidedPredictor(g, predictor, z, t, (condition as FieldCondition).y, guidance.both, guidance.w), s: null };
}

/**
 * One frozen-prediction ("DDIM") step of the probability-flow ODE from t down to s
 * (docs/maths/sampling.md#frozen-prediction-steps; models' frozen-step.ts, op for op): with
 * x̂ = x̂_w(z, t, y) held fixed the ODE dz/dt = μ̇ + (σ̇/σ)(z − μ) is linear in z and keeps
 * ε = (z − μ(x̂, t))/σ(x̂, t) constant, so
 *
 *   z_s = μ(x̂, s) + σ(x̂, s) ⊙ (z − μ(x̂, t)) / σ(x̂, t).
 *
 * z [N, D], t and s [N, 1] → z_s [N, D]. One predictor call (guided as in {@link emitField} when
 * `condition` carries a guidance weight) and two evaluations of the forward process (F(·, y) for
 * a process conditioned on y); only μ and σ of those are used (the exporters prune the nodes of
 * μ̇, σ̇: onnx/prune.ts).
 */
export function emitFrozenStep(
  g: Graph,
  model: DiffusionModel,
  z: string,
  t: string,
  s: string,
  condition: FieldCondition | null = null,
): string {
  const xhat = emitFieldPrediction(g, model.predictor as Predictor, z, t, condition).v;
  const y = condition?.y ?? null;
  const at = emitForward(g, model.forward, xhat, null, t, y);
  const as = emitForward(g, model.forward, xhat, null, s, y);
  return g.add(as.mu, g.mul(as.sigma, g.div(g.sub(z, at.mu), at.sigma)));
}

/** The D×D identity as [D, 1, D] (direction i in block i). */
export function eyeStack(D: number): Float32Array {
  const out = new Float32Array(D * D);
  for (let i = 0; i < D; i++) out[i * D + i] = 1;
  return out;
}
