/**
 * Image layers with time jets (conv, GroupNorm, SiLU, resampling, self-attention, ResBlock, U-Net):
 * every layer's value, first and second tangent against float64 central differences of an
 * independent float64 reference along an input path x(t) = a + b t + c t²; parameter gradients
 * through the tangents against finite differences; and one reverse pass that trains a U-Net's
 * time derivative — all on the wasm backend, which has no Conv2DBackpropFilter kernel. Dropout:
 * its masks (keep fraction, scale), one mask for value and tangents, the masked ResBlock and U-Net
 * against central differences of the same masked function, eval mode ≡ no dropout, gradients.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  activateImageJet,
  avgPool2x,
  Conv2d,
  conv2dIm2col,
  conv2dSame,
  Dropout,
  dropoutMask,
  GroupNorm,
  getActivation,
  ImageJet,
  initBackend,
  Jet,
  ResBlock,
  Rng,
  SelfAttention,
  SinusoidalEmbedding,
  setTraining,
  UNet,
  upsampleNearest2x,
} from '../src/index.js';
import {
  add64,
  attention64,
  avgPool64,
  conv64,
  groupNorm64,
  type Img64,
  img,
  pathDerivatives,
  silu64,
  upsample64,
} from './helpers/image64.js';
import { closeness } from './helpers/reference64.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const T0 = 0.3;
type Shape = [number, number, number, number];

/** A random quadratic path x(t) = a + b t + c t² of images. */
function path(shape: Shape, seed: number) {
  const rng = new Rng(seed);
  const n = shape.reduce((p, v) => p * v, 1);
  const [a, b, c] = [0, 1, 2].map(() => Float64Array.from(rng.normalArray(n)));
  const at = (t: number): Img64 =>
    img(
      shape,
      a.map((v, i) => v + b[i] * t + c[i] * t * t),
    );
  const jet = (order: 0 | 1 | 2) =>
    ImageJet.fromParts(
      tf.tensor4d(Float32Array.from(at(T0).data), shape),
      order,
      tf.tensor4d(Float32Array.from(b.map((v, i) => v + 2 * c[i] * T0)), shape),
      tf.tensor4d(Float32Array.from(c.map((v) => 2 * v)), shape),
    );
  return { at, jet };
}

/** Compare a layer's jet (order 2) with central differences of its float64 reference along the path. */
function expectTangents(shape: Shape, seed: number, layer: (j: ImageJet) => ImageJet, ref: (x: Img64) => Img64, tol = 1) {
  const p = path(shape, seed);
  const blocks = blocksOf(() => layer(p.jet(2)));
  const [v, d1, d2] = pathDerivatives((t) => ref(p.at(t)).data, T0);
  expect(closeness(blocks[0], v, 1e-4, 1e-4)).toBeLessThan(tol);
  expect(closeness(blocks[1], d1, 1e-3, 1e-3)).toBeLessThan(tol);
  expect(closeness(blocks[2], d2, 5e-3, 5e-3)).toBeLessThan(tol);
  // Orders 0 and 1 give the same leading blocks.
  for (const order of [0, 1] as const) {
    const lower = blocksOf(() => layer(p.jet(order)));
    for (let k = 0; k <= order; k++) expect(closeness(lower[k], blocks[k], 1e-6, 1e-5)).toBeLessThan(1);
  }
}

const values = (v: tf.Variable) => Float64Array.from(v.dataSync());

/** The blocks of a jet as float64 arrays (tensors freed). */
function blocksOf(make: () => ImageJet): Float64Array[] {
  const parts = tf.tidy(() => make().parts());
  const out = parts.map((b) => Float64Array.from(b.dataSync()));
  tf.dispose(parts);
  return out;
}

/** An activated time embedding along t, temb(t) = u + v t + w t² per image ([B, dim] rows), and its jet at T0. */
function tembPath(seed: number, batch: number, dim: number) {
  const rng = new Rng(seed);
  const [u, v, w] = [0, 1, 2].map(() => Float64Array.from(rng.normalArray(batch * dim)));
  const at = (t: number) => u.map((x, i) => x + v[i] * t + w[i] * t * t);
  const f32 = (a: Float64Array) => tf.tensor2d(Float32Array.from(a), [batch, dim]);
  const jet = () => Jet.fromParts(f32(at(T0)), 2, f32(v.map((x, i) => x + 2 * w[i] * T0)), f32(w.map((x) => 2 * x)));
  return { at, jet };
}

/**
 * The float64 reference of a ResBlock without FiLM (its weights read from `block`) on images x
 * with activated temb rows: conv2(m ⊙ SiLU(GN(conv1(SiLU(GN(x))) + Dense(temb)))) + skip(x), with
 * the dropout mask m [B, H, W, cout] (row-major) when given.
 */
function resBlock64(block: ResBlock, x: Img64, temb: Float64Array, mask?: ArrayLike<number>): Float64Array {
  const { outChannels: cout, timeDim, groups } = block.options;
  const params = block.parameters();
  const P = (k: string) => values(params.get(k) as tf.Variable);
  const pixels = x.shape[1] * x.shape[2];
  let h = conv64(silu64(groupNorm64(x, groups, P('norm1.weight'), P('norm1.bias'))), P('conv1.kernel'), 3, cout, P('conv1.bias'));
  const tw = P('time.weight');
  const tb = P('time.bias');
  h = img(
    h.shape,
    h.data.map((val, i) => {
      const n = Math.floor(i / (pixels * cout));
      const o = i % cout;
      let s = tb[o];
      for (let q = 0; q < timeDim; q++) s += temb[n * timeDim + q] * tw[q * cout + o];
      return val + s;
    }),
  );
  const a = silu64(groupNorm64(h, groups, P('norm2.weight'), P('norm2.bias')));
  const dropped = mask
    ? img(
        a.shape,
        a.data.map((v, i) => v * mask[i]),
      )
    : a;
  h = conv64(dropped, P('conv2.kernel'), 3, cout, P('conv2.bias'));
  const skip = block.skip ? conv64(x, P('skip.kernel'), 1, cout, P('skip.bias')) : x;
  return add64(skip, h).data;
}

/** Give every parameter of a module random values (zero-initialised layers would test nothing). */
function randomize(params: Map<string, tf.Variable>, seed: number, scale = 0.3): void {
  const rng = new Rng(seed);
  for (const v of params.values()) if (v.trainable) v.assign(tf.tensor(rng.normalArray(v.size, 0, scale), v.shape));
}

describe('image layers: tangents against float64 central differences', () => {
  for (const [k, stride] of [
    [3, 1],
    [3, 2],
    [1, 1],
  ] as const) {
    it(`conv ${k}×${k} stride ${stride}`, () => {
      const conv = new Conv2d({ inChannels: 3, outChannels: 4, kernel: k, stride, rng: new Rng(1) });
      expectTangents(
        [2, 5, 6, 3],
        2,
        (j) => conv.jet(j),
        (x) => conv64(x, values(conv.kernel), k, 4, values(conv.bias), stride),
      );
      conv.dispose();
    });
  }

  it('GroupNorm (4 groups of 2 channels)', () => {
    const gn = new GroupNorm({ channels: 8, groups: 4 });
    randomize(gn.parameters(), 3, 1);
    expectTangents(
      [2, 3, 4, 8],
      4,
      (j) => gn.jet(j),
      (x) => groupNorm64(x, 4, values(gn.weight), values(gn.bias)),
    );
    gn.dispose();
  });

  it('SiLU, nearest ×2 up-sampling and 2×2 average pooling', () => {
    const silu = getActivation('silu');
    expectTangents([2, 3, 3, 2], 5, (j) => activateImageJet(j, silu), silu64);
    expectTangents([1, 3, 2, 2], 6, (j) => j.map(upsampleNearest2x), upsample64);
    expectTangents([1, 4, 6, 2], 7, (j) => j.map(avgPool2x), avgPool64);
  });

  it('single-head self-attention (softmax and bilinear jets)', () => {
    const attn = new SelfAttention({ channels: 4, groups: 2, rng: new Rng(8) });
    randomize(attn.parameters(), 9, 0.5);
    const ref = (x: Img64) =>
      attention64(x, {
        groups: 2,
        gamma: values(attn.norm.weight),
        beta: values(attn.norm.bias),
        qkv: values(attn.qkv.kernel),
        qkvBias: values(attn.qkv.bias),
        proj: values(attn.proj.kernel),
        projBias: values(attn.proj.bias),
      });
    expectTangents([2, 3, 3, 4], 10, (j) => attn.jet(j), ref);
    attn.dispose();
  });

  it('ResBlock with a time-embedding path (channel change: 1×1 skip)', () => {
    const block = new ResBlock({ inChannels: 4, outChannels: 6, timeDim: 3, groups: 2, rng: new Rng(11) });
    randomize(block.parameters(), 12);
    const temb = tembPath(13, 2, 3);
    const p = path([2, 4, 4, 4], 14);
    const blocks = blocksOf(() => block.jet(p.jet(2), temb.jet()));
    const [r0, r1, r2] = pathDerivatives((t) => resBlock64(block, p.at(t), temb.at(t)), T0);
    expect(closeness(blocks[0], r0, 1e-4, 1e-4)).toBeLessThan(1);
    expect(closeness(blocks[1], r1, 1e-3, 1e-3)).toBeLessThan(1);
    expect(closeness(blocks[2], r2, 5e-3, 5e-3)).toBeLessThan(1);
    block.dispose();
  });
});

describe('ResBlock with scale-shift (FiLM) time conditioning', () => {
  it('value and tangents against float64 central differences', () => {
    const block = new ResBlock({ inChannels: 4, outChannels: 4, timeDim: 3, groups: 2, scaleShift: true, rng: new Rng(31) });
    randomize(block.parameters(), 32);
    const rng = new Rng(33);
    const [u, v, w] = [0, 1, 2].map(() => Float64Array.from(rng.normalArray(2 * 3)));
    const tembAt = (t: number) => u.map((x, i) => x + v[i] * t + w[i] * t * t);
    const f32 = (a: Float64Array) => tf.tensor2d(Float32Array.from(a), [2, 3]);
    const tembJet = () => Jet.fromParts(f32(tembAt(T0)), 2, f32(v.map((x, i) => x + 2 * w[i] * T0)), f32(w.map((x) => 2 * x)));
    const p = path([2, 3, 3, 4], 34);
    const blocks = blocksOf(() => block.jet(p.jet(2), tembJet()));
    const params = block.parameters();
    const P = (k: string) => values(params.get(k) as tf.Variable);
    const ref = (t: number) => {
      const x = p.at(t);
      const h = conv64(silu64(groupNorm64(x, 2, P('norm1.weight'), P('norm1.bias'))), P('conv1.kernel'), 3, 4, P('conv1.bias'));
      const temb = tembAt(t);
      const tw = P('time.weight');
      const tb = P('time.bias');
      const proj = (n: number, o: number) => {
        let s = tb[o];
        for (let q = 0; q < 3; q++) s += temb[n * 3 + q] * tw[q * 8 + o];
        return s;
      };
      const g = groupNorm64(h, 2, P('norm2.weight'), P('norm2.bias'));
      const film = img(
        g.shape,
        g.data.map((val, i) => {
          const n = Math.floor(i / (9 * 4));
          const c = i % 4;
          return val * (1 + proj(n, c)) + proj(n, 4 + c);
        }),
      );
      return add64(x, conv64(silu64(film), P('conv2.kernel'), 3, 4, P('conv2.bias'))).data;
    };
    const [r0, r1, r2] = pathDerivatives(ref, T0);
    expect(closeness(blocks[0], r0, 1e-4, 1e-4)).toBeLessThan(1);
    expect(closeness(blocks[1], r1, 1e-3, 1e-3)).toBeLessThan(1);
    expect(closeness(blocks[2], r2, 5e-3, 5e-3)).toBeLessThan(1);
    block.dispose();
  });
});

describe('dropout', () => {
  /** Exact equality of two arrays, reading −0 as 0. */
  const same = (a: ArrayLike<number>, b: ArrayLike<number>) => expect(Array.from(a, (v) => v + 0)).toEqual(Array.from(b, (v) => v + 0));

  it('masks: entries 1/(1 − p) with probability 1 − p (mean 1), else 0; seeded; rate 0 keeps all; bad rates refused', () => {
    const n = 200_000;
    for (const p of [0.1, 0.3, 0.7]) {
      const mask = dropoutMask(new Rng(40), [n], p);
      const a = mask.dataSync();
      const scale = Math.fround(1 / (1 - p));
      let kept = 0;
      let other = 0;
      let sum = 0;
      for (const v of a) {
        if (v === scale) kept++;
        else if (v !== 0) other++;
        sum += v;
      }
      expect(other).toBe(0);
      // Binomial keep count and mean of m (variance p/(1 − p)): within 5 standard errors.
      expect(Math.abs(kept / n - (1 - p))).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / n));
      expect(Math.abs(sum / n - 1)).toBeLessThan(5 * Math.sqrt(p / (1 - p) / n));
      same(dropoutMask(new Rng(40), [n], p).dataSync(), a);
      expect(Array.from(dropoutMask(new Rng(41), [64], p).dataSync())).not.toEqual(Array.from(a.slice(0, 64)));
      mask.dispose();
    }
    same(dropoutMask(new Rng(40), [100], 0).dataSync(), new Float32Array(100).fill(1));
    for (const bad of [-0.1, 1, Number.NaN]) {
      expect(() => dropoutMask(new Rng(1), [4], bad)).toThrow(/dropout rate must lie in \[0, 1\)/);
      expect(() => new Dropout(bad)).toThrow(/dropout rate must lie in \[0, 1\)/);
    }
  });

  it('one mask multiplies the value and every tangent block; a fresh mask per call; identity in eval mode', () => {
    const layer = new Dropout(0.5);
    const ones = tf.ones([3, 2, 4, 5]) as tf.Tensor4D;
    const input = () => ImageJet.fromParts(ones, 2, tf.mul(ones, 2) as tf.Tensor4D, tf.mul(ones, -3) as tf.Tensor4D);
    const plain = blocksOf(input);
    expect(layer.training).toBe(false);
    const evaluated = blocksOf(() => layer.jet(input()));
    for (let k = 0; k < 3; k++) same(evaluated[k], plain[k]);
    setTraining(layer, new Rng(42));
    expect(layer.training).toBe(true);
    const [v, d1, d2] = blocksOf(() => layer.jet(input()));
    same(v, dropoutMask(new Rng(42), [3, 2, 4, 5], 0.5).dataSync());
    expect(new Set(v)).toEqual(new Set([0, 2]));
    same(
      d1,
      v.map((m) => 2 * m),
    );
    same(
      d2,
      v.map((m) => -3 * m),
    );
    expect(Array.from(blocksOf(() => layer.jet(input()))[0])).not.toEqual(Array.from(v));
    setTraining(layer, new Rng(42));
    same(blocksOf(() => layer.jet(ImageJet.constant(ones, 0)))[0], v); // order 0 draws the same mask
    setTraining(layer, null);
    same(blocksOf(() => layer.jet(input()))[0], plain[0]);
    ones.dispose();
  });

  it('ResBlock in training mode: the masked block against float64 central differences; eval mode is the block without dropout', () => {
    const block = new ResBlock({ inChannels: 4, outChannels: 6, timeDim: 3, groups: 2, dropout: 0.4, rng: new Rng(11) });
    randomize(block.parameters(), 12);
    const temb = tembPath(13, 2, 3);
    const p = path([2, 4, 4, 4], 14);
    setTraining(block, new Rng(15));
    const blocks = blocksOf(() => block.jet(p.jet(2), temb.jet()));
    const maskTensor = dropoutMask(new Rng(15), [2, 4, 4, 6], 0.4);
    const mask = Float64Array.from(maskTensor.dataSync());
    maskTensor.dispose();
    expect(mask.filter((m) => m === 0).length).toBeGreaterThan(0);
    const [r0, r1, r2] = pathDerivatives((t) => resBlock64(block, p.at(t), temb.at(t), mask), T0);
    expect(closeness(blocks[0], r0, 1e-4, 1e-4)).toBeLessThan(1);
    expect(closeness(blocks[1], r1, 1e-3, 1e-3)).toBeLessThan(1);
    expect(closeness(blocks[2], r2, 5e-3, 5e-3)).toBeLessThan(1);
    setTraining(block, null);
    const evaluated = blocksOf(() => block.jet(p.jet(2), temb.jet()));
    const [e0, e1, e2] = pathDerivatives((t) => resBlock64(block, p.at(t), temb.at(t)), T0);
    expect(closeness(evaluated[0], e0, 1e-4, 1e-4)).toBeLessThan(1);
    expect(closeness(evaluated[1], e1, 1e-3, 1e-3)).toBeLessThan(1);
    expect(closeness(evaluated[2], e2, 5e-3, 5e-3)).toBeLessThan(1);
    expect(closeness(blocks[0], e0, 1e-2, 1e-2)).toBeGreaterThan(1); // the masks did change the block
    block.dispose();
  });
});

describe('convolution: the backend kernel with a custom gradient equals im2col + matMul', () => {
  for (const [k, stride] of [
    [3, 1],
    [3, 2],
    [1, 1],
  ] as const) {
    it(`${k}×${k} stride ${stride}: values, ∂/∂x and ∂/∂kernel`, () => {
      const rng = new Rng(20 + k + stride);
      const x = tf.tensor4d(rng.normalArray(2 * 6 * 5 * 3), [2, 6, 5, 3]);
      const w = tf.tensor4d(rng.normalArray(k * k * 3 * 4), [k, k, 3, 4]);
      const probe = (y: tf.Tensor) => tf.sum(tf.mul(y, tf.sin(tf.range(0, y.size).reshape(y.shape))));
      const [vA, gA] = tf.tidy(() => [
        conv2dSame(x, w, stride),
        tf.grads((a: tf.Tensor, b: tf.Tensor) => probe(conv2dSame(a as tf.Tensor4D, b as tf.Tensor4D, stride)))([x, w]),
      ]);
      const [vB, gB] = tf.tidy(() => [
        conv2dIm2col(x, w, stride),
        tf.grads((a: tf.Tensor, b: tf.Tensor) => probe(conv2dIm2col(a as tf.Tensor4D, b as tf.Tensor4D, stride)))([x, w]),
      ]);
      expect(
        closeness(Float64Array.from((vA as tf.Tensor).dataSync()), Float64Array.from((vB as tf.Tensor).dataSync()), 1e-5, 1e-5),
      ).toBeLessThan(1);
      for (let i = 0; i < 2; i++) {
        const a = (gA as tf.Tensor[])[i].dataSync();
        const b = (gB as tf.Tensor[])[i].dataSync();
        expect(closeness(Float64Array.from(a), Float64Array.from(b), 1e-4, 1e-5)).toBeLessThan(1);
      }
      tf.dispose([x, w, vA, vB, gA, gB] as tf.TensorContainer);
    });
  }
});

describe('U-Net', () => {
  const small = (layout: 'adm' | 'compact', dropout = 0) =>
    new UNet({
      height: 8,
      width: 8,
      inChannels: 1,
      outChannels: 2,
      base: 4,
      multipliers: [1, 2],
      groups: 2,
      attentionResolutions: layout === 'adm' ? [4] : [],
      layout,
      dropout,
      // Low frequencies: finite differences in float32 cannot follow ADM's sin(1000 t).
      embedding: new SinusoidalEmbedding({ dim: 4, minFrequency: 0.5, maxFrequency: 3 }),
      rng: 1,
    });

  for (const layout of ['adm', 'compact'] as const) {
    it(`${layout}: ∂U/∂t and ∂²U/∂t² equal central differences in t; U ≡ 0 at initialisation`, () => {
      const net = small(layout);
      const x = tf.tensor4d(new Rng(2).normalArray(2 * 64), [2, 8, 8, 1]);
      const zero = tf.tidy(() => tf.max(tf.abs(net.apply(x, tf.fill([2, 1], 0.4)))).dataSync()[0]);
      expect(zero).toBe(0);
      randomize(net.parameters(), 3, 0.2);
      const at = (t: number) => blocksOf(() => new ImageJet(net.apply(x, tf.fill([2, 1], t) as tf.Tensor2D), 0))[0];
      const jet = blocksOf(() => net.jet(x, tf.fill([2, 1], 0.4) as tf.Tensor2D, 2));
      const [v, d1, d2] = pathDerivatives(at, 0.4, 2e-2); // a float32 network: a wide step
      expect(closeness(jet[0], v, 1e-5, 1e-5)).toBeLessThan(1);
      expect(closeness(jet[1], d1, 2e-3, 2e-3)).toBeLessThan(1);
      expect(closeness(jet[2], d2, 2e-2, 2e-2)).toBeLessThan(1);
      x.dispose();
      net.dispose();
    });
  }

  it('parameter gradients through the tangents equal finite differences, and one reverse pass trains ∂U/∂t', () => {
    const net = small('adm');
    randomize(net.parameters(), 4, 0.2);
    const x = tf.tensor4d(new Rng(5).normalArray(2 * 64), [2, 8, 8, 1]);
    const t = tf.tensor2d([[0.3], [0.7]]);
    const target = tf.tensor4d(new Rng(6).normalArray(2 * 64 * 2, 0, 0.5), [2, 8, 8, 2]);
    const loss = () =>
      tf.tidy(() => {
        const [, d1] = net.jet(x, t, 1).parts();
        return tf.mean(tf.square(tf.sub(d1, target))) as tf.Scalar;
      });
    const params = net.parameters();
    const variables = [...params.values()].filter((v) => v.trainable);
    const { grads } = tf.variableGrads(loss, variables);
    for (const name of ['in.kernel', 'down.0.0.conv1.kernel', 'mid.attn.qkv.kernel', 'up.0.1.norm1.weight', 'time.layers.0.weight']) {
      const v = params.get(name);
      if (!v) throw new Error(`no parameter ${name}`);
      const g = grads[v.name].dataSync();
      const i = 1 % v.size;
      const base = v.dataSync().slice();
      const eps = 1e-2;
      const bump = (d: number) => {
        const next = base.slice();
        next[i] += d;
        v.assign(tf.tensor(next, v.shape));
        return loss().dataSync()[0];
      };
      const fd = (bump(eps) - bump(-eps)) / (2 * eps);
      v.assign(tf.tensor(base, v.shape));
      expect(Math.abs(g[i] - fd)).toBeLessThan(2e-2 * Math.abs(fd) + 2e-3);
    }
    tf.dispose(Object.values(grads));
    const optimizer = tf.train.adam(1e-2);
    const first = loss().dataSync()[0];
    for (let k = 0; k < 30; k++) optimizer.minimize(loss, false, variables);
    expect(loss().dataSync()[0]).toBeLessThan(0.5 * first);
    optimizer.dispose();
    tf.dispose([x, t, target]);
    net.dispose();
  }, 120_000);

  it('refuses sizes that do not halve evenly, and inputs of the wrong shape', () => {
    expect(() => new UNet({ height: 7, width: 7, inChannels: 1, outChannels: 1, base: 4, multipliers: [1, 2], groups: 2 })).toThrow(
      /halve evenly/,
    );
    const net = small('compact');
    expect(() => net.apply(tf.zeros([1, 4, 4, 1]) as tf.Tensor4D, tf.zeros([1, 1]) as tf.Tensor2D)).toThrow(
      /UNet expects x \[1, 8, 8, 1\]/,
    );
    net.dispose();
  });

  describe('with dropout', () => {
    const x = () => tf.tensor4d(new Rng(2).normalArray(2 * 64), [2, 8, 8, 1]);
    const time = (t: number) => tf.fill([2, 1], t) as tf.Tensor2D;
    /** The jet (order 2) at t = 0.4, after `mode` sets the network's mode. */
    const jetOf = (net: UNet, mode?: () => void) => {
      mode?.();
      return blocksOf(() => net.jet(x(), time(0.4), 2));
    };

    it('eval mode (the default, and after training mode) is the U-Net without dropout, exactly; rate 0 draws nothing', () => {
      const plain = small('adm');
      const dropped = small('adm', 0.5);
      randomize(plain.parameters(), 50, 0.2);
      randomize(dropped.parameters(), 50, 0.2);
      const ref = jetOf(plain);
      expect(jetOf(dropped)).toEqual(ref);
      const trained = jetOf(dropped, () => setTraining(dropped, new Rng(51)));
      expect(closeness(trained[0], ref[0], 1e-3, 1e-3)).toBeGreaterThan(1);
      expect(closeness(trained[1], ref[1], 1e-3, 1e-3)).toBeGreaterThan(1);
      expect(jetOf(dropped, () => setTraining(dropped, null))).toEqual(ref);
      const rng = new Rng(52);
      const before = rng.state();
      expect(jetOf(plain, () => setTraining(plain, rng))).toEqual(ref);
      expect(rng.state()).toEqual(before);
      expect(() => small('adm', 1)).toThrow(/dropout rate must lie in \[0, 1\), got 1/);
      plain.dispose();
      dropped.dispose();
    });

    it('training mode with a fixed mask seed: ∂U/∂t and ∂²U/∂t² equal central differences in t of the same masked U-Net', () => {
      const net = small('adm', 0.3);
      randomize(net.parameters(), 53, 0.2);
      const masked = () => setTraining(net, new Rng(54));
      const at = (t: number) => {
        masked();
        return blocksOf(() => new ImageJet(net.apply(x(), time(t)), 0))[0];
      };
      const jet = jetOf(net, masked);
      const [v, d1, d2] = pathDerivatives(at, 0.4, 2e-2);
      expect(closeness(jet[0], v, 1e-5, 1e-5)).toBeLessThan(1); // orders 0 and 2 draw the same masks
      expect(closeness(jet[1], d1, 2e-3, 2e-3)).toBeLessThan(1);
      expect(closeness(jet[2], d2, 2e-2, 2e-2)).toBeLessThan(1);
      const evaluated = jetOf(net, () => setTraining(net, null));
      expect(closeness(jet[1], evaluated[1], 1e-3, 1e-3)).toBeGreaterThan(1);
      net.dispose();
    });

    it('training mode: parameter gradients through the masked tangents equal finite differences of the masked loss', () => {
      const net = small('adm', 0.3);
      randomize(net.parameters(), 55, 0.2);
      const input = x();
      const t = tf.tensor2d([[0.3], [0.7]]);
      const target = tf.tensor4d(new Rng(6).normalArray(2 * 64 * 2, 0, 0.5), [2, 8, 8, 2]);
      /** ∂U/∂t under the same masks at every evaluation. */
      const tangent = () =>
        tf.tidy(() => {
          setTraining(net, new Rng(56));
          return net.jet(input, t, 1).parts()[1];
        });
      // A sum (gradients of order 0.1); the finite differences read it in float64.
      const loss = () => tf.tidy(() => tf.sum(tf.square(tf.sub(tangent(), target))) as tf.Scalar);
      const goal = target.dataSync();
      const loss64 = () => {
        const d1 = tangent();
        const values = Float64Array.from(d1.dataSync());
        d1.dispose();
        return values.reduce((sum, v, k) => sum + (v - goal[k]) ** 2, 0);
      };
      const params = net.parameters();
      const variables = [...params.values()].filter((v) => v.trainable);
      const { grads } = tf.variableGrads(loss, variables);
      for (const name of ['down.0.0.conv2.kernel', 'mid.1.conv2.kernel', 'up.0.1.conv1.kernel', 'time.layers.0.weight']) {
        const v = params.get(name);
        if (!v) throw new Error(`no parameter ${name}`);
        const g = Float64Array.from(grads[v.name].dataSync());
        const i = g.reduce((best, gi, k) => (Math.abs(gi) > Math.abs(g[best]) ? k : best), 0); // the largest entry
        const base = v.dataSync().slice();
        const eps = 1e-2;
        const bump = (d: number) => {
          const next = base.slice();
          next[i] += d;
          v.assign(tf.tensor(next, v.shape));
          return loss64();
        };
        const fd = (bump(eps) - bump(-eps)) / (2 * eps);
        v.assign(tf.tensor(base, v.shape));
        // Finite differences of the masked loss: a gradient that ignored the masks would not match.
        expect(Math.abs(fd)).toBeGreaterThan(1e-2);
        expect(Math.abs(g[i] - fd)).toBeLessThan(5e-3 * Math.abs(fd) + 1e-4);
      }
      tf.dispose(Object.values(grads));
      tf.dispose([input, t, target]);
      net.dispose();
    }, 60_000);
  });
});
