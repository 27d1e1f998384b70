/**
 * The parts of a {@link DiffusionModel} as ONNX ops: predictor x̂(z, t), forward-process
 * parameters μ, σ, ∂μ/∂t, ∂σ/∂t (NFDM, fixed schedules, NDM), volatility g², and the fields
 * the samplers integrate,
 *
 *   ε = (z − μ)/σ,   f = μ̇ + σ̇ ⊙ ε   (probability flow),   fB = f + (g²/2) ε/σ   (reverse SDE),
 *
 * at (x̂(z, t), t) with x̂ held fixed inside the time derivatives — the formulas of
 * `@nfdm/models` (gaussian.ts, neural.ts, fixed.ts, ndm.ts, predictor.ts, volatility.ts), op for
 * op. With spatial tangents dz (K directions stacked [K, ·, D]) every quantity also carries its
 * directional derivative, so J_f·dz — and the exact divergence Σ_i (J_f e_i)_i — are ordinary
 * ops (forward mode; no autodiff at run time).
 */
import type { TimeMLP } from '@nfdm/core';
import {
  ConstantVolatility,
  type DiffusionModel,
  FixedGaussianProcess,
  type GaussianForwardProcess,
  MatchedVolatility,
  NDMProcess,
  NeuralGaussianProcess,
  NeuralVolatility,
  Predictor,
  type Volatility,
} from '@nfdm/models';
import { attr, type Graph, type Operand } from '../onnx/builder.js';
import { emitTimeMLP, jetColumns } from './nets.js';
import { emitMatchedG2, emitSchedule } from './schedules.js';

/** Forward-process parameters; `*_s` are spatial tangents (null = zero). */
export interface EmittedParams {
  mu: string;
  sigma: Operand;
  dmu: string;
  dsigma: Operand;
  mu_s: string | null;
  sigma_s: string | null;
  dmu_s: string | null;
  dsigma_s: string | null;
}

function addOpt(g: Graph, a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return g.add(a, b);
}

function mulOpt(g: Graph, a: Operand, b: string | null): string | null {
  return b === null ? null : g.mul(a, b);
}

/** The model kinds this exporter understands, as a short tag. */
export function modelKind(model: DiffusionModel): 'nfdm' | 'fixed' | 'ndm' {
  const f = model.forward;
  if (f instanceof NeuralGaussianProcess) return 'nfdm';
  if (f instanceof FixedGaussianProcess) return 'fixed';
  if (f instanceof NDMProcess) return 'ndm';
  throw new TypeError(`cannot export forward process of kind '${f.kind}' to ONNX (supported: nfdm, fixed, ndm)`);
}

/** Throw a clear error for parts the exporter cannot write. */
export function assertExportable(model: DiffusionModel): void {
  modelKind(model);
  if (!(model.predictor instanceof Predictor)) throw new TypeError('only the library Predictor can be exported to ONNX');
  const v = model.volatility;
  if (!(v instanceof NeuralVolatility || v instanceof ConstantVolatility || v instanceof MatchedVolatility)) {
    throw new TypeError(`cannot export volatility of kind '${v.kind}' to ONNX`);
  }
}

/** x̂(z, t) = (1 − t) z + (t + c) NN([z, t]) and, with dz, its tangent (1 − t) dz + (t + c) NN_s. */
export function emitPredictor(
  g: Graph,
  predictor: Predictor,
  z: string,
  t: string,
  dz: string | null = null,
): { v: string; s: string | null } {
  const nn = emitTimeMLP(g, predictor.net as TimeMLP, { x: z, xs: dz, t, timeTangent: false }, 'predictor');
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

/** μ, σ, μ̇, σ̇ at (x, t) and their tangents along xs (see module doc). */
export function emitForward(g: Graph, forward: GaussianForwardProcess, x: string, xs: string | null, t: string): EmittedParams {
  if (forward instanceof NeuralGaussianProcess) {
    const D = forward.dim;
    const logDelta = Math.log(forward.delta);
    const jet = emitTimeMLP(g, forward.net, { x, xs, t, timeTangent: true }, 'forward');
    const m = jetColumns(g, jet, 0, D);
    const l = jetColumns(g, jet, D, D);
    const one = g.sub(1, t);
    const tt = g.mul(t, one);
    const mu = g.add(g.mul(one, x), g.mul(tt, m.v));
    const sigma = g.unary('Exp', g.add(g.mul(one, logDelta), g.mul(tt, l.v)));
    const slope = g.sub(1, g.mul(2, t));
    const dmu = g.add(g.sub(g.mul(slope, m.v), x), g.mul(tt, m.t as string));
    const dl = g.add(g.sub(g.mul(slope, l.v), logDelta), g.mul(tt, l.t as string));
    const dsigma = g.mul(sigma, dl);
    if (xs === null) return { mu, sigma, dmu, dsigma, mu_s: null, sigma_s: null, dmu_s: null, dsigma_s: null };
    // ∂/∂s of the formulas above (x_s = xs, net tangents m_s, l_s and mixed m_ts, l_ts).
    const mu_s = g.add(g.mul(one, xs), g.mul(tt, m.s as string));
    const sigma_s = g.mul(sigma, g.mul(tt, l.s as string));
    const dmu_s = addOpt(g, g.sub(g.mul(slope, m.s as string), xs), mulOpt(g, tt, m.ts)) as string;
    const dl_s = addOpt(g, g.mul(slope, l.s as string), mulOpt(g, tt, l.ts)) as string;
    const dsigma_s = g.add(g.mul(sigma_s, dl), g.mul(sigma, dl_s));
    return { mu, sigma, dmu, dsigma, mu_s, sigma_s, dmu_s, dsigma_s };
  }
  if (forward instanceof FixedGaussianProcess) {
    const v = emitSchedule(g, forward.schedule, t);
    return {
      mu: g.mul(v.alpha, x),
      sigma: v.sigma,
      dmu: g.mul(v.dalpha, x),
      dsigma: v.dsigma,
      mu_s: mulOpt(g, v.alpha, xs),
      sigma_s: null,
      dmu_s: mulOpt(g, v.dalpha, xs),
      dsigma_s: null,
    };
  }
  if (forward instanceof NDMProcess) {
    const v = emitSchedule(g, forward.schedule, t);
    const jet = emitTimeMLP(g, forward.net, { x, xs, t, timeTangent: true }, 'forward');
    const delta = g.sub(jet.v, x);
    const F = g.add(x, g.mul(t, delta));
    const dF = g.add(delta, g.mul(t, jet.t as string));
    const mu = g.mul(v.alpha, F);
    const dmu = g.add(g.mul(v.dalpha, F), g.mul(v.alpha, dF));
    if (xs === null) return { mu, sigma: v.sigma, dmu, dsigma: v.dsigma, mu_s: null, sigma_s: null, dmu_s: null, dsigma_s: null };
    const delta_s = g.sub(jet.s as string, xs);
    const F_s = g.add(xs, g.mul(t, delta_s));
    const dF_s = addOpt(g, delta_s, mulOpt(g, t, jet.ts)) as string;
    return {
      mu,
      sigma: v.sigma,
      dmu,
      dsigma: v.dsigma,
      mu_s: g.mul(v.alpha, F_s),
      sigma_s: null,
      dmu_s: g.add(g.mul(v.dalpha, F_s), g.mul(v.alpha, dF_s)),
      dsigma_s: null,
    };
  }
  throw new TypeError(`cannot export forward process of kind '${forward.kind}' to ONNX`);
}

/** g(t)² at t [N, 1] ([N, 1] or a broadcastable constant). */
export function emitG2(g: Graph, volatility: Volatility, t: string): string {
  if (volatility instanceof NeuralVolatility) {
    const nn = emitTimeMLP(g, volatility.net, { x: null, t, timeTangent: false }, 'volatility');
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
 */
export function emitField(g: Graph, model: DiffusionModel, z: string, t: string, want: FieldRequest, gTime: string = t): EmittedField {
  const D = model.dim;
  const eye = want.divergence ? g.floatConstant('eye', eyeStack(D), [D, 1, D]) : null;
  const xhat = emitPredictor(g, model.predictor as Predictor, z, t, eye);
  const p = emitForward(g, model.forward, xhat.v, xhat.s, t);
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
    // ε_s = (dz − μ_s − ε σ_s)/σ,  f_s = μ̇_s + σ̇_s ε + σ̇ ε_s.
    let num = g.sub(eye, p.mu_s as string);
    if (p.sigma_s) num = g.sub(num, g.mul(eps, p.sigma_s));
    const eps_s = g.div(num, p.sigma);
    let f_s = g.add(p.dmu_s as string, g.mul(p.dsigma, eps_s));
    if (p.dsigma_s) f_s = g.add(f_s, g.mul(p.dsigma_s, eps));
    out.divergence = g.op('ReduceSum', [g.mul(f_s, eye), g.int64Tensor([0, 2])], { keepdims: attr.int(0) });
  }
  return out;
}

/** The D×D identity as [D, 1, D] (direction i in block i). */
function eyeStack(D: number): Float32Array {
  const out = new Float32Array(D * D);
  for (let i = 0; i < D; i++) out[i * D + i] = 1;
  return out;
}
