/**
 * The ONNX emitter of a forward process: the contract between a {@link GaussianForwardProcess}
 * kind and the exporter. Given the data point x [N, D] (value name), K spatial tangent
 * directions xs [K, N, D] or [K, 1, D] (null: none) and t [N, 1], an emitter adds the ops of
 *
 *   μ(x, t), σ(x, t), μ̇ = ∂μ/∂t, σ̇ = ∂σ/∂t        (x held fixed)
 *
 * and, when xs is given, their directional derivatives along xs (forward mode):
 *
 *   μ_s = J_x μ · xs,  σ_s = J_x σ · xs,  μ̇_s = J_x μ̇ · xs,  σ̇_s = J_x σ̇ · xs     ([K, N, ·]),
 *
 * exactly the formulas of the process's tfjs `params(x, t, 1)`, op for op. A tangent that is
 * identically zero (σ independent of x) is `null` and generates no ops. μ, μ̇ and their tangents
 * are [N, D]; σ, σ̇ are [N, D] or [N, 1] (broadcast over D, as {@link ForwardProcessEmitter.sigmaWidth}
 * says) and may be JS numbers when constant.
 *
 * A process conditioned on y (F(ε, t, x, y), `process.conditioned`) also reads the condition
 * input y [N, w] (emit/condition.ts), a constant in t and x; its emitter says so with
 * `conditioned: true` (the exporter refuses a conditioned process whose emitter does not).
 *
 * A kind gets its emitter through its registry entry (`registerForwardProcess(kind, { parse,
 * create, onnx: emitter })` in @nfdm/models) or {@link registerForwardProcessEmitter}.
 */
import type { GaussianForwardProcess } from '@nfdm/models';
import type { Graph, Operand } from '../../onnx/builder.js';

/** Forward-process parameters as ONNX values; `*_s` are spatial tangents (null = zero). */
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

/** How one forward-process kind is written as ONNX ops (see the module doc). */
export interface ForwardProcessEmitter<P extends GaussianForwardProcess = GaussianForwardProcess> {
  /** μ, σ, μ̇, σ̇ at (x, t) (at (x, t, y) for a conditioned process) and, with xs, their tangents along xs. */
  emit(g: Graph, process: P, x: string, xs: string | null, t: string, y?: string | null): EmittedParams;
  /** Whether `emit` handles a process conditioned on y (reads `y`); default false. */
  readonly conditioned?: boolean;
  /** Columns of σ: D when σ is per dimension ([N, D]), 1 when one σ per sample ([N, 1]). */
  sigmaWidth(process: P): number;
}

/** a + b where null is zero. */
export function addOpt(g: Graph, a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return g.add(a, b);
}

/** a · b where a null b is zero. */
export function mulOpt(g: Graph, a: Operand, b: string | null): string | null {
  return b === null ? null : g.mul(a, b);
}

/** Params without spatial tangents. */
export function valuesOnly(mu: string, sigma: Operand, dmu: string, dsigma: Operand): EmittedParams {
  return { mu, sigma, dmu, dsigma, mu_s: null, sigma_s: null, dmu_s: null, dsigma_s: null };
}
