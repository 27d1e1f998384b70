/**
 * core's {@link TimeUNet} as ONNX ops (opset 17), with forward-mode tangents in t (x fixed) and
 * in K spatial directions of x — the image counterpart of nets.ts, layer for layer the maths of
 * `@nfdm/core` nn/image (docs/maths/image-networks.md).
 *
 * Layout: images are NCHW inside the graph (ONNX's Conv layout). A jet part is
 *   v, t   [N, C, H, W]        (value, ∂/∂t),
 *   s, ts  [K, N, C, H, W]     (K spatial tangents, and their ∂/∂t; N may be 1 and broadcast),
 * with null for an identically zero tangent. Elementwise ops broadcast 4-D against 5-D; the
 * spatial ops (Conv) fold the 5-D parts to [K·N, C, H, W] and unfold them after.
 *
 * Tangent rules (every linear map L acts on each part alone, the bias on v only):
 * - GroupNorm per group, c = h − mean h, σ = √(mean c² + ε), ĥ = c/σ; for a direction d ∈ {t, s}
 *   c_d = h_d − mean h_d, σ_d = mean(ĥ c_d), ĥ_d = (c_d − ĥ σ_d)/σ, and the mixed part
 *   σ_ts = mean(ĥ_s c_t + ĥ c_ts), ĥ_ts = (c_ts − ĥ_s σ_t − ĥ_t σ_s − ĥ σ_ts)/σ; y = γ ĥ + β;
 * - bilinear f(a, b) (FiLM products, the attention matrix products):
 *   f_d = f(a_d, b) + f(a, b_d), f_ts = f(a_ts, b) + f(a_t, b_s) + f(a_s, b_t) + f(a, b_ts);
 * - softmax A along an axis: u_d = S_d − Σ A S_d, A_d = A u_d,
 *   A_ts = A_s u_t + A (S_ts − Σ (A_s S_t + A S_ts));
 * - SiLU (and every activation) by nets.ts's elementwise rule.
 * Weights are float32 initializers named `<prefix>.<core parameter name>`; conv kernels are
 * stored OIHW (core keeps HWIO).
 */
import type { Conv2d, GroupNorm, ResBlock, SelfAttention, TimeUNet, UNet } from '@nfdm/core';
import { attr, type Graph } from '../onnx/builder.js';
import { emitConditionEmbedding } from './condition.js';
import { activateJet, denseJet, type GJet } from './jet.js';

/** An image jet with its (static) channel count and size. */
export interface ImageGJet {
  j: GJet;
  c: number;
  h: number;
  w: number;
}

/** Inputs of {@link emitTimeUNet}: rows as in emitTimeMLP. */
export interface TimeUNetInputs {
  /** x [N, inMaps·H·W·C] (rows of NHWC images side by side). */
  x: string;
  /** K spatial tangents of x, [K, N, ·] or [K, 1, ·] (null: none). */
  xs?: string | null;
  /** t [N, 1]. */
  t: string;
  /** Track ∂/∂t. */
  timeTangent: boolean;
  /** The condition y [N, w] of a conditional U-Net (added to temb as emb(y)); null or absent otherwise. */
  y?: string | null;
}

/** The time embedding's value and ∂/∂t, [N, dim]. */
export type TimeEmbeddingEmitter = (g: Graph, t: string, withTangent: boolean) => { v: string; t: string | null };

type Part = 'v' | 't' | 's' | 'ts';
const PARTS: readonly Part[] = ['v', 't', 's', 'ts'];
const spatialPart = (p: Part) => p === 's' || p === 'ts';

function mapParts(j: GJet, f: (x: string, part: Part) => string): GJet {
  const out: GJet = { v: f(j.v, 'v'), t: null, s: null, ts: null };
  for (const p of PARTS.slice(1)) {
    const x = j[p];
    if (x !== null) out[p] = f(x, p);
  }
  return out;
}

/** a + b part by part (null = 0). */
function addJets(g: Graph, a: GJet, b: GJet): GJet {
  const add = (x: string | null, y: string | null) => (x === null ? y : y === null ? x : g.add(x, y));
  return { v: g.add(a.v, b.v), t: add(a.t, b.t), s: add(a.s, b.s), ts: add(a.ts, b.ts) };
}

/** The jet of f(a, b) for a bilinear f (see the module doc); null parts are zero. */
export function bilinearGJet(g: Graph, a: GJet, b: GJet, f: (x: string, y: string) => string): GJet {
  const terms = (pairs: Array<[string | null, string | null]>) => {
    const live = pairs.filter(([x, y]) => x !== null && y !== null).map(([x, y]) => f(x as string, y as string));
    return live.length === 0 ? null : g.sum(live);
  };
  return {
    v: f(a.v, b.v),
    t: terms([
      [a.t, b.v],
      [a.v, b.t],
    ]),
    s: terms([
      [a.s, b.v],
      [a.v, b.s],
    ]),
    ts: terms([
      [a.ts, b.v],
      [a.t, b.s],
      [a.s, b.t],
      [a.v, b.ts],
    ]),
  };
}

/** Σ along `axis`, kept. */
function sumKeep(g: Graph, x: string, axis: number): string {
  return g.op('ReduceSum', [x, g.int64Tensor([axis])], { keepdims: attr.int(1) });
}

/** softmax along `axis` with its tangents (module doc). */
export function softmaxGJet(g: Graph, s: GJet, axis: number): GJet {
  const a = g.op('Softmax', [s.v], { axis: attr.int(axis) });
  const u = (d: string | null) => (d === null ? null : g.sub(d, sumKeep(g, g.mul(a, d), axis)));
  const ut = u(s.t);
  const us = u(s.s);
  const at = ut === null ? null : g.mul(a, ut);
  const as = us === null ? null : g.mul(a, us);
  let ats: string | null = null;
  if (at !== null && as !== null && ut !== null && s.t !== null) {
    const inner: string[] = [g.mul(as, s.t)];
    if (s.ts !== null) inner.push(g.mul(a, s.ts));
    const uts = s.ts === null ? g.neg(sumKeep(g, g.sum(inner), axis)) : g.sub(s.ts, sumKeep(g, g.sum(inner), axis));
    ats = g.add(g.mul(as, ut), g.mul(a, uts));
  }
  return { v: a, t: at, s: as, ts: ats };
}

/** Float32 copy of a tensor's values. */
function values(x: { dataSync(): ArrayLike<number> }): Float32Array {
  return Float32Array.from(x.dataSync());
}

/** HWIO [k, k, I, O] → OIHW [O, I, k, k]. */
function oihw(hwio: Float32Array, k: number, cin: number, cout: number): Float32Array {
  const out = new Float32Array(hwio.length);
  for (let y = 0; y < k; y++)
    for (let x = 0; x < k; x++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cout; o++) out[((o * cin + i) * k + y) * k + x] = hwio[((y * k + x) * cin + i) * cout + o];
  return out;
}

/** [K·N, c, h, w] → [K, N, c, h, w], K read from `like`'s first dimension. */
function unfold(g: Graph, folded: string, like: string, c: number, h: number, w: number): string {
  const k = g.op('Shape', [like], { start: attr.int(0), end: attr.int(1) });
  return g.op('Reshape', [folded, g.concat([k, g.int64Tensor([-1, c, h, w])], 0)]);
}

/** One ONNX Conv layer ('same' padding, stride 1 or 2, core's Conv2d) on an image jet. */
export function emitConv(g: Graph, img: ImageGJet, conv: Conv2d, name: string): ImageGJet {
  const [k, , cin, cout] = conv.kernel.shape;
  if (cin !== img.c) throw new RangeError(`internal: conv ${name} expects ${cin} channels, got ${img.c}`);
  const W = g.floatTensor(`${name}.kernel`, oihw(values(conv.kernel), k, cin, cout), [cout, cin, k, k]);
  const B = g.floatTensor(`${name}.bias`, values(conv.bias), [cout]);
  const s = conv.stride;
  const p = (k - 1) / 2;
  const h = Math.floor((img.h + 2 * p - k) / s) + 1;
  const w = Math.floor((img.w + 2 * p - k) / s) + 1;
  const attrs = { kernel_shape: attr.ints([k, k]), pads: attr.ints([p, p, p, p]), strides: attr.ints([s, s]) };
  const run = (x: string, part: Part) => {
    if (part === 'v') return g.op('Conv', [x, W, B], attrs);
    if (!spatialPart(part)) return g.op('Conv', [x, W], attrs);
    const y = g.op('Conv', [g.reshape(x, [-1, img.c, img.h, img.w]), W], attrs);
    return unfold(g, y, x, cout, h, w);
  };
  return { j: mapParts(img.j, run), c: cout, h, w };
}

/** Per-channel γ ⊙ x (+ β on the value), γ, β [C] broadcast over H, W. */
function affine(g: Graph, j: GJet, gamma: string, beta: string | null): GJet {
  return mapParts(j, (x, part) => {
    const y = g.mul(x, gamma);
    return part === 'v' && beta !== null ? g.add(y, beta) : y;
  });
}

/** GroupNorm (core's) on an image jet by the rules of the module doc (opset 17 has no GroupNormalization). */
export function emitGroupNorm(g: Graph, img: ImageGJet, norm: GroupNorm, name: string): ImageGJet {
  const { c: C, h: H, w: Wd } = img;
  const G = norm.groups;
  const grouped = (x: string, part: Part) => g.reshape(x, spatialPart(part) ? [0, 0, G, -1] : [0, G, -1]);
  const back = (x: string, part: Part) => g.reshape(x, spatialPart(part) ? [0, 0, C, H, Wd] : [0, C, H, Wd]);
  const mean = (x: string) => g.op('ReduceMean', [x], { axes: attr.ints([-1]), keepdims: attr.int(1) });
  const centred = (x: string | null, part: Part) => {
    if (x === null) return null;
    const r = grouped(x, part);
    return g.sub(r, mean(r));
  };
  const c = centred(img.j.v, 'v') as string;
  const sd = g.unary('Sqrt', g.add(mean(g.square(c)), norm.epsilon));
  const hat = g.div(c, sd);
  const first = (cd: string | null) => {
    if (cd === null) return { sd: null, hat: null };
    const sdd = mean(g.mul(hat, cd));
    return { sd: sdd, hat: g.div(g.sub(cd, g.mul(hat, sdd)), sd) };
  };
  const ct = centred(img.j.t, 't');
  const cs = centred(img.j.s, 's');
  const dt = first(ct);
  const ds = first(cs);
  let hatTs: string | null = null;
  if (ct !== null && cs !== null && dt.sd && ds.sd && dt.hat && ds.hat) {
    const cts = centred(img.j.ts, 'ts');
    const mixed = [g.mul(ds.hat, ct)];
    if (cts !== null) mixed.push(g.mul(hat, cts));
    const sdts = mean(g.sum(mixed));
    const terms = [g.mul(ds.hat, dt.sd), g.mul(dt.hat, ds.sd), g.mul(hat, sdts)];
    const num = cts === null ? g.neg(g.sum(terms)) : g.sub(cts, g.sum(terms));
    hatTs = g.div(num, sd);
  }
  const normed: GJet = {
    v: back(hat, 'v'),
    t: dt.hat === null ? null : back(dt.hat, 't'),
    s: ds.hat === null ? null : back(ds.hat, 's'),
    ts: hatTs === null ? null : back(hatTs, 'ts'),
  };
  const gamma = g.floatTensor(`${name}.weight`, values(norm.weight), [C, 1, 1]);
  const beta = g.floatTensor(`${name}.bias`, values(norm.bias), [C, 1, 1]);
  return { ...img, j: affine(g, normed, gamma, beta) };
}

function silu(g: Graph, img: ImageGJet): ImageGJet {
  return { ...img, j: activateJet(g, 'silu', img.j) };
}

/** A per-image channel vector jet [N, C] (v, t) as [N, C, 1, 1]. */
function channelColumn(g: Graph, j: GJet, C: number): GJet {
  return mapParts(j, (x, part) => g.reshape(x, spatialPart(part) ? [0, 0, C, 1, 1] : [0, C, 1, 1]));
}

/** Dense layer (core's Dense: y = xW + b) on a row jet. */
function emitDense(
  g: Graph,
  j: GJet,
  dense: { weight: { dataSync(): ArrayLike<number> }; bias: { dataSync(): ArrayLike<number> }; inDim: number; outDim: number },
  name: string,
): GJet {
  const W = g.floatTensor(`${name}.weight`, values(dense.weight), [dense.inDim, dense.outDim]);
  const b = g.floatTensor(`${name}.bias`, values(dense.bias), [dense.outDim]);
  return denseJet(g, j, W, b);
}

function column(g: Graph, j: GJet, start: number, size: number): GJet {
  return mapParts(j, (x) => g.slice(x, start, start + size, -1));
}

/** core's ResBlock: conv3(SiLU(GN(x))) + time projection, GN (or FiLM), SiLU, conv3, plus the skip. */
export function emitResBlock(g: Graph, x: ImageGJet, block: ResBlock, temb: GJet, name: string): ImageGJet {
  let h = emitConv(g, silu(g, emitGroupNorm(g, x, block.norm1, `${name}.norm1`)), block.conv1, `${name}.conv1`);
  const projected = emitDense(g, temb, block.time, `${name}.time`);
  const C = h.c;
  let normed: ImageGJet;
  if (block.options.scaleShift) {
    const n = emitGroupNorm(g, h, block.norm2, `${name}.norm2`);
    const scale = channelColumn(g, column(g, projected, 0, C), C);
    const shift = channelColumn(g, column(g, projected, C, C), C);
    const onePlus: GJet = { ...scale, v: g.add(scale.v, 1) };
    normed = {
      ...n,
      j: addJets(
        g,
        bilinearGJet(g, n.j, onePlus, (a, b) => g.mul(a, b)),
        shift,
      ),
    };
  } else {
    const column = channelColumn(g, projected, C);
    // A zero ∂h/∂t plus the column's ∂/∂t is still a full image tangent (GroupNorm reshapes it).
    if (h.j.t === null && column.t !== null) column.t = g.expandLike(column.t, h.j.v);
    h = { ...h, j: addJets(g, h.j, column) };
    normed = emitGroupNorm(g, h, block.norm2, `${name}.norm2`);
  }
  const out = emitConv(g, silu(g, normed), block.conv2, `${name}.conv2`);
  const skip = block.skip ? emitConv(g, x, block.skip, `${name}.skip`) : x;
  return { ...out, j: addJets(g, skip.j, out.j) };
}

/** Swap the last two axes of a part (rank 3 for v, t; 4 for s, ts). */
function swapLast(g: Graph, x: string, part: Part): string {
  return g.op('Transpose', [x], { perm: attr.ints(spatialPart(part) ? [0, 1, 3, 2] : [0, 2, 1]) });
}

/**
 * core's SelfAttention over the L = H·W pixels, channel-major: with q, k, v [C, L] per image,
 * Sᵀ = kᵀ (q/√C) [L_j, L_i], A = softmax over j (axis −2), O = v A [C, L_i]; y = x + proj(O).
 */
export function emitAttention(g: Graph, x: ImageGJet, attention: SelfAttention, name: string): ImageGJet {
  const { c: C, h: H, w: W } = x;
  const L = H * W;
  const qkv = emitConv(g, emitGroupNorm(g, x, attention.norm, `${name}.norm`), attention.qkv, `${name}.qkv`);
  const tokens = mapParts(qkv.j, (p, part) => g.reshape(p, spatialPart(part) ? [0, 0, 3 * C, L] : [0, 3 * C, L]));
  const scale = 1 / Math.sqrt(C);
  const q = mapParts(tokens, (p) => g.mul(g.slice(p, 0, C, -2), scale));
  const kT = mapParts(tokens, (p, part) => swapLast(g, g.slice(p, C, 2 * C, -2), part));
  const v = mapParts(tokens, (p) => g.slice(p, 2 * C, 3 * C, -2));
  const sT = bilinearGJet(g, kT, q, (a, b) => g.matmul(a, b));
  const a = softmaxGJet(g, sT, -2);
  const o = bilinearGJet(g, v, a, (p, r) => g.matmul(p, r));
  const image = mapParts(o, (p, part) => g.reshape(p, spatialPart(part) ? [0, 0, C, H, W] : [0, C, H, W]));
  const projected = emitConv(g, { j: image, c: C, h: H, w: W }, attention.proj, `${name}.proj`);
  return { ...x, j: addJets(g, x.j, projected.j) };
}

/** Nearest ×2 up-sampling: y[2i + a, 2j + b] = x[i, j] (linear: every part alike). */
function upsample2x(g: Graph, img: ImageGJet): ImageGJet {
  const { c: C, h: H, w: W } = img;
  const ones = g.floatConstant('ones_1x2x1x2', [1, 1, 1, 1], [1, 2, 1, 2]);
  const j = mapParts(img.j, (x, part) => {
    const lead = spatialPart(part) ? [0, 0] : [0];
    const spread = g.mul(g.reshape(x, [...lead, C, H, 1, W, 1]), ones);
    return g.reshape(spread, [...lead, C, 2 * H, 2 * W]);
  });
  return { j, c: C, h: 2 * H, w: 2 * W };
}

/** 2×2 average pooling (linear). */
function avgPool2x(g: Graph, img: ImageGJet): ImageGJet {
  const { c: C, h: H, w: W } = img;
  const j = mapParts(img.j, (x, part) => {
    const lead = spatialPart(part) ? [0, 0] : [0];
    return g.op('ReduceMean', [g.reshape(x, [...lead, C, H / 2, 2, W / 2, 2])], { axes: attr.ints([-3, -1]), keepdims: attr.int(0) });
  });
  return { j, c: C, h: H / 2, w: W / 2 };
}

/** x [K, N or 1, ·, ·, ·] broadcast to the leading [K, N] of `other` (Concat does not broadcast). */
function matchLeading(g: Graph, x: string, other: string): string {
  const lead = g.op('Shape', [other], { start: attr.int(0), end: attr.int(2) });
  return g.op('Expand', [x, g.concat([lead, g.int64Tensor([1, 1, 1])], 0)]);
}

/**
 * Channel concatenation (axis −3 for 4-D and 5-D parts). A zero part next to a live one is
 * filled with zeros; spatial parts are broadcast to a common [K, N] first (a skip taken before
 * any batch-dependent op may still have N = 1).
 */
function concatChannels(g: Graph, a: ImageGJet, b: ImageGJet): ImageGJet {
  const zerosLike = (img: ImageGJet, part: Part) => g.mul(part === 'ts' ? (img.j.s as string) : img.j.v, 0);
  const pick = (img: ImageGJet, part: Part) => img.j[part] ?? zerosLike(img, part);
  const j: GJet = { v: g.concat([a.j.v, b.j.v], -3), t: null, s: null, ts: null };
  for (const part of PARTS.slice(1)) {
    if (a.j[part] === null && b.j[part] === null) continue;
    let x = pick(a, part);
    let y = pick(b, part);
    if (spatialPart(part)) [x, y] = [matchLeading(g, x, y), matchLeading(g, y, x)];
    j[part] = g.concat([x, y], -3);
  }
  return { j, c: a.c + b.c, h: a.h, w: a.w };
}

/** Rows [·, inMaps·H·W·C] (NHWC images side by side) → NCHW [·, inMaps·C, H, W]; rank 3 rows keep their leading axis. */
function rowsToImages(g: Graph, x: string, spatial: boolean, maps: number, H: number, W: number, C: number): string {
  const lead = spatial ? [0, 0] : [0];
  const split = g.reshape(x, [...lead, maps, H, W, C]);
  const perm = spatial ? [0, 1, 2, 5, 3, 4] : [0, 1, 4, 2, 3];
  return g.reshape(g.op('Transpose', [split], { perm: attr.ints(perm) }), [...lead, maps * C, H, W]);
}

/** NCHW [·, maps·C, H, W] → rows [·, maps·H·W·C] (map j's NHWC image in block j). */
function imagesToRows(g: Graph, x: string, spatial: boolean, maps: number, H: number, W: number, C: number): string {
  const lead = spatial ? [0, 0] : [0];
  const split = g.reshape(x, [...lead, maps, C, H, W]);
  const perm = spatial ? [0, 1, 2, 4, 5, 3] : [0, 1, 3, 4, 2];
  return g.reshape(g.op('Transpose', [split], { perm: attr.ints(perm) }), [...lead, -1]);
}

/** The UNet body (core's UNet.jet, op for op) on an NCHW image jet with the activated time embedding jet. */
function emitUNetBody(g: Graph, net: UNet, input: ImageGJet, temb: GJet, prefix: string): ImageGJet {
  let h = emitConv(g, input, net.inConv, `${prefix}.in`);
  const adm = net.layout === 'adm';
  const skips: ImageGJet[] = adm ? [h] : [];
  const last = net.levels.length - 1;
  net.levels.forEach((level, i) => {
    level.blocks.forEach((b, r) => {
      h = emitResBlock(g, h, b, temb, `${prefix}.down.${i}.${r}`);
      const a = level.attention[r];
      if (a) h = emitAttention(g, h, a, `${prefix}.down.${i}.${r}.attn`);
      skips.push(h);
    });
    if (i === last) return;
    if (level.down) {
      h = emitConv(g, h, level.down, `${prefix}.down.${i}.sample`);
      skips.push(h);
    } else h = avgPool2x(g, h);
  });
  h = emitResBlock(g, h, net.middle.first, temb, `${prefix}.mid.0`);
  if (net.middle.attention) h = emitAttention(g, h, net.middle.attention, `${prefix}.mid.attn`);
  if (net.middle.second) h = emitResBlock(g, h, net.middle.second, temb, `${prefix}.mid.1`);
  net.upLevels.forEach((level, i) => {
    level.blocks.forEach((b, r) => {
      h = emitResBlock(g, concatChannels(g, h, skips.pop() as ImageGJet), b, temb, `${prefix}.up.${i}.${r}`);
      const a = level.attention[r];
      if (a) h = emitAttention(g, h, a, `${prefix}.up.${i}.${r}.attn`);
    });
    if (i === net.upLevels.length - 1) return;
    h = upsample2x(g, h);
    if (level.up) h = emitConv(g, h, level.up, `${prefix}.up.${i}.sample`);
  });
  return emitConv(g, silu(g, emitGroupNorm(g, h, net.outNorm, `${prefix}.out.norm`)), net.outConv, `${prefix}.out.conv`);
}

/**
 * U(x, t) of a {@link TimeUNet} as a jet of rows: v, t [N, maps·H·W·C], s, ts [K, N, ·] (the
 * contract of emitTimeMLP). `embed` writes the sinusoidal time embedding (nets.ts). A
 * conditional U-Net adds emb(y) (condition.ts) to temb before its SiLU, on the value only
 * (emb(y) is constant in t).
 */
export function emitTimeUNet(g: Graph, network: TimeUNet, inputs: TimeUNetInputs, prefix: string, embed: TimeEmbeddingEmitter): GJet {
  const { height: H, width: W, channels: C } = network.options.image;
  const net = network.net;
  const e = embed(g, inputs.t, inputs.timeTangent);
  let temb: GJet = { v: e.v, t: e.t, s: null, ts: null };
  const mlp = net.timeMlp;
  mlp.layers.forEach((layer, i) => {
    if (i > 0) temb = activateJet(g, mlp.activationName, temb);
    temb = emitDense(g, temb, layer, `${prefix}.time.layers.${i}`);
  });
  if (net.condition) {
    if (!inputs.y) throw new TypeError(`emitTimeUNet: the ${prefix} U-Net is conditional and needs the condition y`);
    temb = { ...temb, v: g.add(temb.v, emitConditionEmbedding(g, net.condition, inputs.y, prefix)) };
  }
  temb = activateJet(g, 'silu', temb);
  const xs = inputs.xs ?? null;
  const image: GJet = {
    v: rowsToImages(g, inputs.x, false, network.inMaps, H, W, C),
    t: null,
    s: xs === null ? null : rowsToImages(g, xs, true, network.inMaps, H, W, C),
    ts: null,
  };
  const out = emitUNetBody(g, net, { j: image, c: network.inMaps * C, h: H, w: W }, temb, prefix);
  return mapParts(out.j, (x, part) => imagesToRows(g, x, spatialPart(part), network.maps, H, W, C));
}
