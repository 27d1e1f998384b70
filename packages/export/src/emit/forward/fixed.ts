/**
 * A fixed schedule ({@link FixedGaussianProcess}, @nfdm/models forward/fixed.ts) as ONNX ops:
 *
 *   μ = α_t x,  σ = σ_t,  μ̇ = α̇_t x,  σ̇ = σ̇_t;   tangents μ_s = α_t xs, μ̇_s = α̇_t xs (σ does not depend on x).
 *
 * σ is [N, 1] (one value per sample, broadcast over D).
 */
import type { FixedGaussianProcess } from '@nfdm/models';
import { emitSchedule } from '../schedules.js';
import { type ForwardProcessEmitter, mulOpt } from './emitter.js';

export const fixedForwardEmitter: ForwardProcessEmitter<FixedGaussianProcess> = {
  sigmaWidth: () => 1,
  emit(g, forward, x, xs, t) {
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
  },
};
