/**
 * Golden values from a PyTorch float64 rebuild of the U-Net (bench/torch_unet_golden.py, stock
 * torch layers, time derivatives by forward-mode AD): for the 'adm' and 'compact' layouts with
 * seeded N(0, 0.2²) weights (fixtures/unet-golden-inputs.json, from bench/unet-golden-weights.mjs),
 * our float32 jet on wasm must reproduce U, ∂U/∂t, ∂²U/∂t² (x fixed) and the gradient of
 * L = mean(U²) + mean((∂U/∂t)²) with respect to every trainable parameter.
 * Errors are max |ours − torch| / max |torch| per quantity: U, U′, U″, and all gradients together,
 * each below 1e-4. Each parameter's gradient is also checked on its own scale, to 5e-4: gradients
 * that mostly cancel (the biases feeding a GroupNorm) lose more digits in float32 — PyTorch's own
 * float32 rebuild is ~1e-4 off its float64 on down.0.0.conv1.bias.
 * U, U′ and the gradients are also checked through an order-1 jet (the training path).
 * Run with NFDM_NATIVE=0 as well: with @nfdm/native on, convolutions (and order-1 GroupNorm+SiLU) are native.
 * Regenerate the fixtures: node bench/unet-golden-weights.mjs && /usr/bin/python3 bench/torch_unet_golden.py
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, UNet, type UNetOptions } from '../src/index.js';

type Stored = { shape: number[]; values: number[] };
type Layout = 'adm' | 'compact';
const read = <T>(name: string): T => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as T;
const inputs = read<{
  x: Stored;
  t: Stored;
  nets: Record<Layout, { options: UNetOptions; parameters: (Stored & { name: string; trainable: boolean })[] }>;
}>('unet-golden-inputs.json');
const golden = read<{ nets: Record<Layout, { loss: number; U: Stored; dU: Stored; d2U: Stored; grads: Record<string, Stored> }> }>(
  'unet-golden.json',
);

const TOL = 1e-4;
const TOL_PER_PARAMETER = 5e-4;

beforeAll(async () => {
  await initBackend('wasm');
});

/** max |a − b| / max |b|. */
function relError(actual: ArrayLike<number>, expected: Stored): number {
  expect(actual.length).toBe(expected.values.length);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected.values[i]);
    err = Number.isNaN(d) ? Number.POSITIVE_INFINITY : Math.max(err, d);
    scale = Math.max(scale, Math.abs(expected.values[i]));
  }
  return err / scale;
}

/** The fixture's UNet with its stored values; fails on a missing, extra or misshapen parameter. */
function build(layout: Layout): UNet {
  const spec = inputs.nets[layout];
  const net = new UNet(spec.options);
  const params = net.parameters();
  expect([...params.keys()].sort()).toEqual(spec.parameters.map((p) => p.name).sort());
  for (const p of spec.parameters) {
    const v = params.get(p.name) as tf.Variable;
    expect(v.shape, p.name).toEqual(p.shape);
    expect(v.trainable, p.name).toBe(p.trainable);
    tf.tidy(() => v.assign(tf.tensor(Float32Array.from(p.values), p.shape)));
  }
  return net;
}

const loss = (u: tf.Tensor, du: tf.Tensor) => tf.add(tf.mean(tf.square(u)), tf.mean(tf.square(du))) as tf.Scalar;

describe.each(['adm', 'compact'] as const)('U-Net (%s layout) against the PyTorch float64 rebuild', (layout) => {
  const ref = golden.nets[layout];
  const x = () => tf.tensor4d(Float32Array.from(inputs.x.values), inputs.x.shape as [number, number, number, number]);
  const t = () => tf.tensor2d(Float32Array.from(inputs.t.values), inputs.t.shape as [number, number]);

  it('U, ∂U/∂t and ∂²U/∂t² (order-2 jet)', () => {
    const net = build(layout);
    const parts = tf.tidy(() =>
      net
        .jet(x(), t(), 2)
        .parts()
        .map((p) => p.dataSync().slice()),
    );
    const errors = [relError(parts[0], ref.U), relError(parts[1], ref.dU), relError(parts[2], ref.d2U)];
    console.log(
      `${layout}: max rel error U ${errors[0].toExponential(2)}, U′ ${errors[1].toExponential(2)}, U″ ${errors[2].toExponential(2)}`,
    );
    for (const e of errors) expect(e).toBeLessThan(TOL);
    net.dispose();
  });

  it('gradients of mean(U²) + mean(U′²) for every trainable parameter (through the order-2 jet)', () => {
    checkGradients(2);
  });

  // The training path: an order-1 jet (with @nfdm/native on, GroupNorm+SiLU run natively there).
  it('U, ∂U/∂t and the same gradients through the order-1 jet', () => {
    const parts = tf.tidy(() => {
      const net = build(layout);
      const p = net
        .jet(x(), t(), 1)
        .parts()
        .map((q) => q.dataSync().slice());
      net.dispose();
      return p;
    });
    expect(relError(parts[0], ref.U)).toBeLessThan(TOL);
    expect(relError(parts[1], ref.dU)).toBeLessThan(TOL);
    checkGradients(1);
  });

  function checkGradients(order: 1 | 2): void {
    const net = build(layout);
    const trainable = [...net.parameters()].filter(([, v]) => v.trainable);
    expect(trainable.map(([n]) => n).sort()).toEqual(Object.keys(ref.grads).sort());
    const { value, grads } = tf.variableGrads(
      () =>
        tf.tidy(() => {
          const [u, du] = net.jet(x(), t(), order).parts();
          return loss(u, du);
        }),
      trainable.map(([, v]) => v),
    );
    expect(Math.abs(value.dataSync()[0] - ref.loss) / ref.loss).toBeLessThan(TOL);
    let worst = 0;
    let worstName = '';
    const ours: number[] = [];
    const theirs: number[] = [];
    for (const [name, v] of trainable) {
      const g = grads[v.name];
      expect(g.shape, name).toEqual(ref.grads[name].shape);
      const values = g.dataSync();
      const e = relError(values, ref.grads[name]);
      if (e > worst) [worst, worstName] = [e, name];
      expect(e, name).toBeLessThan(TOL_PER_PARAMETER);
      ours.push(...values);
      theirs.push(...ref.grads[name].values);
    }
    const all = relError(ours, { shape: [theirs.length], values: theirs });
    console.log(
      `${layout}, order ${order}: max rel error of all ${trainable.length} gradients ${all.toExponential(2)}; worst single parameter ${worst.toExponential(2)} (${worstName})`,
    );
    expect(all).toBeLessThan(TOL);
    tf.dispose([value, ...Object.values(grads)]);
    net.dispose();
  }
});
