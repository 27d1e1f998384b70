/**
 * The native convolution kernels (@nfdm/native's conv2dForward / conv2dBackward, used by
 * conv2dSame, Conv2d.apply and Conv2d.jet) against the tfjs path and the im2col reference:
 * values, ∂x, ∂kernel and ∂bias for k 1 and 3, stride 1 and 2, odd and even sizes and several
 * channel counts (one and two vector panels, partial panels); the bias on the value block of a
 * jet only; parameter and input gradients of a nonlinear loss against float64 central differences
 * of a float64 convolution; and that the switch really routes (status, describeBackend, kernel
 * counts). The addon MUST be built here (`npm run build -w @nfdm/native`): these tests fail,
 * they do not skip, when it does not load.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Conv2d,
  conv2dIm2col,
  conv2dSame,
  conv2dSameTfjs,
  describeBackend,
  describeNativeKernels,
  ImageJet,
  initBackend,
  nativeConv2d,
  nativeKernelsStatus,
  Rng,
  setNativeKernels,
} from '../src/index.js';
import { conv64, img } from './helpers/image64.js';
import { relErr, requireNative } from './helpers/native.js';

beforeAll(async () => {
  await initBackend('wasm');
});
afterAll(() => {
  setNativeKernels(undefined);
});

type Shape = [number, number, number, number];
const TOL = 2e-5;

/** Values and ∂/∂(x, kernel) of Σ conv(x) ⊙ R under `conv`. */
function valueAndGrads(conv: (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D, x: tf.Tensor4D, w: tf.Tensor4D, R: tf.Tensor) {
  return tf.tidy(() => {
    const y = conv(x, w);
    const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv(a as tf.Tensor4D, b as tf.Tensor4D), R)))([x, w]);
    return { y: y.dataSync() as Float32Array, gx: gx.dataSync() as Float32Array, gw: gw.dataSync() as Float32Array };
  });
}

describe('native convolution kernels', () => {
  it('are on with the addon, reported by nativeKernelsStatus and describeBackend', () => {
    requireNative('conv2d');
    expect(nativeKernelsStatus()).toMatchObject({ enabled: true, conv2d: true, reason: null });
    expect(describeBackend()).toMatch(/native conv2d kernels: on/);
    expect(setNativeKernels(false)).toMatchObject({ enabled: false, conv2d: false });
    // describeBackend() shows the report taken at initBackend(); describeNativeKernels() the current state.
    expect(describeNativeKernels()).toMatch(/native conv2d kernels: off \(disabled by setNativeKernels\(false\)\)/);
    setNativeKernels(true);
  });

  it('the switch routes Conv2d.jet and conv2dSame: one op natively, the tfjs kernels when off', async () => {
    requireNative('conv2d');
    const conv = new Conv2d({ inChannels: 3, outChannels: 4, rng: new Rng(1) });
    const x = tf.ones([2, 5, 5, 3]) as tf.Tensor4D;
    const kernels = async (f: () => tf.Tensor) => (await tf.profile(() => f().dispose())).kernels.map((k) => k.name);
    const jet = () => conv.jet(new ImageJet(x, 1)).data;
    const bare = () => conv2dSame(x, conv.kernel, 2);
    // Under a tape (the training path) too: the custom op records no tfjs kernels of its own.
    const taped = () => tf.variableGrads(() => tf.sum(conv.jet(new ImageJet(x, 1)).data) as tf.Scalar).value;
    const nativeRuns = [await kernels(jet), await kernels(bare), await kernels(taped)];
    setNativeKernels(false);
    const tfjsRuns = [await kernels(jet), await kernels(bare), await kernels(taped)];
    setNativeKernels(true);
    for (const names of nativeRuns) expect(names).not.toContain('Conv2D');
    expect(nativeRuns[0].length).toBeLessThanOrEqual(1);
    expect(nativeRuns[1].length).toBeLessThanOrEqual(1);
    for (const names of tfjsRuns) expect(names).toContain('Conv2D');
    expect(tfjsRuns[0].length).toBeGreaterThan(2); // conv + the value-block bias add
    conv.dispose();
    x.dispose();
  });

  describe('values, ∂x and ∂kernel equal the tfjs path and im2col', () => {
    const cases: Array<{ shape: Shape; cout: number; k: 1 | 3; stride: 1 | 2 }> = [];
    for (const k of [1, 3] as const)
      for (const stride of [1, 2] as const)
        for (const [shape, cout] of [
          [[2, 6, 6, 3], 4],
          [[3, 7, 5, 16], 16],
          [[2, 9, 8, 8], 33],
          [[1, 5, 7, 20], 48],
          [[2, 4, 4, 1], 16],
          // Few output channels (the dot-product kernel), with a channel tail: and ∂x of 1→16 above.
          [[3, 7, 5, 16], 2],
          [[2, 6, 6, 20], 3],
          [[2, 5, 5, 33], 1],
        ] as Array<[Shape, number]>)
          cases.push({ shape, cout, k, stride });
    for (const { shape, cout, k, stride } of cases) {
      it(`${k}×${k} stride ${stride}, x [${shape}] → ${cout} channels`, () => {
        requireNative('conv2d');
        const rng = new Rng(shape[1] * 100 + cout + k + stride);
        const x = tf.tensor4d(rng.normalArray(shape.reduce((a, b) => a * b, 1)), shape);
        const w = tf.tensor4d(rng.normalArray(k * k * shape[3] * cout), [k, k, shape[3], cout]);
        const outShape = [shape[0], Math.ceil(shape[1] / stride), Math.ceil(shape[2] / stride), cout];
        const R = tf.tensor(rng.normalArray(outShape.reduce((a, b) => a * b, 1)), outShape);
        const native = valueAndGrads((a, b) => nativeConv2d(a, b, null, stride) as tf.Tensor4D, x, w, R);
        const viaSame = valueAndGrads((a, b) => conv2dSame(a, b, stride), x, w, R);
        const tfjs = valueAndGrads((a, b) => conv2dSameTfjs(a, b, stride), x, w, R);
        const ref = valueAndGrads((a, b) => conv2dIm2col(a, b, stride), x, w, R);
        for (const [name, a, b] of [
          ['native vs tfjs', native, tfjs],
          ['native vs im2col', native, ref],
          ['conv2dSame (native) vs tfjs', viaSame, tfjs],
        ] as const) {
          expect(relErr(a.y, b.y), `${name}: values`).toBeLessThan(TOL);
          expect(relErr(a.gx, b.gx), `${name}: ∂x`).toBeLessThan(TOL);
          expect(relErr(a.gw, b.gw), `${name}: ∂kernel`).toBeLessThan(TOL);
        }
        tf.dispose([x, w, R]);
      });
    }
  });

  describe('Conv2d.jet: the bias on the value block only, every gradient equal to the tfjs path', () => {
    for (const [order, k, stride] of [
      [0, 3, 1],
      [1, 3, 1],
      [2, 3, 2],
      [1, 1, 1],
    ] as const) {
      it(`order ${order}, ${k}×${k} stride ${stride}`, () => {
        requireNative('conv2d');
        const rng = new Rng(40 + order + k + stride);
        const conv = new Conv2d({ inChannels: 12, outChannels: 20, kernel: k, stride, rng });
        const B = 3;
        const shape: Shape = [(order + 1) * B, 6, 5, 12];
        const x = tf.variable(tf.tensor4d(rng.normalArray(shape.reduce((a, b) => a * b, 1)), shape), true);
        const outShape = [shape[0], Math.ceil(6 / stride), Math.ceil(5 / stride), 20];
        const R = tf.tensor(rng.normalArray(outShape.reduce((a, b) => a * b, 1)), outShape);
        const vars = [x, conv.kernel, conv.bias] as tf.Variable[];
        const run = (native: boolean) => {
          setNativeKernels(native);
          return tf.tidy(() => {
            const y = conv.jet(new ImageJet(x as unknown as tf.Tensor4D, order)).data;
            const { grads } = tf.variableGrads(
              () => tf.sum(tf.mul(conv.jet(new ImageJet(x as unknown as tf.Tensor4D, order)).data, R)) as tf.Scalar,
              vars,
            );
            return { y: y.dataSync() as Float32Array, grads: vars.map((v) => grads[v.name].dataSync() as Float32Array) };
          });
        };
        const a = run(true);
        const b = run(false);
        setNativeKernels(true);
        expect(relErr(a.y, b.y)).toBeLessThan(TOL);
        ['∂x', '∂kernel', '∂bias'].forEach((name, i) => {
          expect(relErr(a.grads[i], b.grads[i]), name).toBeLessThan(TOL);
        });
        // The tangent blocks carry no bias: conv of a zero tangent is exactly zero.
        if (order > 0) {
          const zero = tf.tidy(() => {
            const parts = [x.slice([0, 0, 0, 0], [B, -1, -1, -1]), tf.zeros([order * B, 6, 5, 12])];
            return conv
              .jet(new ImageJet(tf.concat(parts, 0) as tf.Tensor4D, order))
              .data.slice([B, 0, 0, 0])
              .dataSync();
          });
          expect(Math.max(...Array.from(zero, Math.abs))).toBe(0);
        }
        conv.dispose();
        tf.dispose([x, R]);
      });
    }

    it('Conv2d.apply (bias on every image) equals the tfjs path', () => {
      requireNative('conv2d');
      const conv = new Conv2d({ inChannels: 5, outChannels: 7, rng: new Rng(3) });
      const x = tf.tensor4d(new Rng(4).normalArray(2 * 5 * 6 * 5), [2, 5, 6, 5]);
      const a = tf.tidy(() => conv.apply(x).dataSync());
      setNativeKernels(false);
      const b = tf.tidy(() => conv.apply(x).dataSync());
      setNativeKernels(true);
      expect(relErr(a, b)).toBeLessThan(TOL);
      conv.dispose();
      x.dispose();
    });
  });

  describe('∂L/∂(x, kernel, bias) on the native path equals float64 central differences', () => {
    // L = Σ R ⊙ y + ½ Σ y², y = Conv2d.jet of an order-1 jet (bias on the value block).
    for (const [k, stride] of [
      [3, 1],
      [3, 2],
      [1, 1],
    ] as const) {
      it(`${k}×${k} stride ${stride}`, () => {
        requireNative('conv2d');
        const rng = new Rng(70 + k + stride);
        const cin = 3;
        const cout = 5;
        const shape: Shape = [4, 5, 4, cin]; // order 1, B = 2
        const conv = new Conv2d({ inChannels: cin, outChannels: cout, kernel: k, stride, rng });
        const xv = rng.normalArray(shape.reduce((a, b) => a * b, 1));
        const x = tf.variable(tf.tensor4d(xv, shape), true);
        const outShape: Shape = [4, Math.ceil(5 / stride), Math.ceil(4 / stride), cout];
        const Rv = rng.normalArray(outShape.reduce((a, b) => a * b, 1));
        const R = tf.tensor(Rv, outShape);
        const vars = [x, conv.kernel, conv.bias] as tf.Variable[];
        const grads = tf.tidy(() => {
          const { grads: g } = tf.variableGrads(() => {
            const y = conv.jet(new ImageJet(x as unknown as tf.Tensor4D, 1)).data;
            return tf.add(tf.sum(tf.mul(y, R)), tf.mul(0.5, tf.sum(tf.square(y)))) as tf.Scalar;
          }, vars);
          return vars.map((v) => Array.from(g[v.name].dataSync()));
        });
        const params = [Array.from(xv), Array.from(conv.kernel.dataSync()), Array.from(conv.bias.dataSync())];
        const loss64 = () => {
          const zero = new Array(cout).fill(0);
          const value = conv64(img([2, 5, 4, cin], params[0].slice(0, xv.length / 2)), params[1], k, cout, params[2], stride);
          const tangent = conv64(img([2, 5, 4, cin], params[0].slice(xv.length / 2)), params[1], k, cout, zero, stride);
          const y = [...value.data, ...tangent.data];
          return y.reduce((t, v, i) => t + Rv[i] * v + 0.5 * v * v, 0);
        };
        let checked = 0;
        params.forEach((target, pi) => {
          for (let i = 0; i < target.length; i += pi === 0 ? 3 : 1) {
            const saved = target[i];
            const eps = 1e-5;
            target[i] = saved + eps;
            const up = loss64();
            target[i] = saved - eps;
            const down = loss64();
            target[i] = saved;
            const fd = (up - down) / (2 * eps);
            expect(Math.abs(grads[pi][i] - fd), `${['x', 'kernel', 'bias'][pi]}[${i}]: ${grads[pi][i]} vs ${fd}`).toBeLessThan(
              2e-4 + 2e-4 * Math.abs(fd),
            );
            checked++;
          }
        });
        expect(checked).toBeGreaterThan(k * k * cin * cout);
        conv.dispose();
        tf.dispose([x, R]);
      });
    }
  });

  it('ImageJet.concatChannels: one native op (no Concat kernel), values and gradients equal to tf.concat', async () => {
    requireNative('conv2d');
    const rng = new Rng(91);
    const a = tf.variable(tf.tensor4d(rng.normalArray(4 * 3 * 5 * 6), [4, 3, 5, 6]), true);
    const b = tf.variable(tf.tensor4d(rng.normalArray(4 * 3 * 5 * 2), [4, 3, 5, 2]), true);
    const c = tf.variable(tf.tensor4d(rng.normalArray(4 * 3 * 5 * 3), [4, 3, 5, 3]), true);
    const R = rng.normalTensor([4, 3, 5, 11]);
    const vars = [a, b, c] as tf.Variable[];
    const cat = () => ImageJet.concatChannels(vars.map((v) => new ImageJet(v as unknown as tf.Tensor4D, 1))).data;
    const run = (native: boolean) => {
      setNativeKernels(native);
      return tf.tidy(() => {
        const y = cat().dataSync() as Float32Array;
        const { grads } = tf.variableGrads(() => tf.sum(tf.mul(tf.square(cat()), R)) as tf.Scalar, vars);
        return { y, grads: vars.map((v) => grads[v.name].dataSync() as Float32Array) };
      });
    };
    const names = async () => (await tf.profile(() => cat().dispose())).kernels.map((k) => k.name);
    const nativeKernels = await names();
    const x = run(true);
    setNativeKernels(false);
    const tfjsKernels = await names();
    const y = run(false);
    setNativeKernels(true);
    expect(nativeKernels).not.toContain('Concat');
    expect(tfjsKernels).toContain('Concat');
    expect(Array.from(x.y)).toEqual(Array.from(y.y)); // a copy: exact
    x.grads.forEach((g, i) => {
      expect(relErr(g, y.grads[i])).toBeLessThan(TOL);
    });
    tf.dispose([a, b, c, R]);
  });
});
