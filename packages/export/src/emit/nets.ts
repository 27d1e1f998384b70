/**
 * TimeMLP NN([x, e(t)]) as ONNX ops, with forward-mode tangents in t (x fixed) and in K
 * spatial directions of x (see jet.ts). Weights are float32 initializers named after the
 * model's parameters (e.g. `predictor.net.layers.0.weight`); Dense weights are [in, out] as in
 * core, so `MatMul(x, W) + b` is the layer. The first layer's weight is also stored split into
 * its x rows and time rows so the tangents need no Concat: with input tangent (dx, 0) the
 * first pre-activation tangent is dx·W_x, with (0, e′(t)) it is e′(t)·W_e (for raw t, e′ = 1
 * and the tangent is the constant row W_e itself).
 *
 * A conditional network is NN([x, e(t), emb(y)]) (core's TimeMLP with a condition): emb(y)
 * [N, e] from the condition input y (condition.ts) is appended to the input; it is constant in
 * t and x, so the tangents read only the x rows and the time rows of the first weight.
 */
import { type Dense, type TimeEmbedding, TimeMLP, type TimeNetwork, TimeUNet } from '@nfdm/core';
import type { Graph } from '../onnx/builder.js';
import { emitConditionEmbedding } from './condition.js';
import { activateJet, denseJet, type GJet } from './jet.js';
import { emitTimeUNet } from './unet.js';

/** A time embedding's value e(t) [N, dim] and time derivative e′(t). */
interface EmbeddingJet {
  v: string;
  t: string | null;
}

interface FourierLike {
  dim: number;
  frequencies: { dataSync(): ArrayLike<number> };
  phase: { dataSync(): ArrayLike<number> } | null;
}

function isFourier(e: TimeEmbedding): e is TimeEmbedding & FourierLike {
  const f = e as unknown as Partial<FourierLike>;
  return typeof f.dim === 'number' && f.frequencies !== undefined && typeof f.frequencies.dataSync === 'function' && 'phase' in f;
}

/**
 * e(t) = sin(ωt + offset + φ) with offset 0 on the sin half and π/2 on the cos half, and
 * e′(t) = ω ⊙ sin(ωt + offset + π/2 + φ) (core's FourierTimeEmbedding, op for op).
 */
function emitFourier(g: Graph, e: TimeEmbedding & FourierLike, t: string, withTangent: boolean, prefix: string): EmbeddingJet {
  const omega = Float32Array.from(e.frequencies.dataSync());
  const h = omega.length;
  const omega2 = g.floatTensor(`${prefix}.omega`, Float32Array.from([...omega, ...omega]), [1, 2 * h]);
  const phase = e.phase ? Float32Array.from(e.phase.dataSync()) : null;
  const phase2 = phase ? g.floatTensor(`${prefix}.phase`, Float32Array.from([...phase, ...phase]), [1, 2 * h]) : null;
  const offset = (k: number) => {
    const values = new Float32Array(2 * h);
    values.fill((k * Math.PI) / 2, 0, h);
    values.fill(((k + 1) * Math.PI) / 2, h, 2 * h);
    return g.floatConstant(`${prefix}.offset${k}`, values, [1, 2 * h]);
  };
  const tw = g.mul(t, omega2);
  const arg = (k: number) => {
    const a = g.add(tw, offset(k));
    return phase2 ? g.add(a, phase2) : a;
  };
  const v = g.unary('Sin', arg(0));
  if (!withTangent) return { v, t: null };
  return { v, t: g.mul(g.unary('Sin', arg(1)), omega2) };
}

function weightOf(layer: Dense): Float32Array {
  return Float32Array.from(layer.weight.dataSync());
}

/** Options of {@link emitTimeMLP}. */
export interface TimeMLPInputs {
  /** x [N, dataDim] (null when dataDim = 0). */
  x: string | null;
  /** K spatial tangents of x, [K, N, dataDim] or [K, 1, dataDim] (null: none). */
  xs?: string | null;
  /** t [N, 1]. */
  t: string;
  /** Track ∂/∂t. */
  timeTangent: boolean;
  /** The condition y [N, w] of a conditional network (condition.ts); null or absent otherwise. */
  y?: string | null;
}

/** Throw unless a condition input is given exactly when the network is conditional. */
function checkConditionInput(network: TimeNetwork, inputs: TimeMLPInputs, prefix: string): void {
  const conditional = Boolean(network.conditionSpec);
  if (conditional && !inputs.y) throw new TypeError(`emitTimeNetwork: the ${prefix} network is conditional and needs the condition y`);
  if (!conditional && inputs.y) throw new TypeError(`emitTimeNetwork: the ${prefix} network takes no condition`);
}

/**
 * A network of data and time as a jet: {@link emitTimeMLP} for a TimeMLP, emit/unet.ts for a
 * TimeUNet (same inputs and output contract). `prefix` names the initializers.
 */
export function emitTimeNetwork(g: Graph, network: TimeNetwork, inputs: TimeMLPInputs, prefix: string): GJet {
  checkConditionInput(network, inputs, prefix);
  if (network instanceof TimeMLP) return emitTimeMLP(g, network, inputs, prefix);
  if (network instanceof TimeUNet) {
    if (inputs.x === null) throw new TypeError(`emitTimeNetwork: the ${prefix} U-Net needs x`);
    const embedding = network.net.embedding;
    if (!isFourier(embedding)) throw new TypeError('only Fourier time embeddings (sinusoidal, random Fourier) can be exported to ONNX');
    const embed = (gg: Graph, t: string, withTangent: boolean) => emitFourier(gg, embedding, t, withTangent, `${prefix}.embedding`);
    return emitTimeUNet(g, network, { ...inputs, x: inputs.x }, prefix, embed);
  }
  throw new TypeError(`cannot export the ${prefix} network to ONNX: only TimeMLP and TimeUNet networks are supported`);
}

/** NN([x, e(t)]) (NN([x, e(t), emb(y)]) with a condition) as a jet (see module doc). `prefix` names the initializers. */
export function emitTimeMLP(g: Graph, net: TimeMLP, inputs: TimeMLPInputs, prefix: string): GJet {
  const dataDim = net.options.dataDim;
  const mlp = net.net;
  const embedding = net.embedding;
  let e: EmbeddingJet;
  let timeWidth: number;
  if (embedding) {
    if (!isFourier(embedding)) throw new TypeError('only Fourier time embeddings (sinusoidal, random Fourier) can be exported to ONNX');
    e = emitFourier(g, embedding, inputs.t, inputs.timeTangent, `${prefix}.embedding`);
    timeWidth = embedding.dim;
  } else {
    e = { v: inputs.t, t: null };
    timeWidth = 1;
  }
  if (dataDim > 0 && inputs.x === null) throw new TypeError('emitTimeMLP: x is required when dataDim > 0');

  const layers = mlp.layers;
  const first = layers[0];
  const w0 = weightOf(first);
  const out0 = first.outDim;
  const W0 = g.floatTensor(`${prefix}.net.layers.0.weight`, w0, [first.inDim, out0]);
  const b0 = g.floatTensor(`${prefix}.net.layers.0.bias`, Float32Array.from(first.bias.dataSync()), [out0]);
  const columns = dataDim > 0 ? [inputs.x as string, e.v] : [e.v];
  if (net.condition) columns.push(emitConditionEmbedding(g, net.condition, inputs.y as string, prefix));
  const input = g.concat(columns, 1);
  let h: GJet = { v: g.add(g.matmul(input, W0), b0), t: null, s: null, ts: null };
  if (inputs.timeTangent) {
    const timeRows = w0.subarray(dataDim * out0, (dataDim + timeWidth) * out0);
    const We = g.floatTensor(`${prefix}.net.layers.0.weight_time`, timeRows, [timeWidth, out0]);
    h.t = e.t === null ? We : g.matmul(e.t, We);
  }
  if (inputs.xs) {
    if (dataDim === 0) throw new TypeError('emitTimeMLP: spatial tangents need dataDim > 0');
    const Wx = g.floatTensor(`${prefix}.net.layers.0.weight_x`, w0.subarray(0, dataDim * out0), [dataDim, out0]);
    h.s = g.matmul(inputs.xs, Wx);
  }
  const act = mlp.activationName;
  for (let i = 1; i < layers.length; i++) {
    h = activateJet(g, act, h);
    const layer = layers[i];
    const W = g.floatTensor(`${prefix}.net.layers.${i}.weight`, weightOf(layer), [layer.inDim, layer.outDim]);
    const b = g.floatTensor(`${prefix}.net.layers.${i}.bias`, Float32Array.from(layer.bias.dataSync()), [layer.outDim]);
    h = denseJet(g, h, W, b);
  }
  const outAct = mlp.options.outputActivation;
  return outAct ? activateJet(g, outAct, h) : h;
}

/** Columns [start, start + size) of every part of a jet (last axis). */
export function jetColumns(g: Graph, j: GJet, start: number, size: number): GJet {
  const cut = (x: string | null) => (x === null ? null : g.slice(x, start, start + size, -1));
  return { v: cut(j.v) as string, t: cut(j.t), s: cut(j.s), ts: cut(j.ts) };
}
