/**
 * The native GroupNorm jet kernels (@nfdm/native's groupNormJetForward / Backward, used by
 * GroupNorm.jet and GroupNorm.jetFused for orders 0 and 1) against the tfjs path: values, ∂/∂t
 * and every gradient (x, γ, β, the time-embedding shift) with and without SiLU and shift, for
 * several group and channel counts and odd and even sizes; parameter and input gradients of a
 * loss of (v, v′) against float64 central differences; order 2 falls back to tfjs; and the
 * switch really routes. The addon MUST be built (`npm run build -w @nfdm/native`): these tests
 * fail, they do not skip, when it does not load.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Conv2d,
  describeNativeKernels,
  GroupNorm,
  ImageJet,
  initBackend,
  Jet,
  type JetOrder,
  nativeKernelsStatus,
  Rng,
  setNativeKernels,
} from '../src/index.js';
import { groupNorm64, img, silu64 } from './helpers/image64.js';
import { relErr, requireNative } from './helpers/native.js';

beforeAll(async () => {
  await initBackend('wasm');
});
afterAll(() => {
  setNativeKernels(undefined);
});

type Shape = [number, number, number, number];
const TOL = 5e-5;

/** A GroupNorm with random γ (around 1) and β. */
function randomNorm(channels: number, groups: number, rng: Rng): GroupNorm {
  const norm = new GroupNorm({ channels, groups });
  norm.weight.assign(tf.tensor1d(rng.uniformArray(channels, 0.5, 1.5)));
  norm.bias.assign(tf.tensor1d(rng.uniformArray(channels, -0.5, 0.5)));
  return norm;
}

describe('native GroupNorm kernels', () => {
  it('are on with the addon and reported', () => {
    requireNative('groupNorm');
    expect(nativeKernelsStatus()).toMatchObject({ enabled: true, groupNorm: true });
    expect(describeNativeKernels()).toMatch(/native GroupNorm kernels: on/);
    expect(setNativeKernels(false)).toMatchObject({ groupNorm: false });
    expect(describeNativeKernels()).toMatch(/native GroupNorm kernels: off \(disabled by setNativeKernels\(false\)\)/);
    setNativeKernels(true);
  });

  it('the switch routes GroupNorm.jetFused (order 1: one op natively; many tfjs kernels when off; order 2 always tfjs)', async () => {
    requireNative('groupNorm');
    const rng = new Rng(1);
    const norm = randomNorm(8, 4, rng);
    const x1 = tf.tensor4d(rng.normalArray(2 * 2 * 3 * 3 * 8), [4, 3, 3, 8]);
    const x2 = tf.tensor4d(rng.normalArray(3 * 2 * 3 * 3 * 8), [6, 3, 3, 8]);
    const shift = new Jet(rng.normalTensor([4, 8]) as tf.Tensor2D, 1);
    const count = async (f: () => tf.Tensor) => (await tf.profile(() => f().dispose())).kernels.length;
    const fused = () => norm.jetFused(new ImageJet(x1, 1), { shift, silu: true }).data;
    const plain = () => norm.jet(new ImageJet(x1, 1)).data;
    const second = () => norm.jetFused(new ImageJet(x2, 2), { silu: true }).data;
    second().dispose(); // warm up (first calls create cached constants)
    const native = [await count(fused), await count(plain), await count(second)];
    setNativeKernels(false);
    const tfjs = [await count(fused), await count(plain), await count(second)];
    setNativeKernels(true);
    expect(native[0]).toBeLessThanOrEqual(1);
    expect(native[1]).toBeLessThanOrEqual(1);
    expect(tfjs[0]).toBeGreaterThan(10);
    expect(tfjs[1]).toBeGreaterThan(10);
    expect(native[2]).toBe(tfjs[2]); // order 2 has no native kernel
    expect(native[2]).toBeGreaterThan(10);
    norm.dispose();
    tf.dispose([x1, x2, shift.data]);
  });

  describe('values, tangents and every gradient equal the tfjs path', () => {
    const cases: Array<{ shape: [number, number, number]; C: number; G: number; order: JetOrder; silu: boolean; shift: boolean }> = [];
    for (const order of [0, 1] as JetOrder[])
      for (const [silu, shift] of [
        [true, true],
        [true, false],
        [false, false],
        [false, true],
      ])
        for (const [shape, C, G] of [
          [[3, 5, 5], 8, 2],
          [[2, 4, 6], 16, 8],
          [[2, 7, 7], 32, 8],
          [[1, 3, 4], 48, 8],
        ] as Array<[[number, number, number], number, number]>)
          cases.push({ shape, C, G, order, silu, shift });
    for (const { shape, C, G, order, silu, shift } of cases) {
      it(`order ${order}, ${silu ? 'SiLU' : 'no SiLU'}, ${shift ? 'shift' : 'no shift'}, B ${shape[0]}, ${shape[1]}×${shape[2]}×${C}, ${G} groups`, () => {
        requireNative('groupNorm');
        const rng = new Rng(C * 10 + shape[1] + order);
        const norm = randomNorm(C, G, rng);
        const [B, H, W] = shape;
        const full: Shape = [(order + 1) * B, H, W, C];
        const size = full.reduce((a, b) => a * b, 1);
        const x = tf.variable(tf.tensor4d(rng.normalArray(size, 0.5, 2), full), true);
        const s = tf.variable(rng.normalTensor([(order + 1) * B, C]), true);
        const R = tf.tensor4d(rng.normalArray(size), full);
        const vars = [x, norm.weight, norm.bias, ...(shift ? [s] : [])] as tf.Variable[];
        const apply = () =>
          norm.jetFused(new ImageJet(x as unknown as tf.Tensor4D, order), {
            shift: shift ? new Jet(s as unknown as tf.Tensor2D, order) : null,
            silu,
          }).data;
        const run = (native: boolean) => {
          setNativeKernels(native);
          return tf.tidy(() => {
            const y = apply().dataSync() as Float32Array;
            const { grads } = tf.variableGrads(() => tf.sum(tf.mul(apply(), R)) as tf.Scalar, vars);
            return { y, grads: vars.map((v) => grads[v.name].dataSync() as Float32Array) };
          });
        };
        const a = run(true);
        const b = run(false);
        setNativeKernels(true);
        expect(relErr(a.y, b.y), 'values').toBeLessThan(TOL);
        ['∂x', '∂γ', '∂β', '∂shift'].slice(0, vars.length).forEach((name, i) => {
          expect(relErr(a.grads[i], b.grads[i]), name).toBeLessThan(TOL);
        });
        norm.dispose();
        tf.dispose([x, s, R]);
      });
    }
  });

  it('∂L/∂(x, γ, β, shift) on the native path equals float64 central differences (order 1, SiLU, shift)', () => {
    requireNative('groupNorm');
    const rng = new Rng(77);
    const [B, H, W, C, G] = [2, 3, 4, 6, 3];
    const norm = randomNorm(C, G, rng);
    const n = B * H * W * C;
    const xv = rng.normalArray(2 * n);
    const sv = rng.normalArray(2 * B * C);
    const Rv = rng.normalArray(2 * n);
    const x = tf.variable(tf.tensor4d(xv, [2 * B, H, W, C]), true);
    const s = tf.variable(tf.tensor2d(sv, [2 * B, C]), true);
    const R = tf.tensor4d(Rv, [2 * B, H, W, C]);
    const vars = [x, norm.weight, norm.bias, s] as tf.Variable[];
    const grads = tf.tidy(() => {
      const { grads: g } = tf.variableGrads(() => {
        const out = norm.jetFused(new ImageJet(x as unknown as tf.Tensor4D, 1), {
          shift: new Jet(s as unknown as tf.Tensor2D, 1),
          silu: true,
        });
        return tf.sum(tf.mul(out.data, R)) as tf.Scalar;
      }, vars);
      return vars.map((v) => Array.from(g[v.name].dataSync()));
    });
    const params = [Array.from(xv), Array.from(norm.weight.dataSync()), Array.from(norm.bias.dataSync()), Array.from(sv)];
    // L = Σ R ⊙ (v, v′) of v(t) = SiLU(GN(x + shift + t (x′ + shift′))) at t = 0, v′ by central differences.
    const loss64 = () => {
      const [xs, gamma, beta, sh] = params;
      const h = (t: number) =>
        img(
          [B, H, W, C],
          Array.from({ length: n }, (_, i) => {
            const bc = Math.floor(i / (H * W * C)) * C + (i % C);
            return xs[i] + sh[bc] + t * (xs[n + i] + sh[B * C + bc]);
          }),
        );
      const v = (t: number) => silu64(groupNorm64(h(t), G, gamma, beta)).data;
      const e = 1e-3;
      const [u1, d1, u2, d2] = [v(e), v(-e), v(2 * e), v(-2 * e)];
      const v0 = v(0);
      let total = 0;
      for (let i = 0; i < n; i++) total += Rv[i] * v0[i] + Rv[n + i] * ((8 * (u1[i] - d1[i]) - (u2[i] - d2[i])) / (12 * e));
      return total;
    };
    let checked = 0;
    params.forEach((target, pi) => {
      for (let i = 0; i < target.length; i += pi === 0 ? 7 : 1) {
        const saved = target[i];
        const eps = 1e-4;
        target[i] = saved + eps;
        const up = loss64();
        target[i] = saved - eps;
        const down = loss64();
        target[i] = saved;
        const fd = (up - down) / (2 * eps);
        expect(Math.abs(grads[pi][i] - fd), `${['x', 'γ', 'β', 'shift'][pi]}[${i}]: ${grads[pi][i]} vs ${fd}`).toBeLessThan(
          3e-4 + 3e-4 * Math.abs(fd),
        );
        checked++;
      }
    });
    expect(checked).toBeGreaterThan(2 * C + 2 * B * C);
    norm.dispose();
    tf.dispose([x, s, R]);
  });

  it('a gradient step through the native image ops leaks no tensors (heap outputs and saved inputs are freed)', () => {
    requireNative('groupNorm');
    const rng = new Rng(5);
    const norm = randomNorm(8, 4, rng);
    const conv = new Conv2d({ inChannels: 8, outChannels: 8, rng });
    const x = tf.tensor4d(rng.normalArray(2 * 3 * 6 * 6 * 8), [6, 6, 6, 8]);
    const shift = rng.normalTensor([6, 8]) as tf.Tensor2D;
    const vars = [conv.kernel, conv.bias, norm.weight, norm.bias] as tf.Variable[];
    const step = () => {
      const { value, grads } = tf.variableGrads(() => {
        const h = conv.jet(norm.jetFused(new ImageJet(x, 1), { shift: new Jet(shift, 1), silu: true }));
        return tf.sum(tf.square(norm.jetFused(h).data)) as tf.Scalar;
      }, vars);
      tf.dispose([value, ...Object.values(grads)]);
    };
    step();
    const before = tf.memory();
    for (let i = 0; i < 3; i++) step();
    const after = tf.memory();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
    norm.dispose();
    conv.dispose();
    tf.dispose([x, shift]);
  });

  it('on the cpu backend (no wasm heap views) the native conv and GroupNorm jets equal the tfjs path too', async () => {
    await initBackend('cpu');
    try {
      requireNative('groupNorm');
      const rng = new Rng(6);
      const norm = randomNorm(16, 8, rng);
      const conv = new Conv2d({ inChannels: 16, outChannels: 12, rng });
      const x = tf.variable(tf.tensor4d(rng.normalArray(2 * 2 * 5 * 5 * 16), [4, 5, 5, 16]), true);
      const shift = tf.variable(rng.normalTensor([4, 16]), true);
      const vars = [x, shift, conv.kernel, conv.bias, norm.weight, norm.bias] as tf.Variable[];
      const f = () =>
        conv.jet(
          norm.jetFused(new ImageJet(x as unknown as tf.Tensor4D, 1), { shift: new Jet(shift as unknown as tf.Tensor2D, 1), silu: true }),
        ).data;
      const run = (native: boolean) => {
        setNativeKernels(native);
        return tf.tidy(() => {
          const y = f().dataSync() as Float32Array;
          const { grads } = tf.variableGrads(() => tf.sum(tf.sin(f())) as tf.Scalar, vars);
          return { y, grads: vars.map((v) => grads[v.name].dataSync() as Float32Array) };
        });
      };
      const a = run(true);
      const b = run(false);
      setNativeKernels(true);
      expect(relErr(a.y, b.y)).toBeLessThan(TOL);
      a.grads.forEach((g, i) => {
        expect(relErr(g, b.grads[i]), vars[i].name).toBeLessThan(TOL);
      });
      norm.dispose();
      conv.dispose();
      tf.dispose([x, shift]);
    } finally {
      await initBackend('wasm');
    }
  });
});
