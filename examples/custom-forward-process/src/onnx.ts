/**
 * The ONNX emitter of the trigonometric process: the ops of `TrigonometricProcess.params(x, t, 1)`
 * in the same order (float32 constants ω = π/2, 1 − δ, (1 − δ)ω, δ), so the exported graphs equal
 * the tfjs model. With c = cos(ωt), s = sin(ωt), x [N, D], t [N, 1]:
 *
 *   μ = c x,   σ = (1 − δ) s + δ,   μ̇ = (−ω s) x,   σ̇ = (1 − δ) ω c          (σ, σ̇: [N, 1])
 *
 * and along the spatial directions xs [K, ·, D] (σ does not depend on x, so its tangents are zero):
 *
 *   μ_s = c xs,   μ̇_s = (−ω s) xs,   σ_s = σ̇_s = 0 (null).
 *
 * The entry of the process (`trigonometricEntry.onnx`) carries it, so `@nfdm/export` writes any
 * model with this process — predictor, drift, velocity, exact divergence and the one-call
 * samplers — and `@nfdm/runtime` / `@nfdm/serve` run it without tfjs.
 */
import type { ForwardProcessEmitter } from '@nfdm/export';
import type { TrigonometricProcess } from './trigonometric.js';

const OMEGA = Math.PI / 2;

export const trigonometricOnnx: ForwardProcessEmitter<TrigonometricProcess> = {
  sigmaWidth: () => 1,
  emit(g, process, x, xs, t) {
    const k = 1 - process.delta;
    const angle = g.mul(OMEGA, t);
    const c = g.unary('Cos', angle);
    const s = g.unary('Sin', angle);
    const minusOmegaS = g.mul(-OMEGA, s);
    return {
      mu: g.mul(c, x),
      sigma: g.add(g.mul(k, s), process.delta),
      dmu: g.mul(minusOmegaS, x),
      dsigma: g.mul(k * OMEGA, c),
      mu_s: xs === null ? null : g.mul(c, xs),
      sigma_s: null,
      dmu_s: xs === null ? null : g.mul(minusOmegaS, xs),
      dsigma_s: null,
    };
  },
};
