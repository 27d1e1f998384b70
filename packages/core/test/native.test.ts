/**
 * The native MLP-jet kernels (@nfdm/native) against the tfjs path: forward values and every
 * gradient (input, weights, biases) for each natively supported activation, jet orders 0–2
 * and several shapes; and parameter gradients of a loss of (v, v′, v″) against float64 central
 * differences. The addon MUST be built here (`npm run build -w @nfdm/native`): these tests fail,
 * they do not skip, when it does not load.
 */
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ActivationName,
  describeBackend,
  initBackend,
  Jet,
  type JetOrder,
  MLP,
  nativeKernelsStatus,
  Rng,
  setNativeKernels,
  TimeMLP,
  trainableVariables,
} from '../src/index.js';
import { layers64 } from './helpers/extract.js';
import { relErr, requireNative } from './helpers/native.js';
import { DERIVATIVES64, mlpJet64 } from './helpers/reference64.js';

beforeAll(async () => {
  await initBackend('wasm');
});
afterAll(() => {
  setNativeKernels(undefined);
});

interface Run {
  out: Float32Array;
  loss: number;
  grads: Float32Array[];
}

/** Output jet and ∂/∂(input, W₀, b₀, …) of Σ out ⊙ R, on the native or the tfjs path. */
function run(net: MLP, input: tf.Variable, order: JetOrder, cot: tf.Tensor2D, native: boolean): Run {
  setNativeKernels(native);
  const vars = [input, ...trainableVariables(net)];
  return tf.tidy(() => {
    const out = net.applyJet(new Jet(input as unknown as tf.Tensor2D, order)).data;
    // Outside a gradient tape the native path saves nothing; inside it runs as a custom-gradient op.
    const { value, grads } = tf.variableGrads(
      () => tf.sum(tf.mul(net.applyJet(new Jet(input as unknown as tf.Tensor2D, order)).data, cot)),
      vars,
    );
    return {
      out: out.dataSync() as Float32Array,
      loss: value.dataSync()[0],
      grads: vars.map((v) => grads[v.name].dataSync() as Float32Array),
    };
  });
}

const ACTS: ActivationName[] = ['selu', 'silu', 'tanh', 'softplus', 'sigmoid', 'relu', 'identity', 'gelu-tanh'];
const SHAPES: Array<{ batch: number; dims: number[] }> = [
  { batch: 1, dims: [3, 5, 4] },
  { batch: 7, dims: [3, 17, 33, 2] },
  { batch: 37, dims: [5, 256, 256, 3] },
];
const TOL = 2e-5;

describe('native MLP kernels', () => {
  it('the addon is built, loads, and is reported by describeBackend', () => {
    requireNative();
    const status = nativeKernelsStatus();
    expect(status).toMatchObject({ enabled: true, available: true, reason: null });
    expect(status.addon?.path).toMatch(/nfdm_native(\.[\w-]+)?\.node$/);
    expect(describeBackend()).toMatch(/native MLP kernels: (on|off)/);
  });

  it('setNativeKernels(false) switches MLP.applyJet to the tfjs kernels', async () => {
    requireNative();
    const net = new MLP({ inDim: 2, outDim: 2, hidden: [4], rng: 1 });
    const x = tf.ones([3, 2]) as tf.Tensor2D;
    const count = async () => (await tf.profile(() => net.applyJet(new Jet(x, 0)).data.dispose())).kernels.length;
    const nativeKernels = await count();
    expect(setNativeKernels(false)).toMatchObject({ enabled: false, reason: 'disabled by setNativeKernels(false)' });
    const tfjsKernels = await count();
    expect(nativeKernels).toBeLessThanOrEqual(1); // the one custom op
    expect(tfjsKernels).toBeGreaterThan(2);
    setNativeKernels(true);
    net.dispose();
    x.dispose();
  });

  it('a NaN in the input propagates to the output, as on the tfjs path', () => {
    requireNative();
    for (const activation of ACTS) {
      const net = new MLP({ inDim: 2, outDim: 2, hidden: [8], activation, rng: 2 });
      const out = tf.tidy(() => net.applyJet(new Jet(tf.tensor2d([Number.NaN, 1, 0, 1], [2, 2]), 1)).data.dataSync());
      expect(Number.isNaN(out[0]) && Number.isNaN(out[1]), activation).toBe(true);
      net.dispose();
    }
  });

  describe('forward values and all gradients equal the tfjs path', () => {
    for (const act of ACTS) {
      for (const order of [0, 1, 2] as JetOrder[]) {
        for (const { batch, dims } of SHAPES) {
          it(`${act}, order ${order}, batch ${batch}, widths ${dims.join('→')}`, () => {
            requireNative();
            const rng = new Rng(batch * 31 + order);
            const net = new MLP({ inDim: dims[0], outDim: dims[dims.length - 1], hidden: dims.slice(1, -1), activation: act, rng: 3 });
            const rows = (order + 1) * batch;
            const input = tf.variable(rng.normalTensor([rows, dims[0]]) as tf.Tensor2D, true);
            const cot = rng.normalTensor([rows, dims[dims.length - 1]]) as tf.Tensor2D;
            const a = run(net, input, order, cot, true);
            const b = run(net, input, order, cot, false);
            expect(relErr(a.out, b.out), 'forward').toBeLessThan(TOL);
            // The loss Σ out ⊙ cot cancels: its error is measured against Σ |out ⊙ cot|, the scale
            // at which per-element errors of size TOL·|out| add up (not against |loss|).
            const cotValues = cot.dataSync();
            const scale = Math.max(
              1e-3,
              b.out.reduce((t, v, i) => t + Math.abs(v * cotValues[i]), 0),
            );
            expect(Math.abs(a.loss - b.loss) / scale, 'forward under the gradient tape').toBeLessThan(TOL);
            const names = ['input', ...net.layers.flatMap((_, i) => [`W${i}`, `b${i}`])];
            a.grads.forEach((g, i) => {
              expect(relErr(g, b.grads[i]), `∂/∂${names[i]}`).toBeLessThan(TOL);
            });
            net.dispose();
            tf.dispose([input, cot]);
          });
        }
      }
    }

    it('with an output activation (sigmoid) and width 256, order 2', () => {
      requireNative();
      const rng = new Rng(9);
      const net = new MLP({ inDim: 3, outDim: 6, hidden: [256, 64], activation: 'silu', outputActivation: 'sigmoid', rng: 4 });
      const input = tf.variable(rng.normalTensor([3 * 16, 3]) as tf.Tensor2D, true);
      const cot = rng.normalTensor([3 * 16, 6]) as tf.Tensor2D;
      const a = run(net, input, 2, cot, true);
      const b = run(net, input, 2, cot, false);
      expect(relErr(a.out, b.out)).toBeLessThan(TOL);
      a.grads.forEach((g, i) => {
        expect(relErr(g, b.grads[i])).toBeLessThan(TOL);
      });
      net.dispose();
      tf.dispose([input, cot]);
    });

    it('with 2 native threads (the pool splits the batch) at widths 256, orders 1 and 2', () => {
      requireNative();
      const addon = (createRequire(import.meta.url)('@nfdm/native') as { loadNative(): { setThreads(n: number): number } }).loadNative();
      addon.setThreads(2);
      try {
        for (const order of [1, 2] as JetOrder[]) {
          const rng = new Rng(12 + order);
          const net = new MLP({ inDim: 3, outDim: 4, hidden: [256, 256], activation: 'selu', rng: 5 });
          const input = tf.variable(rng.normalTensor([(order + 1) * 101, 3]) as tf.Tensor2D, true);
          const cot = rng.normalTensor([(order + 1) * 101, 4]) as tf.Tensor2D;
          const a = run(net, input, order, cot, true);
          const b = run(net, input, order, cot, false);
          expect(relErr(a.out, b.out)).toBeLessThan(TOL);
          a.grads.forEach((g, i) => {
            expect(relErr(g, b.grads[i])).toBeLessThan(TOL);
          });
          net.dispose();
          tf.dispose([input, cot]);
        }
      } finally {
        addon.setThreads(1);
      }
    });

    it('repeated gradient passes (recycled saved buffers) give identical results', () => {
      requireNative();
      const rng = new Rng(21);
      const net = new MLP({ inDim: 3, outDim: 2, hidden: [64, 64], activation: 'silu', outputActivation: 'tanh', rng: 6 });
      const input = tf.variable(rng.normalTensor([2 * 50, 3]) as tf.Tensor2D, true);
      const cot = rng.normalTensor([2 * 50, 2]) as tf.Tensor2D;
      const first = run(net, input, 1, cot, true);
      for (let i = 0; i < 3; i++) {
        const again = run(net, input, 1, cot, true);
        expect(again.loss).toBe(first.loss);
        again.grads.forEach((g, k) => {
          expect(Array.from(g)).toEqual(Array.from(first.grads[k]));
        });
      }
      net.dispose();
      tf.dispose([input, cot]);
    });

    it('reads assigned weights anew (the per-variable read cache follows assign)', () => {
      requireNative();
      const net = new MLP({ inDim: 2, outDim: 3, hidden: [5], activation: 'gelu-tanh', rng: 7 });
      const x = tf.tensor2d([0.3, -1.2, 0.8, 0.1], [2, 2]);
      const outputs = () => {
        setNativeKernels(true);
        const native = tf.tidy(() => Array.from(net.apply(x).dataSync()));
        setNativeKernels(false);
        const tfjs = tf.tidy(() => Array.from(net.apply(x).dataSync()));
        setNativeKernels(true);
        return { native, tfjs };
      };
      const before = outputs();
      expect(relErr(before.native, before.tfjs)).toBeLessThan(TOL);
      tf.tidy(() => {
        for (const layer of net.layers) {
          layer.weight.assign(tf.mul(layer.weight, -1.5));
          layer.bias.assign(tf.add(layer.bias, 0.25));
        }
      });
      const after = outputs();
      expect(relErr(after.native, after.tfjs)).toBeLessThan(TOL);
      expect(relErr(after.native, before.native)).toBeGreaterThan(1e-2);
      net.dispose();
      x.dispose();
    });

    it('gelu-tanh (the FourierMLP activation) runs natively too', async () => {
      requireNative();
      const net = new MLP({ inDim: 2, outDim: 2, hidden: [4], activation: 'gelu-tanh', rng: 1 });
      const x = tf.ones([2, 2]) as tf.Tensor2D;
      const profile = await tf.profile(() => net.applyJet(new Jet(x, 1)).data.dispose());
      expect(profile.kernels.length).toBeLessThanOrEqual(1);
      net.dispose();
      x.dispose();
    });
  });

  describe('∂L/∂θ of a loss of (v, v′, v″) on the native path equals float64 central differences', () => {
    const B = 4;
    const OUT = 2;
    const C0 = [0.3, -0.7];
    const C1 = [1.1, 0.4];
    const C2 = [-0.5, 0.8];
    const sig = (h: number) => 1 / (1 + Math.exp(-h));
    const phis: Record<string, (h: number) => [number, number, number]> = {
      ...DERIVATIVES64,
      sigmoid: (h) => {
        const s = sig(h);
        return [s, s * (1 - s), s * (1 - s) * (1 - 2 * s)];
      },
    };
    for (const activation of ['selu', 'silu', 'tanh', 'softplus', 'sigmoid', 'gelu-tanh'] as ActivationName[]) {
      it(activation, () => {
        requireNative();
        const net = new TimeMLP({ dataDim: 2, outDim: OUT, hidden: [8, 8], activation, rng: 11 });
        const rng = new Rng(5);
        const x = Array.from({ length: B }, () => [rng.normal(), rng.normal()]);
        const t = Array.from({ length: B }, () => 0.1 + 0.8 * rng.uniform());
        const variables = trainableVariables(net);
        const grads = tf.tidy(() => {
          const { grads: g } = tf.variableGrads(() => {
            const [v, v1, v2] = net.jet(tf.tensor2d(x), tf.tensor2d(t, [B, 1]), 2).parts();
            const c = (w: number[]) => tf.tensor2d(w, [1, OUT]);
            const per = tf.addN([tf.mul(v, c(C0)), tf.mul(tf.square(v1), c(C1)), tf.mul(v2, c(C2)), tf.mul(0.5, tf.square(v2))]);
            return tf.div(tf.sum(per), B) as tf.Scalar;
          }, variables);
          return variables.map((v) => Array.from(g[v.name].dataSync()));
        });
        const layers = layers64(net.net);
        const phi = phis[activation];
        const loss64 = () => {
          let total = 0;
          for (let b = 0; b < B; b++) {
            const [v, v1, v2] = mlpJet64(layers, phi, [
              [...x[b], t[b]],
              [0, 0, 1],
              [0, 0, 0],
            ]);
            for (let j = 0; j < OUT; j++) total += C0[j] * v[j] + C1[j] * v1[j] ** 2 + C2[j] * v2[j] + 0.5 * v2[j] ** 2;
          }
          return total / B;
        };
        let checked = 0;
        variables.forEach((v, vi) => {
          const layer = layers[Math.floor(vi / 2)];
          const target = (vi % 2 === 0 ? layer.weight : layer.bias) as number[];
          for (let k = 0; k < target.length; k++) {
            const saved = target[k];
            const eps = 1e-6;
            target[k] = saved + eps;
            const up = loss64();
            target[k] = saved - eps;
            const down = loss64();
            target[k] = saved;
            const fd = (up - down) / (2 * eps);
            expect(Math.abs(grads[vi][k] - fd), `${v.name}[${k}]: ${grads[vi][k]} vs ${fd}`).toBeLessThan(2e-4 + 2e-3 * Math.abs(fd));
            checked++;
          }
        });
        expect(checked).toBe(3 * 8 + 8 + 8 * 8 + 8 + 8 * 2 + 2);
        net.dispose();
      });
    }
  });
});
