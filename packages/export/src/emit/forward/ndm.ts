/**
 * NDM's learned data transform under a fixed schedule ({@link NDMProcess}, @nfdm/models
 * forward/ndm.ts) as ONNX ops. With the network output n = NN([x, t]) (time tangent n′):
 *
 *   F = x + t (n − x),   Ḟ = (n − x) + t n′,   μ = α_t F,   μ̇ = α̇_t F + α_t Ḟ,   σ = σ_t,   σ̇ = σ̇_t,
 *
 * and along xs: F_s = xs + t (n_s − xs), Ḟ_s = (n_s − xs) + t n_ts, μ_s = α_t F_s,
 * μ̇_s = α̇_t F_s + α_t Ḟ_s (σ does not depend on x). σ is [N, 1].
 * A process conditioned on y reads the condition input y [N, w]: NN([x, t, emb(y)]), emb(y)
 * constant in t and x (nets.ts), so the formulas are unchanged.
 */
import type { NDMProcess } from '@nfdm/models';
import { emitTimeNetwork } from '../nets.js';
import { emitSchedule } from '../schedules.js';
import { addOpt, type ForwardProcessEmitter, mulOpt, valuesOnly } from './emitter.js';

export const ndmForwardEmitter: ForwardProcessEmitter<NDMProcess> = {
  sigmaWidth: () => 1,
  conditioned: true,
  emit(g, forward, x, xs, t, y = null) {
    const v = emitSchedule(g, forward.schedule, t);
    const jet = emitTimeNetwork(g, forward.net, { x, xs, t, timeTangent: true, y: forward.conditioned ? y : null }, 'forward');
    const delta = g.sub(jet.v, x);
    const F = g.add(x, g.mul(t, delta));
    const dF = g.add(delta, g.mul(t, jet.t as string));
    const mu = g.mul(v.alpha, F);
    const dmu = g.add(g.mul(v.dalpha, F), g.mul(v.alpha, dF));
    if (xs === null) return valuesOnly(mu, v.sigma, dmu, v.dsigma);
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
  },
};
