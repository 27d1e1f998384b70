/**
 * Forward-mode tangents as ordinary ONNX ops — the Jet maths of `@nfdm/core`, generalised to
 * two tangent directions:
 *
 * - `t`: the time tangent ∂/∂t (x held fixed), shape [N, w] (or broadcastable, e.g. [1, w]);
 * - `s`: K spatial tangents stacked on a leading axis, shape [K, N, w] (or [K, 1, w]), e.g. the
 *   D unit directions of an exact divergence;
 * - `ts`: the mixed tangent ∂²/∂s∂t, shape [K, N, w].
 *
 * Rules (h = aW + b, a = φ(h)):
 *   Dense       h′ = a′W for every tangent (bias on the value only);
 *   activation  a_t = φ′(h) h_t,  a_s = φ′(h) h_s,  a_ts = φ″(h) h_t h_s + φ′(h) h_ts.
 * A tangent that is identically zero is `null` and generates no ops. Leading-axis broadcasting
 * (numpy semantics in MatMul/Mul/Add) lets [N, w] values meet [K, N, w] tangents directly.
 */
import type { ActivationName } from '@nfdm/core';
import type { Graph } from '../onnx/builder.js';
import { emitActivation } from './activations.js';

/** A value and its tangents (null = zero). */
export interface GJet {
  v: string;
  t: string | null;
  s: string | null;
  ts: string | null;
}

/** y = x W (+ b on the value) for every part of the jet. */
export function denseJet(g: Graph, x: GJet, weight: string, bias: string): GJet {
  const mm = (a: string | null) => (a === null ? null : g.matmul(a, weight));
  return { v: g.add(g.matmul(x.v, weight), bias), t: mm(x.t), s: mm(x.s), ts: mm(x.ts) };
}

function times(g: Graph, d: string | 1 | null | undefined, x: string | null): string | null {
  if (x === null || d === null || d === undefined) return null;
  return d === 1 ? x : g.mul(d, x);
}

/** a = φ(h) with a_t = φ′h_t, a_s = φ′h_s, a_ts = φ″h_t h_s + φ′h_ts. */
export function activateJet(g: Graph, name: ActivationName, h: GJet): GJet {
  const mixed = h.t !== null && h.s !== null;
  const order = mixed ? 2 : h.t !== null || h.s !== null || h.ts !== null ? 1 : 0;
  const phi = emitActivation(g, name, h.v, order);
  const t = times(g, phi.d1, h.t);
  const s = times(g, phi.d1, h.s);
  const terms: string[] = [];
  if (mixed && phi.d2) terms.push(g.mul(g.mul(phi.d2, h.t as string), h.s as string));
  const d1ts = times(g, phi.d1, h.ts);
  if (d1ts) terms.push(d1ts);
  return { v: phi.value, t, s, ts: terms.length === 0 ? null : terms.length === 1 ? terms[0] : g.add(terms[0], terms[1]) };
}
