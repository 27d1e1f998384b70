/**
 * NFDM's learned process ({@link NeuralGaussianProcess}, @nfdm/models forward/neural.ts) as
 * ONNX ops. With [m̄, l̄] = NN([x, t]) (time tangents m̄′, l̄′ at fixed x):
 *
 *   μ = (1 − t) x + t(1 − t) m̄,                 σ = exp((1 − t) log δ + t(1 − t) l̄),
 *   μ̇ = (1 − 2t) m̄ − x + t(1 − t) m̄′,          σ̇ = σ ((1 − 2t) l̄ − log δ + t(1 − t) l̄′),
 *
 * and their tangents along xs (network tangents m̄_s, l̄_s and mixed m̄_ts, l̄_ts). σ is [N, D].
 * A process conditioned on y reads the condition input y [N, w]: NN([x, t, emb(y)]), emb(y)
 * constant in t and x (nets.ts), so the formulas are unchanged.
 */
import type { NeuralGaussianProcess } from '@nfdm/models';
import { emitTimeNetwork, jetColumns } from '../nets.js';
import { addOpt, type ForwardProcessEmitter, mulOpt, valuesOnly } from './emitter.js';

export const neuralForwardEmitter: ForwardProcessEmitter<NeuralGaussianProcess> = {
  sigmaWidth: (process) => process.dim,
  conditioned: true,
  emit(g, forward, x, xs, t, y = null) {
    const D = forward.dim;
    const logDelta = Math.log(forward.delta);
    const jet = emitTimeNetwork(g, forward.net, { x, xs, t, timeTangent: true, y: forward.conditioned ? y : null }, 'forward');
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
    if (xs === null) return valuesOnly(mu, sigma, dmu, dsigma);
    // ∂/∂s of the formulas above (x_s = xs, net tangents m_s, l_s and mixed m_ts, l_ts).
    const mu_s = g.add(g.mul(one, xs), g.mul(tt, m.s as string));
    const sigma_s = g.mul(sigma, g.mul(tt, l.s as string));
    const dmu_s = addOpt(g, g.sub(g.mul(slope, m.s as string), xs), mulOpt(g, tt, m.ts)) as string;
    const dl_s = addOpt(g, g.mul(slope, l.s as string), mulOpt(g, tt, l.ts)) as string;
    const dsigma_s = g.add(g.mul(sigma_s, dl), g.mul(sigma, dl_s));
    return { mu, sigma, dmu, dsigma, mu_s, sigma_s, dmu_s, dsigma_s };
  },
};
