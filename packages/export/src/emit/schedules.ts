/**
 * Fixed noise schedules (α_t, σ_t) and their first time derivatives as ONNX ops, mirroring
 * `@nfdm/models`' `schedules.ts` op for op (including the cancellation-free forms of σ near
 * t = 0). Values are [N, 1] for t [N, 1]; a derivative that is a constant is returned as a JS
 * number (it broadcasts like tfjs's filled column).
 */
import type { Schedule, ScheduleConfig } from '@nfdm/models';
import type { Graph, Operand } from '../onnx/builder.js';

/** α, σ, α̇, σ̇ (names or constants). */
export interface EmittedSchedule {
  alpha: Operand;
  sigma: Operand;
  dalpha: Operand;
  dsigma: Operand;
}

/** −expm1(y) = 1 − eʸ without cancellation (Taylor series for |y| < 1e-2). */
function oneMinusExp(g: Graph, y: string): string {
  const series = g.neg(g.mul(y, g.add(1, g.mul(y, g.add(0.5, g.mul(y, g.add(1 / 6, g.mul(y, 1 / 24))))))));
  const direct = g.sub(1, g.unary('Exp', y));
  return g.op('Where', [g.op('Less', [g.unary('Abs', y), 1e-2]), series, direct]);
}

/** σ = √(σ²) and σ̇ = −αα̇/σ. */
function complementSigma(g: Graph, alpha: string, dalpha: string, sigma2: string): EmittedSchedule {
  const sigma = g.unary('Sqrt', sigma2);
  const dsigma = g.neg(g.div(g.mul(alpha, dalpha), sigma));
  return { alpha, sigma, dalpha, dsigma };
}

function vpLogAlpha(g: Graph, t: string, b0: number, b1: number) {
  const a = g.sub(g.mul(-0.25 * (b1 - b0), g.square(t)), g.mul(0.5 * b0, t));
  const a1 = g.mul(-0.5, g.add(b0, g.mul(b1 - b0, t)));
  return { a, a1 };
}

/** The schedule's α, σ and first derivatives at t [N, 1]. */
export function emitSchedule(g: Graph, schedule: Schedule, t: string): EmittedSchedule {
  const c: ScheduleConfig = schedule.toConfig();
  switch (c.name) {
    case 'vp': {
      const { a, a1 } = vpLogAlpha(g, t, c.betaMin ?? 0.1, c.betaMax ?? 20);
      const sigma2 = oneMinusExp(g, g.mul(2, a));
      const alpha = g.unary('Exp', a);
      return complementSigma(g, alpha, g.mul(alpha, a1), sigma2);
    }
    case 'subvp': {
      const { a, a1 } = vpLogAlpha(g, t, c.betaMin ?? 0.1, c.betaMax ?? 20);
      const alpha = g.unary('Exp', a);
      const dalpha = g.mul(alpha, a1);
      const sigma = oneMinusExp(g, g.mul(2, a));
      return { alpha, sigma, dalpha, dsigma: g.mul(-2, g.mul(alpha, dalpha)) };
    }
    case 've': {
      const lo = c.sigmaMin ?? 0.01;
      const L = Math.log((c.sigmaMax ?? 10) / lo);
      const sigma = g.mul(lo, g.unary('Exp', g.mul(L, t)));
      return { alpha: 1, sigma, dalpha: 0, dsigma: g.mul(L, sigma) };
    }
    case 'cosine': {
      const s = c.s ?? 0.008;
      const k = Math.PI / (2 * (1 + s));
      const c0 = Math.cos(k * s);
      const u = g.mul(k, g.add(t, s));
      const alpha = g.div(g.unary('Cos', u), c0);
      const sigma2 = g.div(g.mul(g.unary('Sin', g.mul(k, t)), g.unary('Sin', g.mul(k, g.add(t, 2 * s)))), c0 * c0);
      const dalpha = g.mul(-k / c0, g.unary('Sin', u));
      return complementSigma(g, alpha, dalpha, sigma2);
    }
    case 'fm-ot': {
      const lo = c.sigmaMin ?? 0.01;
      return { alpha: g.sub(1, t), sigma: g.add(lo, g.mul(1 - lo, t)), dalpha: -1, dsigma: 1 - lo };
    }
    case 'linear-logsnr': {
      const hi = c.logSnrMax ?? 10;
      const dl = (c.logSnrMin ?? -10) - hi;
      const lambda = g.add(hi, g.mul(dl, t));
      // sigmoid(±λ) as 1/(1 + e^∓λ): onnxruntime's Sigmoid kernel is accurate in absolute but
      // not in relative terms for tiny outputs (sigmoid(−10) ≈ 4.5e-5 came out 2e-4 off),
      // which α = √sigmoid(λ) near t = 1 and σ near t = 0 amplify.
      const alpha2 = g.div(1, g.add(1, g.unary('Exp', g.neg(lambda))));
      const sigma2 = g.div(1, g.add(1, g.unary('Exp', lambda)));
      const alpha = g.unary('Sqrt', alpha2);
      const sigma = g.unary('Sqrt', sigma2);
      return { alpha, sigma, dalpha: g.mul(alpha, g.mul(0.5 * dl, sigma2)), dsigma: g.mul(sigma, g.mul(-0.5 * dl, alpha2)) };
    }
    default:
      throw new RangeError(`cannot export schedule '${(c as { name: string }).name}' to ONNX`);
  }
}

/** g² = 2σ(σ̇ − σα̇/α) (the SDE matched to the schedule's marginals). */
export function emitMatchedG2(g: Graph, v: EmittedSchedule): string {
  return g.mul(g.mul(2, v.sigma), g.sub(v.dsigma, g.div(g.mul(v.sigma, v.dalpha), v.alpha)));
}
