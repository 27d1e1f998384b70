/**
 * A velocity-parametrised flow-matching model (`CFMModel` of @nfdm/models) as ONNX ops: the ODE
 * field is the network itself, f(z, t) = v_θ(z, t) (z [N, D], t [N, 1] → [N, D]), a TimeMLP or a
 * TimeUNet written by nets.ts. Its exact divergence pushes the D unit directions e_i (a constant
 * [D, 1, D], broadcast over the batch) through the network as spatial tangents and sums the
 * diagonal: div v = Σ_i (J_v e_i)_i, [N] (as emit/model.ts does for a diffusion model's field).
 * Initializers are named after the model's parameters (`net.…`).
 */
import { CFMModel } from '@nfdm/models';
import { attr, type Graph } from '../onnx/builder.js';
import { eyeStack } from './model.js';
import { emitTimeNetwork } from './nets.js';
import type { LoopFields } from './sampler.js';

/** Throw one clear TypeError for models the exporter cannot write (not a CFMModel). */
export function assertCFMExportable(model: CFMModel): void {
  if (!(model instanceof CFMModel)) throw new TypeError('exportCFMOnnx needs a CFMModel from @nfdm/models');
}

/** v_θ(z, t): z [N, D], t [N, 1] → [N, D]. */
export function emitCFMVelocity(g: Graph, model: CFMModel, z: string, t: string): string {
  return emitTimeNetwork(g, model.net, { x: z, t, timeTangent: false }, 'net').v;
}

/** v_θ(z, t) [N, D] and its exact divergence Σ_i ∂v_i/∂z_i [N] (D stacked forward tangents). */
export function emitCFMVelocityDivergence(g: Graph, model: CFMModel, z: string, t: string): { velocity: string; divergence: string } {
  const D = model.dim;
  const eye = g.floatConstant('eye', eyeStack(D), [D, 1, D]);
  const v = emitTimeNetwork(g, model.net, { x: z, xs: eye, t, timeTangent: false }, 'net');
  const divergence = g.op('ReduceSum', [g.mul(v.s as string, eye), g.int64Tensor([0, 2])], { keepdims: attr.int(0) });
  return { velocity: v.v, divergence };
}

/** The Loop sampler's fields of a flow-matching model: the ODE from z(1) = ε ~ N(0, I) down to t = 0, no SDE. */
export function cfmLoopFields(model: CFMModel): LoopFields {
  return { dim: model.dim, priorStd: 1, tEnd: 0, velocity: (g, z, t) => emitCFMVelocity(g, model, z, t) };
}
